/** The SDK clients and commands the rollback function uses on a SageMaker deployment, and nothing else. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient, UpdateEndpointWeightsAndCapacitiesCommand } from '@aws-sdk/client-sagemaker';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const config = { maxAttempts: 3, retryMode: 'standard' } as const;
const clients = {
  doc: DynamoDBDocumentClient.from(new DynamoDBClient(config)),
  sagemaker: new SageMakerClient(config),
  sfn: new SFNClient(config),
  sns: new SNSClient(config),
};
const commands = [GetCommand, UpdateEndpointWeightsAndCapacitiesCommand, StopExecutionCommand, PublishCommand];
export const handler = async (): Promise<number> => Object.keys(clients).length + commands.length;
