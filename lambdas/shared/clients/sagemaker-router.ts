/**
 * The SageMaker router with its SDK client: imported on demand by lambdas/shared/router.ts when the
 * deployment routes traffic between a SageMaker endpoint's variants. A module of its own, not
 * `import('@aws-sdk/client-sagemaker')`: importing the package's index on demand would keep every one
 * of its commands (a bundler cannot tell which a namespace is used for); and not the serving
 * target's module (./sagemaker-target.ts), which also loads the SageMaker Runtime client.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { TrafficRouter } from '../../../core/ports.js';
import type { RouterConfig } from '../../../core/runtime-config.js';
import { SageMakerRouter } from '../../adapters/sagemaker-router.js';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export function sageMakerRouter(config: Extract<RouterConfig, { kind: 'sagemaker' }>): TrafficRouter {
  return new SageMakerRouter(new SageMakerClient(SDK_CLIENT_CONFIG), config);
}
