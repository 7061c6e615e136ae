/** Promote: the candidate becomes the baseline at 100%. */
import { promote } from '../../core/app/promote.js';
import { PromoteInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(PromoteInputSchema, 'Promote'),
  run: promote,
  report: (out, input, { log, telemetry }) => {
    log.info(out.outcome === 'promoted' ? 'release promoted' : 'release was already promoted', { releaseId: input.releaseId, version: input.version });
    if (out.outcome === 'promoted') telemetry.count('ReleasesPromoted');
  },
});
