import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createServingTarget, documentClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.serving]: true }));
const pt = powertools('Serving');
const settings = env[ENV.serving];

export const handler = lambdaEntry(
  pt,
  createHandler({
    target: createServingTarget(settings),
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    clock: systemClock,
    settings,
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
