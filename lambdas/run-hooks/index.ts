import { STEP_RUN_HOOKS } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { LambdaHookInvoker } from '../adapters/lambda-hook-invoker.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { stepEntry } from '../shared/entry.js';
import { lambdaClient } from '../shared/clients/lambda.js';
import { createHandler } from './handler.js';

// `environment` (BB_ENVIRONMENT_JSON: the hooks, the endpoint they test) is mapped by stepEntry.
export const handler = await stepEntry(STEP_RUN_HOOKS, createHandler, (env) => ({
  hooks: new LambdaHookInvoker(lambdaClient()),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  clock: systemClock,
}));
