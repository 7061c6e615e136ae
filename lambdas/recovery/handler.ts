/** PlanRecovery / VerifyRecovery: after a rollback, is the restored version healthy again? */
import { recoveryStep } from '../../core/app/recovery.js';
import { RecoveryInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(RecoveryInputSchema, 'Recovery'),
  run: recoveryStep,
  report: (out, input, { log, telemetry }) => {
    log.info(`recovery ${input.action}`, { releaseId: input.releaseId, recovered: out.recovered, message: out.message });
    if (out.recovered === false) telemetry.count('RecoveryFailed');
  },
});
