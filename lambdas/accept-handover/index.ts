import { STEP_ACCEPT_HANDOVER } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3UpstreamArtifacts } from '../adapters/s3-upstream.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { s3Client } from '../shared/clients/s3.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

// `environment` (BB_ENVIRONMENT_JSON: the previous environment it accepts) is mapped by stepEntry.
export const handler = await stepEntry(STEP_ACCEPT_HANDOVER, createHandler, (env) => ({
  upstream: new S3UpstreamArtifacts(s3Client()),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  // A refused hand-over pages P2 on the incident topic.
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
  clock: systemClock,
  model: env.model,
  bucket: env.artifactBucket,
}));
