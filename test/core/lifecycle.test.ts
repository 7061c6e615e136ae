import { describe, expect, it } from 'vitest';
import {
  ACTIVE_STATUSES,
  AFTER_REJECTION,
  approvalNotWaiting,
  canMove,
  IN_FLIGHT_STATUSES,
  isInFlight,
  isTerminal,
  keepsLock,
  MOVES,
  operatorOffers,
  REJECT_CAUSES,
  RELEASE_STATUSES,
  settledRollback,
  TERMINAL_STATUSES,
  type ReleaseStatus,
} from '../../core/lifecycle.js';
import { afterRejection } from '../../core/app/reject-release.js';
import { baseRecord } from '../local/ledger-fixtures.js';

const record = (status: ReleaseStatus, over: Parameters<typeof baseRecord>[2] = {}) => baseRecord('r-1', '2026-01-05T09:00:00.000Z', { status, ...over });

describe('the lifecycle table', () => {
  it.each([
    // status, active, in flight, ended, keeps the lock, offers
    ['received', true, true, false, false, ['rollback']],
    ['gated', true, true, false, false, ['rollback']],
    ['canary', true, true, false, false, ['rollback']],
    ['awaiting_approval', true, true, false, false, ['approve', 'reject']],
    ['rolling_back', false, true, false, true, ['rollback']],
    ['rejected', false, false, true, false, []],
    // At 100%, the bake about to start: a rollback is answered already_promoted until it has.
    ['promoted', true, true, false, false, []],
    ['baking', true, true, false, false, ['rollback']],
    ['released', false, false, true, false, []],
    ['rolled_back', false, false, true, false, []],
  ] as const)('%s: active %s, in flight %s, ended %s, keeps the lock %s, offers %j', (status, active, inFlight, ended, lock, offers) => {
    expect(ACTIVE_STATUSES.includes(status)).toBe(active);
    expect(IN_FLIGHT_STATUSES.includes(status)).toBe(inFlight);
    expect(isInFlight(status)).toBe(inFlight);
    expect(TERMINAL_STATUSES.includes(status)).toBe(ended);
    expect(isTerminal(status)).toBe(ended);
    expect(keepsLock(status)).toBe(lock);
    expect(operatorOffers(status)).toEqual(offers);
  });

  it('every status is active, rolling back or ended — exactly one', () => {
    for (const s of RELEASE_STATUSES) expect([ACTIVE_STATUSES.includes(s), s === 'rolling_back', TERMINAL_STATUSES.includes(s)].filter(Boolean)).toHaveLength(1);
  });

  it('no move starts from an ended status; only reject, release and the end of a rollback end a release', () => {
    for (const [name, move] of Object.entries(MOVES)) {
      for (const from of move.from) expect(isTerminal(from), `${name} from ${from}`).toBe(false);
      expect(isTerminal(move.to), name).toBe(['reject', 'release', 'finishRollback'].includes(name));
    }
    expect(MOVES.startRollback.from).toEqual(ACTIVE_STATUSES);
  });

  it.each([
    ['received', 'gatesPassed', true],
    ['gated', 'gatesPassed', false],
    ['gated', 'startPhase', true],
    ['awaiting_approval', 'startPhase', true],
    ['canary', 'approve', false],
    ['awaiting_approval', 'approve', true],
    ['awaiting_approval', 'promote', true],
    ['rolling_back', 'promote', false],
    ['rolling_back', 'startRollback', false],
    ['rolling_back', 'finishRollback', true],
  ] as const)('%s → %s: %s', (status, move, allowed) => {
    expect(canMove(status, move)).toBe(allowed);
  });

  it('after a rejection: the candidate is removed once deployed, the lock released once taken', () => {
    expect(AFTER_REJECTION).toEqual({
      invalid_manifest: 'done',
      lock_busy: 'done',
      gates_failed: 'release_lock',
      artifact_rejected: 'release_lock',
      deploy_failed: 'remove_candidate',
      smoke_failed: 'remove_candidate',
      verification_failed: 'remove_candidate',
    });
    for (const cause of REJECT_CAUSES) expect(afterRejection(cause)).toBe(AFTER_REJECTION[cause]);
  });
});

describe('what a release no longer there to act on answers', () => {
  const at = '2026-01-05T10:04:01.000Z';

  it.each(['received', 'gated', 'canary', 'awaiting_approval', 'rolling_back'] as const)('a rollback of a release %s acts (null)', (status) => {
    expect(settledRollback(record(status))).toBeNull();
  });

  it('rolled back: says so, with the reason it was paged with', () => {
    const r = record('rolled_back', { outcome: { status: 'rolled_back', reason: 'error_rate_increase', severity: 'P1', at } });
    expect(settledRollback(r)).toEqual({
      outcome: 'already_rolled_back',
      releaseId: 'r-1',
      reason: 'error_rate_increase',
      severity: 'P1',
      message: `release r-1 was already rolled back (error_rate_increase, P1) at ${at}; nothing changed`,
    });
    expect(settledRollback(r, true)?.message).toBe(`release r-1 was already rolled back by another trigger (error_rate_increase, P1) at ${at}; nothing changed`);
  });

  it('promoted: nothing to roll back, and how to go back', () => {
    expect(settledRollback(record('promoted', { outcome: { status: 'promoted', reason: null, severity: null, at } }))).toEqual({
      outcome: 'already_promoted',
      releaseId: 'r-1',
      reason: null,
      severity: null,
      message: `release r-1 was already promoted at ${at}: it is the baseline now; nothing changed (to go back, release the previous version again)`,
    });
  });

  it('rejected: no traffic ever moved', () => {
    expect(settledRollback(record('rejected'))).toMatchObject({ outcome: 'no_release_in_flight', message: 'release r-1 was rejected before any traffic moved; nothing to roll back' });
  });

  it('an approval waits only in awaiting_approval with a phase', () => {
    expect(approvalNotWaiting(record('awaiting_approval', { phase: 1 }))).toBeNull();
    expect(approvalNotWaiting(record('awaiting_approval'))).toBe('the release is awaiting_approval');
    expect(approvalNotWaiting(record('canary', { phase: 1 }))).toBe('the release is canary');
    expect(approvalNotWaiting(record('rolled_back', { phase: 1 }))).toBe('the release is rolled_back');
  });
});
