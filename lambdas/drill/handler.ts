/** RollbackDrill: roll the candidate back on purpose, verify the baseline serves alone, restore the candidate. */
import { drill } from '../../core/app/drill.js';
import { DrillInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(DrillInputSchema, 'RollbackDrill'),
  run: drill,
  report: (out, input, { log, telemetry }) => {
    log.info(`drill ${out.action}`, { releaseId: input.releaseId, passed: out.passed, message: out.message });
    if (out.action === 'verify') telemetry.count(out.passed ? 'DrillPassed' : 'DrillFailed');
  },
});
