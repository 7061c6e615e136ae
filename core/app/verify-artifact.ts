/**
 * VerifyArtifact: binds the uploaded artifact to the manifest the gates judged, before anything
 * deploys. The artifact must be an object of the pipeline's bucket under the release's own folder,
 * exist, and have the manifest's SHA-256 (S3's stored full-object checksum, or computed by
 * streaming). A failure is returned (the state machine rejects the release, P3), never thrown.
 */
import type { VerifyArtifactOutput } from '../contracts.js';
import { checkArtifactLocation, judgeArtifact } from '../deployment.js';
import type { ArtifactStore, AuditLedger, Clock } from '../ports.js';
import { eventIds } from './ids.js';

export interface VerifyArtifactDeps {
  readonly artifacts: ArtifactStore;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  /** The pipeline's artifact bucket. */
  readonly bucket: string;
}

export async function verifyArtifact(
  input: { releaseId: string; model: string; version: string; artifact: { uri: string; sha256: string } },
  deps: VerifyArtifactDeps,
): Promise<VerifyArtifactOutput> {
  const location = checkArtifactLocation(input.artifact.uri, { bucket: deps.bucket, model: input.model, version: input.version });
  let out: VerifyArtifactOutput;
  if (!location.ok) {
    out = { ok: false, reason: 'artifact_location', message: location.message, sha256: null, digestSource: null, size: null, versionId: null };
  } else {
    const facts = await deps.artifacts.describeArtifact({ bucket: location.bucket, key: location.key });
    const verdict = judgeArtifact(input.artifact.sha256, input.artifact.uri, facts);
    out = {
      ok: verdict.ok,
      reason: verdict.ok ? null : verdict.reason,
      message: verdict.message,
      sha256: facts.sha256,
      digestSource: facts.digestSource,
      size: facts.size,
      versionId: facts.versionId,
    };
  }
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.artifactVerified(),
    at: deps.clock.now().toISOString(),
    type: 'artifact_verified',
    actor: 'step:VerifyArtifact',
    detail: { ...out, expectedSha256: input.artifact.sha256, uri: input.artifact.uri },
  });
  return out;
}
