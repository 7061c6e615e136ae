/**
 * A local CloudWatch: what GetMetricData returns for one-minute periods of what the serving fleet
 * emitted with the embedded metric format (EMF). Counts are published as sums; a distribution
 * (latency, risk energy) as `values`/`counts` — `counts[i]` raw data points of value `values[i]`,
 * which is what CloudWatch needs to compute percentiles ("CloudWatch needs raw data points to
 * calculate percentile statistics"; a statistic set would not do).
 *
 * The statistics, as CloudWatch defines them (Statistics-definitions):
 * - `SampleCount`: the number of data points, Σ counts.
 * - `Sum`: Σ values[i]·counts[i]; for a count metric published once a minute, the count itself.
 * - `Average`: Sum / SampleCount.
 * - `pNN`: "NN percent of the data within the period is lower than this value". CloudWatch does not
 *   publish its rank rule; this module uses the **nearest rank over the expanded sample**: the
 *   smallest emitted value v such that at least ⌈NN/100 · N⌉ of the N data points are ≤ v. It is
 *   always a value that was emitted (no interpolation between values), so a fleet that emits bucket
 *   representatives gets a bucket representative back, as it would from CloudWatch.
 * - `PR(L:U)`: percentile rank, the percentage of data points with L < value ≤ U (the lower bound
 *   excluded, the upper included); `PR(:U)` is the share ≤ U.
 *
 * Pure functions: the analysis' datapoints and the alarms' period values are computed through them
 * (local/fleet.ts), and so can any statistic read per request (e.g. the percentile rank of the
 * canary's values at the baseline's quantiles).
 */
import { emptyVariantMinute, type LatencyThresholds, type MinuteDatapoint, type VariantMinute } from '../core/analysis.js';

/** An EMF distribution: each `values[i]` was seen `counts[i]` times in the minute. */
export interface Distribution {
  readonly values: readonly number[];
  readonly counts: readonly number[];
}

/** What one variant emitted during one minute (a side of a replay.md line). */
export interface EmittedVariantMinute {
  readonly requests: number;
  readonly errors: number;
  readonly latencyMs: Distribution;
  readonly riskEnergy: Distribution;
  readonly constraintViolations: number;
  readonly safetyIncidents: number;
}

/** What both variants emitted during one minute; `null`: the variant emitted nothing that minute. */
export interface EmittedMinute {
  readonly canary: EmittedVariantMinute | null;
  readonly baseline: EmittedVariantMinute | null;
}

/** The distribution of a minute without data points. */
export const EMPTY_DISTRIBUTION: Distribution = Object.freeze({ values: Object.freeze([]) as readonly number[], counts: Object.freeze([]) as readonly number[] });

/** `SampleCount`: the number of data points. */
export function sampleCount(d: Distribution): number {
  let n = 0;
  for (const c of d.counts) n += c;
  return n;
}

/** `Sum`: the sum of every data point's value. */
export function sum(d: Distribution): number {
  let s = 0;
  d.values.forEach((v, i) => {
    s += v * (d.counts[i] ?? 0);
  });
  return s;
}

/** `Average` (Sum / SampleCount); null without data points, as CloudWatch returns no value. */
export function average(d: Distribution): number | null {
  const n = sampleCount(d);
  return n === 0 ? null : sum(d) / n;
}

/** `Minimum` and `Maximum` of the data points; null without data points. */
export function extremes(d: Distribution): { min: number; max: number } | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  d.values.forEach((v, i) => {
    if ((d.counts[i] ?? 0) <= 0) return;
    if (v < min) min = v;
    if (v > max) max = v;
  });
  return min === Number.POSITIVE_INFINITY ? null : { min, max };
}

/** The (value, count) pairs sorted by value, equal values merged. */
function sortedPairs(d: Distribution): { values: number[]; counts: number[] } {
  const order = d.values.map((_, i) => i).filter((i) => (d.counts[i] ?? 0) > 0);
  order.sort((a, b) => d.values[a]! - d.values[b]!);
  const values: number[] = [];
  const counts: number[] = [];
  for (const i of order) {
    const v = d.values[i]!;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1]! += d.counts[i]!;
    else {
      values.push(v);
      counts.push(d.counts[i]!);
    }
  }
  return { values, counts };
}

/**
 * `pNN`: the nearest-rank percentile over the expanded sample — the smallest value with at least
 * ⌈p/100 · N⌉ data points at or below it. Null without data points.
 *
 * @example percentile({ values: [100, 200, 900], counts: [50, 45, 5] }, 99) // 900
 */
export function percentile(d: Distribution, p: number): number | null {
  return percentiles(d, [p])[0]!;
}

/** Several percentiles of one distribution (one sort). */
export function percentiles(d: Distribution, ps: readonly number[]): (number | null)[] {
  const { values, counts } = sortedPairs(d);
  let n = 0;
  for (const c of counts) n += c;
  if (n === 0) return ps.map(() => null);
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in [0, 100]`);
    const rank = Math.max(1, Math.ceil((p / 100) * n - 1e-9));
    let seen = 0;
    for (let i = 0; i < values.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return values[i]!;
    }
    return values[values.length - 1]!;
  });
}

/**
 * `PR(lower:upper)`: the percentage (0–100) of data points with lower < value ≤ upper; `PR(:T)` is
 * `percentileRank(d, T)`. Null without data points.
 *
 * @example percentileRank({ values: [100, 200, 900], counts: [50, 45, 5] }, 200) // 95
 */
export function percentileRank(d: Distribution, upper: number, lower = Number.NEGATIVE_INFINITY): number | null {
  let n = 0;
  let inside = 0;
  d.values.forEach((v, i) => {
    const c = d.counts[i] ?? 0;
    n += c;
    if (v > lower && v <= upper) inside += c;
  });
  return n === 0 ? null : (100 * inside) / n;
}

/** The data points of several distributions together (a longer period, or several instances). */
export function mergeDistributions(ds: readonly Distribution[]): Distribution {
  const byValue = new Map<number, number>();
  for (const d of ds) {
    d.values.forEach((v, i) => {
      const c = d.counts[i] ?? 0;
      if (c > 0) byValue.set(v, (byValue.get(v) ?? 0) + c);
    });
  }
  const values = [...byValue.keys()].sort((a, b) => a - b);
  return { values, counts: values.map((v) => byValue.get(v)!) };
}

/**
 * One variant's minute as GetMetricData returns it for the metric contract (README "Metric
 * contract"): Requests, Errors, ConstraintViolations and SafetyIncidents as Sum, Latency as
 * p50/p95/p99, RiskEnergy as Average; a variant that emitted nothing has zero counts and no
 * latency or risk energy (lambdas/adapters/cloudwatch-metrics.ts reads a gap the same way).
 */
export function variantMinuteOf(emitted: EmittedVariantMinute | null, thresholds: LatencyThresholds | null = null): VariantMinute {
  if (emitted === null) return emptyVariantMinute();
  const [p50, p95, p99] = percentiles(emitted.latencyMs, [50, 95, 99]);
  return {
    ...(thresholds === null ? {} : { latencyAbove: latencyAbove(emitted.latencyMs, thresholds) }),
    requests: emitted.requests,
    errors: emitted.errors,
    latencyP50: p50 ?? null,
    latencyP95: p95 ?? null,
    latencyP99: p99 ?? null,
    riskEnergy: average(emitted.riskEnergy),
    constraintViolations: emitted.constraintViolations,
    safetyIncidents: emitted.safetyIncidents,
  };
}

/**
 * The latency values above each threshold, as the CloudWatch adapter computes them: SampleCount ×
 * (1 − PR(:T)/100), rounded.
 *
 * @example latencyAbove({ values: [100, 200, 900], counts: [50, 45, 5] }, { p50: 100, p95: 200, p99: 800, tail: 900 }) // { samples: 100, p50: 50, p95: 5, p99: 5, tail: 0 }
 */
export function latencyAbove(d: Distribution, t: LatencyThresholds): NonNullable<VariantMinute['latencyAbove']> {
  const samples = sampleCount(d);
  const above = (x: number) => Math.round((samples * (100 - (percentileRank(d, x) ?? 100))) / 100);
  return { samples, p50: above(t.p50), p95: above(t.p95), p99: above(t.p99), tail: above(t.tail) };
}

/** Whether a minute has any data: a minute where neither variant emitted is a gap in CloudWatch. */
export function hasData(m: EmittedMinute): boolean {
  return m.canary !== null || m.baseline !== null;
}

/** The analysis' datapoint of an emitted minute (what MetricsSource.window returns for it). */
export function datapointOf(m: EmittedMinute, minute: number, thresholds: LatencyThresholds | null = null): MinuteDatapoint {
  return { minute, canary: variantMinuteOf(m.canary, thresholds), baseline: variantMinuteOf(m.baseline, thresholds) };
}
