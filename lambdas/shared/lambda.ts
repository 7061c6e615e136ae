/**
 * The Lambda SDK client and what uses it: the hooks' invoker (run-hooks imports it), the alias router
 * and the Lambda serving target (imported on demand by lambdas/shared/aws.ts when the deployment
 * serves from a Lambda function). Not in ./aws.ts: a module the entries import statically and the
 * on-demand chunk imports too would be loaded at every cold start (see ./sagemaker-router.ts).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { ServingTarget, TrafficRouter } from '../../core/ports.js';
import type { RouterConfig, ServingSettingsConfig } from '../../core/runtime-config.js';
import { LambdaAliasRouter } from '../adapters/lambda-alias-router.js';
import { LambdaTarget } from '../adapters/lambda-target.js';
import { SDK_CLIENT_CONFIG } from './runtime.js';

/** Lambda, for invoking the environment's verification hooks (lambdas/adapters/lambda-hook-invoker.ts). */
export const lambdaClient = (): LambdaClient => new LambdaClient(SDK_CLIENT_CONFIG);

export function lambdaAliasRouter(config: Extract<RouterConfig, { kind: 'lambda-alias' }>): TrafficRouter {
  return new LambdaAliasRouter(lambdaClient(), config);
}

export function lambdaTarget(p: Extract<ServingSettingsConfig['plan'], { kind: 'lambda' }>): ServingTarget {
  return new LambdaTarget(lambdaClient(), { functionName: p.functionName, liveAlias: p.liveAlias, candidateAlias: p.candidateAlias, delivery: p.delivery });
}
