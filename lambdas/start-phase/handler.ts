/** StartPhase: shift traffic to the phase's weight and open its monitor loop. */
import { startPhase } from '../../core/app/start-phase.js';
import { StartPhaseInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(StartPhaseInputSchema, 'StartPhase'),
  run: startPhase,
  report: (phase, input, { log }) => {
    log.info('phase started', { releaseId: input.releaseId, phase: phase.index, weight: phase.weight, looks: phase.looks, lookEveryMinutes: phase.lookEveryMinutes });
  },
});
