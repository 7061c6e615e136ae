/** The least a ledger-reading handler loads of the AWS SDK: the DynamoDB document client and one command. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ maxAttempts: 3, retryMode: 'standard' }));
export const handler = async (): Promise<unknown> => doc.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } }));
