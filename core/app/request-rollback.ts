/**
 * A planned rollback of a released version (RELEASE.md §4.1–4.2: assessment → approval → execution
 * → verification → communication): one identity asks, with its reason and the version it should go
 * back to; another approves it by running the rollback (core/rollback.ts secondIdentityIssue). The
 * request is an audit event; nothing moves until the approval.
 */
import type { StoredAuditEvent } from '../audit.js';
import { InvalidInputError } from '../errors.js';
import type { AuditLedger, Clock } from '../ports.js';
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

/** Records the request of `identity`; only a release serving everyone in its bake can be asked for (others roll back at once or have ended). */
export async function requestRollback(input: { releaseId: string; identity: string; reason: string; to: string | null }, deps: RequestRollbackDeps): Promise<{ requestedBy: string; at: string }> {
  const record = await deps.ledger.getRelease(input.releaseId);
  if (record === null) throw new ReleaseNotFoundError(input.releaseId);
  if (record.status !== 'baking') {
    throw new InvalidInputError('rollback request', [{ path: 'status', message: `release ${input.releaseId} is ${record.status}: only a released version in its bake needs a second identity (a release in its canary rolls back at once)` }]);
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
