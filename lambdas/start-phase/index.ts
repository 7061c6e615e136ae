import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createRouter, documentClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.router]: true }));
const pt = powertools('StartPhase');

export const handler = lambdaEntry(
  pt,
  createHandler({
    router: createRouter(env[ENV.router]),
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    clock: systemClock,
    log: pt.log,
  }),
);
