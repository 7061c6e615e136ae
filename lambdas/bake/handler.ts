/** StartBake / WatchBake: the released version against the previous one, after 100%. */
import { bakeStep } from '../../core/app/bake.js';
import { BakeInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(BakeInputSchema, 'Bake'),
  run: bakeStep,
  report: (out, input, { log, telemetry }) => {
    log.info(`bake ${input.action}: ${out.action}`, { releaseId: input.releaseId, iteration: out.iteration, reference: out.reference, verdict: out.verdict?.verdict ?? null });
    if (out.action === 'rollback') telemetry.count('BakeRegressed');
    if (out.action === 'released') telemetry.count('Released');
  },
});
