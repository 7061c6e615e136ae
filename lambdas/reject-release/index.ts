import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { SnsNotifier } from '../adapters/sns-notifier.js';
import { documentClient, snsClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.tableName]: true, [ENV.incidentTopicArn]: true }));
const pt = powertools('RejectRelease');

export const handler = lambdaEntry(
  pt,
  createHandler({
    ledger: new DynamoLedger(documentClient(), env[ENV.tableName]),
    notifier: new SnsNotifier(snsClient(), { incidentTopicArn: env[ENV.incidentTopicArn], approvalTopicArn: null }),
    clock: systemClock,
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
