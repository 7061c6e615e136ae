/**
 * The report's chart data (local/report-charts.ts): round ticks (examples and properties), the p-value
 * axis, the phases as bands, each rule's evidence per look and the look that decided.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuleEvidence } from '../../core/analysis.js';
import { monitorLook } from '../../local/progress.js';
import { decisionOf, evidenceSeries, formatTick, linearAxis, niceTicks, phaseBands, pValueAxis, rulesJudged, type ReportLook } from '../../local/report-charts.js';

/** Is `x` 1, 2, 2.5 or 5 × 10^k (within floating-point noise)? */
function isRoundStep(x: number): boolean {
  const k = Math.floor(Math.log10(x) + 1e-9);
  const m = x / 10 ** k;
  return [1, 2, 2.5, 5, 10].some((r) => Math.abs(m - r) < 1e-6);
}

describe('niceTicks', () => {
  it.each([
    [0, 100, 5, [0, 25, 50, 75, 100]],
    [0, 100, 6, [0, 20, 40, 60, 80, 100]],
    [0, 108, 6, [0, 25, 50, 75, 100, 125]],
    [0, 282, 8, [0, 50, 100, 150, 200, 250, 300]],
    [0, 0.0123, 6, [0, 0.005, 0.01, 0.015]],
    [0.9, 1.12, 6, [0.9, 0.95, 1, 1.05, 1.1, 1.15]],
    [0, 3.2, 6, [0, 1, 2, 3, 4]],
    [0, 0, 6, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [-3, 7, 6, [-5, 0, 5, 10]],
  ])('niceTicks(%d, %d, maxTicks %d) = %j', (min, max, maxTicks, ticks) => {
    expect(niceTicks(min, max, { maxTicks })).toEqual(ticks);
  });

  it('never the old quarter-of-the-max ticks (27, 54, 81, 108)', () => {
    for (const max of [100, 108, 97, 113]) for (const t of niceTicks(0, max)) expect([27, 54, 81, 108]).not.toContain(t);
  });

  it('decades of a log axis are whole numbers', () => {
    expect(niceTicks(0, 7.5, { integer: true })).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, 40, { integer: true })).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0, 2.3, { integer: true })).toEqual([0, 1, 2, 3]);
  });

  it('properties: round, evenly spaced, covering the data, 3 to maxTicks (5–8) ticks', () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(value, value, fc.integer({ min: 5, max: 8 }), (a, b, maxTicks) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        fc.pre(hi - lo > 1e-9 * Math.max(1, Math.abs(hi), Math.abs(lo)));
        const ticks = niceTicks(lo, hi, { maxTicks });
        expect(ticks.length).toBeGreaterThanOrEqual(3);
        expect(ticks.length).toBeLessThanOrEqual(maxTicks);
        const step = ticks[1]! - ticks[0]!;
        // covers the data (up to floating-point noise: a tick a billionth of a step inside is on the edge)
        expect(ticks[0]!).toBeLessThanOrEqual(lo + step * 1e-6);
        expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(hi - step * 1e-6);
        expect(isRoundStep(step)).toBe(true);
        ticks.forEach((t, i) => {
          // every tick a multiple of the step, the steps equal
          expect(Math.abs(t / step - Math.round(t / step))).toBeLessThan(1e-6);
          if (i > 0) expect(Math.abs(t - ticks[i - 1]! - step)).toBeLessThan(step * 1e-6);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('properties: an axis from 0 over non-negative data starts at 0 and its labels are short', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 50 }), (xs) => {
        const axis = linearAxis(xs);
        expect(axis.ticks[0]).toBe(0);
        expect(axis.ticks[axis.ticks.length - 1]!).toBeGreaterThanOrEqual(Math.max(...xs));
        for (const t of axis.ticks) expect(axis.label(t)).toMatch(/^-?(\d+(\.\d{1,6})?|\d(\.\d+)?e-\d+)$/);
      }),
    );
  });
});

describe('formatTick', () => {
  it.each([
    [0.01, 0.005, '0.01'],
    [0.015, 0.005, '0.015'],
    [1, 0.05, '1'],
    [125, 25, '125'],
    [0.000004, 0.000002, '4e-6'],
    [0.30000000000000004, 0.1, '0.3'],
  ])('formatTick(%d, step %d) = %s', (v, step, label) => {
    expect(formatTick(v, step)).toBe(label);
  });
});

describe('pValueAxis', () => {
  it('decades, −log10 p upwards, past the smallest p and α', () => {
    const axis = pValueAxis([0.4, 3e-8], [0.0025]);
    expect(axis.ticks).toEqual([0, 2, 4, 6, 8]);
    expect(axis.ticks.map(axis.label)).toEqual(['1', '0.01', '1e-4', '1e-6', '1e-8']);
  });

  it('weak evidence still shows α with headroom: 1, 0.1, 0.01, 0.001, 1e-4', () => {
    const axis = pValueAxis([1, 0.8, null], [0.001]);
    expect(axis.ticks.map(axis.label)).toEqual(['1', '0.1', '0.01', '0.001', '1e-4']);
  });

  it('a p-value of 0 (underflow) is drawn at the floor, not at infinity', () => {
    const axis = pValueAxis([0], [0.002]);
    expect(Number.isFinite(axis.ticks[axis.ticks.length - 1]!)).toBe(true);
    expect(axis.ticks.length).toBeLessThanOrEqual(6);
  });
});

describe('phaseBands', () => {
  it('one band per run of a weight above 0, up to the next run', () => {
    const minutes = [0, 0, 1, 1, 1, 10, 10, 0, 0].map((weight, minute) => ({ minute, weight }));
    expect(phaseBands(minutes)).toEqual([
      { from: 2, to: 5, weight: 1 },
      { from: 5, to: 7, weight: 10 },
    ]);
  });
});

const evidence = (rule: RuleEvidence['rule'], over: Partial<RuleEvidence> = {}): RuleEvidence => ({
  rule,
  canary: 0.01,
  baseline: 0.005,
  ratio: 2,
  threshold: 1.5,
  test: 't',
  pValue: 0.5,
  alpha: 0.002,
  significant: false,
  breached: true,
  failed: false,
  window: { fromMinute: 0, toMinute: 1, minutes: 2 },
  samples: { canary: 100, baseline: 900 },
  message: `${rule} message`,
  ...over,
});

const look = (minute: number, action: string, ev: RuleEvidence[], over: Partial<ReportLook['verdict']> = {}, phase = 1): ReportLook => ({
  minute,
  weight: 10,
  loop: 'canary',
  phase,
  action,
  verdict: { verdict: 'pass', reason: null, severity: null, summary: 'canary healthy', evidence: ev, ...over },
});

describe('evidenceSeries and decisionOf', () => {
  const failing = evidence('error_rate', { pValue: 3.1e-8, significant: true, failed: true, ratio: 3.2, message: 'error rate 3% vs 1%' });
  const looks = [
    look(70, 'continue', [evidence('safety_incidents', { canary: 0, threshold: 0, pValue: null, alpha: null }), evidence('error_rate'), evidence('constraint_violations', { canary: 0.01, threshold: 0.05 })]),
    look(71, 'rollback', [evidence('safety_incidents', { canary: 0, threshold: 0, pValue: null, alpha: null }), failing, evidence('constraint_violations', { failed: true, message: 'violations' })], {
      verdict: 'fail',
      reason: 'error_rate_increase',
      severity: 'P1',
      summary: 'error_rate_increase (P1): error rate 3% vs 1%',
    }),
  ];

  it('one point per look; the effect is the ratio, the rate or the count by rule', () => {
    expect(evidenceSeries(looks, 'error_rate').map((p) => [p.minute, p.pValue, p.effect, p.limit, p.failed])).toEqual([
      [70, 0.5, 2, 1.5, false],
      [71, 3.1e-8, 3.2, 1.5, true],
    ]);
    expect(evidenceSeries(looks, 'constraint_violations')[0]).toMatchObject({ effect: 0.01, baseline: 0.005, limit: 0.05 });
    expect(evidenceSeries(looks, 'safety_incidents')[0]).toMatchObject({ effect: 0, pValue: null });
    expect(evidenceSeries(looks, 'latency_p99')).toEqual([]);
    expect(rulesJudged(looks)).toEqual(['safety_incidents', 'error_rate', 'constraint_violations']);
  });

  it('a rollback: the failing look, the rule the verdict names (the worst finding, not the first failed)', () => {
    expect(decisionOf(looks, 'rolled_back')).toEqual({
      minute: 71,
      outcome: 'rolled_back',
      rule: 'error_rate',
      label: 'rolled back here: error rate p=3.1e-8 ≤ α=0.002, 3.20× > 1.50×',
    });
  });

  it('a promotion: the last look of the canary, when it advanced', () => {
    const promoted = [look(100, 'continue', [evidence('error_rate')]), look(160, 'advance', [evidence('error_rate')])].map((l) => ({ ...l, weight: 100 }));
    expect(decisionOf(promoted, 'promoted')).toMatchObject({ minute: 160, outcome: 'promoted', rule: null, label: expect.stringMatching(/^promoted here: the 100% phase/) });
  });

  it('a rollback by an alarm between two looks: placed at the rollback marker, naming the alarm', () => {
    const markers = [
      { minute: 25, kind: 'alarm', label: 'alarm bb-canary-safety-incidents → ALARM (any safety incident on the canary)' },
      { minute: 25, kind: 'rollback', label: '[P0] rolled back' },
    ];
    expect(decisionOf([look(24, 'continue', [evidence('error_rate')])], 'rolled_back', markers)).toEqual({
      minute: 25,
      outcome: 'rolled_back',
      rule: null,
      label: 'rolled back here by alarm bb-canary-safety-incidents → ALARM (any safety incident on the canary)',
    });
  });

  it('no deciding look: nothing to place a rollback, a rejection, no looks', () => {
    expect(decisionOf([look(70, 'continue', [evidence('error_rate')])], 'rolled_back')).toBeNull();
    expect(decisionOf([], 'rejected')).toBeNull();
    expect(decisionOf([], 'promoted')).toBeNull();
  });
});

describe('monitorLook (local/progress.ts): the looks the report charts, from the steps\' results', () => {
  const verdict = { verdict: 'pass', reason: null, severity: null, immediate: false, summary: 'canary healthy', evidence: [evidence('error_rate')], sample: { minutes: 1, canaryRequests: 10, baselineRequests: 90 } };

  it('an AnalyzeCanary result is a canary look with its phase and full evidence; a Bake result a bake look', () => {
    expect(monitorLook('analyze-canary', { index: 1, weight: 10, iteration: 3, action: 'continue', verdict, looks: 60 })).toEqual({ loop: 'canary', phase: 1, iteration: 3, action: 'continue', verdict });
    expect(monitorLook('bake', { iteration: 2, action: 'continue', verdict, minutes: 240 })).toMatchObject({ loop: 'bake', phase: null, verdict: { evidence: [{ rule: 'error_rate', pValue: 0.5 }] } });
  });

  it('other steps, a bake not started yet (no verdict) and malformed results are no look', () => {
    expect(monitorLook('promote', { model: 'm', version: '1.0.0' })).toBeNull();
    expect(monitorLook('bake', { iteration: 0, action: 'continue', verdict: null })).toBeNull();
    expect(monitorLook('analyze-canary', { index: 1, iteration: 3, action: 'continue', verdict: { verdict: 'maybe' } })).toBeNull();
  });
});
