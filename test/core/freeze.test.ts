/** The emergency freeze's rules (core/freeze.ts): what it rejects, what it holds, what it lets through. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalFrozenIssue, exemptFromFreeze, freezeIssue, heldByFreeze, type Freeze } from '../../core/freeze.js';
import { MONITOR_ACTIONS } from '../../core/plan.js';

const FREEZE: Freeze = { reason: 'SEV-1 in the serving fleet', by: 'arn:aws:sts::1:assumed-role/IC/carol', at: '2026-01-05T10:00:00.000Z' };

describe('freezeIssue: a new release while frozen', () => {
  it('is rejected, naming the freeze, who set it, since when, and the way out', () => {
    expect(freezeIssue(FREEZE, undefined)).toEqual({
      path: 'freeze',
      message: expect.stringMatching(/^releases are frozen since 2026-01-05T10:00:00.000Z by arn:aws:sts::1:assumed-role\/IC\/carol: SEV-1 in the serving fleet\. .*builderbrain unfreeze.*overrideFreeze/),
    });
    expect(freezeIssue(FREEZE, { overrideFreeze: false })).not.toBeNull();
  });

  it('passes when not frozen, and for a hotfix that overrides the freeze', () => {
    expect(freezeIssue(null, undefined)).toBeNull();
    expect(freezeIssue(FREEZE, { overrideFreeze: true })).toBeNull();
    expect(exemptFromFreeze({ overrideFreeze: true })).toBe(true);
    expect(exemptFromFreeze(null)).toBe(false);
  });
});

describe('heldByFreeze: the monitor loop at a decision point', () => {
  it.each([
    ['advance', 'continue', true],
    ['await_approval', 'continue', true],
    ['continue', 'continue', false],
    ['rollback', 'rollback', false],
  ] as const)('%s while frozen → %s (held %s)', (decided, action, held) => {
    expect(heldByFreeze(decided, FREEZE, false)).toEqual({ action, held });
  });

  it('property: never more traffic, an approval or a promotion while frozen (unless exempt); never a change when not frozen; a rollback always goes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MONITOR_ACTIONS), fc.boolean(), fc.boolean(), (decided, frozen, exempt) => {
        const r = heldByFreeze(decided, frozen ? FREEZE : null, exempt);
        if (!frozen || exempt) expect(r).toEqual({ action: decided, held: false });
        else expect(['continue', 'rollback']).toContain(r.action);
        if (decided === 'rollback') expect(r.action).toBe('rollback');
        expect(r.held).toBe(r.action !== decided);
      }),
    );
  });
});

describe('approvalFrozenIssue', () => {
  it('an approval waits while frozen, unless the release is exempt', () => {
    expect(approvalFrozenIssue(FREEZE, false)).toMatch(/releases are frozen since .* by .*carol.*approvals wait until `builderbrain unfreeze`.*nothing was changed/);
    expect(approvalFrozenIssue(FREEZE, true)).toBeNull();
    expect(approvalFrozenIssue(null, false)).toBeNull();
  });
});
