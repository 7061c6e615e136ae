import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { documentClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.gatePolicy]: true }));
const pt = powertools('RunGates');

export const handler = lambdaEntry(
  pt,
  createHandler({
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    clock: systemClock,
    gatePolicy: env[ENV.gatePolicy],
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
