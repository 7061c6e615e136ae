/** StartPhase: shift traffic to the phase's weight and open its monitor loop. */
import { startPhase, type StartPhaseDeps } from '../../core/app/start-phase.js';
import { StartPhaseInputSchema, type PhaseState } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { silentLog, type Observability } from '../shared/ports.js';

export type StartPhaseHandlerDeps = StartPhaseDeps & Observability;

export function createHandler(deps: StartPhaseHandlerDeps) {
  const log = deps.log ?? silentLog;
  return async (event: unknown): Promise<PhaseState> => {
    const input = parseEvent(StartPhaseInputSchema, event, 'StartPhase');
    const phase = await startPhase(input, deps);
    log.info('phase started', { releaseId: input.releaseId, phase: phase.index, weight: phase.weight, looks: phase.looks, lookEveryMinutes: phase.lookEveryMinutes });
    return phase;
  };
}
