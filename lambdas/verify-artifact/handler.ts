/** VerifyArtifact: the uploaded artifact exists under the release's folder and has the manifest's SHA-256. */
import { verifyArtifact, type VerifyArtifactDeps } from '../../core/app/verify-artifact.js';
import { VerifyArtifactInputSchema, type VerifyArtifactOutput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type VerifyArtifactHandlerDeps = VerifyArtifactDeps & Observability;

export function createHandler(deps: VerifyArtifactHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<VerifyArtifactOutput> => {
    const input = parseEvent(VerifyArtifactInputSchema, event, 'VerifyArtifact');
    const out = await verifyArtifact(input, deps);
    log.info(out.ok ? 'artifact verified' : 'artifact rejected', { releaseId: input.releaseId, reason: out.reason, digestSource: out.digestSource, size: out.size });
    telemetry.count(out.ok ? 'ArtifactsVerified' : 'ArtifactsRejected');
    return out;
  };
}
