/**
 * SDK clients and adapters shared by the Lambda entries (index.ts only: handlers never import the
 * SDK). Each client is created once per container, by the entry's module scope.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TrafficRouter } from '../../core/ports.js';
import type { RouterConfig } from '../../core/runtime-config.js';
import { LambdaAliasRouter } from '../adapters/lambda-alias-router.js';
import { SageMakerRouter } from '../adapters/sagemaker-router.js';
import { SDK_CLIENT_CONFIG } from './runtime.js';

export const documentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(SDK_CLIENT_CONFIG), { marshallOptions: { removeUndefinedValues: true } });
export const sfnClient = (): SFNClient => new SFNClient(SDK_CLIENT_CONFIG);
export const snsClient = (): SNSClient => new SNSClient(SDK_CLIENT_CONFIG);
export const s3Client = (): S3Client => new S3Client(SDK_CLIENT_CONFIG);
export const cloudWatchClient = (): CloudWatchClient => new CloudWatchClient(SDK_CLIENT_CONFIG);

/** The traffic router the deployment chose (BB_ROUTER_JSON), with its client. */
export function createRouter(config: RouterConfig): TrafficRouter {
  switch (config.kind) {
    case 'sagemaker':
      return new SageMakerRouter(new SageMakerClient(SDK_CLIENT_CONFIG), config);
    case 'lambda-alias':
      return new LambdaAliasRouter(new LambdaClient(SDK_CLIENT_CONFIG), config);
  }
}

export const systemClock = { now: () => new Date() };
