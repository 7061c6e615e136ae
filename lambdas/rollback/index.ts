import { STEP_ROLLBACK } from '../../core/steps.js';
import { DynamoLedger, DynamoLock } from '../adapters/dynamodb-ledger.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter, documentClient, sfnClient, snsClient, systemClock } from '../shared/aws.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = stepEntry(STEP_ROLLBACK, createHandler, (env) => {
  const doc = documentClient();
  return {
    ledger: new DynamoLedger(doc, env.tableName),
    lock: new DynamoLock(doc, env.tableName, systemClock),
    router: createRouter(env.router),
    // Only stops executions (the canary's, by ARN); never starts one.
    executions: new SfnExecutions(sfnClient(), null),
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env.incidentTopicArn, approvalTopicArn: null }),
    clock: systemClock,
    model: env.model,
    warmup: env.alarmWarmup,
  };
});
