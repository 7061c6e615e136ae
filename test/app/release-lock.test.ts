import { describe, expect, it } from 'vitest';
import { acquireReleaseLock, releaseLockStep, releaseReleaseLock } from '../../core/app/release-lock.js';
import { MODEL, world } from './helpers.js';

const rec = (releaseId: string, status: 'received' | 'rolled_back') => ({
  releaseId,
  model: MODEL,
  version: '2.1.0',
  status,
  artifact: null,
  manifestSha256: '',
  source: { bucket: 'b', key: 'k', versionId: null },
  receivedAt: '2025-03-01T09:00:00.000Z',
  updatedAt: '2025-03-01T09:00:00.000Z',
  canaryExecutionArn: null,
  phase: null,
  weight: 0,
  lastVerdict: null,
  approvers: [],
  outcome: null,
  incidentPublished: false,
});

describe('release lock', () => {
  it('one release per model: the second is refused with the holder; a retry of the holder succeeds', async () => {
    const w = world();
    expect(await acquireReleaseLock({ releaseId: 'r1', model: MODEL }, w)).toEqual({ acquired: true, holder: 'r1' });
    expect(await acquireReleaseLock({ releaseId: 'r2', model: MODEL }, w)).toEqual({ acquired: false, holder: 'r1' });
    expect(await acquireReleaseLock({ releaseId: 'r1', model: MODEL }, w)).toEqual({ acquired: true, holder: 'r1' });
    expect(await acquireReleaseLock({ releaseId: 'r3', model: 'other' }, w)).toEqual({ acquired: true, holder: 'r3' });
    expect((await w.ledger.timeline('r1')).map((e) => e.type)).toEqual(['lock_acquired']);
    expect(await w.ledger.timeline('r2')).toEqual([]);
  });

  it('a lock taken by a holder it cannot name is busy: no takeover is tried, nothing is audited', async () => {
    const w = world();
    const unnamed = { ...w.lock, acquire: async () => ({ acquired: false as const, holder: null }), release: w.lock.release.bind(w.lock), holder: w.lock.holder.bind(w.lock) };
    expect(await acquireReleaseLock({ releaseId: 'r2', model: MODEL }, { ...w, lock: unnamed })).toEqual({ acquired: false, holder: null });
    expect(await w.ledger.timeline('r2')).toEqual([]);
  });

  it('only the holder releases; releasing is idempotent and audited once', async () => {
    const w = world();
    await acquireReleaseLock({ releaseId: 'r1', model: MODEL }, w);
    expect(await releaseReleaseLock({ releaseId: 'r2', model: MODEL }, w)).toEqual({ acquired: false, holder: 'r1' });
    expect(await w.lock.holder(MODEL)).toBe('r1');
    expect(await releaseLockStep({ action: 'release', releaseId: 'r1', model: MODEL }, w)).toEqual({ acquired: false, holder: null });
    expect(await releaseLockStep({ action: 'release', releaseId: 'r1', model: MODEL }, w)).toEqual({ acquired: false, holder: null });
    expect((await w.ledger.timeline('r1')).map((e) => e.type)).toEqual(['lock_acquired', 'lock_released']);
    expect(await w.ledger.timeline('r2')).toEqual([]);
  });

  it('takes over a lock whose holder already finished', async () => {
    const w = world();
    await w.ledger.createRelease(rec('old', 'rolled_back'));
    await w.lock.acquire(MODEL, 'old');
    expect(await acquireReleaseLock({ releaseId: 'new', model: MODEL }, w)).toEqual({ acquired: true, holder: 'new' });
    expect((await w.ledger.timeline('new'))[0]?.detail).toMatchObject({ takenOverFrom: 'old' });
  });

  it('does not take over from a holder still in flight', async () => {
    const w = world();
    await w.ledger.createRelease(rec('live', 'received'));
    await w.lock.acquire(MODEL, 'live');
    expect(await acquireReleaseLock({ releaseId: 'new', model: MODEL }, w)).toEqual({ acquired: false, holder: 'live' });
  });
});
