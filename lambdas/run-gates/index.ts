import { STEP_RUN_GATES } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_RUN_GATES, createHandler, (env) => ({
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
  gatePolicy: env.gatePolicy,
}));
