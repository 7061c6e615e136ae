/**
 * The canary analysis on the fleet as it is (issue 10): per realism feature, healthy canaries that a
 * binomial-only test (the conditional-binomial mixture of the previous analysis, untempered, every
 * minute counted) rolls back, and the analysis that holds. Hand-rolled generators from a seeded
 * stdlib PRNG: each feature alone, so a failure names the feature.
 */
import binomialRandom from '@stdlib/random-base-binomial';
import mt19937 from '@stdlib/random-base-mt19937';
import normalRandom from '@stdlib/random-base-normal';
import { describe, expect, it } from 'vitest';
import { analyzeCanary, conditionalDispersion, fleetIncidentMinutes, noDataVerdict, type MinuteDatapoint, type VariantMinute } from '../../core/analysis.js';
import { monitorStep } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { decidePhaseEnd } from '../../core/rollback.js';

const POLICY = DEFAULT_POLICY.canary;
const PHASE = 60;
const RPM = 6000;
const BASE_ERROR = 0.004;

type Unit = () => number;
function prngs(seed: number) {
  const mt = (mt19937.factory as unknown as (o: { seed: number }) => { normalized: Unit })({ seed: seed + 1 });
  const prng = mt.normalized;
  return {
    binomial: (binomialRandom.factory as unknown as (o: { prng: Unit }) => (n: number, p: number) => number)({ prng }),
    normal: (normalRandom.factory as unknown as (o: { prng: Unit }) => (m: number, s: number) => number)({ prng }),
  };
}

function variant(requests: number, errors: number, violations: number, p99 = 650): VariantMinute {
  return { requests, errors, latencyP50: 180, latencyP95: 420, latencyP99: p99, riskEnergy: 0.3, constraintViolations: violations, safetyIncidents: 0 };
}

/** A minute of a healthy pair at `weight`%, with the canary's and the baseline's error and violation rates. */
function minute(i: number, r: ReturnType<typeof prngs>, weight: number, rates: { ec: number; eb: number; vc?: number; vb?: number; p99c?: number }): MinuteDatapoint {
  const nc = Math.round((RPM * weight) / 100);
  const nb = RPM - nc;
  return {
    minute: i,
    canary: variant(nc, r.binomial(nc, Math.min(rates.ec, 1)), r.binomial(nc, rates.vc ?? 0.01), rates.p99c ?? 650 * Math.exp(r.normal(0, 0.04))),
    baseline: variant(nb, r.binomial(nb, Math.min(rates.eb, 1)), r.binomial(nb, rates.vb ?? 0.01), 650 * Math.exp(r.normal(0, 0.02))),
  };
}

/** The previous analysis' error test: conditional binomial, untempered, every minute, same mixture and grid. */
function binomialOnlyFails(points: readonly MinuteDatapoint[]): boolean {
  const alpha = POLICY.falseAlarmRatePerPhase * 0.25;
  const grid = Math.ceil(PHASE / POLICY.restartEveryMinutes);
  const threshold = Math.log(grid / alpha);
  const ratios = [1.5, 2, 3, 5, 10];
  for (let start = 0; start < points.length; start += POLICY.restartEveryMinutes) {
    const llr = ratios.map((r) => {
      let s = 0;
      for (const { canary: c, baseline: b } of points.slice(start)) {
        const p0 = c.requests / (c.requests + b.requests);
        const p1 = (r * c.requests) / (r * c.requests + b.requests);
        s += c.errors * Math.log(p1 / p0) + b.errors * Math.log((1 - p1) / (1 - p0));
      }
      return s;
    });
    const logE = Math.log(llr.reduce((a, x) => a + Math.exp(x), 0) / llr.length);
    const slice = points.slice(start);
    const rc = slice.reduce((a, p) => a + p.canary.errors, 0) / slice.reduce((a, p) => a + p.canary.requests, 0);
    const rb = slice.reduce((a, p) => a + p.baseline.errors, 0) / slice.reduce((a, p) => a + p.baseline.requests, 0);
    if (logE >= threshold && rc / rb > POLICY.errorRateRatio) return true;
  }
  return false;
}

/** Runs `seeds` healthy phases and counts failures of the analysis (at any look) and of the binomial-only test. */
function falseFailures(seeds: number, phase: (seed: number) => MinuteDatapoint[]): { analysis: number; binomialOnly: number; holds: number } {
  let analysis = 0;
  let binomialOnly = 0;
  let holds = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const points = phase(seed);
    let failed = false;
    let held = false;
    for (let n = 1; n <= points.length && !failed; n++) {
      const v = analyzeCanary({ datapoints: points.slice(0, n), plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY);
      failed = v.verdict === 'fail';
      held ||= v.verdict === 'hold';
    }
    if (failed) analysis += 1;
    if (held) holds += 1;
    if (binomialOnlyFails(points)) binomialOnly += 1;
  }
  return { analysis, binomialOnly, holds };
}

describe('per-instance heterogeneity: the canary runs on its own instances, whose error multipliers drift', () => {
  // 10% canary on 2 of 20 instances; each instance's log-multiplier is AR(1) with stationary sd 0.5.
  const phase = (seed: number) => {
    const r = prngs(seed);
    const phi = 0.9;
    const sd = 0.5;
    const instances = Array.from({ length: 20 }, () => r.normal(0, sd));
    return Array.from({ length: PHASE }, (_, i) => {
      for (let k = 0; k < instances.length; k++) instances[k] = phi * instances[k]! + Math.sqrt(1 - phi * phi) * r.normal(0, sd);
      const m = instances.map((x) => Math.exp(x - (sd * sd) / 2));
      const mc = (m[0]! + m[1]!) / 2;
      const mb = m.slice(2).reduce((a, x) => a + x, 0) / 18;
      return minute(i, r, 10, { ec: BASE_ERROR * mc, eb: BASE_ERROR * mb });
    });
  };

  it('the conditional-binomial share is overdispersed, and the analysis measures it', () => {
    const points = phase(3);
    expect(conditionalDispersion(points, (v) => v.errors, 1)).toBeGreaterThan(1.3);
    // exactly binomial data: dispersion ≈ 1
    const r = prngs(99);
    const plain = Array.from({ length: PHASE }, (_, i) => minute(i, r, 10, { ec: BASE_ERROR, eb: BASE_ERROR }));
    expect(conditionalDispersion(plain, (v) => v.errors, 1)).toBeLessThan(1.5);
  });

  // Measured: binomial-only 15/200, the analysis 3/200. The drift here is strong (a 2-instance canary
  // whose multipliers wander ±1.6× for tens of minutes); what is left is a canary whose own instances
  // err more for half an hour — in per-variant metrics indistinguishable from a candidate that errs
  // more (README "On a real fleet", limits).
  it('the binomial-only test cries wolf; the tempered test holds (200 healthy phases)', () => {
    const { analysis, binomialOnly } = falseFailures(200, phase);
    console.log(`heterogeneous instances, 200 healthy phases at 10%: binomial-only ${binomialOnly} false fails, the analysis ${analysis}`);
    expect(binomialOnly).toBeGreaterThanOrEqual(10);
    expect(analysis).toBeLessThanOrEqual(Math.ceil(binomialOnly / 3));
  });

  it('a real ×3 error regression on the same fleet is still caught', () => {
    let caught = 0;
    for (let seed = 0; seed < 40; seed++) {
      const points = phase(seed).map((p) => ({ ...p, canary: { ...p.canary, errors: p.canary.errors + prngs(seed + 1000 + p.minute).binomial(p.canary.requests, 2 * BASE_ERROR) } }));
      const v = analyzeCanary({ datapoints: points, plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY);
      if (v.verdict === 'fail' && v.reason === 'error_rate_increase') caught += 1;
    }
    expect(caught / 40).toBeGreaterThanOrEqual(0.9);
  });
});

describe('warm-up: fresh canary instances after the traffic shift', () => {
  // +40% p99 decaying over ~4 minutes, errors ×2 for the first 3 minutes (cold caches), then healthy
  const phase = (seed: number) => {
    const r = prngs(seed);
    return Array.from({ length: PHASE }, (_, i) =>
      minute(i, r, 10, { ec: BASE_ERROR * (i < 3 ? 2.5 : 1), eb: BASE_ERROR, p99c: 650 * (1 + 0.4 * Math.exp(-i / 1.5)) * Math.exp(r.normal(0, 0.04)) }),
    );
  };

  it('the warm-up minutes are not held against the candidate (no fail), and would be without the warm-up exclusion', () => {
    let withWarmup = 0;
    let without = 0;
    for (let seed = 0; seed < 60; seed++) {
      const points = phase(seed);
      for (const [policy, bump] of [
        [POLICY, () => (withWarmup += 1)],
        [{ ...POLICY, warmupMinutes: 0 }, () => (without += 1)],
      ] as const) {
        for (let n = 1; n <= 15; n++) {
          if (analyzeCanary({ datapoints: points.slice(0, n), plannedMinutes: PHASE, lookEveryMinutes: 1 }, policy).verdict === 'fail') {
            bump();
            break;
          }
        }
      }
    }
    expect(withWarmup).toBe(0);
    expect(without).toBeGreaterThan(0);
  });

  it('a safety incident in the warm-up still fails at once', () => {
    const r = prngs(1);
    const points = [minute(0, r, 10, { ec: BASE_ERROR, eb: BASE_ERROR })];
    points[0] = { ...points[0]!, canary: { ...points[0]!.canary, safetyIncidents: 1 } };
    const v = analyzeCanary({ datapoints: points, plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY);
    expect(v).toMatchObject({ verdict: 'fail', reason: 'safety_violation', severity: 'P0' });
  });
});

describe('a fleet-wide problem is not the candidate\'s fault', () => {
  const surge = (seed: number, from: number, to: number, rates: { vc: number; vb: number; ec?: number; eb?: number }) => {
    const r = prngs(seed);
    return Array.from({ length: PHASE }, (_, i) =>
      i >= from && i < to
        ? minute(i, r, 10, { ec: rates.ec ?? BASE_ERROR, eb: rates.eb ?? BASE_ERROR, vc: rates.vc, vb: rates.vb })
        : minute(i, r, 10, { ec: BASE_ERROR, eb: BASE_ERROR }),
    );
  };

  it('a constraint-violation surge on both variants (8% for 8 minutes): holds while it lasts, never fails, passes after', () => {
    for (let seed = 0; seed < 30; seed++) {
      const points = surge(seed, 20, 28, { vc: 0.08, vb: 0.08 });
      const verdicts = points.map((_, n) => analyzeCanary({ datapoints: points.slice(0, n + 1), plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY));
      expect(verdicts.some((v) => v.verdict === 'fail')).toBe(false);
      expect(verdicts[25]!.verdict).toBe('hold');
      expect(verdicts[25]!.hold).toMatchObject({ reason: 'fleet_wide' });
      expect(verdicts[25]!.summary).toContain('fleet-wide');
      expect(verdicts[PHASE - 1]!.verdict).toBe('pass');
    }
  });

  it('the same surge on the canary only is a constraint_violations rollback (P1) within minutes, at the looks the loop takes', () => {
    for (let seed = 0; seed < 20; seed++) {
      const points = surge(seed, 20, 40, { vc: 0.08, vb: 0.01 });
      const first = points.findIndex((_, n) => analyzeCanary({ datapoints: points.slice(0, n + 1), plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY).verdict === 'fail');
      expect(first).toBeGreaterThanOrEqual(20);
      expect(first).toBeLessThanOrEqual(30);
      const v = analyzeCanary({ datapoints: points.slice(0, first + 1), plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY);
      expect(v).toMatchObject({ verdict: 'fail', reason: 'constraint_violations', severity: 'P1' });
    }
  });

  it('an incident in one zone (the canary\'s instance in it, a third of the baseline\'s) holds, it does not roll back', () => {
    for (let seed = 0; seed < 30; seed++) {
      const points = surge(seed, 30, 36, { vc: 0.01, vb: 0.01, ec: 0.08, eb: BASE_ERROR + 0.08 / 3 });
      expect(fleetIncidentMinutes(points, (v) => v.errors, POLICY.fleetIncidentFactor).size).toBeGreaterThanOrEqual(5);
      expect(binomialOnlyFails(points)).toBe(true);
      const verdicts = points.map((_, n) => analyzeCanary({ datapoints: points.slice(0, n + 1), plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY));
      expect(verdicts.some((v) => v.verdict === 'fail')).toBe(false);
      expect(verdicts[33]!.verdict).toBe('hold');
    }
  });

  it('a phase that ends while it holds waits for a person; while looks remain it keeps looking', () => {
    const points = surge(2, 50, 60, { vc: 0.08, vb: 0.08 });
    const v = analyzeCanary({ datapoints: points, plannedMinutes: PHASE, lookEveryMinutes: 1 }, POLICY);
    expect(v.verdict).toBe('hold');
    expect(monitorStep(v, 30, 60, false)).toBe('continue');
    expect(monitorStep(v, 60, 60, false)).toBe('await_approval');
    expect(decidePhaseEnd(v, false)).toBe('await_approval');
  });
});

describe('metrics outage: evidence of nothing', () => {
  it('inconclusive while it may be a blip, a hold from the consecutive limit on; never a fail', () => {
    expect(noDataVerdict(1, POLICY, 'ThrottlingException').verdict).toBe('inconclusive');
    expect(noDataVerdict(POLICY.maxConsecutiveNoData - 1, POLICY, 'x').verdict).toBe('inconclusive');
    const held = noDataVerdict(POLICY.maxConsecutiveNoData, POLICY, 'GetMetricData: ThrottlingException');
    expect(held).toMatchObject({ verdict: 'hold', reason: null, severity: null, hold: { reason: 'no_data' } });
    expect(held.summary).toContain('ThrottlingException');
    expect(monitorStep(held, 5, 60, true)).toBe('continue');
  });
});
