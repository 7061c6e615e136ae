import { STEP_VERIFY_ARTIFACT } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { s3Client } from '../shared/clients/s3.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_VERIFY_ARTIFACT, createHandler, (env) => ({
  artifacts: new S3ArtifactStore(s3Client()),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  bucket: env.artifactBucket,
}));
