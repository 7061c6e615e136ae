/**
 * SDK clients and adapters shared by the Lambda entries (index.ts only: handlers never import the
 * SDK). Each client is created once per container, by the entry's module scope.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ServingTarget, TrafficRouter } from '../../core/ports.js';
import type { RouterConfig, ServingSettingsConfig } from '../../core/runtime-config.js';
import { LambdaTarget } from '../adapters/lambda-target.js';
import { SageMakerTarget } from '../adapters/sagemaker-target.js';
import { LambdaAliasRouter } from '../adapters/lambda-alias-router.js';
import { SageMakerRouter } from '../adapters/sagemaker-router.js';
import { SDK_CLIENT_CONFIG } from './runtime.js';

export const documentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(SDK_CLIENT_CONFIG), { marshallOptions: { removeUndefinedValues: true } });
export const sfnClient = (): SFNClient => new SFNClient(SDK_CLIENT_CONFIG);
export const snsClient = (): SNSClient => new SNSClient(SDK_CLIENT_CONFIG);
export const s3Client = (): S3Client => new S3Client(SDK_CLIENT_CONFIG);
export const cloudWatchClient = (): CloudWatchClient => new CloudWatchClient(SDK_CLIENT_CONFIG);
/** Lambda, for invoking the environment's verification hooks (lambdas/adapters/lambda-hook-invoker.ts). */
export const lambdaClient = (): LambdaClient => new LambdaClient(SDK_CLIENT_CONFIG);
/** EventBridge, for the hand-over to the next environment's bus (lambdas/adapters/eventbridge-bus.ts). */
export const eventBridgeClient = (): EventBridgeClient => new EventBridgeClient(SDK_CLIENT_CONFIG);

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

/** The serving target the deployment chose (BB_SERVING_JSON), with its clients. */
export function createServingTarget(settings: ServingSettingsConfig): ServingTarget {
  const p = settings.plan;
  switch (p.kind) {
    case 'sagemaker':
      return new SageMakerTarget(new SageMakerClient(SDK_CLIENT_CONFIG), new SageMakerRuntimeClient(SDK_CLIENT_CONFIG), {
        endpointName: p.endpointName,
        baselineVariant: p.baselineVariant,
        canaryVariant: p.canaryVariant,
        image: p.serving?.image ?? '',
        executionRoleArn: p.serving?.executionRoleArn ?? '',
        environment: p.serving?.environment ?? {},
      });
    case 'lambda':
      return new LambdaTarget(new LambdaClient(SDK_CLIENT_CONFIG), { functionName: p.functionName, liveAlias: p.liveAlias, candidateAlias: p.candidateAlias, delivery: p.delivery });
  }
}
