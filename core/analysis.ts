/**
 * Canary analysis (policy.md §3): canary vs baseline over one phase's window of per-minute
 * datapoints → `pass`, `fail` (reason code, severity, immediate or not) or `inconclusive`, with the
 * evidence of every rule. Pure: no clock, no I/O, no AWS.
 *
 * The statistics, and why:
 * - Counts (error rate, constraint violations) use sequential mixture likelihood-ratio tests
 *   (e-values). Under a healthy canary each is a test martingale, so by Ville's inequality it
 *   exceeds 1/α with probability ≤ α *however many times the phase is looked at* — the monitor loop
 *   analyses every minute and must not multiply its false alarms by doing so. A regression may start
 *   mid-phase, after healthy minutes that would otherwise dilute it, so a test also starts every
 *   `restartEveryMinutes` minutes (a change-point grid), with a union bound over the grid.
 *   - Error rate: conditional on an error happening in minute i, it falls on the canary with
 *     probability p₀ = n_c/(n_c+n_b) if both variants err alike, p₁ = r·n_c/(r·n_c+n_b) if the
 *     canary errs r times as often. This removes the unknown baseline rate (the canary is compared
 *     with the baseline of the same minutes, so a fleet-wide incident does not blame the canary).
 *     The alternative r is mixed over {1.5, 2, 3, 5, 10}.
 *   - Constraint violations: one-sample binomial against the policy ceiling (5%), alternatives
 *     mixed over 1.5×–5× the ceiling; a rate at or under the ceiling is the null.
 *   A count rule fails only when it is significant *and* the observed effect passes the policy's
 *   threshold (error-rate ratio > 1.5, violation rate > 5%): statistics rule out noise, the policy
 *   decides what is big enough to matter.
 * - Distributions per minute (latency p50/p95/p99 in log scale, mean risk energy) use the one-sided
 *   Brunner–Munzel rank test (see stats.ts for why not Mann–Whitney; its variance floored at the
 *   permutation variance, which calibrates short windows), on the whole phase window and
 *   on its last `4 × restartEveryMinutes` minutes (20: the shortest window on
 *   which the floored rank test can still reach the per-look α), Bonferroni-corrected over both windows and every
 *   planned look of the phase.
 * - Safety incidents are not sampled noise: any counted incident on the canary fails at once.
 * The phase's false-alarm budget `falseAlarmRatePerPhase` is split over the rules as in
 * {@link ALPHA_SHARES}; the statistical test of this module (test/core/analysis.stat.test.ts)
 * measures the resulting false-failure rate per phase.
 */
import * as z from 'zod';
import { THRESHOLD_TOLERANCE, type CanaryPolicy } from './policy.js';
import { compareSeverity, REASON_CODES, SEVERITIES, type ReasonCode, type Severity } from './severity.js';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { brunnerMunzelGreater, logMeanExp, median } from './stats.js';

const count = () => z.number().int().min(0);
const latency = () => z.number().finite().min(0).nullable();

/** One variant's metrics for one minute (the metric contract of the serving fleet). */
export const VariantMinuteSchema = z.strictObject({
  requests: count(),
  errors: count(),
  latencyP50: latency(),
  latencyP95: latency(),
  latencyP99: latency(),
  /** Mean risk energy V_s of the minute's requests; null when the variant served none. */
  riskEnergy: z.number().finite().min(0).nullable(),
  constraintViolations: count(),
  safetyIncidents: count(),
  /**
   * Requests whose latency was above the phase's latency thresholds ({@link LatencyThresholds}):
   * SampleCount × (1 − PR(:T)/100) in CloudWatch, with `samples` the SampleCount (latency values of
   * the minute). Absent when the thresholds are not known yet.
   */
  latencyAbove: z.strictObject({ samples: count(), p50: count(), p95: count(), p99: count(), tail: count() }).optional(),
});
export type VariantMinute = z.infer<typeof VariantMinuteSchema>;

/** A variant's minute without traffic: zero counts, no latency or risk energy (not zero: unknown). */
export function emptyVariantMinute(): VariantMinute {
  return {
    requests: 0,
    errors: 0,
    latencyP50: null,
    latencyP95: null,
    latencyP99: null,
    riskEnergy: null,
    constraintViolations: 0,
    safetyIncidents: 0,
  };
}

export const MinuteDatapointSchema = z.strictObject({
  /** Minutes since the canary started (or any monotonic minute index). */
  minute: z.number().int().min(0),
  canary: VariantMinuteSchema,
  baseline: VariantMinuteSchema,
});
export type MinuteDatapoint = z.infer<typeof MinuteDatapointSchema>;

/**
 * The latency values, fixed per phase, above which each variant's requests are counted
 * ({@link latencyThresholds}): the baseline's p50, p95 and p99 before the comparison starts.
 */
export const LatencyThresholdsSchema = z.strictObject({
  p50: z.number().finite().positive(),
  p95: z.number().finite().positive(),
  p99: z.number().finite().positive(),
  /** Further out than p99 (its log-normal extrapolation to p99.9 from p95 and p99): a tail regression shows there most. */
  tail: z.number().finite().positive(),
});
export type LatencyThresholds = z.infer<typeof LatencyThresholdsSchema>;

export const AnalysisInputSchema = z.strictObject({
  /** Datapoints of the phase so far, one per minute (gaps allowed). */
  datapoints: z.array(MinuteDatapointSchema),
  /** The phase's monitoring period in minutes (how long it may be watched). */
  plannedMinutes: z.number().int().min(1),
  /** How often the phase is analysed; with `plannedMinutes` it gives the number of looks. */
  lookEveryMinutes: z.number().int().min(1),
  /** The thresholds the datapoints' `latencyAbove` counts are relative to; without them the latency rules fall back to per-minute ranks. */
  latencyThresholdsMs: LatencyThresholdsSchema.nullable().optional(),
  /** The canary's configured share of the traffic, in percent: with it the split is checked ({@link sampleRatioMismatch}; 0 and 100 are no split). */
  canaryWeightPct: z.number().min(0).max(100).optional(),
});
export type AnalysisInput = z.infer<typeof AnalysisInputSchema>;

/**
 * `hold`: the evidence says nothing about the candidate right now — a fleet-wide incident hits the
 * baseline alike, or the metrics are unavailable. No promotion, no rollback; the loop keeps looking
 * and a phase that ends held waits for a person.
 */
export const VERDICT_KINDS = ['pass', 'fail', 'inconclusive', 'hold'] as const;
export type VerdictKind = (typeof VERDICT_KINDS)[number];

export const HOLD_REASONS = ['fleet_wide', 'no_data', 'traffic_mismatch'] as const;

/** Why a release holds. */
export const HoldSchema = z.object({
  reason: z.enum(HOLD_REASONS),
  /** The minutes (since the phase started) the hold is about; empty for no data. */
  minutes: z.array(z.number()),
  message: z.string(),
});
export type Hold = z.infer<typeof HoldSchema>;

export const CANARY_RULES = ['safety_incidents', 'risk_energy', 'error_rate', 'constraint_violations', 'latency_p50', 'latency_p95', 'latency_p99'] as const;

const measure = () => z.number().nullable();

/**
 * The evidence of one rule: what was measured, against what, and how sure the test is. Measures
 * that are not finite travel as null (a state machine payload is JSON).
 */
export const RuleEvidenceSchema = z.object({
  rule: z.enum(CANARY_RULES),
  canary: measure(),
  baseline: measure(),
  /** canary / baseline where that is the rule's measure. */
  ratio: measure(),
  /** The policy threshold the measure is held to. */
  threshold: z.number(),
  /** Which test decided significance. */
  test: z.string(),
  /** p-value (anytime-valid for the sequential tests), null where no test applies. */
  pValue: measure(),
  /** The significance level this rule used at this look. */
  alpha: measure(),
  significant: z.boolean(),
  /** The measure is past the policy threshold. */
  breached: z.boolean(),
  failed: z.boolean(),
  window: z.object({ fromMinute: z.number(), toMinute: z.number(), minutes: z.number() }),
  samples: z.object({ canary: z.number(), baseline: z.number() }),
  message: z.string(),
});
export type RuleEvidence = z.infer<typeof RuleEvidenceSchema>;

/**
 * The verdict of one look (the analysis step's result, carried in the canary machine's phase state
 * and in a rollback trigger).
 */
export const CanaryVerdictSchema = z.object({
  verdict: z.enum(VERDICT_KINDS),
  reason: z.enum(REASON_CODES).nullable(),
  severity: z.enum(SEVERITIES).nullable(),
  /** Roll back at once (true) or at the loop's next decision point (false, "automatic"). */
  immediate: z.boolean(),
  summary: z.string(),
  evidence: z.array(RuleEvidenceSchema),
  sample: z.object({ minutes: z.number(), canaryRequests: z.number(), baselineRequests: z.number() }),
  /** Set when the verdict is `hold` (and kept as information when a rule fails during a hold). */
  hold: HoldSchema.nullable().optional(),
  /** A fail: the rule whose finding decided it (the worst one). */
  rule: z.enum(CANARY_RULES).nullable().optional(),
});
export type CanaryVerdict = z.infer<typeof CanaryVerdictSchema>;
export type CanaryRule = (typeof CANARY_RULES)[number];

/** Shares of the per-phase false-alarm budget, by rule (they sum to 1). */
export const ALPHA_SHARES = {
  error_rate: 0.25,
  constraint_violations: 0.125,
  risk_energy: 0.25,
  latency_p50: 0.125,
  latency_p95: 0.125,
  latency_p99: 0.125,
} as const;

const ERROR_RATIO_ALTERNATIVES = [1.5, 2, 3, 5, 10];
const CONSTRAINT_MULTIPLIERS = [1.5, 2, 3, 5];

interface Finding {
  reason: ReasonCode;
  severity: Severity;
  immediate: boolean;
  evidence: RuleEvidence;
}

const fmtPct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const fmtP = (p: number | null): string => (p === null ? 'n/a' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const fmtX = (r: number | null): string => (r === null ? 'n/a' : Number.isFinite(r) ? `${r.toFixed(2)}×` : '∞×');

/** Indices of datapoints where a change-point test starts: the phase start and every `every` minutes after. */
function gridStarts(points: readonly MinuteDatapoint[], every: number): number[] {
  const starts: number[] = [];
  if (points.length === 0) return starts;
  const first = points[0]!.minute;
  let next = first;
  points.forEach((p, i) => {
    if (p.minute >= next) {
      starts.push(i);
      next = first + (Math.floor((p.minute - first) / every) + 1) * every;
    }
  });
  return starts;
}

interface SequentialResult {
  logE: number;
  start: number;
}

/**
 * Max over grid starts of a mixture e-value with per-minute log-likelihood ratios `llr[k][i]`
 * (alternative k, minute i), restricted to starts where `qualifies(start)`; and the max overall.
 */
function sequentialMax(
  llr: readonly (readonly number[])[],
  starts: readonly number[],
  qualifies: (start: number) => boolean,
): { best: SequentialResult; bestQualifying: SequentialResult | null } {
  const n = llr[0]?.length ?? 0;
  const suffix = llr.map((row) => {
    const s = new Array<number>(n + 1).fill(0);
    for (let i = n - 1; i >= 0; i--) s[i] = s[i + 1]! + row[i]!;
    return s;
  });
  let best: SequentialResult = { logE: Number.NEGATIVE_INFINITY, start: starts[0] ?? 0 };
  let bestQualifying: SequentialResult | null = null;
  for (const j of starts) {
    const logE = logMeanExp(suffix.map((s) => s[j]!));
    if (logE > best.logE) best = { logE, start: j };
    if (qualifies(j) && (bestQualifying === null || logE > bestQualifying.logE)) bestQualifying = { logE, start: j };
  }
  return { best, bestQualifying };
}

/**
 * The sequential decision of a rule: did an e-process started where the effect passes the policy
 * (`qualifies`) cross ln(grid/α)? The start it reports (that one if so, else the strongest) and
 * the anytime-valid p-value there, union-bounded over the grid. Empty input: never crosses.
 */
function sequentialTest(
  llr: readonly (readonly number[])[],
  starts: readonly number[],
  qualifies: (start: number) => boolean,
  grid: number,
  alpha: number,
): { crossed: boolean; chosen: SequentialResult; pValue: number; significant: boolean } {
  const threshold = Math.log(grid / alpha);
  const { best, bestQualifying } = sequentialMax(llr, starts, qualifies);
  const crossed = bestQualifying !== null && bestQualifying.logE >= threshold;
  const chosen = crossed ? bestQualifying : best;
  const pValue = Number.isFinite(chosen.logE) ? Math.min(1, grid * Math.exp(-chosen.logE)) : 1;
  return { crossed, chosen, pValue, significant: chosen.logE >= threshold };
}

function windowOf(points: readonly MinuteDatapoint[], start: number) {
  return {
    fromMinute: points[start]?.minute ?? 0,
    toMinute: points[points.length - 1]?.minute ?? 0,
    minutes: points.length - start,
  };
}

function sum(points: readonly MinuteDatapoint[], start: number, f: (p: MinuteDatapoint) => number): number {
  let s = 0;
  for (let i = start; i < points.length; i++) s += f(points[i]!);
  return s;
}

/** A count metric of a variant's minute: errors or constraint violations. */
type CountOf = (v: VariantMinute) => number;
const errorsOf: CountOf = (v) => Math.min(v.errors, v.requests);
const violationsOf: CountOf = (v) => Math.min(v.constraintViolations, v.requests);

/** Median of χ²₁: a squared standard normal is below it half of the time. */
export const CHI2_1_MEDIAN = 0.454936;

/**
 * Dispersion of the conditional-binomial model, robust to the regression it is meant to find: the
 * canary's share of a count is summed over blocks of `blockMinutes` minutes, and the squared Pearson
 * residuals of the blocks around the fitted ratio `r` give the variance inflation — by their median
 * (÷ the median of χ²₁), so the blocks of a regression that starts mid-phase do not inflate it —
 * shrunk towards 1 with `prior` pseudo blocks and floored at 1. Blocks rather than minutes because
 * instances drift: neighbouring minutes of a canary on its own instances err alike, and a window's
 * sum varies more than its minutes suggest. A likelihood ratio tempered by this (quasi-likelihood)
 * keeps its calibration where the plain one cries wolf.
 */
export function conditionalDispersion(points: readonly MinuteDatapoint[], countOf: CountOf, r: number, blockMinutes = 5, prior = 3): number {
  const blocks = new Map<number, { xc: number; m: number; ec: number }>();
  for (const { minute, canary: c, baseline: b } of points) {
    if (c.requests === 0 || b.requests === 0) continue;
    const m = countOf(c) + countOf(b);
    if (m === 0) continue;
    const p = (r * c.requests) / (r * c.requests + b.requests);
    const key = Math.floor(minute / blockMinutes);
    const blk = blocks.get(key) ?? { xc: 0, m: 0, ec: 0 };
    blk.xc += countOf(c);
    blk.m += m;
    blk.ec += m * p;
    blocks.set(key, blk);
  }
  const residuals: number[] = [];
  for (const { xc, m, ec } of blocks.values()) {
    const p = ec / m;
    const variance = m * p * (1 - p);
    if (variance > 0) residuals.push((xc - ec) ** 2 / variance);
  }
  if (residuals.length === 0) return 1;
  const k = residuals.length;
  const robust = median(residuals) / CHI2_1_MEDIAN;
  return Math.max(1, (robust * k + prior) / (k + prior));
}

/** Per-minute log-likelihood ratios of "the canary's count is `r`× the baseline's" against "alike", tempered by `dispersion`. */
function conditionalLlr(points: readonly MinuteDatapoint[], countOf: CountOf, r: number, dispersion: readonly number[]): number[] {
  return points.map(({ canary: c, baseline: b }, i) => {
    if (c.requests === 0 || b.requests === 0) return 0;
    const xc = countOf(c);
    const xb = countOf(b);
    const p0 = c.requests / (c.requests + b.requests);
    const p1 = (r * c.requests) / (r * c.requests + b.requests);
    return (xc * Math.log(p1 / p0) + xb * Math.log((1 - p1) / (1 - p0))) / dispersion[i]!;
  });
}

/** Pooled canary/baseline ratio of a count over minutes where both variants serve. */
function pooledRatio(points: readonly MinuteDatapoint[], countOf: CountOf): number {
  const nc = sum(points, 0, (p) => (p.baseline.requests > 0 ? p.canary.requests : 0));
  const nb = sum(points, 0, (p) => (p.canary.requests > 0 ? p.baseline.requests : 0));
  const xc = sum(points, 0, (p) => (p.baseline.requests > 0 ? countOf(p.canary) : 0));
  const xb = sum(points, 0, (p) => (p.canary.requests > 0 ? countOf(p.baseline) : 0));
  if (nc === 0 || nb === 0) return 1;
  return (xc / nc + 0.5 / nc) / (xb / nb + 0.5 / nb);
}

/**
 * The dispersion each minute's likelihood ratio is tempered by: estimated from the blocks that ended
 * before that minute only (predictable, as a sequential test needs), robustly (conditionalDispersion,
 * the smaller of the fits around "alike" and around the past's pooled ratio), with blocks of 5 and of 10 minutes (drift that outlasts a short block still
 * inflates the longer ones). A regression does not inflate the dispersion that judges its own first
 * minutes; early in a phase, with no past, the shrinkage prior keeps it near 1.
 */
/** A past pooled ratio this far off "alike" is a regression, not instance heterogeneity (core/analysis.ts predictableDispersion). */
const FIT_RATIO = 2.5;

function predictableDispersion(points: readonly MinuteDatapoint[], countOf: CountOf): number[] {
  const cache = new Map<string, number>();
  const phi = (blockMinutes: number, before: number): number => {
    const key = `${blockMinutes}:${before}`;
    let v = cache.get(key);
    if (v === undefined) {
      const past = points.filter((p) => p.minute < before);
      // around "alike" and around the past's own ratio: a regression there since the start is the fit, not noise
      // Around "alike" — except when the past's own ratio is far off (a regression present since the
      // phase began): then it is the fit there, not noise, and must not temper its own evidence away.
      // Instance effects of a few instances stay below that ratio and are measured as dispersion.
      const ratio = pooledRatio(past, countOf);
      const alike = conditionalDispersion(past, countOf, 1, blockMinutes);
      v = ratio >= FIT_RATIO ? Math.min(alike, conditionalDispersion(past, countOf, ratio, blockMinutes)) : alike;
      cache.set(key, v);
    }
    return v;
  };
  return points.map((p) => Math.max(phi(5, Math.floor(p.minute / 5) * 5), phi(10, Math.floor(p.minute / 10) * 10)));
}

function errorRateRule(points: readonly MinuteDatapoint[], starts: number[], grid: number, alpha: number, policy: CanaryPolicy): Finding | RuleEvidence {
  const dispersions = predictableDispersion(points, errorsOf);
  const dispersion = dispersions[dispersions.length - 1] ?? 1;
  const llr = ERROR_RATIO_ALTERNATIVES.map((r) => conditionalLlr(points, errorsOf, r, dispersions));
  const ratioFrom = (j: number) => {
    const nc = sum(points, j, (p) => (p.baseline.requests > 0 ? p.canary.requests : 0));
    const nb = sum(points, j, (p) => (p.canary.requests > 0 ? p.baseline.requests : 0));
    const xc = sum(points, j, (p) => (p.baseline.requests > 0 ? Math.min(p.canary.errors, p.canary.requests) : 0));
    const xb = sum(points, j, (p) => (p.canary.requests > 0 ? Math.min(p.baseline.errors, p.baseline.requests) : 0));
    const rc = nc > 0 ? xc / nc : null;
    const rb = nb > 0 ? xb / nb : null;
    // No baseline error at all: compare with half an error, so the ratio stays finite and conservative.
    const ratio = rc === null || nb === 0 ? null : xb > 0 ? rc / rb! : xc > 0 ? rc / (0.5 / nb) : 1;
    return { rc, rb, ratio, nc, nb };
  };
  const { crossed: failed, chosen, pValue, significant } = sequentialTest(
    llr,
    starts,
    (j) => {
      const r = ratioFrom(j).ratio;
      return r !== null && r > policy.errorRateRatio + THRESHOLD_TOLERANCE;
    },
    grid,
    alpha,
  );
  const { rc, rb, ratio, nc, nb } = ratioFrom(chosen.start);
  const evidence: RuleEvidence = {
    rule: 'error_rate',
    canary: rc,
    baseline: rb,
    ratio,
    threshold: policy.errorRateRatio,
    test: `sequential conditional-binomial mixture likelihood ratio, each minute tempered by the dispersion estimated before it (now ${dispersion.toFixed(2)})`,
    pValue,
    alpha,
    significant,
    breached: ratio !== null && ratio > policy.errorRateRatio + THRESHOLD_TOLERANCE,
    failed,
    window: windowOf(points, chosen.start),
    samples: { canary: nc, baseline: nb },
    message: `error rate ${fmtPct(rc)} vs baseline ${fmtPct(rb)} (${fmtX(ratio)}, rollback above ${fmtX(policy.errorRateRatio)}; p=${fmtP(pValue)}, α=${fmtP(alpha)})`,
  };
  return failed ? { reason: 'error_rate_increase', severity: 'P1', immediate: false, evidence } : evidence;
}

function constraintRule(points: readonly MinuteDatapoint[], starts: number[], grid: number, alpha: number, policy: CanaryPolicy): Finding | RuleEvidence {
  // Also against the baseline of the same minutes: a surge on both variants is not the candidate's doing.
  const dispersions = predictableDispersion(points, violationsOf);
  const dispersion = dispersions[dispersions.length - 1] ?? 1;
  const comparative = ERROR_RATIO_ALTERNATIVES.map((r) => conditionalLlr(points, violationsOf, r, dispersions));
  const worseThanBaseline = sequentialMax(comparative, starts, () => true).best.logE >= Math.log(grid / (alpha / 2));
  const p0 = policy.maxConstraintViolationRate;
  const alternatives = CONSTRAINT_MULTIPLIERS.map((m) => Math.min(p0 * m, (1 + p0) / 2));
  const llr = alternatives.map((q) =>
    points.map(({ canary: c }) => {
      const x = Math.min(c.constraintViolations, c.requests);
      return x * Math.log(q / p0) + (c.requests - x) * Math.log((1 - q) / (1 - p0));
    }),
  );
  const rateFrom = (j: number) => {
    const n = sum(points, j, (p) => p.canary.requests);
    const x = sum(points, j, (p) => Math.min(p.canary.constraintViolations, p.canary.requests));
    const nb = sum(points, j, (p) => p.baseline.requests);
    const xb = sum(points, j, (p) => Math.min(p.baseline.constraintViolations, p.baseline.requests));
    return { rate: n > 0 ? x / n : null, n, baseRate: nb > 0 ? xb / nb : null, nb };
  };
  const test = sequentialTest(
    llr,
    starts,
    (j) => {
      const r = rateFrom(j).rate;
      return r !== null && r > p0 + THRESHOLD_TOLERANCE;
    },
    grid,
    alpha,
  );
  const { chosen, pValue } = test;
  const failed = test.crossed && worseThanBaseline;
  const { rate, n, baseRate, nb } = rateFrom(chosen.start);
  const evidence: RuleEvidence = {
    rule: 'constraint_violations',
    canary: rate,
    baseline: baseRate,
    ratio: rate !== null && baseRate !== null && baseRate > 0 ? rate / baseRate : null,
    threshold: p0,
    test: `sequential binomial mixture likelihood ratio against the ceiling, and against the baseline of the same minutes (conditional, dispersion ${dispersion.toFixed(2)})`,
    pValue,
    alpha,
    significant: test.significant && worseThanBaseline,
    breached: rate !== null && rate > p0 + THRESHOLD_TOLERANCE,
    failed,
    window: windowOf(points, chosen.start),
    samples: { canary: n, baseline: nb },
    message: `constraint-violation rate ${fmtPct(rate)} (baseline ${fmtPct(baseRate)}), rollback above ${fmtPct(p0)} and significantly above the baseline${worseThanBaseline ? '' : ' (it is not)'}; p=${fmtP(pValue)}, α=${fmtP(alpha)}`,
  };
  return failed ? { reason: 'constraint_violations', severity: 'P1', immediate: true, evidence } : evidence;
}

type DistributionRule = 'risk_energy' | 'latency_p50' | 'latency_p95' | 'latency_p99';

const pick: Record<DistributionRule, (v: MinuteDatapoint['canary']) => number | null> = {
  risk_energy: (v) => v.riskEnergy,
  latency_p50: (v) => v.latencyP50,
  latency_p95: (v) => v.latencyP95,
  latency_p99: (v) => v.latencyP99,
};

/**
 * A per-minute distribution rule: Brunner–Munzel on the whole window and on its recent tail;
 * fails when a window is significant and its median ratio passes `limit`.
 */
function distributionRule(
  rule: DistributionRule,
  points: readonly MinuteDatapoint[],
  alphaPerTest: number,
  recentMinutes: number,
  limit: number,
  limitLabel = `rollback above ${fmtX(limit)}`,
): RuleEvidence {
  const usable = points.filter((p) => {
    const c = pick[rule](p.canary);
    const b = pick[rule](p.baseline);
    return p.canary.requests > 0 && p.baseline.requests > 0 && c !== null && b !== null;
  });
  const latencyRule = rule !== 'risk_energy';
  // Latency is compared in log scale (a ratio threshold is a shift there); positive values only.
  const transform = (v: number) => (latencyRule ? Math.log(Math.max(v, 1e-9)) : v);
  const windows = [0];
  const lastMinute = usable[usable.length - 1]?.minute ?? 0;
  const recentStart = usable.findIndex((p) => p.minute > lastMinute - recentMinutes);
  if (recentStart > 0) windows.push(recentStart);
  let chosen: RuleEvidence | null = null;
  for (const start of windows) {
    const slice = usable.slice(start);
    const c = slice.map((p) => pick[rule](p.canary)!);
    const b = slice.map((p) => pick[rule](p.baseline)!);
    const test = brunnerMunzelGreater(c.map(transform), b.map(transform), { permutationVarianceFloor: true });
    const mc = c.length > 0 ? median(c) : null;
    const mb = b.length > 0 ? median(b) : null;
    const ratio = mc === null || mb === null ? null : mb > 0 ? mc / mb : mc > 0 ? Number.POSITIVE_INFINITY : 1;
    const significant = test.pValue <= alphaPerTest;
    const breached = ratio !== null && ratio > limit + THRESHOLD_TOLERANCE;
    const what = latencyRule ? `${rule.slice(-3)} latency` : 'mean risk energy';
    const unit = latencyRule ? ' ms' : '';
    const fmtV = (v: number | null) => (v === null ? 'n/a' : `${latencyRule ? v.toFixed(0) : v.toFixed(4)}${unit}`);
    const evidence: RuleEvidence = {
      rule,
      canary: mc,
      baseline: mb,
      ratio: ratio !== null && Number.isFinite(ratio) ? ratio : null,
      threshold: limit,
      test: 'one-sided Brunner–Munzel rank test on per-minute values, Bonferroni over looks and windows',
      pValue: test.pValue,
      alpha: alphaPerTest,
      significant,
      breached,
      failed: significant && breached,
      window: {
        fromMinute: slice[0]?.minute ?? 0,
        toMinute: slice[slice.length - 1]?.minute ?? 0,
        minutes: slice.length,
      },
      samples: { canary: c.length, baseline: b.length },
      message: `${what} ${fmtV(mc)} vs baseline ${fmtV(mb)} (${fmtX(ratio)}, ${limitLabel}; p=${fmtP(test.pValue)}, α=${fmtP(alphaPerTest)})`,
    };
    if (chosen === null || (evidence.failed && !chosen.failed) || (evidence.failed === chosen.failed && (evidence.pValue ?? 1) < (chosen.pValue ?? 1))) {
      chosen = evidence;
    }
  }
  return chosen!;
}

/** (Φ⁻¹(0.999) − Φ⁻¹(0.99)) / (Φ⁻¹(0.99) − Φ⁻¹(0.95)): p99.9 from p95 and p99 on a log-normal tail. */
const TAIL_EXTRAPOLATION = (3.090232 - 2.326348) / (2.326348 - 1.644854);

/** The baseline's latency before the comparison: at least this many minutes of it set the thresholds. */
const THRESHOLD_MIN_MINUTES = 3;

/**
 * The phase's latency thresholds: the median over the minutes before the comparison starts (the
 * warm-up, at least {@link THRESHOLD_MIN_MINUTES}) of the baseline's own p50, p95 and p99. Fixed
 * for the phase and set before the minutes they judge, so the count of requests above them is, in
 * every later minute, as likely to fall on a canary request as on a baseline request when both
 * serve alike. Null until a minute after them has data, and with fewer than two such baseline minutes.
 *
 * @example latencyThresholds(points, DEFAULT_POLICY.canary) // { p50: 176, p95: 415, p99: 640 }
 */
export function latencyThresholds(points: readonly MinuteDatapoint[], policy: CanaryPolicy): LatencyThresholds | null {
  const until = Math.max(policy.warmupMinutes, THRESHOLD_MIN_MINUTES);
  // Only once those minutes are over (a later minute has data): then the thresholds never move.
  if (!points.some((p) => p.minute >= until)) return null;
  const base = points.filter(
    (p) => p.minute < until && p.baseline.requests > 0 && p.baseline.latencyP50 !== null && p.baseline.latencyP95 !== null && p.baseline.latencyP99 !== null,
  );
  if (base.length < 2) return null;
  const p50 = median(base.map((p) => p.baseline.latencyP50!));
  const p95 = Math.max(p50, median(base.map((p) => p.baseline.latencyP95!)));
  const p99 = Math.max(p95, median(base.map((p) => p.baseline.latencyP99!)));
  const tail = p99 * (p95 > 0 ? p99 / p95 : 1) ** TAIL_EXTRAPOLATION;
  return p50 > 0 ? { p50, p95, p99, tail } : null;
}

type LatencyRule = 'latency_p50' | 'latency_p95' | 'latency_p99';
const LEVELS = ['p50', 'p95', 'p99'] as const;
const QUANTILE_OF: Record<LatencyRule, number> = { latency_p50: 0.5, latency_p95: 0.95, latency_p99: 0.99 };
/** Alternatives of the exceedance tests: the canary's share of requests above a threshold is r× the baseline's. */
const EXCEEDANCE_RATIO_ALTERNATIVES = [1.1, 1.25, 1.5, 2, 3, 5];

/**
 * A variant's latency quantile `q` from its requests above the three thresholds since minute index
 * `from`: each threshold T_k with the variant's share above it f_k is a point (Φ⁻¹(1 − f_k), ln T_k)
 * of its quantile function in normal scores, interpolated (log-normal between the points) and
 * extrapolated from the nearest segment. Pooled over every request since the change point, so the
 * severity is the effect since then, not a ratio diluted by the healthy minutes before it.
 */
function quantileFromExceedances(points: readonly MinuteDatapoint[], from: number, side: 'canary' | 'baseline', t: LatencyThresholds, q: number): number | null {
  let n = 0;
  const above = [0, 0, 0];
  for (let i = from; i < points.length; i++) {
    const a = points[i]![side].latencyAbove;
    if (a === undefined || a.samples === 0) continue;
    n += a.samples;
    LEVELS.forEach((k, j) => (above[j]! += Math.min(a[k], a.samples)));
  }
  if (n === 0) return null;
  const z: number[] = [];
  const logT = LEVELS.map((k) => Math.log(t[k]));
  above.forEach((x, j) => {
    const zj = normalQuantile(1 - (x + 0.5) / (n + 1), 0, 1);
    z.push(j === 0 ? zj : Math.max(zj, z[j - 1]! + 1e-6));
  });
  const zq = normalQuantile(q, 0, 1);
  const seg = zq <= z[1]! ? 0 : 1;
  const [z0, z1, l0, l1] = [z[seg]!, z[seg + 1]!, logT[seg]!, logT[seg + 1]!];
  if (l1 === l0) return Math.exp(l0);
  return Math.exp(l0 + ((l1 - l0) / (z1 - z0)) * (zq - z0));
}

/**
 * Each minute as a count test: the latency values are the trials, those above the level's threshold
 * the events. The log-likelihood ratio of every alternative, per minute, and the dispersion they are
 * tempered by; p99 also mixes in the requests past p99.9 (half the mixture's weight): a tail that
 * grows shows there first.
 */
function exceedanceLlr(usable: readonly MinuteDatapoint[], level: (typeof LEVELS)[number]): { trials: MinuteDatapoint[]; dispersion: number; llr: number[][] } {
  const trialsAbove = (k: 'p50' | 'p95' | 'p99' | 'tail') => {
    const asCounts = (v: VariantMinute): VariantMinute => ({ ...emptyVariantMinute(), requests: v.latencyAbove!.samples, errors: Math.min(v.latencyAbove![k], v.latencyAbove!.samples) });
    return usable.map((p) => ({ minute: p.minute, canary: asCounts(p.canary), baseline: asCounts(p.baseline) }));
  };
  const trials = trialsAbove(level);
  const dispersions = predictableDispersion(trials, errorsOf);
  const llr = EXCEEDANCE_RATIO_ALTERNATIVES.map((r) => conditionalLlr(trials, errorsOf, r, dispersions));
  if (level === 'p99') {
    const tail = trialsAbove('tail');
    const tailDispersions = predictableDispersion(tail, errorsOf);
    llr.push(...EXCEEDANCE_RATIO_ALTERNATIVES.map((r) => conditionalLlr(tail, errorsOf, r, tailDispersions)));
  }
  return { trials, dispersion: dispersions[dispersions.length - 1] ?? 1, llr };
}

/**
 * A latency percentile judged per request: in every minute, the requests above the phase's
 * threshold for that percentile (the baseline's own value before the comparison) fall on the canary
 * with probability n_c/(n_c+n_b) when both serve alike — the error rule's conditional binomial,
 * with the same predictable dispersion (drift, heavy users and warm instances are variance, not
 * evidence) and change-point grid. Fails when significant and the canary's percentile since the
 * change point (quantileFromExceedances) is more than the policy's ratio over the baseline's.
 */
function latencyExceedanceRule(
  rule: LatencyRule,
  points: readonly MinuteDatapoint[],
  thresholds: LatencyThresholds,
  grid: number,
  alpha: number,
  policy: CanaryPolicy,
): Finding | RuleEvidence {
  const level = LEVELS[['latency_p50', 'latency_p95', 'latency_p99'].indexOf(rule)]!;
  const usable = points.filter((p) => p.canary.latencyAbove !== undefined && p.baseline.latencyAbove !== undefined);
  const starts = gridStarts(usable, policy.restartEveryMinutes);
  const { trials, dispersion, llr } = exceedanceLlr(usable, level);
  const countOf = errorsOf;
  const q = QUANTILE_OF[rule];
  const effectFrom = (j: number) => {
    const c = quantileFromExceedances(usable, j, 'canary', thresholds, q);
    const b = quantileFromExceedances(usable, j, 'baseline', thresholds, q);
    return { c, b, ratio: c === null || b === null ? null : c / b };
  };
  const { crossed: failed, chosen, pValue, significant } = sequentialTest(
    llr,
    starts,
    (j) => {
      const r = effectFrom(j).ratio;
      return r !== null && r > policy.latencyRatioWarn + THRESHOLD_TOLERANCE;
    },
    grid,
    alpha,
  );
  const { c, b, ratio } = effectFrom(chosen.start);
  const nc = sum(trials, chosen.start, (p) => p.canary.requests);
  const nb = sum(trials, chosen.start, (p) => p.baseline.requests);
  const xc = sum(trials, chosen.start, (p) => countOf(p.canary));
  const xb = sum(trials, chosen.start, (p) => countOf(p.baseline));
  const fmtMs = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} ms`);
  const evidence: RuleEvidence = {
    rule,
    canary: c,
    baseline: b,
    ratio,
    threshold: policy.latencyRatioWarn,
    test: `sequential conditional-binomial mixture likelihood ratio on the requests above ${thresholds[level].toFixed(0)} ms (the baseline's ${level} before the comparison), tempered by the dispersion estimated before each minute (now ${dispersion.toFixed(2)})`,
    pValue,
    alpha,
    significant,
    breached: ratio !== null && ratio > policy.latencyRatioWarn + THRESHOLD_TOLERANCE,
    failed,
    window: windowOf(usable, chosen.start),
    samples: { canary: nc, baseline: nb },
    message: `${level} latency ${fmtMs(c)} vs baseline ${fmtMs(b)} since minute ${usable[chosen.start]?.minute ?? 0} (${fmtX(ratio)}; ${fmtPct(nc > 0 ? xc / nc : null)} of canary requests above ${thresholds[level].toFixed(0)} ms vs ${fmtPct(nb > 0 ? xb / nb : null)}; P2 above ${fmtX(policy.latencyRatioWarn)}, P1 above ${fmtX(policy.latencyRatioCritical)}; p=${fmtP(pValue)}, α=${fmtP(alpha)})`,
  };
  if (!failed) return evidence;
  const critical = ratio === null || ratio > policy.latencyRatioCritical + THRESHOLD_TOLERANCE;
  return { reason: 'performance_degradation', severity: critical ? 'P1' : 'P2', immediate: critical, evidence };
}

/** Relative increases of the canary's mean risk energy (beyond the policy's margin) the risk test mixes over. */
const RISK_ALTERNATIVES = [0.02, 0.05, 0.1, 0.2, 0.5];
/** Differences of 5-minute blocks the risk variance waits for before it uses them. */
const MIN_LONG_BLOCKS = 5;
/** Successive minute differences the risk variance needs before a minute is judged. */
const MIN_DIFFERENCES = 8;
/** Cap of one minute's standardized difference in the risk test (a lasting shift of 2σ a minute passes it whole). */
const RISK_Z_CAP = 3;

/**
 * The variance per unit of 1/n_c + (1+m)²/n_b of each minute's difference of means, estimated from
 * the minutes before that minute's block only (predictable), blind to a level shift: from the
 * squared differences of successive blocks, so a regression — a shift of the difference that lasts
 * — adds one residual instead of inflating every one, while bursts (heavy users, spikes) do. Blocks of 1 and of 5 minutes (the larger: noise that
 * outlasts a minute shows in the 5-minute blocks, once there are {@link MIN_LONG_BLOCKS} differences of them). No
 * assumption about the per-request distribution: a minute before {@link MIN_DIFFERENCES} differences
 * of the phase's own is not judged (null).
 */
function predictableRiskVariance(points: readonly MinuteDatapoint[], y: readonly number[], u: readonly number[]): (number | null)[] {
  const cache = new Map<string, number | null>();
  const estimate = (blockMinutes: number, before: number): number | null => {
    const key = `${blockMinutes}:${before}`;
    let v: number | null | undefined = cache.get(key);
    if (v === undefined) {
      const blocks = new Map<number, { y: number; u: number; k: number }>();
      points.forEach((p, i) => {
        if (p.minute >= before) return;
        const id = Math.floor(p.minute / blockMinutes);
        const blk = blocks.get(id) ?? { y: 0, u: 0, k: 0 };
        blk.y += y[i]!;
        blk.u += u[i]!;
        blk.k += 1;
        blocks.set(id, blk);
      });
      // each block's mean difference and its sampling variance per unit v: u/k²
      const ordered = [...blocks.entries()].sort(([a], [b]) => a - b).map(([, blk]) => ({ mean: blk.y / blk.k, w: blk.u / (blk.k * blk.k) }));
      const residuals: number[] = [];
      for (let j = 1; j < ordered.length; j++) {
        const a = ordered[j - 1]!;
        const c = ordered[j]!;
        residuals.push((c.mean - a.mean) ** 2 / (a.w + c.w));
      }
      const k = residuals.length;
      // The mean of squared successive differences (von Neumann): a level shift adds one residual,
      // not a level. Only once there are enough of them, and inflated by (1 + 2/√k): an e-process
      // is far more hurt by a variance guessed too low than helped by one guessed right.
      v = k < (blockMinutes > 1 ? MIN_LONG_BLOCKS : MIN_DIFFERENCES) ? null : (residuals.reduce((a, b) => a + b, 0) / k) * (1 + 2 / Math.sqrt(k));
      cache.set(key, v);
    }
    return v;
  };
  return points.map((p) => {
    const short = estimate(1, p.minute);
    return short === null ? null : Math.max(short, estimate(5, Math.floor(p.minute / 5) * 5) ?? 0);
  });
}

/** Per alternative, each minute's Gaussian log-likelihood ratio (0 for a minute whose variance is not known yet). */
function riskLlr(usable: readonly MinuteDatapoint[], y: readonly number[], u: readonly number[], v: readonly (number | null)[]): number[][] {
  return RISK_ALTERNATIVES.map((d) =>
    usable.map((p, i) => {
      const theta = d * p.baseline.riskEnergy!;
      const vi = v[i];
      if (vi === null || vi === undefined || vi * u[i]! <= 0) return 0;
      // A minute counts at most RISK_Z_CAP standard deviations: one odd minute is not a regression.
      const sd = Math.sqrt(vi * u[i]!);
      const yi = Math.max(-RISK_Z_CAP * sd, Math.min(RISK_Z_CAP * sd, y[i]!));
      return (theta * yi - (theta * theta) / 2) / (vi * u[i]!);
    }),
  );
}

/**
 * Mean risk energy judged per request: each minute's canary mean minus (1 + margin) × the baseline
 * mean of the same minute (a fleet-wide shift moves both) is Gaussian around the true difference
 * with a variance ∝ 1/n_c + (1+m)²/n_b, estimated from the phase's own earlier minutes
 * ({@link predictableRiskVariance}); a Gaussian mixture likelihood ratio over relative increases
 * {@link RISK_ALTERNATIVES}, on the change-point grid. Fails when significant and the canary's mean
 * since the change point is more than `1 + riskEnergyMinIncrease` times the baseline's.
 */
function riskEnergyRule(points: readonly MinuteDatapoint[], grid: number, alpha: number, policy: CanaryPolicy): Finding | RuleEvidence {
  const m = policy.riskEnergyMinIncrease;
  const usable = points.filter((p) => p.canary.requests > 0 && p.baseline.requests > 0 && p.canary.riskEnergy !== null && p.baseline.riskEnergy !== null);
  const starts = gridStarts(usable, policy.restartEveryMinutes);
  const y = usable.map((p) => p.canary.riskEnergy! - (1 + m) * p.baseline.riskEnergy!);
  const u = usable.map((p) => 1 / p.canary.requests + (1 + m) ** 2 / p.baseline.requests);
  const v = predictableRiskVariance(usable, y, u);
  const llr = riskLlr(usable, y, u, v);
  const meansFrom = (j: number) => {
    const nc = sum(usable, j, (p) => p.canary.requests);
    const nb = sum(usable, j, (p) => p.baseline.requests);
    const c = nc > 0 ? sum(usable, j, (p) => p.canary.requests * p.canary.riskEnergy!) / nc : null;
    const b = nb > 0 ? sum(usable, j, (p) => p.baseline.requests * p.baseline.riskEnergy!) / nb : null;
    const ratio = c === null || b === null ? null : b > 0 ? c / b : c > 0 ? Number.POSITIVE_INFINITY : 1;
    return { c, b, ratio, nc, nb };
  };
  const limit = 1 + m;
  const { crossed: failed, chosen, pValue, significant } = sequentialTest(
    llr,
    starts,
    (j) => {
      const r = meansFrom(j).ratio;
      return r !== null && r > limit + THRESHOLD_TOLERANCE;
    },
    grid,
    alpha,
  );
  const { c, b, ratio, nc, nb } = meansFrom(chosen.start);
  const last = v[v.length - 1];
  const lastScale = usable[usable.length - 1]?.baseline.riskEnergy ?? 0;
  const cv = last !== undefined && last !== null && lastScale > 0 ? Math.sqrt(last) / lastScale : null;
  const fmtV = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  const evidence: RuleEvidence = {
    rule: 'risk_energy',
    canary: c,
    baseline: b,
    ratio: ratio !== null && Number.isFinite(ratio) ? ratio : null,
    threshold: limit,
    test: `sequential Gaussian mixture likelihood ratio on per-minute means weighted by their requests (canary − ${limit.toFixed(2)} × baseline), variance estimated before each minute (per-request CV now ${cv === null ? 'n/a' : cv.toFixed(2)})`,
    pValue,
    alpha,
    significant,
    breached: ratio !== null && ratio > limit + THRESHOLD_TOLERANCE,
    failed,
    window: windowOf(usable, chosen.start),
    samples: { canary: nc, baseline: nb },
    message: `mean risk energy ${fmtV(c)} vs baseline ${fmtV(b)} since minute ${usable[chosen.start]?.minute ?? 0} (${fmtX(ratio)}, rollback above ${fmtX(limit)}; p=${fmtP(pValue)}, α=${fmtP(alpha)})`,
  };
  return failed ? { reason: 'safety_violation', severity: 'P0', immediate: true, evidence } : evidence;
}

/**
 * The verdict of a look without metrics (GetMetricData failing past its retries, or no canary data
 * past the warm-up): evidence of nothing. Never a rollback; `inconclusive` while it may be a blip,
 * a `hold` (page once, keep looking) from `policy.maxConsecutiveNoData` consecutive looks on.
 *
 * @example noDataVerdict(3, DEFAULT_POLICY.canary, 'GetMetricData: ThrottlingException').verdict // 'hold'
 */
export function noDataVerdict(consecutive: number, policy: CanaryPolicy, why: string): CanaryVerdict {
  const sample = { minutes: 0, canaryRequests: 0, baselineRequests: 0 };
  const message = `no metrics for ${consecutive} consecutive look(s) (${why}): evidence of nothing, neither promotion nor rollback`;
  if (consecutive < policy.maxConsecutiveNoData) {
    return { verdict: 'inconclusive', reason: null, severity: null, immediate: false, summary: message, evidence: [], sample, hold: null };
  }
  const hold: Hold = { reason: 'no_data', minutes: [], message: `${message}; holding until the metrics come back` };
  return { verdict: 'hold', reason: null, severity: null, immediate: false, summary: hold.message, evidence: [], sample, hold };
}

/** log of a Chernoff bound on P(X ≥ x) for X ~ Poisson(λ): conservative (never smaller than the true tail). */
function logPoissonTailBound(x: number, lambda: number): number {
  if (x <= lambda) return 0;
  if (lambda <= 0) return Number.NEGATIVE_INFINITY;
  return x - lambda + x * Math.log(lambda / x);
}

/** A baseline minute this far in the Poisson tail of the usual rate is an incident, not noise. */
const INCIDENT_LOG_TAIL = Math.log(1e-4);

/**
 * The minutes (since the phase started) in which the baseline's own rate of a count is a fleet-wide
 * incident: more than `factor` times its usual rate (the median of its per-minute rates) and beyond
 * binomial noise. A 1% canary cannot tell a zone
 * outage from a regression; the baseline of the same minutes can.
 *
 * @example fleetIncidentMinutes(points, (v) => v.errors, 3) // Set {12, 13, 14}
 */
export function fleetIncidentMinutes(points: readonly MinuteDatapoint[], countOf: CountOf, factor: number): Set<number> {
  // The usual rate: the median of the baseline's per-minute rates (robust while an incident covers
  // less than half of the window), with half an event of prior so that a baseline without events
  // still has a usual rate above 0.
  const rates = points.filter((p) => p.baseline.requests > 0).map((p) => (countOf(p.baseline) + 0.5) / p.baseline.requests);
  const flagged = new Set<number>();
  if (rates.length === 0) return flagged;
  const usual = median(rates);
  for (const p of points) {
    const nb = p.baseline.requests;
    if (nb === 0) continue;
    const xb = countOf(p.baseline);
    if (xb > factor * usual * nb && logPoissonTailBound(xb, usual * nb) < INCIDENT_LOG_TAIL) flagged.add(p.minute);
  }
  return flagged;
}

/** |z| of a split this far from the weight is a mismatch, not chance (two-sided p ≈ 1e-6 per look). */
const SRM_Z = 4.89;

/**
 * Sample-ratio mismatch (as A/B testing checks it): given each minute's total, a router that sends
 * each request to the canary with probability w/100 gives the canary a binomial share of the
 * requests. A share significantly (|z| > {@link SRM_Z}) and substantially (relatively more than
 * `maxSampleRatioMismatch`) off the weight means the variants do not serve the same population — a
 * cohort pinned by sticky sessions — and comparisons of what the requests look like (latency, risk
 * energy) compare populations, not models.
 *
 * @example sampleRatioMismatch(points, 1, DEFAULT_POLICY.canary) // { observedPct: 1.2, expectedPct: 1, z: 9.1, mismatch: true }
 */
export function sampleRatioMismatch(points: readonly MinuteDatapoint[], weightPct: number, policy: CanaryPolicy): { observedPct: number | null; expectedPct: number; z: number; pValue: number; mismatch: boolean } {
  const w = weightPct / 100;
  // Only minutes both variants reported: a missing datapoint is a gap in the metrics, not a share of the traffic.
  const both = points.filter((p) => p.canary.requests > 0 && p.baseline.requests > 0);
  const x = sum(both, 0, (p) => p.canary.requests);
  const n = x + sum(both, 0, (p) => p.baseline.requests);
  if (n === 0 || w <= 0 || w >= 1) return { observedPct: null, expectedPct: weightPct, z: 0, pValue: 1, mismatch: false };
  const z = (x - n * w) / Math.sqrt(n * w * (1 - w));
  const pValue = Math.min(1, 2 * (1 - normalCdf(Math.abs(z), 0, 1)));
  const relative = Math.abs(x / (n * w) - 1);
  return { observedPct: (100 * x) / n, expectedPct: weightPct, z, pValue, mismatch: Math.abs(z) > SRM_Z && relative > policy.maxSampleRatioMismatch + THRESHOLD_TOLERANCE };
}

/** `a–b` ranges of sorted minutes, for messages. */
function minuteRanges(minutes: readonly number[]): string {
  const out: string[] = [];
  let from: number | null = null;
  let prev: number | null = null;
  for (const m of [...minutes].sort((a, b) => a - b)) {
    if (from !== null && prev !== null && m === prev + 1) {
      prev = m;
      continue;
    }
    if (from !== null) out.push(from === prev ? `${from}` : `${from}–${prev}`);
    from = m;
    prev = m;
  }
  if (from !== null) out.push(from === prev ? `${from}` : `${from}–${prev}`);
  return out.join(', ');
}

function isFinding(x: Finding | RuleEvidence): x is Finding {
  return 'reason' in x;
}

/** Minutes the comparison leaves out as fleet-wide incidents, and the hold they cause while one goes on. */
function fleetHold(points: readonly MinuteDatapoint[], policy: CanaryPolicy): { incidents: Set<number>; hold: Hold | null } {
  const incidents = new Set([
    ...fleetIncidentMinutes(points, errorsOf, policy.fleetIncidentFactor),
    ...fleetIncidentMinutes(points, violationsOf, policy.fleetIncidentFactor),
  ]);
  const lastMinute = points[points.length - 1]?.minute ?? 0;
  const ongoing = [...incidents].filter((m) => m > lastMinute - policy.restartEveryMinutes);
  const hold: Hold | null =
    ongoing.length === 0
      ? null
      : {
          reason: 'fleet_wide',
          minutes: [...incidents].sort((a, b) => a - b),
          message: `fleet-wide incident: the baseline's own error or constraint-violation rate is over ${policy.fleetIncidentFactor}× its usual rate in minute(s) ${minuteRanges([...incidents])} of the phase; those minutes are not held against the candidate, and the release holds (no promotion, no rollback) until it clears`,
        };
  return { incidents, hold };
}

/** The hold of a canary whose share of the requests is significantly off its weight; null when the split is as configured (or unknown). */
function mismatchHold(compared: readonly MinuteDatapoint[], weightPct: number | undefined, policy: CanaryPolicy): Hold | null {
  const split = weightPct === undefined ? null : sampleRatioMismatch(compared, weightPct, policy);
  if (split === null || !split.mismatch) return null;
  return {
    reason: 'traffic_mismatch',
    minutes: [],
    message: `sample-ratio mismatch: the canary served ${split.observedPct!.toFixed(2)}% of the requests, not its ${split.expectedPct}% (z=${split.z.toFixed(1)}): a cohort is pinned to one variant (sticky sessions?), so latency and risk energy compare different populations and do not count against the candidate; errors, violations and safety incidents still do`,
  };
}

type Sample = CanaryVerdict['sample'];

/** Safety incidents: counted, never sampled noise (warm-up and fleet incidents included). */
function safetyRule(points: readonly MinuteDatapoint[], sample: Sample, policy: CanaryPolicy): Finding | RuleEvidence {
  const safetyCount = sum(points, 0, (p) => p.canary.safetyIncidents);
  const baseIncidents = sum(points, 0, (p) => p.baseline.safetyIncidents);
  const failed = safetyCount > policy.maxSafetyIncidents;
  const safety: RuleEvidence = {
    rule: 'safety_incidents',
    canary: safetyCount,
    baseline: baseIncidents,
    ratio: null,
    threshold: policy.maxSafetyIncidents,
    test: 'count (any safety incident is a violation, not noise; warm-up and fleet incidents included)',
    pValue: null,
    alpha: null,
    significant: failed,
    breached: failed,
    failed,
    window: windowOf(points, 0),
    samples: { canary: sample.canaryRequests, baseline: sample.baselineRequests },
    message: `${safetyCount} safety incident(s) on the canary (baseline ${baseIncidents}), rollback above ${policy.maxSafetyIncidents}`,
  };
  return failed ? { reason: 'safety_violation', severity: 'P0', immediate: true, evidence: safety } : safety;
}

/** The latency rules: per request above the phase's thresholds when the datapoints count them, else per-minute ranks. */
function latencyRules(compared: readonly MinuteDatapoint[], input: AnalysisInput, grid: number, looks: number, policy: CanaryPolicy): (Finding | RuleEvidence)[] {
  const budget = policy.falseAlarmRatePerPhase;
  const thresholds = input.latencyThresholdsMs ?? null;
  const perRequest = thresholds !== null && compared.some((p) => p.canary.latencyAbove !== undefined && p.baseline.latencyAbove !== undefined);
  const latencyCompared = compared.filter((p) => p.minute >= policy.latencyWarmupMinutes);
  return (['latency_p50', 'latency_p95', 'latency_p99'] as const).map((rule) => {
    if (perRequest) return latencyExceedanceRule(rule, latencyCompared, thresholds, grid, budget * ALPHA_SHARES[rule], policy);
    const ev = distributionRule(
      rule,
      latencyCompared,
      (budget * ALPHA_SHARES[rule]) / (looks * 2),
      4 * policy.restartEveryMinutes,
      policy.latencyRatioWarn,
      `P2 above ${fmtX(policy.latencyRatioWarn)}, P1 above ${fmtX(policy.latencyRatioCritical)}`,
    );
    if (!ev.failed) return ev;
    const critical = ev.ratio === null || ev.ratio > policy.latencyRatioCritical + THRESHOLD_TOLERANCE;
    return { reason: 'performance_degradation', severity: critical ? 'P1' : 'P2', immediate: critical, evidence: ev };
  });
}

/** The verdict of the findings: the worst fails; else a hold; else too little evidence; else a pass. */
function verdictOf(findings: readonly Finding[], evidence: RuleEvidence[], sample: Sample, held: Hold | null, policy: CanaryPolicy): CanaryVerdict {
  if (findings.length > 0) {
    const worst = [...findings].sort((a, b) => compareSeverity(a.severity, b.severity) || Number(b.immediate) - Number(a.immediate))[0]!;
    return {
      verdict: 'fail',
      reason: worst.reason,
      severity: worst.severity,
      immediate: worst.immediate,
      summary: `${worst.reason} (${worst.severity}): ${worst.evidence.message}`,
      evidence,
      sample,
      hold: held,
      rule: worst.evidence.rule,
    };
  }
  const quiet = (verdict: 'hold' | 'inconclusive' | 'pass', summary: string): CanaryVerdict => ({ verdict, reason: null, severity: null, immediate: false, summary, evidence, sample });
  if (held !== null) return { ...quiet('hold', held.message), hold: held };
  if (sample.minutes < policy.minMinutes || sample.canaryRequests < policy.minCanaryRequests) {
    return quiet(
      'inconclusive',
      `not enough evidence yet: ${sample.minutes} minute(s) and ${sample.canaryRequests} canary request(s) (need ${policy.minMinutes} and ${policy.minCanaryRequests})`,
    );
  }
  return quiet('pass', `canary healthy over ${sample.minutes} minute(s), ${sample.canaryRequests} canary request(s): no rule breached`);
}

/**
 * Analyses a phase's window. Worst finding wins (P0 before P1 before P2; immediate before automatic).
 *
 * @example
 * const v = analyzeCanary({ datapoints, plannedMinutes: 60, lookEveryMinutes: 1 }, DEFAULT_POLICY.canary);
 * if (v.verdict === 'fail') rollback(v.reason, v.severity);
 */
export function analyzeCanary(input: AnalysisInput, policy: CanaryPolicy): CanaryVerdict {
  const points = [...input.datapoints].sort((a, b) => a.minute - b.minute);
  const budget = policy.falseAlarmRatePerPhase;
  const looks = Math.max(1, Math.ceil(input.plannedMinutes / input.lookEveryMinutes));
  const grid = Math.max(1, Math.ceil(input.plannedMinutes / policy.restartEveryMinutes));
  // The comparative rules see neither the warm-up after the traffic shift nor fleet-wide incidents.
  const { incidents, hold } = fleetHold(points, policy);
  const compared = points.filter((p) => p.minute >= policy.warmupMinutes && !incidents.has(p.minute));
  const starts = gridStarts(compared, policy.restartEveryMinutes);
  const mismatch = mismatchHold(compared, input.canaryWeightPct, policy);
  const sample = {
    minutes: points.length,
    canaryRequests: sum(points, 0, (p) => p.canary.requests),
    baselineRequests: sum(points, 0, (p) => p.baseline.requests),
  };
  // Under a sample-ratio mismatch what the requests look like is the population's doing: kept as evidence, not failed.
  const population = (x: Finding | RuleEvidence): Finding | RuleEvidence => {
    if (mismatch === null || !isFinding(x)) return x;
    return { ...x.evidence, failed: false, message: `${x.evidence.message} — not held against the candidate: ${mismatch.message.split(':')[0]}` };
  };
  const results: (Finding | RuleEvidence)[] = [
    safetyRule(points, sample, policy),
    population(riskEnergyRule(compared, grid, budget * ALPHA_SHARES.risk_energy, policy)),
    errorRateRule(compared, starts, grid, budget * ALPHA_SHARES.error_rate, policy),
    constraintRule(compared, starts, grid, budget * ALPHA_SHARES.constraint_violations, policy),
    ...latencyRules(compared, input, grid, looks, policy).map(population),
  ];
  const findings = results.filter(isFinding);
  const evidence = results.map((x) => (isFinding(x) ? x.evidence : x));
  return verdictOf(findings, evidence, sample, hold ?? mismatch, policy);
}
