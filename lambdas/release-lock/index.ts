import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger, DynamoLock } from '../adapters/dynamodb-ledger.js';
import { documentClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true }));
const pt = powertools('ReleaseLock');
const doc = documentClient();

export const handler = lambdaEntry(
  pt,
  createHandler({
    lock: new DynamoLock(doc, env[ENV.tableName], systemClock),
    ledger: new DynamoLedger(doc, env[ENV.tableName]),
    clock: systemClock,
    log: pt.log,
  }),
);
