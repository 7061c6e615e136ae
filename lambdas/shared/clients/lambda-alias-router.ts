/**
 * The Lambda alias router with its client: imported on demand by lambdas/shared/router.ts when the
 * deployment shifts traffic between a function's aliases (see ./sagemaker-router.ts for why a module
 * of its own).
 */
import type { TrafficRouter } from '../../../core/ports.js';
import type { RouterConfig } from '../../../core/runtime-config.js';
import { LambdaAliasRouter } from '../../adapters/lambda-alias-router.js';
import { lambdaClient } from './lambda.js';

export function lambdaAliasRouter(config: Extract<RouterConfig, { kind: 'lambda-alias' }>): TrafficRouter {
  return new LambdaAliasRouter(lambdaClient(), config);
}
