/**
 * The traffic router the deployment chose, for the entries that shift traffic. A module of its own
 * (not with the serving target's, ./serving-target.ts): a handler's bundle graph holds what its
 * modules import, on demand or not.
 */
import type { TrafficRouter } from '../../core/ports.js';
import type { RouterConfig } from '../../core/runtime-config.js';

/**
 * The traffic router the deployment chose (BB_ROUTER_JSON), with its client. Only that kind's
 * adapter and SDK client are loaded (a chunk imported on demand), never the other's: a SageMaker
 * deployment's functions do not load the Lambda client (72 KB).
 */
export async function createRouter(config: RouterConfig): Promise<TrafficRouter> {
  switch (config.kind) {
    case 'sagemaker':
      return (await import('./clients/sagemaker-router.js')).sageMakerRouter(config);
    case 'lambda-alias':
      return (await import('./clients/lambda-alias-router.js')).lambdaAliasRouter(config);
  }
}
