/** core/bake.ts: the bake's reference windows, pairing and verdict; the recovery check. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MinuteDatapoint, VariantMinute } from '../../core/analysis.js';
import { BakePolicySchema, judgeBake, judgeRecovery, pairWithReference, RecoveryPolicySchema, referenceCoverage, referenceWindows } from '../../core/bake.js';
import { DEFAULT_POLICY } from '../../core/policy.js';

const bake = BakePolicySchema.parse({ minutes: 120, lookEveryMinutes: 10 });
const recovery = RecoveryPolicySchema.parse({});

/** A variant minute of `requests` with `rate` errors and a p99 around `p99`, a little deterministic jitter. */
function v(requests: number, rate: number, p99 = 650, i = 0): VariantMinute {
  const j = ((i * 7919) % 13) - 6;
  return { requests, errors: Math.round(requests * rate), latencyP50: 180 + j, latencyP95: 420 + j, latencyP99: p99 + 3 * j, riskEnergy: 0.3 + j / 1000, constraintViolations: Math.round(requests * 0.01), safetyIncidents: 0 };
}
const empty = (): VariantMinute => ({ requests: 0, errors: 0, latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null, constraintViolations: 0, safetyIncidents: 0 });
/** The released version's bake minutes (in the canary's place, 100%) and a reference day (the previous version in the baseline's). */
const bakeMinutes = (n: number, rate: (i: number) => number): MinuteDatapoint[] => Array.from({ length: n }, (_, i) => ({ minute: i, canary: v(6000, rate(i), 650, i), baseline: empty() }));
const referenceDay = (n: number, rate = 0.004): MinuteDatapoint[] => Array.from({ length: n }, (_, i) => ({ minute: i, canary: empty(), baseline: v(6000, rate, 650, i + 5) }));

describe('the bake', () => {
  it('tries the reference a day before, then a week before (or the other way round)', () => {
    const from = new Date('2026-01-10T12:00:00Z');
    const to = new Date('2026-01-10T13:00:00Z');
    expect(referenceWindows(from, to, 'day').map((w) => [w.kind, w.from.toISOString(), w.to.toISOString()])).toEqual([
      ['day', '2026-01-09T12:00:00.000Z', '2026-01-09T13:00:00.000Z'],
      ['week', '2026-01-03T12:00:00.000Z', '2026-01-03T13:00:00.000Z'],
    ]);
    expect(referenceWindows(from, to, 'week')[0]!.kind).toBe('week');
  });

  it('pairs each bake minute with its reference minute; a minute missing on either side is left out', () => {
    const b = bakeMinutes(5, () => 0.004);
    const r = referenceDay(5).filter((m) => m.minute !== 2);
    const paired = pairWithReference(b, r);
    expect(paired.map((p) => p.minute)).toEqual([0, 1, 3, 4]);
    expect(paired[0]!.canary).toEqual(b[0]!.canary);
    expect(paired[0]!.baseline).toEqual(r[0]!.baseline);
    expect(referenceCoverage(b, r)).toBeCloseTo(0.8);
  });

  it('keeps watching while healthy, releases at the end, rolls back on a regression against the previous version', () => {
    const refs = [{ kind: 'day' as const, points: referenceDay(120) }];
    expect(judgeBake({ bake: bakeMinutes(60, () => 0.004), references: refs, minutesWatched: 60 }, bake, DEFAULT_POLICY.canary).action).toBe('continue');
    const end = judgeBake({ bake: bakeMinutes(120, () => 0.004), references: refs, minutesWatched: 120 }, bake, DEFAULT_POLICY.canary);
    expect(end).toMatchObject({ action: 'released', reference: 'day', watchedMinutes: 120 });
    const worse = judgeBake({ bake: bakeMinutes(60, (i) => (i >= 20 ? 0.012 : 0.004)), references: refs, minutesWatched: 60 }, bake, DEFAULT_POLICY.canary);
    expect(worse).toMatchObject({ action: 'rollback', reference: 'day', verdict: { verdict: 'fail', reason: 'error_rate_increase' } });
    expect(worse.verdict.summary).toMatch(/against the previous version a day before/);
  });

  it('a day-before window with too little data falls back to the week before; with none, only the absolute rules judge', () => {
    const gappy = referenceDay(60).filter((m) => m.minute % 2 === 0);
    const week = referenceDay(60);
    expect(judgeBake({ bake: bakeMinutes(60, () => 0.004), references: [{ kind: 'day', points: gappy }, { kind: 'week', points: week }], minutesWatched: 60 }, bake, DEFAULT_POLICY.canary).reference).toBe('week');
    const none = judgeBake({ bake: bakeMinutes(60, () => 0.02), references: [{ kind: 'day', points: [] }], minutesWatched: 60 }, bake, DEFAULT_POLICY.canary);
    expect(none.reference).toBeNull();
    expect(none.verdict.summary).toMatch(/absolute rules only/);
    // A higher error rate alone is not judged without a reference (no comparison): no rollback.
    expect(none.action).toBe('continue');
  });

  it('daily patterns are not regressions: the same diurnal traffic both days never rolls back (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.02, noNaN: true }), fc.double({ min: 0.3, max: 1.5, noNaN: true }), (rate, amplitude) => {
        const shape = (i: number) => 1 + amplitude * Math.sin((2 * Math.PI * i) / 120) * 0.5;
        const b = Array.from({ length: 120 }, (_, i) => ({ minute: i, canary: v(Math.round(6000 * shape(i)), rate, 650, i), baseline: empty() }));
        const r = Array.from({ length: 120 }, (_, i) => ({ minute: i, canary: empty(), baseline: v(Math.round(6000 * shape(i)), rate, 650, i + 3) }));
        return judgeBake({ bake: b, references: [{ kind: 'day', points: r }], minutesWatched: 120 }, bake, DEFAULT_POLICY.canary).action !== 'rollback';
      }),
      { numRuns: 40 },
    );
  });
});

describe('the recovery check', () => {
  const before = Array.from({ length: 30 }, (_, i) => v(6000, 0.004, 650, i));
  it('healthy again: serving, error rate and p99 within the pre-release range', () => {
    const after = Array.from({ length: 15 }, (_, i) => v(6000, 0.0045, 660, i));
    expect(judgeRecovery(before, after, recovery)).toMatchObject({ recovered: true, after: { minutes: 13 } });
  });
  it('not healthy: the error rate or p99 stays high, or nothing is served', () => {
    expect(judgeRecovery(before, Array.from({ length: 15 }, (_, i) => v(6000, 0.03, 650, i)), recovery)).toMatchObject({ recovered: false, message: expect.stringMatching(/error rate 3.00%, over 0.90%/) });
    expect(judgeRecovery(before, Array.from({ length: 15 }, (_, i) => v(6000, 0.004, 1100, i)), recovery)).toMatchObject({ recovered: false, message: expect.stringMatching(/p99 \d+ ms, over 813 ms/) });
    expect(judgeRecovery(before, Array.from({ length: 15 }, () => empty()), recovery)).toMatchObject({ recovered: false, message: expect.stringMatching(/served no request/) });
  });
  it('the settle minutes right after the rollback are not held against it', () => {
    const after = [v(6000, 0.05, 900, 0), v(6000, 0.05, 900, 1), ...Array.from({ length: 13 }, (_, i) => v(6000, 0.004, 650, i))];
    expect(judgeRecovery(before, after, recovery).recovered).toBe(true);
  });
});
