import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { documentClient, s3Client, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.artifactBucket]: true }));
const pt = powertools('VerifyArtifact');

export const handler = lambdaEntry(
  pt,
  createHandler({
    artifacts: new S3ArtifactStore(s3Client()),
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    clock: systemClock,
    bucket: env[ENV.artifactBucket],
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
