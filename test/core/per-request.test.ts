/**
 * Per-request evidence (issue 10 "power from requests, not minutes"): latency judged by the count of
 * requests above the baseline's own percentiles (CloudWatch's SampleCount and PR(:T)), risk energy
 * by per-minute means weighted by their requests. On the realistic fleet generator (local/fleet.ts),
 * so the emitted distributions go through the local CloudWatch exactly as they would through the
 * adapter.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCanary, latencyThresholds, sampleRatioMismatch, type CanaryVerdict, type MinuteDatapoint, type RuleEvidence } from '../../core/analysis.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { generatePhase, judgedPhase } from '../../local/fleet.js';
import { BUILTIN_SCENARIOS, ScenarioSchema, type Scenario } from '../../local/scenario.js';

const POLICY = DEFAULT_POLICY.canary;
const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
/** The healthy fleet with a candidate identical to the baseline, and `set` applied from minute `onset` at `weight`. */
function scenario(weight: number, onset: number, set: Record<string, unknown>): Scenario {
  return ScenarioSchema.parse({ ...healthy, name: 'per-request', candidate: { ...healthy.baseline, events: [{ whenWeight: weight, afterMinutes: onset, set }] } });
}
const identical = ScenarioSchema.parse({ ...healthy, name: 'identical', candidate: { ...healthy.baseline, events: [] } });

/** The minute (since the phase started) at which the loop, looking every minute, first fails; null if never. */
function firstFail(points: readonly MinuteDatapoint[], thresholds: ReturnType<typeof latencyThresholds>, perRequest = true): { minute: number; verdict: CanaryVerdict } | null {
  for (let m = 0; m < 60; m++) {
    const window = points.filter((p) => p.minute <= m).map((p) => (perRequest ? p : stripAbove(p)));
    const verdict = analyzeCanary({ datapoints: window, plannedMinutes: 60, lookEveryMinutes: 1, latencyThresholdsMs: perRequest ? thresholds : null }, POLICY);
    if (verdict.verdict === 'fail') return { minute: m, verdict };
  }
  return null;
}
function stripAbove(p: MinuteDatapoint): MinuteDatapoint {
  const { latencyAbove: _c, ...canary } = p.canary;
  const { latencyAbove: _b, ...baseline } = p.baseline;
  return { ...p, canary, baseline };
}
const rule = (v: CanaryVerdict, r: RuleEvidence['rule']) => v.evidence.find((e) => e.rule === r)!;

describe('latencyThresholds: fixed from the baseline before the comparison', () => {
  const { datapoints } = generatePhase(identical, 10, 60, 5);
  it('is null until a minute after the warm-up has data, then the medians of the baseline warm-up minutes', () => {
    expect(latencyThresholds(datapoints.filter((p) => p.minute < POLICY.warmupMinutes), POLICY)).toBeNull();
    const t = latencyThresholds(datapoints, POLICY)!;
    const warm = datapoints.filter((p) => p.minute < POLICY.warmupMinutes).map((p) => p.baseline.latencyP99!).sort((a, b) => a - b);
    expect(t.p99).toBe(warm[Math.floor(warm.length / 2)]);
    expect(t.p50).toBeLessThan(t.p95);
    expect(t.p95).toBeLessThan(t.p99);
    expect(t.tail).toBeGreaterThan(t.p99);
    // later minutes do not move them
    expect(latencyThresholds(datapoints.slice(0, 8), POLICY)).toEqual(t);
  });
});

describe('latency judged per request', () => {
  it('a tail-only p99 +25% at 10% is caught within minutes, P1, with the effect since the onset; per-minute ranks take far longer', () => {
    let perRequestMinutes = 0;
    let rankMinutes = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const phase = judgedPhase(generatePhase(scenario(10, 20, { latencyMs: { p99: 812.5 } }), 10, 60, seed), POLICY);
      const fast = firstFail(phase.datapoints, phase.thresholds)!;
      expect(fast.verdict.reason).toBe('performance_degradation');
      expect(fast.minute).toBeGreaterThanOrEqual(20);
      perRequestMinutes += fast.minute - 20;
      const e = rule(fast.verdict, 'latency_p99');
      expect(e.failed).toBe(true);
      // the effect since the change point: not diluted by the 15 healthy minutes before the onset
      expect(e.window.fromMinute).toBeGreaterThanOrEqual(20);
      expect(e.ratio!).toBeGreaterThan(1.15);
      const slow = firstFail(phase.datapoints, phase.thresholds, false);
      rankMinutes += slow === null ? 40 : slow.minute - 20;
    }
    expect(perRequestMinutes / 5).toBeLessThanOrEqual(15);
    expect(rankMinutes).toBeGreaterThan(2 * perRequestMinutes);
  });

  it('identical variants: no latency rule fails over 40 phases at 1%, 10% and 50%', () => {
    for (let seed = 0; seed < 40; seed++) {
      const weight = [1, 10, 50][seed % 3]!;
      const phase = judgedPhase(generatePhase(identical, weight, 60, 1000 + seed), POLICY);
      const verdict = analyzeCanary({ datapoints: phase.datapoints, plannedMinutes: 60, lookEveryMinutes: 1, latencyThresholdsMs: phase.thresholds }, POLICY);
      for (const r of ['latency_p50', 'latency_p95', 'latency_p99'] as const) expect(rule(verdict, r).failed, `${r} seed ${seed}`).toBe(false);
    }
  });

  it('a warming canary (+20% latency fading over 10 minutes) is left out by the latency warm-up', () => {
    const warming = ScenarioSchema.parse({ ...identical, fleet: { warmUp: { latencyIncrease: 0.2, minutes: 10 } } });
    for (let seed = 0; seed < 10; seed++) {
      const phase = judgedPhase(generatePhase(warming, 50, 60, 2000 + seed), POLICY);
      expect(firstFail(phase.datapoints, phase.thresholds)).toBeNull();
    }
  });
});

describe('risk energy judged per request', () => {
  it('+5% at 10% from minute 20 fails P0 within 15 minutes of the onset', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const phase = judgedPhase(generatePhase(scenario(10, 20, { riskEnergy: 0.315 }), 10, 60, seed), POLICY);
      const hit = firstFail(phase.datapoints, phase.thresholds)!;
      expect(hit.verdict.reason).toBe('safety_violation');
      expect(hit.verdict.severity).toBe('P0');
      expect(hit.minute - 20).toBeLessThanOrEqual(15);
      expect(rule(hit.verdict, 'risk_energy').ratio!).toBeGreaterThan(1.02);
    }
  });

  it('one odd minute is not a regression: a single 3× spike of the canary mean does not fail', () => {
    const phase = judgedPhase(generatePhase(identical, 10, 60, 77), POLICY);
    const points = phase.datapoints.map((p) => (p.minute === 30 ? { ...p, canary: { ...p.canary, riskEnergy: p.canary.riskEnergy! * 3 } } : p));
    const verdict = analyzeCanary({ datapoints: points, plannedMinutes: 60, lookEveryMinutes: 1, latencyThresholdsMs: phase.thresholds }, POLICY);
    expect(rule(verdict, 'risk_energy').failed).toBe(false);
  });
});

describe('sample-ratio mismatch: a cohort pinned to the canary is a population, not a regression', () => {
  const sticky = ScenarioSchema.parse({ ...identical, fleet: { stickyUsers: { share: 0.002, pinnedTo: 'canary', multiply: { latency: 1.3, riskEnergy: 1.3 } } } });

  it('heavy users pinned to a 1% canary: the risk-energy rule would fail; with the weight known the release holds instead (P1 page), never rolls back', () => {
    let wouldFail = 0;
    for (let seed = 0; seed < 10; seed++) {
      const phase = judgedPhase(generatePhase(sticky, 1, 60, 300 + seed), POLICY);
      const input = { datapoints: phase.datapoints, plannedMinutes: 60, lookEveryMinutes: 1, latencyThresholdsMs: phase.thresholds };
      if (analyzeCanary(input, POLICY).verdict === 'fail') wouldFail += 1;
      const judged = analyzeCanary({ ...input, canaryWeightPct: 1 }, POLICY);
      expect(judged.verdict).toBe('hold');
      expect(judged.hold?.reason).toBe('traffic_mismatch');
      expect(judged.hold?.message).toMatch(/served 1\.[0-9]+% of the requests, not its 1%/);
    }
    expect(wouldFail).toBeGreaterThanOrEqual(5);
  });

  it('a binomial split never mismatches (40 phases at 1%, 10% and 50%)', () => {
    for (let seed = 0; seed < 40; seed++) {
      const weight = [1, 10, 50][seed % 3]!;
      const { datapoints } = generatePhase(identical, weight, 60, 400 + seed);
      expect(sampleRatioMismatch(datapoints, weight, POLICY).mismatch, `seed ${seed}`).toBe(false);
    }
  });

  it('errors are still judged under a mismatch: a ×5 error rate on the pinned canary rolls back', () => {
    const broken = ScenarioSchema.parse({ ...sticky, candidate: { ...sticky.candidate, errorRate: 0.02 } });
    const phase = judgedPhase(generatePhase(broken, 10, 60, 9), POLICY);
    const v = analyzeCanary({ datapoints: phase.datapoints, plannedMinutes: 60, lookEveryMinutes: 1, latencyThresholdsMs: phase.thresholds, canaryWeightPct: 1 }, POLICY);
    expect(v.verdict).toBe('fail');
    expect(v.reason).toBe('error_rate_increase');
  });
});

describe('sample-ratio mismatch ignores gaps', () => {
  it('minutes in which one variant published nothing are a metrics gap, not a share of the traffic', () => {
    const { datapoints } = generatePhase(identical, 50, 60, 4242);
    // the canary's datapoints of 6 minutes are missing (as CloudWatch gaps give them: zero requests)
    const gappy = datapoints.map((p) => (p.minute % 10 === 7 ? { ...p, canary: { ...p.canary, requests: 0, errors: 0, constraintViolations: 0, safetyIncidents: 0, latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null } } : p));
    expect(sampleRatioMismatch(gappy.filter((p) => p.minute < 12), 50, POLICY).mismatch).toBe(false);
    expect(sampleRatioMismatch(gappy, 50, POLICY).observedPct!).toBeCloseTo(50, 0);
  });
});

describe('sample-ratio mismatch without a split', () => {
  it('a weight of 0 or 100 is no split: nothing to check, and the analysis takes it as given', () => {
    const { datapoints } = generatePhase(identical, 10, 20, 7);
    for (const w of [0, 100]) {
      expect(sampleRatioMismatch(datapoints, w, POLICY).mismatch).toBe(false);
      expect(analyzeCanary({ datapoints: [...datapoints], plannedMinutes: 60, lookEveryMinutes: 1, canaryWeightPct: w }, POLICY).hold ?? null).toBeNull();
    }
  });
});
