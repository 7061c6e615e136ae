import { STEP_INTAKE } from '../../core/steps.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { sfnClient, systemClock } from '../shared/aws.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_INTAKE, createHandler, (env) => ({
  executions: new SfnExecutions(sfnClient(), env.promotionStateMachineArn),
  clock: systemClock,
  model: env.model,
}));
