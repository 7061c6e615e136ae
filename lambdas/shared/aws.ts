/**
 * SDK clients and adapters shared by the Lambda entries (index.ts only: handlers never import the
 * SDK). Each client is created once per container, by the entry's module scope.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ServingTarget, TrafficRouter } from '../../core/ports.js';
import type { RouterConfig, ServingSettingsConfig } from '../../core/runtime-config.js';
import { SDK_CLIENT_CONFIG } from './runtime.js';

export const documentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(SDK_CLIENT_CONFIG), { marshallOptions: { removeUndefinedValues: true } });
export const sfnClient = (): SFNClient => new SFNClient(SDK_CLIENT_CONFIG);
export const snsClient = (): SNSClient => new SNSClient(SDK_CLIENT_CONFIG);
export const s3Client = (): S3Client => new S3Client(SDK_CLIENT_CONFIG);
export const cloudWatchClient = (): CloudWatchClient => new CloudWatchClient(SDK_CLIENT_CONFIG);
/** EventBridge, for the hand-over to the next environment's bus (lambdas/adapters/eventbridge-bus.ts). */
export const eventBridgeClient = (): EventBridgeClient => new EventBridgeClient(SDK_CLIENT_CONFIG);

/**
 * The traffic router the deployment chose (BB_ROUTER_JSON), with its client. Only that kind's
 * adapter and SDK client are loaded (a chunk imported on demand), never the other's: a SageMaker
 * deployment's functions do not load the Lambda client (72 KB).
 */
export async function createRouter(config: RouterConfig): Promise<TrafficRouter> {
  switch (config.kind) {
    case 'sagemaker':
      return (await import('./sagemaker-router.js')).sageMakerRouter(config);
    case 'lambda-alias':
      return (await import('./lambda.js')).lambdaAliasRouter(config);
  }
}

export const systemClock = { now: () => new Date() };

/** The serving target the deployment chose (BB_SERVING_JSON), with its clients; only that kind's are loaded (see {@link createRouter}). */
export async function createServingTarget(settings: ServingSettingsConfig): Promise<ServingTarget> {
  const p = settings.plan;
  switch (p.kind) {
    case 'sagemaker':
      return (await import('./sagemaker-target.js')).sageMakerTarget(p);
    case 'lambda':
      return (await import('./lambda.js')).lambdaTarget(p);
  }
}
