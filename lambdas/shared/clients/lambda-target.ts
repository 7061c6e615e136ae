/**
 * The Lambda serving target with its client: imported on demand by lambdas/shared/serving-target.ts
 * when the deployment serves from a Lambda function (see ./sagemaker-router.ts for why a module of
 * its own).
 */
import type { ServingTarget } from '../../../core/ports.js';
import type { ServingSettingsConfig } from '../../../core/runtime-config.js';
import { LambdaTarget } from '../../adapters/lambda-target.js';
import { lambdaClient } from './lambda.js';

export function lambdaTarget(p: Extract<ServingSettingsConfig['plan'], { kind: 'lambda' }>): ServingTarget {
  return new LambdaTarget(lambdaClient(), { functionName: p.functionName, liveAlias: p.liveAlias, candidateAlias: p.candidateAlias, delivery: p.delivery });
}
