/** Powertools' logger and metrics, as every handler creates them (lambdas/shared/runtime.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

const logger = new Logger({ serviceName: 'builderbrain-release' });
const metrics = new Metrics({ namespace: 'BuilderBrain/Pipeline', serviceName: 'builderbrain-release' });
export const handler = async (): Promise<void> => {
  logger.info('floor');
  metrics.publishStoredMetrics();
};
