import { STEP_ANALYZE_CANARY } from '../../core/steps.js';
import { CloudWatchMetricsSource } from '../adapters/cloudwatch-metrics.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { cloudWatchClient } from '../shared/clients/cloudwatch.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_ANALYZE_CANARY, createHandler, (env) => ({
  metrics: new CloudWatchMetricsSource(cloudWatchClient(), env.metricsNamespace),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  canaryPolicy: env.canaryPolicy,
  // A hold (fleet-wide incident, metrics unavailable) pages once, P1, on the incident topic.
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
}));
