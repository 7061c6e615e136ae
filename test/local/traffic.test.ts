/**
 * What the simulated fleet draws (local/traffic.ts): an exact binomial without a loop over trials,
 * the fixed EMF buckets, and the multinomial over them — the emitted percentiles and averages are
 * the profile's, within the buckets' resolution.
 */
import { describe, expect, it } from 'vitest';
import { average, percentiles, sampleCount } from '../../local/cloudwatch.js';
import {
  LATENCY_BUCKETS,
  RISK_ENERGY_BUCKETS,
  addMultinomial,
  binomialSampler,
  createDraws,
  drawLatency,
  drawRiskEnergy,
  latencyQuantile,
  latencySurvival,
  riskEnergySurvival,
} from '../../local/traffic.js';

const LATENCY = { p50: 180, p95: 420, p99: 650 };

/** log P(X = k) for X ~ Binomial(n, p). */
function logPmf(n: number, p: number, k: number): number {
  let lc = 0;
  for (let i = 1; i <= k; i++) lc += Math.log((n - k + i) / i);
  return lc + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

describe('binomial draws', () => {
  it.each([
    [60, 0.004],
    [600, 0.004],
    [5400, 0.0019],
    [5400, 0.004],
    [6000, 0.1],
    [1000, 0.6],
    [20, 0.5],
  ])('Binomial(%i, %f): the frequencies match the distribution (χ² over the central outcomes)', (n, p) => {
    const draw = binomialSampler(createDraws(11).uniform);
    const runs = 40_000;
    const seen = new Map<number, number>();
    for (let i = 0; i < runs; i++) {
      const x = draw(n, p);
      expect(Number.isInteger(x) && x >= 0 && x <= n).toBe(true);
      seen.set(x, (seen.get(x) ?? 0) + 1);
    }
    // Cells with an expected count ≥ 20, the rest pooled: χ² with df = cells − 1.
    let chi = 0;
    let cells = 0;
    let restObserved = runs;
    let restExpected = runs;
    for (let k = 0; k <= n; k++) {
      const expected = runs * Math.exp(logPmf(n, p, k));
      if (expected < 20) continue;
      const observed = seen.get(k) ?? 0;
      chi += (observed - expected) ** 2 / expected;
      restObserved -= observed;
      restExpected -= expected;
      cells++;
    }
    if (restExpected >= 5) {
      chi += (restObserved - restExpected) ** 2 / restExpected;
      cells++;
    }
    const df = cells - 1;
    // Far beyond the 99.99th percentile of χ²(df) (≈ df + 8.5√df for these df): a biased sampler lands here.
    expect(chi).toBeLessThan(df + 8.5 * Math.sqrt(2 * df) + 15);
  });

  it('edge cases: no trials, p 0 or 1', () => {
    const draw = binomialSampler(createDraws(1).uniform);
    expect(draw(0, 0.3)).toBe(0);
    expect(draw(100, 0)).toBe(0);
    expect(draw(100, 1)).toBe(100);
  });

  it('never loops over the trials: ten million trials in no time', () => {
    const draw = binomialSampler(createDraws(2).uniform);
    const started = performance.now();
    let s = 0;
    for (let i = 0; i < 1000; i++) s += draw(10_000_000, 0.004);
    expect(s / 1000).toBeGreaterThan(39_000);
    expect(s / 1000).toBeLessThan(41_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('EMF buckets', () => {
  it.each([
    ['latency', LATENCY_BUCKETS],
    ['risk energy', RISK_ENERGY_BUCKETS],
  ] as const)('%s: at most 1,000 buckets, increasing edges, each value inside its bucket, index() consistent', (_name, layout) => {
    expect(layout.edges.length).toBeLessThanOrEqual(1000);
    expect(layout.edges[0]).toBe(0);
    for (let k = 1; k < layout.edges.length; k++) {
      expect(layout.edges[k]!).toBeGreaterThan(layout.edges[k - 1]!);
      const value = layout.values[k]!;
      if (k < layout.edges.length - 1) {
        expect(value).toBeGreaterThanOrEqual(layout.edges[k]!);
        expect(value).toBeLessThan(layout.edges[k + 1]!);
      }
      expect(layout.index(layout.edges[k]!)).toBe(k);
      expect(layout.index(value)).toBe(k);
    }
    expect(layout.index(0)).toBe(0);
    expect(layout.index(1e12)).toBe(layout.edges.length - 1);
  });

  it('latency buckets are 2% wide from 1 ms to 2 minutes', () => {
    expect(LATENCY_BUCKETS.edges[1]).toBe(1);
    expect(LATENCY_BUCKETS.edges.at(-1)!).toBeGreaterThanOrEqual(120_000);
    expect(LATENCY_BUCKETS.edges[100]! / LATENCY_BUCKETS.edges[99]!).toBeCloseTo(1.02, 12);
  });
});

describe('distributions', () => {
  it("the latency survival function is the profile's: P(X ≥ pNN) = 1 − NN%", () => {
    expect(latencySurvival(LATENCY, 1, 180)).toBeCloseTo(0.5, 9);
    expect(latencySurvival(LATENCY, 1, 420)).toBeCloseTo(0.05, 9);
    expect(latencySurvival(LATENCY, 1, 650)).toBeCloseTo(0.01, 9);
    expect(latencySurvival(LATENCY, 2, 1300)).toBeCloseTo(0.01, 9);
    expect(latencySurvival(LATENCY, 1, latencyQuantile(LATENCY, 0.73))).toBeCloseTo(0.27, 9);
    // flat pieces: p50 = p95 holds 95% of the mass at one value
    const flat = { p50: 200, p95: 200, p99: 300 };
    expect(latencySurvival(flat, 1, 199.99)).toBe(1);
    expect(latencySurvival(flat, 1, 200)).toBeCloseTo(0.05, 9);
  });

  it('per-request risk energy is Gamma(4, mean/4): P(V ≥ 0) = 1, median below the mean', () => {
    expect(riskEnergySurvival(0.3, 0)).toBe(1);
    expect(riskEnergySurvival(0.3, 0.3)).toBeCloseTo(Math.exp(-4) * (1 + 4 + 8 + 64 / 6), 12);
    expect(riskEnergySurvival(0, 0.1)).toBe(0);
  });

  it('a multinomial over the buckets places every data point, and only n of them', () => {
    const draws = createDraws(5);
    for (const n of [0, 1, 7, 60, 5400, 1_000_000]) {
      const counts: number[] = [];
      addMultinomial(draws, n, LATENCY_BUCKETS, (k) => latencySurvival(LATENCY, 1, LATENCY_BUCKETS.edges[k]!), counts);
      expect(counts.reduce((a, b) => a + (b ?? 0), 0)).toBe(n);
    }
  });

  it("the emitted minute's percentiles and average are the profile's (averaged over minutes, within the buckets' 1%)", () => {
    const draws = createDraws(9);
    const minutes = 400;
    const logs = [0, 0, 0];
    let risk = 0;
    for (let i = 0; i < minutes; i++) {
      const latency = drawLatency(draws, [{ requests: 5400, latencyMs: LATENCY, factor: 1 }]);
      expect(sampleCount(latency)).toBe(5400);
      percentiles(latency, [50, 95, 99]).forEach((v, j) => (logs[j]! += Math.log(v!)));
      const r = drawRiskEnergy(draws, [{ requests: 5400, mean: 0.3 }]);
      risk += average(r)!;
    }
    const [p50, p95, p99] = logs.map((l) => Math.exp(l / minutes));
    expect(Math.abs(p50! / 180 - 1)).toBeLessThan(0.01);
    expect(Math.abs(p95! / 420 - 1)).toBeLessThan(0.01);
    expect(Math.abs(p99! / 650 - 1)).toBeLessThan(0.015);
    expect(Math.abs(risk / minutes / 0.3 - 1)).toBeLessThan(0.002);
  });

  it('components add up: a slower share of requests moves the upper percentiles', () => {
    const draws = createDraws(3);
    const mixed = drawLatency(draws, [
      { requests: 4000, latencyMs: LATENCY, factor: 1 },
      { requests: 1000, latencyMs: LATENCY, factor: 2 },
    ]);
    expect(sampleCount(mixed)).toBe(5000);
    expect(percentiles(mixed, [99])[0]!).toBeGreaterThan(900);
    expect(drawRiskEnergy(draws, [{ requests: 10, mean: 0 }])).toEqual({ values: [0], counts: [10] });
  });

  it('the same seed gives the same draws', () => {
    const a = drawLatency(createDraws(77), [{ requests: 600, latencyMs: LATENCY, factor: 1.1 }]);
    const b = drawLatency(createDraws(77), [{ requests: 600, latencyMs: LATENCY, factor: 1.1 }]);
    expect(a).toEqual(b);
  });
});
