/** RejectRelease: P3 incident, audit and terminal status of a release stopped before any traffic. */
import { rejectRelease, type RejectReleaseDeps, type RejectResult } from '../../core/app/reject-release.js';
import { RejectInputSchema } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type RejectReleaseHandlerDeps = RejectReleaseDeps & Observability;

export function createHandler(deps: RejectReleaseHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<RejectResult> => {
    const input = parseEvent(RejectInputSchema, event, 'RejectRelease');
    const out = await rejectRelease(input, deps);
    log.info('release rejected', { releaseId: input.releaseId, cause: input.cause });
    telemetry.count('ReleasesRejected');
    return out;
  };
}
