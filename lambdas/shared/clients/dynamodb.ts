/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** DynamoDB through the document client (native JS values; undefined attributes left out). */
export const documentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(SDK_CLIENT_CONFIG), { marshallOptions: { removeUndefinedValues: true } });
