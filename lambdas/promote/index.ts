import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { createRouter, documentClient, snsClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.router]: true, [ENV.approvalTopicArn]: true }));
const pt = powertools('Promote');

export const handler = lambdaEntry(
  pt,
  createHandler({
    router: createRouter(env[ENV.router]),
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    // Info notifications go to the approvals topic (see SnsNotifier).
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: null, approvalTopicArn: env[ENV.approvalTopicArn] }),
    clock: systemClock,
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
