// The rollback's SDK clients (as bench/floors/rollback-clients.ts) loaded from node_modules, not
// bundled: how a function would load them from the Lambda runtime's copy of the SDK (CommonJS).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const config = { maxAttempts: 3, retryMode: 'standard' };
export const clients = [DynamoDBDocumentClient.from(new DynamoDBClient(config)), new SageMakerClient(config), new SFNClient(config), new SNSClient(config)];
