/** The serving target the deployment chose, for the serving step (see ./router.ts). */
import type { ServingTarget } from '../../core/ports.js';
import type { ServingSettingsConfig } from '../../core/runtime-config.js';

/** The serving target the deployment chose (BB_SERVING_JSON), with its clients; only that kind's are loaded (as ./router.ts loads the router). */
export async function createServingTarget(settings: ServingSettingsConfig): Promise<ServingTarget> {
  const p = settings.plan;
  switch (p.kind) {
    case 'sagemaker':
      return (await import('./clients/sagemaker-target.js')).sageMakerTarget(p);
    case 'lambda':
      return (await import('./clients/lambda-target.js')).lambdaTarget(p);
  }
}
