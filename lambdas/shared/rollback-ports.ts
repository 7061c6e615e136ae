/**
 * The ports of THE rollback (core/app/rollback.ts RollbackDeps) on AWS, for the two steps that run it
 * on their own: the rollback function (alarms, operators, state machines) and ExecutionEnded.
 */
import type { RollbackDeps } from '../../core/app/rollback.js';
import type { RouterConfig } from '../../core/runtime-config.js';
import { DynamoLedger, DynamoLock } from '../adapters/dynamodb-ledger.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter } from './router.js';
import { systemClock } from './runtime.js';
import { documentClient } from './clients/dynamodb.js';
import { sfnClient } from './clients/sfn.js';
import { snsClient } from './clients/sns.js';

export async function rollbackPorts(env: { readonly tableName: string; readonly router: RouterConfig; readonly incidentTopicArn: string }): Promise<RollbackDeps> {
  const doc = documentClient();
  return {
    ledger: new DynamoLedger(doc, env.tableName),
    lock: new DynamoLock(doc, env.tableName, systemClock),
    router: await createRouter(env.router),
    // Only stops executions (the canary's, by ARN); never starts one.
    executions: new SfnExecutions(sfnClient(), null),
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
    clock: systemClock,
  };
}
