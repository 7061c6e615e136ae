/**
 * AcquireLock / ReleaseLock: one release per model at a time.
 *
 * The rule: a second release of a model that arrives while another is in flight is REJECTED (P3,
 * naming the holder), not queued — queued releases would go to production in an order nobody
 * chose, on evidence gathered against a baseline that has since changed. Retry the upload after
 * the holder finishes.
 *
 * A lock whose holder already reached a terminal status (its execution died before releasing it)
 * is stale: it is taken over, and the audit records from whom.
 */
import type { LockOutput } from '../contracts.js';
import { isTerminal, keepsLock } from '../lifecycle.js';
import type { AuditLedger, Clock, ReleaseLock } from '../ports.js';
import { eventIds } from './ids.js';

export interface ReleaseLockDeps {
  readonly lock: ReleaseLock;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
}

export async function acquireReleaseLock(input: { releaseId: string; model: string }, deps: ReleaseLockDeps): Promise<LockOutput> {
  const { releaseId, model } = input;
  let result = await deps.lock.acquire(model, releaseId);
  let takenOverFrom: string | null = null;
  // A holder that could not be named (the lock changed hands while it was asked) is not known to be stale.
  if (!result.acquired && result.holder !== null) {
    const holder = await deps.ledger.getRelease(result.holder);
    if (holder !== null && isTerminal(holder.status)) {
      takenOverFrom = result.holder;
      await deps.lock.release(model, result.holder);
      result = await deps.lock.acquire(model, releaseId);
    }
  }
  if (!result.acquired) return { acquired: false, holder: result.holder };
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.lockAcquired(),
    at: deps.clock.now().toISOString(),
    type: 'lock_acquired',
    actor: 'step:AcquireLock',
    detail: { model, ...(takenOverFrom === null ? {} : { takenOverFrom, why: 'the previous holder had already finished' }) },
  });
  return { acquired: true, holder: releaseId };
}

/** Releases the lock if this release holds it (idempotent); audits only a real release. */
export async function releaseReleaseLock(input: { releaseId: string; model: string }, deps: ReleaseLockDeps): Promise<LockOutput> {
  const { releaseId, model } = input;
  const holder = await deps.lock.holder(model);
  if (holder === releaseId) {
    // A release whose rollback failed may still have traffic on its candidate: keep the model locked
    // until an operator's rollback finishes it (the stale-lock takeover then frees it).
    const record = await deps.ledger.getRelease(releaseId);
    if (record !== null && keepsLock(record.status)) return { acquired: true, holder };
    await deps.lock.release(model, releaseId);
    await deps.ledger.append({
      releaseId,
      eventId: eventIds.lockReleased(),
      at: deps.clock.now().toISOString(),
      type: 'lock_released',
      actor: 'step:ReleaseLock',
      detail: { model },
    });
    return { acquired: false, holder: null };
  }
  return { acquired: false, holder };
}

/** The LockInput contract's two actions. */
export async function releaseLockStep(
  input: { action: 'acquire' | 'release'; releaseId: string; model: string },
  deps: ReleaseLockDeps,
): Promise<LockOutput> {
  return input.action === 'acquire' ? acquireReleaseLock(input, deps) : releaseReleaseLock(input, deps);
}
