import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { sfnClient, systemClock } from '../shared/aws.js';
import { lambdaEntry, parseEnv, powertools } from '../shared/runtime.js';
import { createHandler } from './handler.js';

const env = parseEnv(RuntimeEnvSchema.pick({ [ENV.promotionStateMachineArn]: true, [ENV.model]: true }));
const pt = powertools('Intake');

export const handler = lambdaEntry(
  pt,
  createHandler({
    executions: new SfnExecutions(sfnClient(), env[ENV.promotionStateMachineArn]),
    clock: systemClock,
    model: env[ENV.model],
    log: pt.log,
    telemetry: pt.telemetry,
  }),
);
