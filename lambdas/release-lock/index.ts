import { STEP_RELEASE_LOCK } from '../../core/steps.js';
import { DynamoLedger, DynamoLock } from '../adapters/dynamodb-ledger.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_RELEASE_LOCK, createHandler, (env) => {
  const doc = documentClient();
  return {
    lock: new DynamoLock(doc, env.tableName, systemClock),
    ledger: new DynamoLedger(doc, env.tableName),
    clock: systemClock,
  };
});
