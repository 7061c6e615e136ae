/**
 * The SageMaker serving target with its SDK clients: imported on demand by lambdas/shared/serving-target.ts
 * when the deployment serves from a SageMaker endpoint (see ./sagemaker-router.ts for why a module of
 * its own).
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ServingTarget } from '../../../core/ports.js';
import type { ServingSettingsConfig } from '../../../core/runtime-config.js';
import { SageMakerTarget } from '../../adapters/sagemaker-target.js';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export function sageMakerTarget(p: Extract<ServingSettingsConfig['plan'], { kind: 'sagemaker' }>): ServingTarget {
  return new SageMakerTarget(new SageMakerClient(SDK_CLIENT_CONFIG), new SageMakerRuntimeClient(SDK_CLIENT_CONFIG), {
    endpointName: p.endpointName,
    baselineVariant: p.baselineVariant,
    canaryVariant: p.canaryVariant,
    image: p.serving?.image ?? '',
    executionRoleArn: p.serving?.executionRoleArn ?? '',
    environment: p.serving?.environment ?? {},
  });
}
