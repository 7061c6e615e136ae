/** Promote: the candidate becomes the baseline at 100%. */
import { promote, type PromoteDeps, type PromoteResult } from '../../core/app/promote.js';
import { PromoteInputSchema } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type PromoteHandlerDeps = PromoteDeps & Observability;

export function createHandler(deps: PromoteHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<PromoteResult> => {
    const input = parseEvent(PromoteInputSchema, event, 'Promote');
    const out = await promote(input, deps);
    log.info(out.outcome === 'promoted' ? 'release promoted' : 'release was already promoted', { releaseId: input.releaseId, version: input.version });
    if (out.outcome === 'promoted') telemetry.count('ReleasesPromoted');
    return out;
  };
}
