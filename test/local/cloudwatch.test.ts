/**
 * The local CloudWatch (local/cloudwatch.ts): the statistics GetMetricData returns for EMF
 * values/counts, table-driven against the expanded sample, and the analysis' datapoint of a minute.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyVariantMinute } from '../../core/analysis.js';
import {
  average,
  datapointOf,
  extremes,
  hasData,
  mergeDistributions,
  percentile,
  percentileRank,
  percentiles,
  sampleCount,
  sum,
  variantMinuteOf,
  type Distribution,
  type EmittedVariantMinute,
} from '../../local/cloudwatch.js';

const D = (values: number[], counts: number[]): Distribution => ({ values, counts });
const EMPTY = D([], []);

/** The expanded sample: each value repeated its count times, sorted. */
const expand = (d: Distribution) => d.values.flatMap((v, i) => Array<number>(d.counts[i]!).fill(v)).sort((a, b) => a - b);

describe('statistics of values/counts', () => {
  const d = D([100, 200, 900], [50, 45, 5]);

  it.each([
    ['SampleCount', () => sampleCount(d), 100],
    ['Sum', () => sum(d), 100 * 50 + 200 * 45 + 900 * 5],
    ['Average', () => average(d), (100 * 50 + 200 * 45 + 900 * 5) / 100],
    ['p50', () => percentile(d, 50), 100],
    ['p51', () => percentile(d, 51), 200],
    ['p95', () => percentile(d, 95), 200],
    ['p95.01', () => percentile(d, 95.01), 900],
    ['p99', () => percentile(d, 99), 900],
    ['p0', () => percentile(d, 0), 100],
    ['p100', () => percentile(d, 100), 900],
    ['PR(:100)', () => percentileRank(d, 100), 50],
    ['PR(:199.9)', () => percentileRank(d, 199.9), 50],
    ['PR(:200)', () => percentileRank(d, 200), 95],
    ['PR(100:900) (lower bound excluded)', () => percentileRank(d, 900, 100), 50],
    ['PR(:1e9)', () => percentileRank(d, 1e9), 100],
  ] as const)('%s', (_name, f, expected) => {
    expect(f()).toBeCloseTo(expected, 10);
  });

  it('no data points: no Average, percentile, percentile rank or extremes (CloudWatch returns no value)', () => {
    expect(sampleCount(EMPTY)).toBe(0);
    expect(sum(EMPTY)).toBe(0);
    expect(average(EMPTY)).toBeNull();
    expect(percentile(EMPTY, 99)).toBeNull();
    expect(percentileRank(EMPTY, 100)).toBeNull();
    expect(extremes(EMPTY)).toBeNull();
  });

  it('unsorted and repeated values are data points like any other', () => {
    const messy = D([900, 100, 200, 100], [5, 20, 45, 30]);
    expect(percentiles(messy, [50, 95, 99])).toEqual([100, 200, 900]);
    expect(extremes(messy)).toEqual({ min: 100, max: 900 });
    expect(mergeDistributions([messy])).toEqual(D([100, 200, 900], [50, 45, 5]));
  });

  it('a percentile outside [0, 100] is an error, not a value', () => {
    expect(() => percentile(d, 101)).toThrow(RangeError);
  });

  it('pNN is the nearest rank of the expanded sample; PR(:T) the share at or below T (property)', () => {
    const dist = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 30 })
      .map((pairs) => D(pairs.map(([v]) => v / 4), pairs.map(([, c]) => c)));
    fc.assert(
      fc.property(dist, fc.integer({ min: 0, max: 10_000 }), (d0, p100) => {
        const p = p100 / 100;
        const xs = expand(d0);
        const n = xs.length;
        expect(percentile(d0, p)).toBe(xs[Math.max(1, Math.ceil((p / 100) * n - 1e-9)) - 1]);
        const t = xs[Math.floor((p / 100) * (n - 1))]!;
        expect(percentileRank(d0, t)).toBeCloseTo((100 * xs.filter((x) => x <= t).length) / n, 9);
        expect(average(d0)).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / n, 6);
      }),
      { numRuns: 300 },
    );
  });

  it('merging distributions gives the statistics of their data points together', () => {
    const a = D([100, 300], [3, 1]);
    const b = D([300, 200], [2, 4]);
    const m = mergeDistributions([a, b]);
    expect(m).toEqual(D([100, 200, 300], [3, 4, 3]));
    expect(sampleCount(m)).toBe(sampleCount(a) + sampleCount(b));
    expect(sum(m)).toBe(sum(a) + sum(b));
  });
});

describe('the datapoint of an emitted minute', () => {
  const v: EmittedVariantMinute = {
    requests: 100,
    errors: 2,
    latencyMs: D([120, 180, 400, 700], [40, 49, 10, 1]),
    riskEnergy: D([0.2, 0.4], [50, 50]),
    constraintViolations: 3,
    safetyIncidents: 0,
  };

  it('counts as Sum, latency as p50/p95/p99, risk energy as Average', () => {
    expect(variantMinuteOf(v)).toEqual({
      requests: 100,
      errors: 2,
      latencyP50: 180,
      latencyP95: 400,
      latencyP99: 400,
      riskEnergy: (0.2 * 50 + 0.4 * 50) / 100,
      constraintViolations: 3,
      safetyIncidents: 0,
    });
  });

  it('a variant that emitted nothing, or served nothing, has zero counts and no latency or risk energy', () => {
    expect(variantMinuteOf(null)).toEqual(emptyVariantMinute());
    expect(variantMinuteOf({ ...v, requests: 0, errors: 0, constraintViolations: 0, latencyMs: EMPTY, riskEnergy: EMPTY })).toEqual(emptyVariantMinute());
  });

  it('a minute where neither variant emitted is a gap; one variant is enough for data', () => {
    expect(hasData({ canary: null, baseline: null })).toBe(false);
    expect(hasData({ canary: null, baseline: v })).toBe(true);
    expect(datapointOf({ canary: null, baseline: v }, 7)).toEqual({ minute: 7, canary: emptyVariantMinute(), baseline: variantMinuteOf(v) });
  });
});
