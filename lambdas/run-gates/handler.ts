/** RunGates: the promotion gates of policy.md §1, every check reported. */
import { runGates } from '../../core/app/run-gates.js';
import { GatesInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(GatesInputSchema, 'RunGates'),
  run: runGates,
  report: (result, input, { log, telemetry }) => {
    log.info(result.passed ? 'gates passed' : 'gates failed', { releaseId: input.releaseId, failed: result.checks.filter((c) => !c.passed).map((c) => c.name) });
    telemetry.count(result.passed ? 'GatesPassed' : 'GatesFailed');
  },
});
