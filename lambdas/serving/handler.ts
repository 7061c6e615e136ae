/**
 * Serving: the serving target's steps (core/app/serving.ts) — deploy the candidate, open a goal's
 * loop (converge, remove), apply it, check it, and the smoke test. One function, because every step
 * needs the same permissions on the same endpoint or function.
 */
import { servingStep } from '../../core/app/serving.js';
import { ServingInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(ServingInputSchema, 'Serving'),
  run: servingStep,
  report: (out, input, { log, telemetry }) => {
    if ('goal' in out) {
      log.info(out.message, { releaseId: input.releaseId, action: input.action, goal: out.goal, next: out.next, checks: out.checks });
      if (out.next === 'done') telemetry.count(`Serving_${out.goal}`);
      if (out.next === 'failed') telemetry.count(`ServingFailed_${out.goal}`);
    } else {
      log.info(out.summary, { releaseId: input.releaseId, action: input.action, passed: out.passed });
      telemetry.count(out.passed ? 'SmokeTestsPassed' : 'SmokeTestsFailed');
    }
  },
});
