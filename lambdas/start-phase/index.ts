import { STEP_START_PHASE } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { createRouter } from '../shared/router.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_START_PHASE, createHandler, async (env) => ({
  router: await createRouter(env.router),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
}));
