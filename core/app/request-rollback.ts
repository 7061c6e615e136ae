/**
 * A planned rollback of a released version (RELEASE.md §4.1–4.2: assessment → approval → execution
 * → verification → communication): one identity asks, with its reason and the version it should go
 * back to; another approves it by running the rollback (core/rollback.ts secondIdentityIssue). The
 * request is an audit event; nothing moves until the approval.
 */
import type { StoredAuditEvent } from '../audit.js';
import { InvalidInputError } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifestText } from '../manifest.js';
import type { ArtifactStore, AuditLedger, Clock } from '../ports.js';
import { rollbackManifest, twoPeopleIssue } from '../rollback.js';
import { ReleaseNotFoundError } from './errors.js';
import { eventIds } from './ids.js';

export interface RequestRollbackDeps {
  readonly ledger: AuditLedger;
  readonly clock: Clock;
}

/** The pending request of a release: the newest `rollback_requested` with no rollback after it. */
export function pendingRollbackRequest(timeline: readonly StoredAuditEvent[]): { by: string; reason: string; to: string | null; at: string } | null {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const e = timeline[i]!;
    if (e.type === 'rollback' || e.type === 'rollback_failed') return null;
    if (e.type === 'rollback_requested') return { by: e.actor, reason: e.detail.reason ?? '', to: e.detail.to ?? null, at: e.at };
  }
  return null;
}

/** Records the request of `identity`; only a released version (in its bake, or converged) is asked for (a release in its canary rolls back at once). */
export async function requestRollback(input: { releaseId: string; identity: string; reason: string; to: string | null }, deps: RequestRollbackDeps): Promise<{ requestedBy: string; at: string }> {
  const record = await deps.ledger.getRelease(input.releaseId);
  if (record === null) throw new ReleaseNotFoundError(input.releaseId);
  if (record.status !== 'baking' && record.status !== 'released') {
    throw new InvalidInputError('rollback request', [{ path: 'status', message: `release ${input.releaseId} is ${record.status}: only a released version needs a second identity (a release in its canary rolls back at once)` }]);
  }
  const at = deps.clock.now().toISOString();
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.rollbackRequested(at),
    at,
    type: 'rollback_requested',
    actor: input.identity,
    weight: record.weight,
    detail: { reason: input.reason, to: input.to },
  });
  return { requestedBy: input.identity, at };
}

/** What a rollback release asks for: the version to bring back (a released release), what it rolls back, why, who decided. */
export interface RollbackReleaseInput {
  /** The release of the version that served before (released, or promoted before the bake existed). */
  readonly previousReleaseId: string;
  readonly of: string;
  readonly reason: string;
  readonly emergency: boolean;
  readonly requestedBy: string;
  /** The second identity of a planned rollback; null for an emergency. */
  readonly approvedBy: string | null;
}

/**
 * The release.json of a rollback release (core/rollback.ts rollbackManifest), and where it goes: the
 * previous version's own key, so the pipeline takes it as that version's release again. A planned
 * one needs two people; the previous release must have reached production, its manifest still be
 * readable and valid. The caller uploads it (the S3 event starts the release).
 */
export async function prepareRollbackRelease(input: RollbackReleaseInput, deps: { readonly ledger: AuditLedger; readonly artifacts: ArtifactStore }): Promise<{ bucket: string; key: string; version: string; text: string }> {
  if (!input.emergency) {
    const issue = input.approvedBy === null ? 'a planned rollback of a released version needs a second identity\'s approval' : twoPeopleIssue(input.requestedBy, input.approvedBy);
    if (issue !== null) throw new InvalidInputError('rollback release', [{ path: 'approvedBy', message: issue }]);
  }
  const previous = await deps.ledger.getRelease(input.previousReleaseId);
  if (previous === null) throw new ReleaseNotFoundError(input.previousReleaseId);
  if (previous.status !== 'released' && previous.status !== 'promoted') {
    throw new InvalidInputError('rollback release', [{ path: 'to', message: `release ${previous.releaseId} (${previous.version}) is ${previous.status}: only a version that reached production can be brought back` }]);
  }
  const object = await deps.artifacts.getObjectText(previous.source, MAX_MANIFEST_BYTES);
  const parsed = object.tooLarge ? null : parseManifestText(object.text);
  if (parsed === null || !parsed.ok) {
    throw new InvalidInputError('rollback release', [{ path: 'to', message: `the manifest of ${previous.version} (s3://${previous.source.bucket}/${previous.source.key}) can no longer be read as a valid manifest` }]);
  }
  const manifest = rollbackManifest(parsed.value, { of: input.of, reason: input.reason, emergency: input.emergency, requestedBy: input.requestedBy, approvedBy: input.emergency ? null : input.approvedBy });
  return { bucket: previous.source.bucket, key: previous.source.key, version: manifest.version, text: `${JSON.stringify(manifest, null, 2)}\n` };
}
