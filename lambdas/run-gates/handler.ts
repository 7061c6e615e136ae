/** RunGates: the promotion gates of policy.md §1, every check reported. */
import { runGates, type RunGatesDeps } from '../../core/app/run-gates.js';
import { GatesInputSchema } from '../../core/contracts.js';
import type { GateResult } from '../../core/gates.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type RunGatesHandlerDeps = RunGatesDeps & Observability;

export function createHandler(deps: RunGatesHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<GateResult> => {
    const input = parseEvent(GatesInputSchema, event, 'RunGates');
    const result = await runGates(input, deps);
    log.info(result.passed ? 'gates passed' : 'gates failed', { releaseId: input.releaseId, failed: result.checks.filter((c) => !c.passed).map((c) => c.name) });
    telemetry.count(result.passed ? 'GatesPassed' : 'GatesFailed');
    return result;
  };
}
