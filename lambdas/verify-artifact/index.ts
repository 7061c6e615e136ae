import { STEP_VERIFY_ARTIFACT } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { documentClient, s3Client, systemClock } from '../shared/aws.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_VERIFY_ARTIFACT, createHandler, (env) => ({
  artifacts: new S3ArtifactStore(s3Client()),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  bucket: env.artifactBucket,
}));
