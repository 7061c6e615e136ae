/**
 * Kayenta's default judge, NetflixACAJudge (spinnaker/kayenta, kayenta-judge: NetflixACAJudge.scala,
 * classifiers/metric/MannWhitneyClassifier.scala, detectors/IQRDetector.scala,
 * scorers/WeightedSumScorer.scala) run as a Spinnaker real-time canary stage (orca-kayenta:
 * MonitorKayentaCanaryTask, AggregateCanaryResultsTask).
 *
 * Per metric: the per-minute canary ("experiment") and baseline ("control") series of the lookback,
 * NaNs removed, outliers removed (IQR detector, factor 3, reduced sensitivity), then the Mann–Whitney
 * classifier at 98% confidence with tolerance 0.25: High when the lower bound of the shift's
 * confidence interval exceeds 0.25 × |estimate| and the mean ratio is ≥ `allowedIncrease` (default
 * 1.0). Score: per group the percentage of Pass among Pass/High/Low, groups weighted equally (no
 * group weights configured); here every metric is its own group, so the score is the percentage of
 * metrics that pass. Stage: a judgment every `interval` over a growing lookback from the start of
 * the phase; a score ≤ marginal (75) fails the canary at once; the last judgment of the phase must
 * reach pass (95).
 */
import type { MinuteDatapoint, VariantMinute } from '../../core/analysis.js';
import { MannWhitneyError, mannWhitneyInterval } from './mann-whitney.js';
import type { Decision, Rule } from './types.js';

export type KayentaClassification = 'Pass' | 'High' | 'Low' | 'Nodata' | 'Error';
export type MetricDirection = 'increase' | 'decrease' | 'either';

export interface KayentaMetric {
  readonly name: string;
  /** The minute's value for one variant; NaN when the variant served no request. */
  readonly value: (v: VariantMinute) => number;
  readonly direction: MetricDirection;
}

const perRequest = (count: (v: VariantMinute) => number) => (v: VariantMinute) => (v.requests > 0 ? count(v) / v.requests : Number.NaN);
const orNaN = (x: number | null) => (x === null ? Number.NaN : x);

/** The canary config: this service's signals, each "fails when it deviates too high". */
export const KAYENTA_METRICS: readonly KayentaMetric[] = [
  { name: 'error_rate', value: perRequest((v) => v.errors), direction: 'increase' },
  { name: 'latency_p50', value: (v) => orNaN(v.latencyP50), direction: 'increase' },
  { name: 'latency_p95', value: (v) => orNaN(v.latencyP95), direction: 'increase' },
  { name: 'latency_p99', value: (v) => orNaN(v.latencyP99), direction: 'increase' },
  { name: 'risk_energy', value: (v) => orNaN(v.riskEnergy), direction: 'increase' },
  { name: 'constraint_violation_rate', value: perRequest((v) => v.constraintViolations), direction: 'increase' },
  { name: 'safety_incident_rate', value: perRequest((v) => v.safetyIncidents), direction: 'increase' },
];

/** Interval ends and estimates closer to 0 than this are 0 (the root finder's rounding). */
const ROOT_NOISE = 1e-7;

/** Commons Math `StatUtils.percentile` (default estimation: position p·(n+1)/100, linear between ranks). */
export function legacyPercentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return s[0]!;
  const pos = (p * (n + 1)) / 100;
  const fpos = Math.floor(pos);
  const dif = pos - fpos;
  if (pos < 1) return s[0]!;
  if (pos >= n) return s[n - 1]!;
  const lower = s[fpos - 1]!;
  const upper = s[fpos]!;
  return lower + dif * (upper - lower);
}

/** IQRDetector(factor = 3.0, reduceSensitivity = true) + Transforms.removeOutliers. */
export function removeOutliers(values: readonly number[], factor = 3): number[] {
  if (values.length === 0) return [];
  const p25 = legacyPercentile(values, 25);
  const p75 = legacyPercentile(values, 75);
  const iqr = p75 - p25;
  const lowerFence = Math.min(legacyPercentile(values, 1), p25 - factor * iqr);
  const upperFence = Math.max(legacyPercentile(values, 99), p75 + factor * iqr);
  return values.filter((x) => !(x > upperFence || x < lowerFence));
}

/** A fixed-seed Gaussian stream, for Kayenta's tie-breaking noise (deterministic runs). */
function gaussianNoise(values: readonly number[], stdev: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return values.map((v) => v + stdev * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface ClassifierOptions {
  readonly tolerance?: number;
  readonly confLevel?: number;
  /** (allowedDecrease, allowedIncrease), mean-ratio effect sizes (default 1.0, 1.0). */
  readonly effectSize?: readonly [number, number];
}

/** MannWhitneyClassifier.classify (NaN strategy "remove", not critical, data not required). */
export function classifyMetric(
  control: readonly number[],
  experiment: readonly number[],
  direction: MetricDirection,
  options: ClassifierOptions = {},
): { classification: KayentaClassification; deviation: number } {
  const tolerance = options.tolerance ?? 0.25;
  const confLevel = options.confLevel ?? 0.98;
  const [allowedDecrease, allowedIncrease] = options.effectSize ?? [1, 1];
  if (experiment.length === 0 || control.length === 0) return { classification: 'Nodata', deviation: 1 };
  const se = [...experiment].sort((a, b) => a - b);
  const sc = [...control].sort((a, b) => a - b);
  if (se.length === sc.length && se.every((v, i) => v === sc[i])) return { classification: 'Pass', deviation: 1 };
  if (new Set([...experiment, ...control]).size === 1) return { classification: 'Pass', deviation: 1 };
  // Degenerate distributions (one distinct value each): Gaussian noise scaled to the value.
  const addNoise = new Set(experiment).size === 1 && new Set(control).size === 1;
  const x = addNoise ? gaussianNoise(experiment, experiment[0]! * 1e-5, 1) : experiment;
  const y = addNoise ? gaussianNoise(control, control[0]! * 1e-5, 2) : control;
  let interval;
  try {
    interval = mannWhitneyInterval(x, y, confLevel);
  } catch (err) {
    if (err instanceof MannWhitneyError) return { classification: 'Error', deviation: 1 };
    throw err;
  }
  const deviation = mean(y) === 0 ? 1 : mean(x) / mean(y);
  // A root-finder residue (≈3e-10 where ties make the true bound and estimate exactly 0) is not a
  // shift: without this, tied minutes of identical variants count as "High" (bench/README.md).
  const clean = (v: number) => (Math.abs(v) < ROOT_NOISE ? 0 : v);
  const bound = tolerance * Math.abs(clean(interval.estimate));
  const high = (direction === 'increase' || direction === 'either') && clean(interval.lower) > bound && deviation >= allowedIncrease;
  const low = (direction === 'decrease' || direction === 'either') && clean(interval.upper) < -bound && deviation <= allowedDecrease;
  return { classification: high ? 'High' : low ? 'Low' : 'Pass', deviation };
}

/**
 * WeightedSumScorer with one group per metric and no group weights: each group weighs 100 / groups;
 * a group with no Pass/High/Low result (Nodata, Error) scores nothing but keeps its weight.
 */
export function kayentaScore(classifications: readonly KayentaClassification[]): number {
  if (classifications.length === 0) return 0;
  const weight = 100 / classifications.length;
  return classifications.reduce((s, c) => s + (c === 'Pass' ? weight : 0), 0);
}

export interface KayentaOptions {
  readonly metrics?: readonly KayentaMetric[];
  /** Minutes between judgments (growing lookback from the phase start). */
  readonly intervalMinutes?: number;
  readonly marginal?: number;
  readonly pass?: number;
  readonly classifier?: ClassifierOptions;
}

/** One judgment over a lookback: the score and the per-metric classifications. */
export function kayentaJudge(
  points: readonly MinuteDatapoint[],
  metrics: readonly KayentaMetric[] = KAYENTA_METRICS,
  classifier: ClassifierOptions = {},
): { score: number; classifications: Record<string, KayentaClassification> } {
  const classifications: Record<string, KayentaClassification> = {};
  for (const m of metrics) {
    const experiment = removeOutliers(points.map((p) => m.value(p.canary)).filter((v) => !Number.isNaN(v)));
    const control = removeOutliers(points.map((p) => m.value(p.baseline)).filter((v) => !Number.isNaN(v)));
    classifications[m.name] = classifyMetric(control, experiment, m.direction, classifier).classification;
  }
  return { score: kayentaScore(Object.values(classifications)), classifications };
}

/**
 * Judgments are pure functions of the lookback; the benchmark scans the same simulated phase several
 * times, so scores under the default config are cached (found by the lookback's first datapoint and
 * length, checked element by element by identity).
 */
const scoreCache = new WeakMap<MinuteDatapoint, Map<number, { items: readonly MinuteDatapoint[]; score: number }>>();
const sameItems = (a: readonly MinuteDatapoint[], b: readonly MinuteDatapoint[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export function kayentaRule(options: KayentaOptions = {}): Rule {
  const metrics = options.metrics ?? KAYENTA_METRICS;
  const cacheable = options.metrics === undefined && options.classifier === undefined;
  const score = (points: readonly MinuteDatapoint[]): number => {
    const first = points[0]!;
    const hit = cacheable ? scoreCache.get(first)?.get(points.length) : undefined;
    if (hit !== undefined && sameItems(hit.items, points)) return hit.score;
    const value = kayentaJudge(points, metrics, options.classifier).score;
    if (cacheable) {
      let m = scoreCache.get(first);
      if (!m) scoreCache.set(first, (m = new Map()));
      m.set(points.length, { items: points, score: value });
    }
    return value;
  };
  const interval = options.intervalMinutes ?? 15;
  const marginal = options.marginal ?? 75;
  const pass = options.pass ?? 95;
  return {
    name: 'kayenta',
    reset() {},
    observe(points, ctx): Decision {
      const n = points.length;
      const final = n === ctx.plannedMinutes;
      if (n % interval !== 0 && !final) return 'continue';
      // No control without baseline traffic (the 100% phase): no canary stage to run.
      if (!points.some((p) => p.baseline.requests > 0)) return 'continue';
      const s = score(points);
      if (s <= marginal) return 'rollback';
      if (final && s < pass) return 'rollback';
      return 'continue';
    },
  };
}
