/** RejectRelease: P3 incident, audit and terminal status of a release stopped before any traffic. */
import { rejectRelease } from '../../core/app/reject-release.js';
import { RejectInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(RejectInputSchema, 'RejectRelease'),
  run: rejectRelease,
  report: (_out, input, { log, telemetry }) => {
    log.info('release rejected', { releaseId: input.releaseId, cause: input.cause });
    telemetry.count('ReleasesRejected');
  },
});
