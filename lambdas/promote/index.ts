import { STEP_PROMOTE } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter } from '../shared/router.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { snsClient } from '../shared/clients/sns.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_PROMOTE, createHandler, async (env) => ({
  router: await createRouter(env.router),
  ledger: new DynamoLedger(documentClient(), env.tableName),
  // Info notifications go to the approvals topic (see SnsNotifier).
  notifier: new SnsNotifier(snsClient(), { incidentTopicArn: null, approvalTopicArn: env.approvalTopicArn }),
  clock: systemClock,
}));
