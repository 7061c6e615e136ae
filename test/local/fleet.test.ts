/**
 * The simulated fleet (local/fleet.ts) without the runtime: what it emits each minute is valid
 * replay.md data, the analysis' datapoint is CloudWatch's view of it, each `fleet` knob does what
 * it says (and nothing when off), and a phase can be generated on its own, deterministically.
 */
import { describe, expect, it } from 'vitest';
import { average, percentile, type EmittedMinute, type EmittedVariantMinute } from '../../local/cloudwatch.js';
import { SimulatedFleet, generatePhase, periodValues } from '../../local/fleet.js';
import { RecordingLineSchema } from '../../local/recording.js';
import { BUILTIN_SCENARIOS, ScenarioSchema, type FleetInput, type Scenario } from '../../local/scenario.js';

const HEALTHY = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
const withFleet = (fleet: FleetInput, over: Partial<Scenario> = {}): Scenario => ScenarioSchema.parse({ ...HEALTHY, ...over, fleet });

type Variant = 'canary' | 'baseline';
const rate = (ms: readonly EmittedMinute[], v: Variant, field: 'errors' | 'constraintViolations') => {
  let n = 0;
  let x = 0;
  for (const m of ms) {
    n += m[v]?.requests ?? 0;
    x += m[v]?.[field] ?? 0;
  }
  return x / n;
};
const p50s = (ms: readonly EmittedMinute[], v: Variant) => ms.map((m) => percentile(m[v]!.latencyMs, 50)!);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('what the fleet emits', () => {
  it('every minute is a valid replay.md line: counts, values/counts of equal length, at most 1,000 pairs, counts summing to the requests', () => {
    const { emitted } = generatePhase(BUILTIN_SCENARIOS.find((s) => s.name === 'healthy-realistic-mix')!, 10, 60, 3);
    for (const [minute, m] of emitted.entries()) {
      expect(RecordingLineSchema.safeParse({ weight: 10, minute, canary: m.canary, baseline: m.baseline }).success).toBe(true);
      for (const v of [m.canary, m.baseline].filter((x): x is EmittedVariantMinute => x !== null)) {
        expect(v.latencyMs.counts.reduce((a, b) => a + b, 0)).toBe(v.requests);
        expect(v.riskEnergy.counts.reduce((a, b) => a + b, 0)).toBe(v.requests);
        expect(v.latencyMs.values.length).toBeLessThanOrEqual(1000);
      }
    }
  });

  it("the analysis' datapoint is CloudWatch's statistics of the emitted minute", () => {
    const fleet = new SimulatedFleet(HEALTHY);
    const m = fleet.step(0, 10);
    const c = m.emitted.canary!;
    expect(m.datapoint.canary).toEqual({
      requests: c.requests,
      errors: c.errors,
      latencyP50: percentile(c.latencyMs, 50),
      latencyP95: percentile(c.latencyMs, 95),
      latencyP99: percentile(c.latencyMs, 99),
      riskEnergy: average(c.riskEnergy),
      constraintViolations: c.constraintViolations,
      safetyIncidents: c.safetyIncidents,
    });
    expect(periodValues(m.datapoint).p99C).toBe(percentile(c.latencyMs, 99));
  });

  it('a variant without instances emits nothing: no canary before the canary, no baseline at 100%', () => {
    const fleet = new SimulatedFleet(HEALTHY);
    expect(fleet.step(0, 0)).toMatchObject({ phaseMinute: null, emitted: { canary: null } });
    expect(fleet.step(1, 100)).toMatchObject({ phaseMinute: 0, emitted: { baseline: null } });
    expect(fleet.step(1, 100).datapoint.baseline.requests).toBe(0);
  });

  it('phase minutes count from each traffic shift', () => {
    const fleet = new SimulatedFleet(HEALTHY);
    const weights = [0, 0, 1, 1, 1, 10, 10, 0];
    expect(weights.map((w, i) => fleet.step(i, w).phaseMinute)).toEqual([null, null, 0, 1, 2, 0, 1, null]);
  });

  it("the canary's traffic for a seed does not depend on how long the deployment took", () => {
    const run = (deploy: number) => {
      const fleet = new SimulatedFleet(withFleet({ instances: { errorRate: { sd: 0.5 } }, noise: { latency: { sd: 0.1 } } }));
      for (let i = 0; i < deploy; i++) fleet.step(i, 0);
      return [0, 1, 2].map((k) => fleet.step(deploy + k, 1).emitted);
    };
    expect(run(3)).toEqual(run(11));
  });

  it('a fleet section with every default is the fleet without one, draw for draw', () => {
    const a = generatePhase(HEALTHY, 10, 20, 5);
    const b = generatePhase(withFleet({ instances: { count: 20, zones: 3, errorRate: { sd: 0 } }, warmUp: { latencyIncrease: 0 }, incidents: [], missingMinuteProbability: 0 }), 10, 20, 5);
    expect(b).toEqual(a);
  });
});

describe('generatePhase', () => {
  it('is deterministic and seeded', () => {
    const a = generatePhase(HEALTHY, 50, 30, 21);
    expect(generatePhase(HEALTHY, 50, 30, 21)).toEqual(a);
    expect(generatePhase(HEALTHY, 50, 30, 22)).not.toEqual(a);
    expect(a.emitted).toHaveLength(30);
    expect(a.datapoints.map((d) => d.minute)).toEqual([...Array(30).keys()]);
  });

  it('draws thousands of phases quickly (no state machines, no loop over requests)', () => {
    const started = performance.now();
    for (let seed = 1; seed <= 100; seed++) generatePhase(HEALTHY, 10, 60, seed);
    const perPhase = (performance.now() - started) / 100;
    expect(perPhase).toBeLessThan(100);
  });

  it("applies the scenario's events of its weight from their minute", () => {
    const spike = ScenarioSchema.parse({ ...HEALTHY, candidate: { ...HEALTHY.candidate, events: [{ whenWeight: 10, afterMinutes: 30, set: { errorRate: 0.04 } }] } });
    const { emitted } = generatePhase(spike, 10, 60, 4);
    expect(rate(emitted.slice(30), 'canary', 'errors')).toBeGreaterThan(5 * rate(emitted.slice(0, 30), 'canary', 'errors'));
  });
});

describe('the fleet as it is: each knob', () => {
  it('instances: a canary at w% runs on max(1, round(w% × N)) instances, so its error rate follows its few instances', () => {
    // With N = 4 the 10% canary is one instance: across seeds its error rate spreads far more than the 50% canary's.
    const fleet = withFleet({ instances: { count: 4, errorRate: { sd: 0.8, autocorrelation: 1 } } });
    const spread = (w: number) => {
      const logs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((seed) => Math.log(rate(generatePhase(fleet, w, 30, seed, { previousWeight: 0 }).emitted, 'canary', 'errors')));
      const m = mean(logs);
      return Math.sqrt(mean(logs.map((l) => (l - m) ** 2)));
    };
    expect(spread(10)).toBeGreaterThan(0.4);
    expect(spread(10)).toBeGreaterThan(1.5 * spread(50));
  });

  it('instances: the error-rate multipliers average 1 (the fleet errs at the profile rate)', () => {
    const fleet = withFleet({ instances: { count: 50, errorRate: { sd: 0.5, autocorrelation: 0.9 } } });
    const rates = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => rate(generatePhase(fleet, 50, 30, seed).emitted, 'baseline', 'errors'));
    expect(mean(rates)).toBeGreaterThan(0.0034);
    expect(mean(rates)).toBeLessThan(0.0046);
  });

  it("warm-up: the traffic shift's fresh instances are slower, less so every minute, warm after `minutes`", () => {
    const fleet = withFleet({ warmUp: { latencyIncrease: 0.6, minutes: 10 } });
    const { emitted } = generatePhase(fleet, 50, 20, 8, { previousWeight: 0 });
    const c = p50s(emitted, 'canary');
    const b = p50s(emitted, 'baseline');
    expect(c[0]! / b[0]!).toBeGreaterThan(1.45);
    expect(c[5]! / b[5]!).toBeGreaterThan(1.15);
    expect(c[5]! / b[5]!).toBeLessThan(c[0]! / b[0]!);
    expect(mean(c.slice(12)) / mean(b.slice(12))).toBeLessThan(1.05);
    // warm instances from the previous phase (10% → 2 of 10 at 50%) dilute it
    const { emitted: after10 } = generatePhase(fleet, 50, 1, 8, { previousWeight: 10 });
    expect(p50s(after10, 'canary')[0]! / p50s(after10, 'baseline')[0]!).toBeLessThan(c[0]! / b[0]!);
  });

  it("incidents: a zone's instances of both variants, only during the window", () => {
    const fleet = withFleet({ incidents: [{ atMinute: 10, minutes: 10, zone: 'a', multiply: { errorRate: 10, latency: 1.5, constraintViolationRate: 4 } }] });
    const { emitted } = generatePhase(fleet, 50, 30, 12);
    const before = emitted.slice(0, 10);
    const during = emitted.slice(10, 20);
    const after = emitted.slice(20);
    for (const v of ['canary', 'baseline'] as const) {
      // a third of the instances ×10 → about 4× the errors
      expect(rate(during, v, 'errors')).toBeGreaterThan(2.5 * rate(before, v, 'errors'));
      expect(rate(after, v, 'errors')).toBeLessThan(1.6 * rate(before, v, 'errors'));
      expect(rate(during, v, 'constraintViolations')).toBeGreaterThan(1.5 * rate(before, v, 'constraintViolations'));
    }
    // fleet-wide: every instance
    const wide = withFleet({ incidents: [{ atMinute: 0, minutes: 30, multiply: { latency: 1.5 } }] });
    const slow = generatePhase(wide, 50, 5, 12).emitted;
    expect(mean(p50s(slow, 'baseline')) / 180).toBeGreaterThan(1.4);
  });

  it('incidents by phase: whenWeight + afterMinutes, like events', () => {
    const fleet = withFleet({ incidents: [{ whenWeight: 10, afterMinutes: 5, minutes: 5, multiply: { errorRate: 20 } }] });
    const { emitted } = generatePhase(fleet, 10, 15, 2);
    expect(rate(emitted.slice(5, 10), 'baseline', 'errors')).toBeGreaterThan(10 * rate(emitted.slice(0, 5), 'baseline', 'errors'));
    expect(generatePhase(fleet, 50, 15, 2).emitted.every((m) => m.baseline!.errors < 60)).toBe(true);
  });

  it('sticky users: a share of all traffic pinned to one variant, heavier', () => {
    const pinned = (to: 'canary' | 'baseline') => withFleet({ stickyUsers: { share: 0.05, pinnedTo: to, multiply: { latency: 2, riskEnergy: 2 } } });
    const { emitted } = generatePhase(pinned('canary'), 1, 20, 6);
    const share = mean(emitted.map((m) => m.canary!.requests / (m.canary!.requests + m.baseline!.requests)));
    expect(share).toBeGreaterThan(0.055);
    expect(share).toBeLessThan(0.065);
    // mostly heavy users: the canary's mean risk energy well above the candidate's 0.29
    expect(mean(emitted.map((m) => average(m.canary!.riskEnergy)!))).toBeGreaterThan(0.5);
    const onBaseline = generatePhase(pinned('baseline'), 1, 20, 6).emitted;
    expect(mean(onBaseline.map((m) => m.canary!.requests))).toBeLessThan(70);
    // at 100% there is no baseline to pin to
    expect(generatePhase(pinned('baseline'), 100, 3, 6).emitted.every((m) => m.baseline === null)).toBe(true);
  });

  it('noise: the shared latency level drifts for both variants together (AR(1))', () => {
    const fleet = withFleet({ noise: { latency: { sd: 0.2, autocorrelation: 0.9 } } });
    const { emitted } = generatePhase(fleet, 50, 60, 14);
    const c = p50s(emitted, 'canary').map(Math.log);
    const b = p50s(emitted, 'baseline').map(Math.log);
    const corr = (x: number[], y: number[]) => {
      const mx = mean(x);
      const my = mean(y);
      const cov = mean(x.map((v, i) => (v - mx) * (y[i]! - my)));
      return cov / Math.sqrt(mean(x.map((v) => (v - mx) ** 2)) * mean(y.map((v) => (v - my) ** 2)));
    };
    expect(corr(c, b)).toBeGreaterThan(0.8);
    expect(corr(b.slice(1), b.slice(0, -1))).toBeGreaterThan(0.5);
    const calm = generatePhase(HEALTHY, 50, 60, 14).emitted;
    expect(corr(p50s(calm, 'canary').map(Math.log), p50s(calm, 'baseline').map(Math.log))).toBeLessThan(0.5);
  });

  it('noise: the shared error rate moves both variants together', () => {
    const fleet = withFleet({ noise: { errorRate: { sd: 0.6, autocorrelation: 0.95 } } });
    const { emitted } = generatePhase(fleet, 50, 60, 15);
    const perMinute = (v: Variant) => emitted.map((m) => m[v]!.errors / m[v]!.requests);
    const c = perMinute('canary');
    const b = perMinute('baseline');
    const mc = mean(c);
    const mb = mean(b);
    const corr = mean(c.map((x, i) => (x - mc) * (b[i]! - mb))) / Math.sqrt(mean(c.map((x) => (x - mc) ** 2)) * mean(b.map((x) => (x - mb) ** 2)));
    expect(corr).toBeGreaterThan(0.5);
  });

  it('diurnal: the request rate follows the cycle from the canary start', () => {
    const fleet = withFleet({ diurnal: { amplitude: 0.5, periodMinutes: 120, peakAtMinute: 0 } });
    const { emitted } = generatePhase(fleet, 10, 120, 3);
    const total = (k: number) => emitted[k]!.canary!.requests + emitted[k]!.baseline!.requests;
    expect(total(0) / 6000).toBeGreaterThan(1.45);
    expect(total(60) / 6000).toBeLessThan(0.55);
    expect(total(30) / 6000).toBeCloseTo(1, 1);
  });

  it("missing minutes: each variant's minute is dropped with the probability; a minute with neither is a gap", () => {
    const fleet = withFleet({ missingMinuteProbability: 0.3 });
    const { emitted, datapoints } = generatePhase(fleet, 10, 400, 9);
    const missing = (v: Variant) => emitted.filter((m) => m[v] === null).length / emitted.length;
    expect(missing('canary')).toBeGreaterThan(0.24);
    expect(missing('canary')).toBeLessThan(0.36);
    expect(missing('baseline')).toBeGreaterThan(0.24);
    const gaps = emitted.filter((m) => m.canary === null && m.baseline === null).length;
    expect(gaps).toBeGreaterThan(0);
    expect(datapoints).toHaveLength(emitted.length - gaps);
  });
});
