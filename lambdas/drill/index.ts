import { STEP_DRILL } from '../../core/steps.js';
import { CloudWatchMetricsSource } from '../adapters/cloudwatch-metrics.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createRouter } from '../shared/router.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { cloudWatchClient } from '../shared/clients/cloudwatch.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

// The router and metrics exactly as start-phase and analyze-canary build them; `environment` is mapped by stepEntry.
export const handler = await stepEntry(STEP_DRILL, createHandler, async (env) => ({
  router: await createRouter(env.router),
  metrics: new CloudWatchMetricsSource(cloudWatchClient(), env.metricsNamespace),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
}));
