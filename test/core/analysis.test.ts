import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALPHA_SHARES,
  analyzeCanary,
  emptyVariantMinute,
  type AnalysisInput,
  type CanaryVerdict,
  type MinuteDatapoint,
  type RuleEvidence,
  type VariantMinute,
} from '../../core/analysis.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { brunnerMunzelGreater, logMeanExp } from '../../core/stats.js';
import { rng } from '../support/rng.js';

/** The rules' mechanics on hand-built windows from minute 0: no warm-up here (it has tests of its own, below). */
const POLICY = { ...DEFAULT_POLICY.canary, warmupMinutes: 0, latencyWarmupMinutes: 0 };
/** Modest by default so the file runs in seconds; FC_NUM_RUNS=5000 explores more (FC_SEED to vary the seed). */
const RUNS = Number(process.env.FC_NUM_RUNS ?? 100);
const PROP = { numRuns: RUNS, seed: Number(process.env.FC_SEED ?? 20240601) } as const;
const RULES: RuleEvidence['rule'][] = [
  'safety_incidents',
  'risk_energy',
  'error_rate',
  'constraint_violations',
  'latency_p50',
  'latency_p95',
  'latency_p99',
];


interface Shape {
  requests: number;
  errorRate?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  risk?: number;
  constraintRate?: number;
  /** Relative half-width of the multiplicative jitter of latencies and risk energy. */
  jitter?: number;
}

/** One variant-minute with deterministic jitter; counts are rounded expectations. */
function variant(s: Shape, r: () => number, extra: Partial<VariantMinute> = {}): VariantMinute {
  const j = s.jitter ?? 0.05;
  const wobble = () => 1 + j * (2 * r() - 1);
  return {
    requests: s.requests,
    errors: Math.round(s.requests * (s.errorRate ?? 0)),
    latencyP50: (s.p50 ?? 180) * wobble(),
    latencyP95: (s.p95 ?? 420) * wobble(),
    latencyP99: (s.p99 ?? 650) * wobble(),
    riskEnergy: (s.risk ?? 0.3) * wobble(),
    constraintViolations: Math.round(s.requests * (s.constraintRate ?? 0.01)),
    safetyIncidents: 0,
    ...extra,
  };
}

/** `minutes` datapoints with the given canary and baseline shapes. */
function window(
  minutes: number,
  canary: Shape,
  baseline: Shape,
  seed = 1,
  perMinute?: (m: number) => { canary?: Partial<VariantMinute>; baseline?: Partial<VariantMinute> },
): MinuteDatapoint[] {
  const r = rng(seed);
  return Array.from({ length: minutes }, (_, minute) => {
    const extra = perMinute?.(minute) ?? {};
    return { minute, canary: variant(canary, r, extra.canary), baseline: variant(baseline, r, extra.baseline) };
  });
}

const analyze = (datapoints: MinuteDatapoint[], plannedMinutes = 60): CanaryVerdict =>
  analyzeCanary({ datapoints, plannedMinutes, lookEveryMinutes: 1 }, POLICY);

const ev = (v: CanaryVerdict, rule: RuleEvidence['rule']): RuleEvidence => {
  const e = v.evidence.find((x) => x.rule === rule);
  if (e === undefined) throw new Error(`no evidence for ${rule}`);
  return e;
};

/** 1% of 6000 req/min: 60 canary, 5940 baseline, baseline error rate 0.4%. */
const ONE_PCT = { canary: { requests: 60, errorRate: 0 }, baseline: { requests: 5940, errorRate: 0.004 } };
/** 10% of 6000 req/min. */
const TEN_PCT = { canary: { requests: 600, errorRate: 0.004 }, baseline: { requests: 5400, errorRate: 0.004 } };

describe('analyzeCanary: verdicts on hand-built windows', () => {
  it('is inconclusive with no data', () => {
    const v = analyze([]);
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toBeNull();
    expect(v.severity).toBeNull();
    expect(v.sample).toEqual({ minutes: 0, canaryRequests: 0, baselineRequests: 0 });
    expect(v.evidence.map((e) => e.rule)).toEqual(RULES);
  });

  it('is inconclusive with fewer minutes than minMinutes', () => {
    const v = analyze(window(2, TEN_PCT.canary, TEN_PCT.baseline));
    expect(v.verdict).toBe('inconclusive');
    expect(v.summary).toMatch(/not enough evidence yet: 2 minute/);
  });

  it('is inconclusive with fewer canary requests than minCanaryRequests', () => {
    const v = analyze(window(10, { requests: 4 }, { requests: 5996 }));
    expect(v.sample.canaryRequests).toBe(40);
    expect(v.verdict).toBe('inconclusive');
  });

  it('passes a healthy canary with enough data', () => {
    const v = analyze(window(30, TEN_PCT.canary, TEN_PCT.baseline));
    expect(v.verdict).toBe('pass');
    expect(v.immediate).toBe(false);
    expect(v.evidence.every((e) => !e.failed)).toBe(true);
  });

  it('one canary error at 1% traffic (60 vs 5940 req/min, baseline 0.4%) is not a fail, at any look of the first minutes', () => {
    const points = window(10, ONE_PCT.canary, ONE_PCT.baseline, 1, (m) => (m === 0 ? { canary: { errors: 1 } } : {}));
    for (let n = 1; n <= points.length; n++) {
      const v = analyze(points.slice(0, n));
      expect(v.verdict, `after ${n} minute(s)`).not.toBe('fail');
      const e = ev(v, 'error_rate');
      expect(e.failed).toBe(false);
      expect(e.significant).toBe(false);
    }
    // After one minute the observed ratio is 1/60 vs 0.4%: far past 1.5×, but one error is not evidence.
    const first = ev(analyze(points.slice(0, 1)), 'error_rate');
    expect(first.breached).toBe(true);
    expect(first.ratio).toBeCloseTo(1 / 60 / (Math.round(5940 * 0.004) / 5940), 6);
  });

  it('two canary errors in the first three minutes at 1% traffic are not a fail either', () => {
    const points = window(3, ONE_PCT.canary, ONE_PCT.baseline, 2, (m) => (m < 2 ? { canary: { errors: 1 } } : {}));
    const v = analyze(points);
    expect(v.verdict).not.toBe('fail');
    expect(ev(v, 'error_rate').breached).toBe(true);
    expect(ev(v, 'error_rate').significant).toBe(false);
  });

  it('a sustained 3× error rate at 10% traffic fails P1 error_rate_increase, automatic', () => {
    const v = analyze(window(10, { ...TEN_PCT.canary, errorRate: 0.012 }, TEN_PCT.baseline));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('error_rate_increase');
    expect(v.severity).toBe('P1');
    expect(v.immediate).toBe(false);
    const e = ev(v, 'error_rate');
    // 7 of 600 canary requests vs 22 of 5400 baseline requests a minute (rounded expectations).
    expect(e.ratio).toBeCloseTo(7 / 600 / (22 / 5400), 10);
    expect(e.pValue!).toBeLessThanOrEqual(e.alpha!);
  });

  it('a significant error-rate increase below the 1.5× policy ratio is not a fail', () => {
    // 1.3× at 50% traffic over an hour is statistically clear but under the policy threshold.
    const v = analyze(window(60, { requests: 3000, errorRate: 0.0052 }, { requests: 3000, errorRate: 0.004 }));
    const e = ev(v, 'error_rate');
    expect(e.breached).toBe(false);
    expect(e.failed).toBe(false);
    expect(v.verdict).toBe('pass');
  });

  it('a safety incident fails at once: P0 safety_violation, immediate, even before minMinutes', () => {
    const points = window(1, ONE_PCT.canary, ONE_PCT.baseline, 3, () => ({ canary: { safetyIncidents: 1 } }));
    const v = analyze(points);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('safety_violation');
    expect(v.severity).toBe('P0');
    expect(v.immediate).toBe(true);
    const e = ev(v, 'safety_incidents');
    expect(e.failed).toBe(true);
    expect(e.canary).toBe(1);
    expect(e.threshold).toBe(0);
  });

  it('baseline safety incidents do not fail the canary', () => {
    const points = window(20, TEN_PCT.canary, TEN_PCT.baseline, 4, () => ({ baseline: { safetyIncidents: 1 } }));
    const v = analyze(points);
    expect(v.verdict).toBe('pass');
    expect(ev(v, 'safety_incidents').baseline).toBe(20);
  });

  it('a constraint-violation rate of 10% at 600 req/min fails P1 constraint_violations, immediate', () => {
    const v = analyze(window(5, { requests: 600, constraintRate: 0.1 }, { requests: 5400, constraintRate: 0.01 }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('constraint_violations');
    expect(v.severity).toBe('P1');
    expect(v.immediate).toBe(true);
    const e = ev(v, 'constraint_violations');
    expect(e.canary).toBeCloseTo(0.1, 10);
    expect(e.threshold).toBe(0.05);
  });

  it('a constraint-violation rate of 4% at 600 req/min for an hour does not fail', () => {
    const v = analyze(window(60, { requests: 600, constraintRate: 0.04 }, { requests: 5400, constraintRate: 0.01 }));
    expect(v.verdict).toBe('pass');
    const e = ev(v, 'constraint_violations');
    expect(e.breached).toBe(false);
    expect(e.failed).toBe(false);
  });

  it('a constraint-violation rate just over 5% on little data is not significant', () => {
    const v = analyze(window(3, { requests: 60, constraintRate: 4 / 60 }, { requests: 5940 }));
    const e = ev(v, 'constraint_violations');
    expect(e.breached).toBe(true);
    expect(e.significant).toBe(false);
    expect(v.verdict).not.toBe('fail');
  });

  it('p99 latency 1.3× for 30 minutes at 10% traffic fails P1 performance_degradation, immediate', () => {
    const v = analyze(window(30, { requests: 600, p99: 650 * 1.3 }, { requests: 5400, p99: 650 }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('performance_degradation');
    expect(v.severity).toBe('P1');
    expect(v.immediate).toBe(true);
    const e = ev(v, 'latency_p99');
    expect(e.failed).toBe(true);
    expect(e.ratio!).toBeGreaterThan(1.2);
    expect(e.ratio!).toBeLessThan(1.4);
    expect(ev(v, 'latency_p50').failed).toBe(false);
    expect(ev(v, 'latency_p95').failed).toBe(false);
  });

  it('p99 latency 1.15× for 30 minutes at 10% traffic gives P2 performance_degradation, not immediate', () => {
    const v = analyze(window(30, { requests: 600, p99: 650 * 1.15, jitter: 0.03 }, { requests: 5400, p99: 650, jitter: 0.03 }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('performance_degradation');
    expect(v.severity).toBe('P2');
    expect(v.immediate).toBe(false);
    const e = ev(v, 'latency_p99');
    expect(e.ratio!).toBeGreaterThan(1.1);
    expect(e.ratio!).toBeLessThanOrEqual(1.2);
  });

  it('p99 latency 1.05× is under the 1.10× threshold and passes however clear it is', () => {
    const v = analyze(window(60, { requests: 600, p99: 650 * 1.05, jitter: 0.01 }, { requests: 5400, p99: 650, jitter: 0.01 }));
    const e = ev(v, 'latency_p99');
    expect(e.significant).toBe(true);
    expect(e.breached).toBe(false);
    expect(v.verdict).toBe('pass');
  });

  it('a latency regression that starts mid-phase is caught on the recent window', () => {
    const points = window(52, { requests: 600 }, { requests: 5400 }, 5, (m) =>
      m >= 30 ? { canary: { latencyP99: 650 * 1.3 } } : {},
    );
    const v = analyze(points);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('performance_degradation');
    expect(ev(v, 'latency_p99').window.fromMinute).toBeGreaterThanOrEqual(30);
  });

  it('mean risk energy clearly above the baseline fails P0 safety_violation', () => {
    const v = analyze(window(30, { requests: 600, risk: 0.36 }, { requests: 5400, risk: 0.3 }));
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('safety_violation');
    expect(v.severity).toBe('P0');
    expect(v.immediate).toBe(true);
    expect(ev(v, 'risk_energy').failed).toBe(true);
  });

  it('the worst finding wins: a safety incident (P0) over a latency regression (P1)', () => {
    const points = window(30, { requests: 600, p99: 650 * 1.3 }, { requests: 5400 }, 6, (m) =>
      m === 20 ? { canary: { safetyIncidents: 1 } } : {},
    );
    const v = analyze(points);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('safety_violation');
    expect(v.severity).toBe('P0');
    expect(v.immediate).toBe(true);
    expect(v.summary).toMatch(/^safety_violation \(P0\)/);
    // Both findings are in the evidence.
    expect(ev(v, 'safety_incidents').failed).toBe(true);
    expect(ev(v, 'latency_p99').failed).toBe(true);
  });

  it('the worst finding wins: P1 immediate latency over P1 automatic error rate, P1 over P2', () => {
    const both = analyze(window(30, { requests: 600, errorRate: 0.02, p99: 650 * 1.3 }, { requests: 5400, errorRate: 0.004 }));
    expect(ev(both, 'error_rate').failed).toBe(true);
    expect(ev(both, 'latency_p99').failed).toBe(true);
    expect(both.reason).toBe('performance_degradation');
    expect(both.severity).toBe('P1');
    expect(both.immediate).toBe(true);

    const p1p2 = analyze(
      window(30, { requests: 600, errorRate: 0.02, p99: 650 * 1.15, jitter: 0.03 }, { requests: 5400, errorRate: 0.004, jitter: 0.03 }),
    );
    expect(ev(p1p2, 'latency_p99').failed).toBe(true);
    expect(p1p2.reason).toBe('error_rate_increase');
    expect(p1p2.severity).toBe('P1');
    expect(p1p2.immediate).toBe(false);
  });

  it('evidence lists all 7 rules, each with alpha, p-value, threshold, window and message', () => {
    const v = analyze(window(30, TEN_PCT.canary, TEN_PCT.baseline));
    expect(v.evidence.map((e) => e.rule)).toEqual(RULES);
    const looks = 60;
    const budget = POLICY.falseAlarmRatePerPhase;
    const expectedAlpha: Record<string, number | null> = {
      safety_incidents: null,
      risk_energy: budget * ALPHA_SHARES.risk_energy,
      error_rate: budget * ALPHA_SHARES.error_rate,
      constraint_violations: budget * ALPHA_SHARES.constraint_violations,
      latency_p50: (budget * ALPHA_SHARES.latency_p50) / (looks * 2),
      latency_p95: (budget * ALPHA_SHARES.latency_p95) / (looks * 2),
      latency_p99: (budget * ALPHA_SHARES.latency_p99) / (looks * 2),
    };
    const expectedThreshold: Record<string, number> = {
      safety_incidents: 0,
      risk_energy: 1,
      error_rate: 1.5,
      constraint_violations: 0.05,
      latency_p50: 1.1,
      latency_p95: 1.1,
      latency_p99: 1.1,
    };
    for (const e of v.evidence) {
      expect(e.threshold, e.rule).toBe(expectedThreshold[e.rule]);
      if (e.rule === 'safety_incidents') {
        expect(e.alpha).toBeNull();
        expect(e.pValue).toBeNull();
      } else {
        expect(e.alpha!, e.rule).toBeCloseTo(expectedAlpha[e.rule]!, 15);
        expect(e.pValue!, e.rule).toBeGreaterThanOrEqual(0);
        expect(e.pValue!, e.rule).toBeLessThanOrEqual(1);
        expect(e.significant).toBe(e.pValue! <= e.alpha!);
      }
      expect(e.test.length).toBeGreaterThan(0);
      expect(e.message.length).toBeGreaterThan(0);
      expect(e.window.minutes).toBeGreaterThan(0);
      expect(e.failed).toBe(e.significant && e.breached);
    }
  });

  it('the whole budget is split: the shares sum to 1', () => {
    expect(Object.values(ALPHA_SHARES).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('minutes without canary traffic are ignored by the comparisons', () => {
    const points = window(20, TEN_PCT.canary, TEN_PCT.baseline, 7, (m) =>
      m % 2 === 0
        ? { canary: { requests: 0, errors: 0, latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null, constraintViolations: 0 } }
        : {},
    );
    const v = analyze(points);
    expect(v.verdict).toBe('pass');
    expect(ev(v, 'latency_p99').samples.canary).toBe(10);
  });
});

describe('brunnerMunzelGreater', () => {
  it('identical samples: effect ½ and p ≈ 0.5', () => {
    const x = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const r = brunnerMunzelGreater(x, x);
    expect(r.effect).toBeCloseTo(0.5, 12);
    expect(r.pValue).toBeGreaterThanOrEqual(0.49);
    expect(r.pValue).toBeLessThanOrEqual(0.51);
  });

  it('all values tied: p = 0.5', () => {
    expect(brunnerMunzelGreater([2, 2, 2], [2, 2, 2, 2]).pValue).toBe(0.5);
  });

  it('complete separation, canary above: p is the permutation bound 1 / C(n₁+n₂, n₂)', () => {
    const r = brunnerMunzelGreater([10, 11, 12, 13, 14], [1, 2, 3, 4, 5]);
    expect(r.effect).toBe(1);
    expect(r.pValue).toBeCloseTo(1 / 252, 12);
    const r2 = brunnerMunzelGreater([20, 21, 22], [1, 2, 3, 4, 5, 6]);
    expect(r2.pValue).toBeCloseTo(1 / 84, 12);
  });

  it('complete separation, canary below: p = 1', () => {
    const r = brunnerMunzelGreater([1, 2, 3, 4, 5], [10, 11, 12, 13, 14]);
    expect(r.effect).toBe(0);
    expect(r.pValue).toBe(1);
  });

  it('a canary clearly larger (with overlap) gives a small p', () => {
    const r0 = rng(11);
    const baseline = Array.from({ length: 30 }, () => r0());
    const canary = Array.from({ length: 30 }, () => r0() + 0.6);
    const r = brunnerMunzelGreater(canary, baseline);
    expect(r.effect).toBeGreaterThan(0.8);
    expect(r.pValue).toBeLessThan(1e-6);
    // and the reverse direction is not significant
    expect(brunnerMunzelGreater(baseline, canary).pValue).toBeGreaterThan(0.99);
  });

  it('a p-value is never below the permutation bound', () => {
    const r = brunnerMunzelGreater([5, 6, 7, 3.5], [1, 2, 3, 4]);
    expect(r.pValue).toBeGreaterThanOrEqual(1 / 70);
  });

  it('fewer than 2 values on a side: no test (p = 1)', () => {
    expect(brunnerMunzelGreater([100], [1, 2, 3]).pValue).toBe(1);
    expect(brunnerMunzelGreater([100, 101], [1]).pValue).toBe(1);
    expect(brunnerMunzelGreater([], []).pValue).toBe(1);
  });

  it.each([
    // scipy.stats.brunnermunzel(baseline, canary, alternative='less') tests canary > baseline.
    // The first is scipy's own documentation example (R lawstat reports df = 17.683 for it).
    [[1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 1, 1], [3, 3, 4, 3, 1, 2, 3, 1, 1, 5, 4], 3.1374674823029505, 0.0028931043330757346],
    [
      [2.041, -2.556, 0.418, -0.568, -0.453, -0.216, -2.02, -0.232, -0.865, 3.323, 0.226, -0.353],
      [0.378, -0.202, -0.783, 0.214, 1.523, 0.442, 2.237, 0.5, 0.836],
      1.9421054089013945,
      0.03393725610444218,
    ],
  ])('matches scipy.stats.brunnermunzel (alternative "less" on baseline, canary) %#', (baseline, canary, statistic, p) => {
    const r = brunnerMunzelGreater(canary, baseline);
    expect(r.statistic).toBeCloseTo(statistic, 10);
    expect(r.pValue).toBeCloseTo(p, 12);
  });

  /*
   * Brunner–Munzel is studentized, so its p-value is NOT monotone in a shift of the canary in
   * general: canary [12, 18] vs baseline [1, 0, 7, 18, 8, 18, 6, 7] gives p = 0.0275, shifted by +4
   * p = 0.0647 (the placement variance and the Welch df both move). With unequal sizes this can even
   * cross the analysis' α ≈ 8e-6 (found by search at 29 vs 5 points). The analysis only ever compares
   * equal-size samples (one canary and one baseline value per usable minute); there the effect is
   * tiny (canary [17,16,17,17,17,17,1] vs [8,8,0,16,0,0,3], +1: p 7.860e-4 → 7.876e-4) and no search
   * found a crossing of the analysis' significance levels. This property pins that.
   */
  it('equal sizes: shifting the canary up never makes a significant result (α of the analysis) insignificant', () => {
    const alphas = [(0.008 * 0.125) / 120, (0.008 * 0.25) / 120];
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 40 }).chain((n) =>
          fc.tuple(
            fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n }),
            fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n }),
          ),
        ),
        fc.double({ min: 0, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 4, noNaN: true }),
        ([c, b], lift, d) => {
          const canary = c.map((x) => x + lift);
          const p0 = brunnerMunzelGreater(canary, b).pValue;
          const p1 = brunnerMunzelGreater(canary.map((x) => x + d), b).pValue;
          return alphas.every((a) => !(p0 <= a && p1 > a));
        },
      ),
      { numRuns: Math.max(200, RUNS * 2), seed: 7 },
    );
  });

  it('Welch–Satterthwaite df of the scipy example matches R lawstat (17.683)', () => {
    const r = brunnerMunzelGreater([3, 3, 4, 3, 1, 2, 3, 1, 1, 5, 4], [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 1, 1]);
    expect(r.df).toBeCloseTo(17.683, 3);
  });
});

describe('logMeanExp', () => {
  it.each([
    [[0], 0],
    [[0, 0, 0], 0],
    [[Math.log(1), Math.log(3)], Math.log(2)],
    [[Math.log(2), Math.log(4), Math.log(6)], Math.log(4)],
  ])('logMeanExp(%j) = %s', (logs, expected) => {
    expect(logMeanExp(logs)).toBeCloseTo(expected, 12);
  });

  it('does not overflow or underflow', () => {
    expect(logMeanExp([1000, 1000])).toBeCloseTo(1000, 9);
    expect(logMeanExp([1000, Number.NEGATIVE_INFINITY])).toBeCloseTo(1000 - Math.log(2), 9);
    expect(logMeanExp([-1000, -1000])).toBeCloseTo(-1000, 9);
  });

  it('is −∞ for an empty list or all −∞', () => {
    expect(logMeanExp([])).toBe(Number.NEGATIVE_INFINITY);
    expect(logMeanExp([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(Number.NEGATIVE_INFINITY);
  });

  it('lies between the mean and the max of its inputs (Jensen)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 10 }), (logs) => {
        const v = logMeanExp(logs);
        const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
        return v >= mean - 1e-9 && v <= Math.max(...logs) + 1e-9;
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based tests
// ---------------------------------------------------------------------------------------------


const latencyArb = fc.double({ min: 1, max: 5000, noNaN: true });

/** A variant-minute with arbitrary but consistent counts; `maxViolationRate` caps constraint violations. */
function variantArb(opts: { maxRequests: number; maxViolationRate?: number; incidents?: boolean }): fc.Arbitrary<VariantMinute> {
  return fc
    .record({
      requests: fc.integer({ min: 0, max: opts.maxRequests }),
      errFrac: fc.double({ min: 0, max: 0.2, noNaN: true }),
      cvFrac: fc.double({ min: 0, max: opts.maxViolationRate ?? 0.2, noNaN: true }),
      l50: latencyArb,
      l95: latencyArb,
      l99: latencyArb,
      risk: fc.double({ min: 0, max: 2, noNaN: true }),
      incidents: opts.incidents ? fc.integer({ min: 0, max: 1 }) : fc.constant(0),
    })
    .map(({ requests, errFrac, cvFrac, l50, l95, l99, risk, incidents }) => {
      if (requests === 0) return emptyVariantMinute();
      const [a, b, c] = [l50, l95, l99].sort((x, y) => x - y) as [number, number, number];
      return {
        requests,
        errors: Math.floor(requests * errFrac),
        latencyP50: a,
        latencyP95: b,
        latencyP99: c,
        riskEnergy: risk,
        constraintViolations: Math.floor(requests * cvFrac),
        safetyIncidents: incidents,
      };
    });
}

/** Datapoints at distinct minutes (gaps allowed), sorted. */
function windowArb(variantOf: fc.Arbitrary<{ canary: VariantMinute; baseline: VariantMinute }>, maxMinutes = 60): fc.Arbitrary<MinuteDatapoint[]> {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: 90 }), { minLength: 0, maxLength: maxMinutes })
    .chain((minutes) =>
      fc.array(variantOf, { minLength: minutes.length, maxLength: minutes.length }).map((vs) =>
        [...minutes].sort((a, b) => a - b).map((minute, i) => ({ minute, ...vs[i]! })),
      ),
    );
}

const lookArb = fc.record({
  plannedMinutes: fc.integer({ min: 1, max: 120 }),
  lookEveryMinutes: fc.integer({ min: 1, max: 10 }),
});

/**
 * A regression-shaped window: a whole window shares one lift of the canary over the baseline
 * (error rate, latency, risk energy) with per-minute noise on both sides, so that a good share of
 * the generated windows fail and the rest pass. (Independent random minutes almost never fail the
 * distribution rules, which would make a monotonicity property vacuous.)
 */
const regressionArb: fc.Arbitrary<MinuteDatapoint[]> = fc
  .record({
    minutes: fc.integer({ min: 0, max: 40 }),
    firstMinute: fc.integer({ min: 0, max: 30 }),
    rpm: fc.integer({ min: 50, max: 6000 }),
    share: fc.constantFrom(0.01, 0.05, 0.1, 0.5),
    baseErr: fc.double({ min: 0, max: 0.05, noNaN: true }),
    errLift: fc.double({ min: 0.5, max: 5, noNaN: true }),
    latLift: fc.double({ min: 0.9, max: 1.5, noNaN: true }),
    riskLift: fc.double({ min: 0.9, max: 1.3, noNaN: true }),
    jitter: fc.double({ min: 0.005, max: 0.2, noNaN: true }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .map(({ minutes, firstMinute, rpm, share, baseErr, errLift, latLift, riskLift, jitter, seed }) => {
    const r = rng(seed);
    const nc = Math.max(1, Math.round(rpm * share));
    const nb = Math.max(1, rpm - nc);
    const count = (n: number, rate: number) => Math.min(n, Math.floor(n * rate * 2 * r()));
    const side = (n: number, err: number, lat: number, risk: number): VariantMinute => {
      const w = () => 1 + jitter * (2 * r() - 1);
      return {
        requests: n,
        errors: count(n, err),
        latencyP50: 180 * lat * w(),
        latencyP95: 420 * lat * w(),
        latencyP99: 650 * lat * w(),
        riskEnergy: 0.3 * risk * w(),
        constraintViolations: count(n, 0.01),
        safetyIncidents: 0,
      };
    };
    return Array.from({ length: minutes }, (_, i) => ({
      minute: firstMinute + i,
      canary: side(nc, Math.min(1, baseErr * errLift), latLift, riskLift),
      baseline: side(nb, baseErr, 1, 1),
    }));
  });

describe('analyzeCanary: properties', () => {
  it('(a) a canary identical to the baseline never fails', () => {
    // Safety incidents and the constraint-violation ceiling are absolute rules, not comparisons with
    // the baseline (policy.md §3), so the identical windows keep them healthy: no incidents and at
    // most 5% violations. Everything else is compared with the baseline and must never fail.
    const same = variantArb({ maxRequests: 6000, maxViolationRate: 0.05 }).map((v) => ({ canary: v, baseline: { ...v } }));
    fc.assert(
      fc.property(windowArb(same), lookArb, (datapoints, look) => {
        const v = analyzeCanary({ datapoints, ...look }, POLICY);
        return v.verdict !== 'fail';
      }),
      PROP,
    );
  });

  it('(b) scaling a regression up never turns a fail into a pass (error counts, latencies, risk energy)', () => {
    type Scale = 'errors' | 'latency' | 'risk';
    const scaled = (points: MinuteDatapoint[], what: Scale, k: number): MinuteDatapoint[] =>
      points.map((p) => {
        const c = p.canary;
        const canary: VariantMinute =
          what === 'errors'
            ? { ...c, errors: Math.min(c.requests, Math.floor(c.errors * k)) }
            : what === 'latency'
              ? {
                  ...c,
                  latencyP50: c.latencyP50 === null ? null : c.latencyP50 * k,
                  latencyP95: c.latencyP95 === null ? null : c.latencyP95 * k,
                  latencyP99: c.latencyP99 === null ? null : c.latencyP99 * k,
                }
              : { ...c, riskEnergy: c.riskEnergy === null ? null : c.riskEnergy * k };
        return { ...p, canary };
      });
    const rulesOf: Record<Scale, RuleEvidence['rule'][]> = {
      errors: ['error_rate'],
      latency: ['latency_p50', 'latency_p95', 'latency_p99'],
      risk: ['risk_energy'],
    };
    let failingOriginals = 0;
    fc.assert(
      fc.property(
        regressionArb,
        fc.constantFrom<Scale>('errors', 'latency', 'risk'),
        fc.double({ min: 1, max: 3, noNaN: true }),
        (datapoints, what, k) => {
          const input = { plannedMinutes: 60, lookEveryMinutes: 1 };
          const before = analyzeCanary({ datapoints, ...input }, POLICY);
          const after = analyzeCanary({ datapoints: scaled(datapoints, what, k), ...input }, POLICY);
          for (const rule of rulesOf[what]) {
            if (ev(before, rule).failed) {
              failingOriginals++;
              if (!ev(after, rule).failed) return false;
            }
          }
          return true;
        },
      ),
      { ...PROP, numRuns: Math.round(RUNS * 1.5) },
    );
    // The property is only meaningful if the generator produces failing windows.
    expect(failingOriginals).toBeGreaterThan(RUNS / 10);
  });

  it('(c) the verdict is fail exactly when some evidence failed, and a fail carries a reason and severity', () => {
    const anything = fc.record({
      canary: variantArb({ maxRequests: 3000, incidents: true }),
      baseline: variantArb({ maxRequests: 6000 }),
    });
    const mixed = fc.oneof(windowArb(anything, 30), regressionArb);
    fc.assert(
      fc.property(mixed, lookArb, (datapoints, look) => {
        const v = analyzeCanary({ datapoints, ...look }, POLICY);
        const anyFailed = v.evidence.some((e) => e.failed);
        if ((v.verdict === 'fail') !== anyFailed) return false;
        if (v.verdict === 'fail') return v.reason !== null && v.severity !== null;
        return v.reason === null && v.severity === null && !v.immediate;
      }),
      PROP,
    );
  });

  it('(d) the analysis is deterministic and does not depend on the order of the datapoints', () => {
    fc.assert(
      fc.property(
        regressionArb.chain((pts) =>
          fc.tuple(fc.constant(pts), fc.shuffledSubarray(pts, { minLength: pts.length, maxLength: pts.length })),
        ),
        lookArb,
        ([points, shuffled], look) => {
          const input: AnalysisInput = { datapoints: points, ...look };
          const a = analyzeCanary(input, POLICY);
          const b = analyzeCanary(structuredClone(input), POLICY);
          const c = analyzeCanary({ ...input, datapoints: shuffled }, POLICY);
          expect(b).toEqual(a);
          expect(c).toEqual(a);
        },
      ),
      PROP,
    );
  });
});
