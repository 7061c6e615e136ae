import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger, DynamoLock } from '../adapters/dynamodb-ledger.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter, documentClient, sfnClient, snsClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.router]: true, [ENV.incidentTopicArn]: true }));
const pt = powertools('ExecutionEnded');
const doc = documentClient();

export const handler = lambdaEntry(
  pt,
  createHandler({
    ledger: new DynamoLedger(doc, env[ENV.tableName]),
    lock: new DynamoLock(doc, env[ENV.tableName], systemClock),
    router: createRouter(env[ENV.router]),
    // Only stops executions (the canary's, by ARN); never starts one.
    executions: new SfnExecutions(sfnClient(), null),
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env[ENV.incidentTopicArn], approvalTopicArn: null }),
    clock: systemClock,
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
