/** AcquireLock / ReleaseLock: one release per model at a time (a busy lock is answered, not waited for). */
import { releaseLockStep } from '../../core/app/release-lock.js';
import { LockInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(LockInputSchema, 'ReleaseLock'),
  run: releaseLockStep,
  report: (out, input, { log }) => {
    log.info(`lock ${input.action}`, { releaseId: input.releaseId, model: input.model, acquired: out.acquired, holder: out.holder });
  },
});
