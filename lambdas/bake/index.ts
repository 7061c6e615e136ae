import { STEP_BAKE } from '../../core/steps.js';
import { CloudWatchMetricsSource } from '../adapters/cloudwatch-metrics.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { cloudWatchClient } from '../shared/clients/cloudwatch.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_BAKE, createHandler, (env) => ({
  metrics: new CloudWatchMetricsSource(cloudWatchClient(), env.metricsNamespace),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  bake: env.bake,
  canaryPolicy: env.canaryPolicy,
  // The clean end is an info notification: the approvals topic.
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: null, approvalTopicArn: env.approvalTopicArn }),
}));
