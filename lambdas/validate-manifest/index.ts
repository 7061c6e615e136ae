import { STEP_VALIDATE_MANIFEST } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { s3Client } from '../shared/clients/s3.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_VALIDATE_MANIFEST, createHandler, (env) => ({
  artifacts: new S3ArtifactStore(s3Client()),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  // An emergency rollback release pages P0 on the incident topic.
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
}));
