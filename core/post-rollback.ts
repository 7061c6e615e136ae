/**
 * Post-rollback analysis (RELEASE.md §4.3 "timeline reconstruction, contributing factor
 * identification, failure mode classification"; §3.3 step 4 "automated root cause analysis"):
 * after a rollback, one report built from what the pipeline already holds — the audit timeline,
 * the release record, the per-minute canary-vs-baseline datapoints and the manifest's changelog.
 * Pure: no clock, no I/O, no AWS (core/app/post-rollback-analysis.ts reads and writes).
 *
 * What it says:
 * - **the timeline**, from the ledger (the monitor loop's looks folded into the deciding one);
 * - **the evidence** of the rule that fired (the rollback event and the look that decided);
 * - **the failure mode** of §5.1 (safety, performance, reliability, quality), mapped from the
 *   reason code, the alarm's watched rule or the failed rule ({@link classifyFailure});
 * - **the estimated onset**: a likelihood-ratio change point on the candidate-vs-baseline
 *   per-minute series of the signal that fired ({@link countChangePoint}, {@link shiftChangePoint}),
 *   with its confidence; and how every signal moved from then on;
 * - **candidate causes**: the manifest's changelog entries, those that name the failure mode's
 *   words first (a hint for people, not a verdict).
 */
import * as z from 'zod';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { CANARY_RULES, CHI2_1_MEDIAN, conditionalDispersion, type MinuteDatapoint, type VariantMinute } from './analysis.js';
import { describeEvent, type StoredAuditEvent } from './audit.js';
import type { ReleaseManifest } from './manifest.js';
import type { ReleaseRecord } from './release-record.js';
import { alarmWatches } from './runtime-config.js';
import { SEVERITIES, type ReasonCode } from './severity.js';
import { median } from './stats.js';

// ── failure mode (RELEASE.md §5.1) ──────────────────────────────────────────────────────────────

/** The incident types of §5.1; `unclassified` when nothing measured says (an operator's rollback with no failing rule). */
export const FAILURE_MODES = ['safety', 'performance', 'reliability', 'quality', 'unclassified'] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

export type CanaryRule = (typeof CANARY_RULES)[number];

/**
 * The class of each canary rule. Constraint violations are §5.1's "quality" (incorrect outputs,
 * constraint violations): the policy pages them P1, not P0 like the safety rules (§3.3).
 */
export const RULE_FAILURE_MODE: Readonly<Record<CanaryRule, Exclude<FailureMode, 'unclassified'>>> = {
  safety_incidents: 'safety',
  risk_energy: 'safety',
  error_rate: 'reliability',
  constraint_violations: 'quality',
  latency_p50: 'performance',
  latency_p95: 'performance',
  latency_p99: 'performance',
};

/**
 * The class of each reason code; null where the reason alone does not say (an alarm: the rule it
 * watches; an operator: the rules failing when they acted).
 */
export const REASON_FAILURE_MODE: Readonly<Record<ReasonCode, Exclude<FailureMode, 'unclassified'> | null>> = {
  safety_violation: 'safety',
  error_rate_increase: 'reliability',
  constraint_violations: 'quality',
  performance_degradation: 'performance',
  alarm: null,
  manual: null,
  // A failed pipeline step, a failed rollback or drill: the release could not be run or kept safe.
  task_failure: 'reliability',
  rollback_failed: 'reliability',
  drill_failed: 'reliability',
  // A team's verification hook judged the candidate's answers (integration, compatibility suites).
  verification_failed: 'quality',
};

/** The per-minute signals each reason code is measured on (the rules that give it). */
export const REASON_SIGNALS: Readonly<Record<ReasonCode, readonly CanaryRule[]>> = {
  safety_violation: ['safety_incidents', 'risk_energy'],
  error_rate_increase: ['error_rate'],
  constraint_violations: ['constraint_violations'],
  performance_degradation: ['latency_p99', 'latency_p95', 'latency_p50'],
  alarm: [],
  manual: [],
  task_failure: [],
  rollback_failed: [],
  drill_failed: [],
  verification_failed: [],
};

const isRule = (r: unknown): r is CanaryRule => typeof r === 'string' && (CANARY_RULES as readonly string[]).includes(r);
const isReason = (r: unknown): r is ReasonCode => typeof r === 'string' && r in REASON_FAILURE_MODE;

/**
 * The failure mode of a rollback, deterministically: the reason code's class; for an alarm, the
 * class of the rule it watches (its name, core/runtime-config.ts alarmWatches); otherwise the class
 * of the first rule that failed at the deciding look; else `unclassified`.
 *
 * @example classifyFailure({ reason: 'alarm', alarmName: 'builderbrain-builderbrain-canary-latency-p99', failedRules: [] }).mode // 'performance'
 */
export function classifyFailure(input: { readonly reason: string | null; readonly alarmName: string | null; readonly failedRules: readonly string[] }): { mode: FailureMode; basis: string } {
  const { reason, alarmName } = input;
  if (isReason(reason) && REASON_FAILURE_MODE[reason] !== null) return { mode: REASON_FAILURE_MODE[reason]!, basis: `reason ${reason}` };
  if (reason === 'alarm' && alarmName !== null) {
    const watches = alarmWatches(alarmName);
    if (watches !== null && REASON_FAILURE_MODE[watches] !== null) return { mode: REASON_FAILURE_MODE[watches]!, basis: `alarm ${alarmName} watches ${watches}` };
  }
  const rule = input.failedRules.find(isRule);
  if (rule !== undefined) return { mode: RULE_FAILURE_MODE[rule], basis: `rule ${rule} failed at the deciding look` };
  return { mode: 'unclassified', basis: reason === null ? 'no reason recorded' : `reason ${reason} with no failing rule: to be classified by people` };
}

// ── change points ───────────────────────────────────────────────────────────────────────────────

/** A count of a variant's minute (errors, constraint violations, safety incidents). */
export type CountOf = (v: VariantMinute) => number;

/** Where a series changed, how sure, and the effect on either side. */
export interface ChangePoint {
  /** The first minute of the changed segment (the datapoints' `minute`). */
  readonly minute: number;
  /** 2 · log likelihood ratio of "one change here" over "no change", divided by the dispersion. */
  readonly statistic: number;
  /** Bonferroni-bounded over every split tried: P(a statistic this large somewhere | no change). */
  readonly pValue: number;
  /** The candidate's effect before and after, on the model's scale (a ratio to the baseline). */
  readonly before: number;
  readonly after: number;
  /** Splits tried. */
  readonly splits: number;
  /** The model, in words (the report's onset says it). */
  readonly method: string;
}

const METHODS = {
  share: 'single change point of the candidate/baseline count ratio: conditional-binomial likelihood ratio, tempered by the dispersion, Bonferroni over the splits',
  rate: "single change point of the candidate's count per request (the baseline has almost none): Poisson likelihood ratio, Bonferroni over the splits",
  shift: 'single change point of the per-minute candidate/baseline log ratio: weighted Gaussian likelihood ratio, robust variance, Bonferroni over the splits',
} as const;

/** P(χ²₁ > t). */
const chi2Tail1 = (t: number): number => (t <= 0 ? 1 : 2 * (1 - normalCdf(Math.sqrt(t), 0, 1)));

/** |log ratio| bound: a segment with no canary (or only canary) counts fits a ratio of 1/1000 (1000), not 0 (∞). */
const THETA_MAX = Math.log(1000);

interface CountMinute {
  readonly minute: number;
  readonly xc: number;
  readonly m: number;
  readonly nc: number;
  readonly nb: number;
}

/**
 * The conditional-binomial log likelihood of a segment at its MLE θ = log r: given the m counts of
 * a minute, each falls on the canary with probability r·n_c/(r·n_c + n_b) — the canary analysis's
 * model (core/analysis.ts), which takes the baseline of the same minutes as the control, so phase
 * shifts and fleet-wide incidents do not look like a change of the candidate. Safeguarded Newton
 * on the concave ℓ(θ) = Σ x_c·θ − m·log(e^θ·n_c + n_b).
 */
function fitSegment(s: readonly CountMinute[], from: number, to: number): { theta: number; ll: number } {
  let sumX = 0;
  let sumM = 0;
  for (let i = from; i < to; i++) {
    sumX += s[i]!.xc;
    sumM += s[i]!.m;
  }
  const ll = (theta: number): number => {
    let v = sumX * theta;
    for (let i = from; i < to; i++) if (s[i]!.m > 0) v -= s[i]!.m * Math.log(Math.exp(theta) * s[i]!.nc + s[i]!.nb);
    return v;
  };
  if (sumM === 0) return { theta: 0, ll: 0 };
  const grad = (theta: number): { g: number; h: number } => {
    let g = sumX;
    let h = 0;
    const e = Math.exp(theta);
    for (let i = from; i < to; i++) {
      const { m, nc, nb } = s[i]!;
      if (m === 0) continue;
      const q = (e * nc) / (e * nc + nb);
      g -= m * q;
      h -= m * q * (1 - q);
    }
    return { g, h };
  };
  let lo = -THETA_MAX;
  let hi = THETA_MAX;
  if (grad(hi).g >= 0) return { theta: hi, ll: ll(hi) };
  if (grad(lo).g <= 0) return { theta: lo, ll: ll(lo) };
  let theta = 0;
  for (let it = 0; it < 60; it++) {
    const { g, h } = grad(theta);
    if (Math.abs(g) < 1e-9) break;
    if (g > 0) lo = theta;
    else hi = theta;
    const newton = h < 0 ? theta - g / h : Number.NaN;
    theta = newton > lo && newton < hi ? newton : (lo + hi) / 2;
    if (hi - lo < 1e-10) break;
  }
  return { theta, ll: ll(theta) };
}

/**
 * The most likely single change of the candidate's count ratio to the baseline (errors,
 * violations, incidents), towards worse: the split maximising the conditional-binomial likelihood
 * ratio of "ratio r₁ after minute k, r₀ before" over "one ratio throughout". The statistic is
 * divided by the dispersion of the two fitted segments (core/analysis.ts conditionalDispersion: a
 * fleet whose instances err differently gives more variance than binomial); the p-value is the
 * χ²₁ tail, Bonferroni over the splits tried. Null with fewer than two minutes where both serve.
 * With almost no baseline counts (safety incidents), the canary's own rate ({@link rateChangePoint}).
 *
 * @example countChangePoint(points, (v) => v.errors)?.minute // 20
 */
export function countChangePoint(points: readonly MinuteDatapoint[], countOf: CountOf, minSegment = 1): ChangePoint | null {
  const usable = points.filter((p) => p.canary.requests > 0 && p.baseline.requests > 0);
  const s: CountMinute[] = usable.map((p) => {
    const xc = Math.min(countOf(p.canary), p.canary.requests);
    const xb = Math.min(countOf(p.baseline), p.baseline.requests);
    return { minute: p.minute, xc, m: xc + xb, nc: p.canary.requests, nb: p.baseline.requests };
  });
  const n = s.length;
  if (n < 2 * minSegment) return null;
  if (s.reduce((a, p) => a + p.m - p.xc, 0) < MIN_BASELINE_COUNTS) return rateChangePoint(s, minSegment);
  const whole = fitSegment(s, 0, n);
  let best: { k: number; stat: number; left: number; right: number } | null = null;
  let splits = 0;
  for (let k = minSegment; k <= n - minSegment; k++) {
    splits++;
    const left = fitSegment(s, 0, k);
    const right = fitSegment(s, k, n);
    if (right.theta <= left.theta) continue;
    const stat = 2 * (left.ll + right.ll - whole.ll);
    if (best === null || stat > best.stat) best = { k, stat, left: left.theta, right: right.theta };
  }
  if (best === null) return null;
  const phi = Math.max(
    conditionalDispersion(usable.slice(0, best.k), countOf, Math.exp(best.left)),
    conditionalDispersion(usable.slice(best.k), countOf, Math.exp(best.right)),
  );
  const statistic = Math.max(0, best.stat / phi);
  return { minute: s[best.k]!.minute, statistic, pValue: Math.min(1, splits * chi2Tail1(statistic)), before: Math.exp(best.left), after: Math.exp(best.right), splits, method: METHODS.share };
}

/**
 * Fewer baseline counts than this in the window (safety incidents: usually none at all) and the
 * baseline is no control: conditional on the counts, every one falls on the canary before and after
 * the change alike, so the share carries no information on when. The canary's own rate per request
 * is modelled instead ({@link rateChangePoint}).
 */
const MIN_BASELINE_COUNTS = 5;

/**
 * A single change of the canary's Poisson rate per request (exposure n_c, so traffic shifts are
 * accounted for): 2·[ℓ(X₀, N₀) + ℓ(X₁, N₁) − ℓ(X, N)] with ℓ(X, N) = X·log(X/N) − X; towards more only.
 */
function rateChangePoint(s: readonly CountMinute[], minSegment: number): ChangePoint | null {
  const n = s.length;
  const cx = [0];
  const cn = [0];
  for (const p of s) {
    cx.push(cx[cx.length - 1]! + p.xc);
    cn.push(cn[cn.length - 1]! + p.nc);
  }
  const ll = (x: number, e: number) => (x > 0 && e > 0 ? x * Math.log(x / e) - x : 0);
  const whole = ll(cx[n]!, cn[n]!);
  let best: { k: number; stat: number; r0: number; r1: number } | null = null;
  let splits = 0;
  for (let k = minSegment; k <= n - minSegment; k++) {
    splits++;
    const [x0, n0, x1, n1] = [cx[k]!, cn[k]!, cx[n]! - cx[k]!, cn[n]! - cn[k]!];
    const r0 = x0 / n0;
    const r1 = x1 / n1;
    if (!(r1 > r0)) continue;
    const stat = 2 * (ll(x0, n0) + ll(x1, n1) - whole);
    if (best === null || stat > best.stat) best = { k, stat, r0, r1 };
  }
  if (best === null) return null;
  const statistic = Math.max(0, best.stat);
  return { minute: s[best.k]!.minute, statistic, pValue: Math.min(1, splits * chi2Tail1(statistic)), before: best.r0, after: best.r1, splits, method: METHODS.rate };
}

/**
 * The most likely single upward shift of the mean of a weighted series (the candidate's log ratio
 * to the baseline, per minute: latency percentiles, risk energy): the split maximising the
 * Gaussian likelihood ratio W₀W₁/W·(μ₁ − μ₀)²/σ², a weight per minute ∝ 1/(1/n_c + 1/n_b) (a
 * percentile of 60 requests is far noisier than one of 6,000). σ² is measured robustly around the
 * fitted two means (median of the weighted squared residuals ÷ the median of χ²₁: a few spiky
 * minutes do not hide the change); p-value as {@link countChangePoint}'s. `before`/`after` are the
 * means back on the ratio scale.
 */
export function shiftChangePoint(series: readonly { minute: number; y: number; w: number }[], minSegment = 3): ChangePoint | null {
  const n = series.length;
  if (n < 2 * minSegment) return null;
  const cw = [0];
  const cwy = [0];
  for (const p of series) {
    cw.push(cw[cw.length - 1]! + p.w);
    cwy.push(cwy[cwy.length - 1]! + p.w * p.y);
  }
  const W = cw[n]!;
  let best: { k: number; s: number; m0: number; m1: number } | null = null;
  let splits = 0;
  for (let k = minSegment; k <= n - minSegment; k++) {
    splits++;
    const w0 = cw[k]!;
    const w1 = W - w0;
    if (w0 <= 0 || w1 <= 0) continue;
    const m0 = cwy[k]! / w0;
    const m1 = (cwy[n]! - cwy[k]!) / w1;
    if (m1 <= m0) continue;
    const s = ((w0 * w1) / W) * (m1 - m0) ** 2;
    if (best === null || s > best.s) best = { k, s, m0, m1 };
  }
  if (best === null) return null;
  const { k, m0, m1 } = best;
  const sigma2 = Math.max(1e-12, median(series.map((p, i) => p.w * (p.y - (i < k ? m0 : m1)) ** 2)) / CHI2_1_MEDIAN);
  const statistic = best.s / sigma2;
  return { minute: series[k]!.minute, statistic, pValue: Math.min(1, splits * chi2Tail1(statistic)), before: Math.exp(m0), after: Math.exp(m1), splits, method: METHODS.shift };
}

// ── signals ─────────────────────────────────────────────────────────────────────────────────────

const COUNT_SIGNALS = {
  error_rate: (v: VariantMinute) => v.errors,
  constraint_violations: (v: VariantMinute) => v.constraintViolations,
  safety_incidents: (v: VariantMinute) => v.safetyIncidents,
} as const;
const VALUE_SIGNALS = {
  latency_p50: (v: VariantMinute) => v.latencyP50,
  latency_p95: (v: VariantMinute) => v.latencyP95,
  latency_p99: (v: VariantMinute) => v.latencyP99,
  risk_energy: (v: VariantMinute) => v.riskEnergy,
} as const;
type CountSignal = keyof typeof COUNT_SIGNALS;
const isCount = (r: CanaryRule): r is CountSignal => r in COUNT_SIGNALS;

/** The per-minute log ratio series of a value signal: minutes where both variants serve and have a positive value. */
function ratioSeries(points: readonly MinuteDatapoint[], signal: keyof typeof VALUE_SIGNALS): { minute: number; y: number; w: number }[] {
  const of = VALUE_SIGNALS[signal];
  return points.flatMap((p) => {
    const c = of(p.canary);
    const b = of(p.baseline);
    if (p.canary.requests === 0 || p.baseline.requests === 0 || c === null || b === null || c <= 0 || b <= 0) return [];
    return [{ minute: p.minute, y: Math.log(c / b), w: 1 / (1 / p.canary.requests + 1 / p.baseline.requests) }];
  });
}

/** A signal's change point on its model (counts: conditional binomial; values: weighted log-ratio shift). */
export function signalChangePoint(points: readonly MinuteDatapoint[], signal: CanaryRule): ChangePoint | null {
  return isCount(signal) ? countChangePoint(points, COUNT_SIGNALS[signal]) : shiftChangePoint(ratioSeries(points, signal));
}

const SideSchema = z.object({
  /** The candidate's value: a rate (counts), the median per-minute value (latency in ms, risk energy). */
  canary: z.number().nullable(),
  baseline: z.number().nullable(),
  /** Candidate / baseline: pooled rates, or the weighted geometric mean of the per-minute ratios. */
  ratio: z.number().nullable(),
  minutes: z.number().int(),
});
type Side = z.infer<typeof SideSchema>;

/** A signal over minutes [from, to) of the window, as the report shows it. */
function sideOf(points: readonly MinuteDatapoint[], signal: CanaryRule): Side {
  const both = points.filter((p) => p.canary.requests > 0 && p.baseline.requests > 0);
  if (isCount(signal)) {
    const of = COUNT_SIGNALS[signal];
    let xc = 0, nc = 0, xb = 0, nb = 0;
    for (const p of both) {
      xc += Math.min(of(p.canary), p.canary.requests);
      nc += p.canary.requests;
      xb += Math.min(of(p.baseline), p.baseline.requests);
      nb += p.baseline.requests;
    }
    const rc = nc > 0 ? xc / nc : null;
    const rb = nb > 0 ? xb / nb : null;
    // No baseline count at all: half a count, as the canary analysis does, so the ratio stays finite.
    const ratio = rc === null || rb === null || xc + xb === 0 ? null : (xc + 0.5) / nc / ((xb + 0.5) / nb);
    return { canary: rc, baseline: rb, ratio: finiteOrNull(ratio), minutes: both.length };
  }
  const of = VALUE_SIGNALS[signal];
  const series = ratioSeries(both, signal);
  const cs = both.map((p) => of(p.canary)).filter((v): v is number => v !== null);
  const bs = both.map((p) => of(p.baseline)).filter((v): v is number => v !== null);
  const w = series.reduce((a, p) => a + p.w, 0);
  const ratio = w > 0 ? Math.exp(series.reduce((a, p) => a + p.w * p.y, 0) / w) : null;
  return { canary: cs.length > 0 ? median(cs) : null, baseline: bs.length > 0 ? median(bs) : null, ratio: finiteOrNull(ratio), minutes: series.length };
}

const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

// ── the report ──────────────────────────────────────────────────────────────────────────────────

/** The report's format tag; a reader refuses another. */
export const POST_ROLLBACK_FORMAT = 'builderbrain-post-rollback/1';

/** Where the report of a release is kept in the artifact bucket (next to the artifacts, outside `models/`: no upload event). */
export const ANALYSIS_PREFIX = 'analysis/';

/**
 * Why a report may not be written at `key` (outside `analysis/`, or over `maxBytes` in UTF-8): the
 * one check every artifact store makes before it writes (null: it may). `bytes` is the text's size.
 */
export function reportWriteIssue(key: string, text: string, maxBytes: number): { readonly bytes: number; readonly issue: string | null } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (!key.startsWith(ANALYSIS_PREFIX) || key.includes('..')) return { bytes, issue: `reports are written under ${ANALYSIS_PREFIX} only` };
  if (bytes > maxBytes) return { bytes, issue: `the report is ${bytes} bytes, over its limit of ${maxBytes}` };
  return { bytes, issue: null };
}
export const analysisKey = (releaseId: string): string => `${ANALYSIS_PREFIX}${releaseId}.json`;
export const analysisUri = (bucket: string, releaseId: string): string => `s3://${bucket}/${analysisKey(releaseId)}`;

/** Largest report written (its JSON, UTF-8): the timeline is cut first (core {@link fitReport}). */
export const MAX_REPORT_BYTES = 256 * 1024;

/** Timeline entries kept at most (the monitor loop's looks are already folded). */
const MAX_TIMELINE = 400;
/** Changelog entries kept at most. */
const MAX_CAUSES = 100;
/** An onset is reported as found below this p-value. */
export const ONSET_ALPHA = 0.01;

const ChangeSchema = z.object({ minute: z.number().int(), at: z.string(), statistic: z.number(), pValue: z.number() });

export const SignalMovementSchema = z.object({
  signal: z.enum(CANARY_RULES),
  before: SideSchema,
  after: SideSchema,
  /** The ratio after ÷ the ratio before: how much worse (> 1) or better the candidate became at the onset. */
  change: z.number().nullable(),
  /** The signal's own change point, if it has one. */
  ownChange: ChangeSchema.nullable(),
});
export type SignalMovement = z.infer<typeof SignalMovementSchema>;

export const OnsetSchema = z.object({
  /** Minutes from the window's start, and the time. */
  minute: z.number().int(),
  at: z.string(),
  /** Where the release stood then (the phase that had started last). */
  phase: z.number().int().nullable(),
  weight: z.number().nullable(),
  /** The signal it was located on, and how. */
  signal: z.enum(CANARY_RULES),
  method: z.string(),
  statistic: z.number(),
  pValue: z.number(),
  /** 1 − p. */
  confidence: z.number(),
  /** p ≤ {@link ONSET_ALPHA}: a change is there; otherwise this is only the likeliest split. */
  significant: z.boolean(),
  /** From the onset to the rollback. */
  minutesBeforeRollback: z.number().nullable(),
});
export type Onset = z.infer<typeof OnsetSchema>;

export const CHANGELOG_SECTIONS = ['breaking', 'features', 'improvements', 'fixes', 'security'] as const;

export const PostRollbackReportSchema = z.object({
  format: z.literal(POST_ROLLBACK_FORMAT),
  releaseId: z.string(),
  model: z.string(),
  version: z.string(),
  generatedAt: z.string(),
  rolledBack: z.object({
    at: z.string().nullable(),
    reason: z.string().nullable(),
    severity: z.enum(SEVERITIES).nullable(),
    trigger: z.string().nullable(),
    actor: z.string().nullable(),
    weight: z.number().nullable(),
    phase: z.number().int().nullable(),
    title: z.string().nullable(),
  }),
  /** The rule that fired: the deciding look's summary and every rule's evidence sentence. */
  evidence: z.object({
    lookAt: z.string().nullable(),
    summary: z.string().nullable(),
    rules: z.array(z.object({ rule: z.string(), failed: z.boolean(), message: z.string() })),
  }),
  failureMode: z.object({ mode: z.enum(FAILURE_MODES), basis: z.string() }),
  /** The minutes analysed: the canary (against the baseline of the same minutes) or the bake (against the previous version a day or week before). */
  window: z.object({ from: z.string(), to: z.string(), minutes: z.number().int(), comparedWith: z.enum(['baseline', 'reference_day', 'reference_week']) }).nullable(),
  onset: OnsetSchema.nullable(),
  signals: z.array(SignalMovementSchema),
  candidateCauses: z.array(z.object({ section: z.enum(CHANGELOG_SECTIONS), entry: z.string(), matched: z.array(z.string()) })),
  recovery: z.object({ recovered: z.boolean(), message: z.string() }).nullable(),
  timeline: z.array(z.object({ at: z.string(), type: z.string(), actor: z.string(), weight: z.number().nullable(), phase: z.number().int().nullable(), text: z.string() })),
  /** Timeline entries left out: the monitor loop's other looks, and any cut to fit {@link MAX_REPORT_BYTES}. */
  omittedEvents: z.number().int(),
  /** What could not be done, and why (no metrics, no changelog, no baseline). */
  notes: z.array(z.string()),
});
export type PostRollbackReport = z.infer<typeof PostRollbackReportSchema>;

/** The datapoints a report is built on: the window's minutes, `minute` counted from `from`. */
export interface AnalysisMetrics {
  readonly from: string;
  readonly comparedWith: 'baseline' | 'reference_day' | 'reference_week';
  readonly points: readonly MinuteDatapoint[];
}

export interface PostRollbackInput {
  readonly record: ReleaseRecord;
  readonly timeline: readonly StoredAuditEvent[];
  /** Null: the metrics could not be read (the report says so; no onset). */
  readonly metrics: AnalysisMetrics | null;
  /** The manifest's changelog; null when the manifest could not be read. */
  readonly changelog: ReleaseManifest['changelog'] | null;
  readonly generatedAt: string;
  /** What the caller could not do (a metrics or manifest read that failed), added to the report's notes. */
  readonly notes?: readonly string[];
}

const MINUTE_MS = 60_000;
const plusMinutes = (iso: string, minutes: number): string => new Date(Date.parse(iso) + minutes * MINUTE_MS).toISOString();

/** Most analysed minutes before the rollback (a 24-hour bake at most). */
export const MAX_WINDOW_MINUTES = 24 * 60;

/**
 * The minutes to analyse, from the ledger: a rollback during the bake (the `bake` regressed), its
 * bake against the reference it was judged on; otherwise the canary, from its first phase to the
 * minute after the rollback. At most {@link MAX_WINDOW_MINUTES}. Null when nothing was rolled back
 * after traffic moved.
 *
 * @example analysisWindow(record, timeline) // { from, to, kind: 'canary', reference: null }
 */
export function analysisWindow(record: ReleaseRecord, timeline: readonly StoredAuditEvent[]): { from: Date; to: Date; kind: 'canary' | 'bake'; reference: 'day' | 'week' | null } | null {
  const rollback = timeline.find((e) => e.type === 'rollback');
  const rolledBackAt = rollback?.at ?? record.outcome?.at ?? null;
  if (rolledBackAt === null) return null;
  const to = new Date(Math.floor(Date.parse(rolledBackAt) / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  const cap = (from: Date) => new Date(Math.max(from.getTime(), to.getTime() - MAX_WINDOW_MINUTES * MINUTE_MS));
  const regressed = timeline.some((e) => e.type === 'bake' && e.detail.state === 'regressed') || (rollback?.type === 'rollback' && rollback.detail.trigger === 'bake_regression');
  if (regressed && record.bake != null) return { from: cap(new Date(record.bake.startedAt)), to, kind: 'bake', reference: record.bake.reference };
  const firstPhase = timeline.find((e) => e.type === 'phase_started');
  if (firstPhase === undefined) return null;
  return { from: cap(new Date(firstPhase.at)), to, kind: 'canary', reference: null };
}

/** The rollback event, the look that decided it, and the alarm that fired, from the timeline. */
function decisionOf(timeline: readonly StoredAuditEvent[]) {
  const rollback = timeline.find((e) => e.type === 'rollback');
  const looks = timeline.filter((e) => e.type === 'analysis' || (e.type === 'bake' && e.detail.state === 'regressed'));
  const before = rollback === undefined ? looks : looks.filter((e) => e.at <= rollback.at);
  // The look that failed last before the rollback; else the last look.
  const failing = before.filter((e) => (e.type === 'analysis' && e.detail.verdict === 'fail') || e.type === 'bake');
  const look = failing.at(-1) ?? before.at(-1);
  const alarmName = rollback?.actor.startsWith('alarm:') === true ? rollback.actor.slice('alarm:'.length) : null;
  return { rollback, look, alarmName };
}

/** Changelog entries ranked as candidate causes: entries naming the failure mode's words first, breaking changes before the rest. */
const CAUSE_WORDS: Readonly<Record<FailureMode, readonly string[]>> = {
  safety: ['safety', 'risk', 'harm', 'guard', 'filter', 'moderation', 'refus', 'unsafe', 'pii', 'privacy', 'jailbreak', 'policy'],
  performance: ['latency', 'speed', 'fast', 'slow', 'perf', 'throughput', 'cache', 'batch', 'token', 'memory', 'gpu', 'quantiz', 'context', 'beam'],
  reliability: ['error', 'timeout', 'retry', 'crash', 'exception', 'fail', 'depend', 'connection', 'availab', 'memory', 'upgrade', 'runtime'],
  quality: ['constraint', 'grammar', 'plan', 'output', 'format', 'schema', 'accura', 'quality', 'answer', 'decod', 'prompt', 'sampling', 'temperature'],
  unclassified: [],
};

export function candidateCauses(changelog: ReleaseManifest['changelog'], mode: FailureMode): PostRollbackReport['candidateCauses'] {
  const words = CAUSE_WORDS[mode];
  const entries = CHANGELOG_SECTIONS.flatMap((section, si) =>
    (changelog[section] ?? []).map((entry, i) => {
      const lower = entry.toLowerCase();
      return { section, entry, matched: words.filter((w) => lower.includes(w)), order: si * 10_000 + i };
    }),
  );
  return entries
    .sort((a, b) => b.matched.length - a.matched.length || a.order - b.order)
    .slice(0, MAX_CAUSES)
    .map(({ section, entry, matched }) => ({ section, entry, matched }));
}

/** Where the release stood at `at`: the last phase started at or before it. */
function phaseAt(timeline: readonly StoredAuditEvent[], at: string): { phase: number | null; weight: number | null } {
  const started = timeline.filter((e) => e.type === 'phase_started' && Date.parse(e.at) <= Date.parse(at)).at(-1);
  return { phase: started?.phase ?? null, weight: started?.weight ?? null };
}

/** The signals the onset is located on: the failed rule's, else the reason's, else every signal. */
function primarySignals(reason: string | null, alarmName: string | null, failedRules: readonly string[]): readonly CanaryRule[] {
  const failed = failedRules.filter(isRule);
  if (failed.length > 0) return failed;
  if (isReason(reason) && REASON_SIGNALS[reason].length > 0) return REASON_SIGNALS[reason];
  const watches = reason === 'alarm' && alarmName !== null ? alarmWatches(alarmName) : null;
  return watches === null ? CANARY_RULES : REASON_SIGNALS[watches];
}

function onsetOf(points: readonly MinuteDatapoint[], metrics: AnalysisMetrics, candidates: readonly CanaryRule[], timeline: readonly StoredAuditEvent[], rolledBackAt: string | null): Onset | null {
  let best: { signal: CanaryRule; cp: ChangePoint } | null = null;
  for (const signal of candidates) {
    const cp = signalChangePoint(points, signal);
    if (cp !== null && (best === null || cp.pValue < best.cp.pValue || (cp.pValue === best.cp.pValue && cp.statistic > best.cp.statistic))) best = { signal, cp };
  }
  if (best === null) return null;
  // Chosen among several signals: Bonferroni over them too.
  const pValue = Math.min(1, best.cp.pValue * candidates.length);
  const at = plusMinutes(metrics.from, best.cp.minute);
  return {
    minute: best.cp.minute,
    at,
    ...phaseAt(timeline, at),
    signal: best.signal,
    method: best.cp.method,
    statistic: best.cp.statistic,
    pValue,
    confidence: 1 - pValue,
    significant: pValue <= ONSET_ALPHA,
    minutesBeforeRollback: rolledBackAt === null ? null : Math.round((Date.parse(rolledBackAt) - Date.parse(at)) / MINUTE_MS),
  };
}

function movements(points: readonly MinuteDatapoint[], metrics: AnalysisMetrics, onset: Onset | null): SignalMovement[] {
  return CANARY_RULES.flatMap((signal) => {
    const split = onset?.minute ?? Number.POSITIVE_INFINITY;
    const before = sideOf(points.filter((p) => p.minute < split), signal);
    const after = sideOf(points.filter((p) => p.minute >= split), signal);
    if (before.minutes === 0 && after.minutes === 0) return [];
    const own = signalChangePoint(points, signal);
    return [
      {
        signal,
        before,
        after,
        change: before.ratio !== null && after.ratio !== null && before.ratio > 0 ? after.ratio / before.ratio : null,
        ownChange: own === null ? null : { minute: own.minute, at: plusMinutes(metrics.from, own.minute), statistic: own.statistic, pValue: own.pValue },
      },
    ];
  });
}

/**
 * The post-rollback report of a release.
 *
 * @example buildPostRollbackReport({ record, timeline, metrics: { from, comparedWith: 'baseline', points }, changelog: manifest.changelog, generatedAt })
 */
export function buildPostRollbackReport(input: PostRollbackInput): PostRollbackReport {
  const { record, timeline } = input;
  const { rollback, look, alarmName } = decisionOf(timeline);
  const rules = look?.type === 'analysis' ? (look.detail.evidence ?? []).map((e) => ({ rule: String(e.rule), failed: e.failed === true, message: String(e.message) })) : [];
  const failedRules = rules.filter((r) => r.failed).map((r) => r.rule);
  const reason = (rollback?.type === 'rollback' ? rollback.detail.reason : null) ?? record.outcome?.reason ?? null;
  const severity = (rollback?.type === 'rollback' ? rollback.detail.severity : null) ?? record.outcome?.severity ?? null;
  const rolledBackAt = rollback?.at ?? record.outcome?.at ?? null;
  const failureMode = classifyFailure({ reason, alarmName, failedRules });
  const notes = [...(input.notes ?? [])];

  let onset: Onset | null = null;
  let signals: SignalMovement[] = [];
  let window: PostRollbackReport['window'] = null;
  if (input.metrics !== null) {
    const { metrics } = input;
    const points = [...metrics.points].sort((a, b) => a.minute - b.minute);
    const last = points.at(-1)?.minute ?? 0;
    window = { from: metrics.from, to: plusMinutes(metrics.from, last + 1), minutes: points.length, comparedWith: metrics.comparedWith };
    const compared = points.filter((p) => p.canary.requests > 0 && p.baseline.requests > 0);
    if (compared.length === 0) {
      notes.push(points.length === 0 ? 'no datapoints in the window: the onset was not estimated' : 'no minute where both the candidate and its comparison served (a first release, or no reference window): the onset was not estimated');
    } else {
      onset = onsetOf(compared, metrics, primarySignals(reason, alarmName, failedRules), timeline, rolledBackAt);
      signals = movements(compared, metrics, onset);
      if (onset === null) notes.push('too few compared minutes to locate a change');
    }
  } else {
    notes.push('metrics were not available: the onset was not estimated');
  }

  const causes = input.changelog === null ? [] : candidateCauses(input.changelog, failureMode.mode);
  if (input.changelog === null) notes.push("the manifest's changelog could not be read: no candidate causes");
  else if (causes.length === 0) notes.push("the manifest's changelog is empty: no candidate causes");

  const recoveryEvent = timeline.filter((e) => e.type === 'recovery').at(-1);
  const recovery =
    recoveryEvent?.type === 'recovery' && typeof recoveryEvent.detail.recovered === 'boolean'
      ? { recovered: recoveryEvent.detail.recovered, message: String(recoveryEvent.detail.message ?? '') }
      : record.recovery != null
        ? { recovered: record.recovery.recovered, message: record.recovery.message }
        : null;

  // The monitor loop looks every minute: its looks are folded into the one that decided.
  const kept = timeline.filter((e) => e.type !== 'analysis' || e === look);
  const shown = kept.slice(-MAX_TIMELINE);
  return {
    format: POST_ROLLBACK_FORMAT,
    releaseId: record.releaseId,
    model: record.model,
    version: record.version,
    generatedAt: input.generatedAt,
    rolledBack: {
      at: rolledBackAt,
      reason,
      severity: severity ?? null,
      trigger: rollback?.type === 'rollback' ? (rollback.detail.trigger ?? null) : null,
      actor: rollback?.actor ?? null,
      weight: rollback?.weight ?? null,
      phase: rollback?.phase ?? null,
      title: rollback?.type === 'rollback' ? (rollback.detail.title ?? null) : null,
    },
    evidence: { lookAt: look?.at ?? null, summary: look === undefined ? null : String(look.detail.summary ?? ''), rules },
    failureMode,
    window,
    onset,
    signals,
    candidateCauses: causes,
    recovery,
    timeline: shown.map((e) => ({ at: e.at, type: e.type, actor: e.actor, weight: e.weight ?? null, phase: e.phase ?? null, text: describeEvent(e) || describeEvent(e, 'summary') })),
    omittedEvents: timeline.length - shown.length,
    notes,
  };
}

/**
 * The report within `maxBytes` of JSON (UTF-8): the oldest timeline entries are cut first (the
 * rollback and what led to it are the newest), then the candidate causes; the cut is counted and
 * said. A report that still does not fit is returned as it is (the writer refuses it).
 */
export function fitReport(report: PostRollbackReport, maxBytes = MAX_REPORT_BYTES): PostRollbackReport {
  const size = (r: PostRollbackReport) => Buffer.byteLength(JSON.stringify(r), 'utf8');
  let r = report;
  while (size(r) > maxBytes && r.timeline.length > 0) {
    const cut = Math.max(1, Math.ceil(r.timeline.length / 4));
    r = { ...r, timeline: r.timeline.slice(cut), omittedEvents: r.omittedEvents + cut };
  }
  while (size(r) > maxBytes && r.candidateCauses.length > 0) r = { ...r, candidateCauses: r.candidateCauses.slice(0, Math.floor(r.candidateCauses.length / 2)) };
  if (r !== report) r = { ...r, notes: [...r.notes, `cut to fit ${maxBytes} bytes`] };
  return r;
}

// ── as text ─────────────────────────────────────────────────────────────────────────────────────

const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const times = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}×`);
const pFmt = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

function valueFmt(signal: CanaryRule, v: number | null): string {
  if (v === null) return 'n/a';
  if (isCount(signal)) return pct(v);
  return signal === 'risk_energy' ? v.toFixed(4) : `${v.toFixed(0)} ms`;
}

/** One sentence for the onset (the CLI, the incident's reader, the simulate report). */
export function onsetSentence(report: PostRollbackReport): string {
  const o = report.onset;
  if (o === null) return `no onset estimated${report.notes.length > 0 ? ` (${report.notes[0]})` : ''}`;
  const where = o.phase === null ? '' : ` (phase ${o.phase + 1} at ${o.weight ?? '?'}%)`;
  const lead = o.significant ? `minute ${o.minute} of the window, ${o.at}${where}` : `no clear onset; the likeliest split is minute ${o.minute}, ${o.at}${where}`;
  return `${lead}${o.minutesBeforeRollback === null ? '' : `, ${o.minutesBeforeRollback} min before the rollback`}; located on ${o.signal}, confidence ${(o.confidence * 100).toFixed(1)}% (p=${pFmt(o.pValue)})`;
}

/**
 * The report as Markdown: what `builderbrain analyze` prints.
 *
 * @example renderPostRollbackReport(report).split('\n')[0] // '# Post-rollback analysis: builderbrain 2.1.0'
 */
export function renderPostRollbackReport(report: PostRollbackReport): string {
  const rb = report.rolledBack;
  const where = rb.phase === null ? '' : ` in phase ${rb.phase + 1} at ${rb.weight ?? '?'}%`;
  const lines = [
    `# Post-rollback analysis: ${report.model} ${report.version}`,
    '',
    `Release ${report.releaseId}: rolled back${rb.at === null ? '' : ` at ${rb.at}`}${where}${rb.reason === null ? '' : ` (${rb.reason}${rb.severity === null ? '' : `, ${rb.severity}`})`}${rb.actor === null ? '' : `, decided by ${rb.actor}`}.`,
    ...(rb.title === null ? [] : [rb.title]),
    '',
    '## Failure mode (RELEASE.md §5.1)',
    '',
    `${report.failureMode.mode} — from ${report.failureMode.basis}.`,
    '',
    '## Estimated onset',
    '',
    onsetSentence(report) + '.',
    ...(report.onset === null ? [] : ['', `Method: ${report.onset.method}.`]),
    ...(report.window === null ? [] : [`Window: ${report.window.from} to ${report.window.to}, ${report.window.minutes} minute(s), against the ${report.window.comparedWith === 'baseline' ? 'baseline of the same minutes' : `previous version a ${report.window.comparedWith === 'reference_day' ? 'day' : 'week'} before`}.`]),
  ];
  if (report.signals.length > 0) {
    lines.push('', report.onset === null ? '## The signals' : '## How each signal moved from the onset', '', '| signal | before: candidate / baseline (ratio) | after: candidate / baseline (ratio) | change | its own change point |', '|---|---|---|---|---|');
    for (const s of report.signals) {
      const side = (x: (typeof s)['before']) => (x.minutes === 0 ? '—' : `${valueFmt(s.signal, x.canary)} / ${valueFmt(s.signal, x.baseline)} (${times(x.ratio)})`);
      const own = s.ownChange === null ? '—' : `minute ${s.ownChange.minute} (p=${pFmt(s.ownChange.pValue)})`;
      lines.push(`| ${s.signal} | ${side(s.before)} | ${side(s.after)} | ${times(s.change)} | ${own} |`);
    }
  }
  lines.push('', '## The rule that fired', '');
  if (report.evidence.summary !== null) lines.push(`${report.evidence.summary}${report.evidence.lookAt === null ? '' : ` (look at ${report.evidence.lookAt})`}`, '');
  lines.push(...(report.evidence.rules.length === 0 ? ['(no analysis look recorded its evidence: see the rollback title above)'] : report.evidence.rules.map((r) => `- ${r.failed ? '✗' : '·'} ${r.rule}: ${r.message}`)));
  lines.push('', "## Candidate causes (the manifest's changelog)", '');
  lines.push(...(report.candidateCauses.length === 0 ? ['(none)'] : report.candidateCauses.map((c) => `- [${c.section}] ${c.entry}${c.matched.length === 0 ? '' : ` — mentions ${c.matched.join(', ')}`}`)));
  if (report.recovery !== null) lines.push('', '## Recovery', '', `${report.recovery.recovered ? 'verified healthy' : 'NOT RECOVERED'}: ${report.recovery.message}`);
  lines.push('', '## Timeline (from the audit ledger)', '', ...report.timeline.map((e) => `- ${e.at} — ${e.type}${e.weight === null ? '' : ` at ${e.weight}%`}: ${e.text} (${e.actor})`));
  if (report.omittedEvents > 0) lines.push(`- (${report.omittedEvents} other event(s) left out: the monitor loop's looks before the deciding one)`);
  if (report.notes.length > 0) lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
