/** RunHooks: the environment's verification hooks of one stage, each answer judged and audited. */
import { runHooks } from '../../core/app/run-hooks.js';
import { HooksInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(HooksInputSchema, 'RunHooks'),
  run: runHooks,
  report: (out, input, { log, telemetry }) => {
    log.info(out.passed ? 'hooks passed' : 'hook failed', {
      releaseId: input.releaseId,
      stage: input.stage,
      hooks: out.results.map((r) => ({ hook: r.hook, passed: r.passed, durationMs: r.durationMs })),
      failure: out.failure,
    });
    telemetry.count(out.passed ? 'HooksPassed' : 'HookFailed');
  },
});
