import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { CloudWatchMetricsSource } from '../adapters/cloudwatch-metrics.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { cloudWatchClient, documentClient, snsClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.metricsNamespace]: true, [ENV.canaryPolicy]: true, [ENV.incidentTopicArn]: true }));
const pt = powertools('AnalyzeCanary');

export const handler = lambdaEntry(
  pt,
  createHandler({
    metrics: new CloudWatchMetricsSource(cloudWatchClient(), env[ENV.metricsNamespace]),
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    clock: systemClock,
    canaryPolicy: env[ENV.canaryPolicy],
    // A hold (fleet-wide incident, metrics unavailable) pages once, P1, on the incident topic.
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env[ENV.incidentTopicArn], approvalTopicArn: null }),
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
