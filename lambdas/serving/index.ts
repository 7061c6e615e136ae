import { STEP_SERVING } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createServingTarget, documentClient, systemClock } from '../shared/aws.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = stepEntry(STEP_SERVING, createHandler, (env) => ({
  target: createServingTarget(env.serving),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  settings: env.serving,
}));
