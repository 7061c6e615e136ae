import { STEP_INTAKE } from '../../core/steps.js';
import { SfnExecutions } from '../adapters/sfn-executions.js';
import { systemClock } from '../shared/runtime.js';
import { sfnClient } from '../shared/clients/sfn.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_INTAKE, createHandler, (env) => ({
  executions: new SfnExecutions(sfnClient(), env.promotionStateMachineArn),
  clock: systemClock,
  model: env.model,
}));
