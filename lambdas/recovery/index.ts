import { STEP_RECOVERY } from '../../core/steps.js';
import { CloudWatchMetricsSource } from '../adapters/cloudwatch-metrics.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter } from '../shared/router.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { s3Client } from '../shared/clients/s3.js';
import { cloudWatchClient } from '../shared/clients/cloudwatch.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_RECOVERY, createHandler, async (env) => ({
  metrics: new CloudWatchMetricsSource(cloudWatchClient(), env.metricsNamespace),
  router: await createRouter(env.router),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  recovery: env.recovery,
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
  artifacts: new S3ArtifactStore(s3Client()),
  bucket: env.artifactBucket,
}));
