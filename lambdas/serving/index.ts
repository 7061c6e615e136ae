import { STEP_SERVING } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createServingTarget } from '../shared/serving-target.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_SERVING, createHandler, async (env) => ({
  target: await createServingTarget(env.serving),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  settings: env.serving,
}));
