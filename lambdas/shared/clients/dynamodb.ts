/**
 * One SDK client's factory (lambdas/shared/clients/: a module per client, so a handler's bundle graph
 * holds only the clients it uses, which keeps esbuild's work per handler down: its rebuild time grows
 * with the modules in the graph, used or not).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** DynamoDB through the document client (native JS values; undefined attributes left out). */
export const documentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(SDK_CLIENT_CONFIG), { marshallOptions: { removeUndefinedValues: true } });
