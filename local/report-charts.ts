/**
 * The report's chart data, pure and tested apart from the SVG: round axis ticks, the phases as bands
 * of simulated time, each rule's evidence look by look, and the look that decided the release.
 */
import type { CanaryVerdict, RuleEvidence } from '../core/analysis.js';

/** An axis: its ticks (ascending, the first and last are the axis' ends) and how to label one. */
export interface Axis {
  readonly ticks: readonly number[];
  readonly label: (v: number) => string;
}

/** The 1-2-5 steps: each decade's round numbers. */
const STEPS = [1, 2, 2.5, 5];

/** `v` rounded to the decimals that `step` needs (0.1 + 0.2 is 0.3 on an axis). */
function roundTo(v: number, step: number): number {
  return Number(v.toFixed(decimalsOf(step)));
}

/**
 * Round ticks covering [min, max]: a step of 1, 2, 2.5 or 5 × 10^k, the smallest that needs at most
 * `maxTicks` (5 or more; 6 by default) ticks — so never fewer than 3; the first tick at or below `min`, the last at or above `max` (the axis is
 * extended to them). Why not max/4 steps: 108 would give ticks at 27, 54, 81 — nobody reads those.
 * A range of one value is widened to start at 0. With `integer`, the step is a whole number
 * (decades of a log axis; such a range needs a span of 2 for three ticks).
 *
 * @example niceTicks(0, 100) // [0, 20, 40, 60, 80, 100]
 * @example niceTicks(0, 100, { maxTicks: 5 }) // [0, 25, 50, 75, 100]
 * @example niceTicks(0, 108) // [0, 25, 50, 75, 100, 125]
 */
export function niceTicks(min: number, max: number, options: { readonly maxTicks?: number; readonly integer?: boolean } = {}): number[] {
  // At least 5: with fewer, the next round step may leave only two ticks.
  const maxTicks = Math.max(5, options.maxTicks ?? 6);
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo + 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < Math.max(Math.abs(hi), Math.abs(lo)) * 1e-12 || hi - lo < 1e-15) {
    // One value (or a span of rounding errors): an axis from zero to it, or a unit one.
    if (lo >= 0) [lo, hi] = [0, hi > 1e-15 ? hi : 1];
    else [lo, hi] = [lo < -1e-15 ? lo : -1, 0];
  }
  const span = hi - lo;
  if (!Number.isFinite(span)) return [lo, hi];
  const start = Math.max(Math.floor(Math.log10(span / maxTicks)) - 1, options.integer === true ? 0 : -Infinity);
  for (let exp = start; exp <= start + 4; exp++) {
    for (const m of STEPS) {
      const step = m * 10 ** exp;
      if (options.integer === true && (step < 1 || !Number.isInteger(step))) continue;
      // 2.5 only where its ticks stay round: 25, 250 (not 2.5 or 0.25 on a count axis)
      if (m === 2.5 && exp < 1) continue;
      const first = Math.floor(lo / step + 1e-9);
      const last = Math.ceil(hi / step - 1e-9);
      if (last - first + 1 <= maxTicks) {
        const ticks: number[] = [];
        for (let k = first; k <= last; k++) ticks.push(roundTo(k * step, step));
        return ticks.length >= 2 ? ticks : [ticks[0]!, roundTo((first + 1) * step, step)];
      }
    }
  }
  // Unreachable for finite input: within four decades of span/maxTicks a step fits.
  return [lo, hi];
}

/** A linear axis over values (null and non-finite ones skipped), from `floor` (0) unless values go below it. */
export function linearAxis(values: readonly (number | null)[], options: { readonly floor?: number | null; readonly maxTicks?: number } = {}): Axis {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const floor = options.floor === undefined ? 0 : options.floor;
  const lo = Math.min(...(floor === null ? [] : [floor]), ...xs);
  const hi = Math.max(...xs);
  const ticks = xs.length === 0 ? [floor ?? 0, (floor ?? 0) + 1] : niceTicks(lo, hi, { maxTicks: options.maxTicks });
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  return { ticks, label: (v) => formatTick(v, step) };
}

/** The decimals a step needs to be written exactly (0.25 → 2, 20 → 0). */
function decimalsOf(step: number): number {
  for (let d = 0; d < 20; d++) {
    const scaled = step * 10 ** d;
    const whole = Math.round(scaled);
    if (whole >= 1 && Math.abs(scaled - whole) < 1e-6 * scaled) return d;
  }
  return 20;
}

/** A tick's label: rounded to its step's decimals, no trailing zeros; below 1e-4 in exponent form (2e-5). */
export function formatTick(v: number, step: number): string {
  const r = Number(v.toFixed(decimalsOf(step)));
  if (r === 0) return '0';
  return Math.abs(r) < 1e-4 ? r.toExponential() : String(r);
}

/** The smallest p-value a chart shows; an anytime-valid p-value below it is drawn at it. */
export const P_FLOOR = 1e-300;

/**
 * A p-value axis: −log₁₀ p upwards (stronger evidence higher), ticks at whole decades — 1, 0.1,
 * 0.01, … or every other one when the range is wide — reaching past the smallest p-value and α.
 *
 * @example pValueAxis([0.4, 3e-8], [0.0025]).ticks // [0, 2, 4, 6, 8] (p = 1, 0.01, 1e-4, 1e-6, 1e-8)
 */
export function pValueAxis(pValues: readonly (number | null)[], alphas: readonly (number | null)[]): Axis {
  const logs = [...pValues, ...alphas].filter((p): p is number => p !== null && Number.isFinite(p)).map((p) => -Math.log10(Math.max(p, P_FLOOR)));
  // At least p = 0.01 at the top (three decades, however weak the evidence), and headroom over α.
  const top = Math.max(2, ...logs.map((l) => l + 0.3));
  return { ticks: niceTicks(0, top, { integer: true }), label: (k) => pLabel(10 ** -k) };
}

/** A decade as the axis shows it: 1, 0.1, 0.01, 0.001, then 1e-4, 1e-5, … */
export function pLabel(p: number): string {
  if (p >= 1e-3) return String(Number(p.toPrecision(2)));
  return p.toExponential(0);
}

/** A p-value in a sentence: two significant digits. */
export function fmtP(p: number | null): string {
  if (p === null) return 'n/a';
  if (p >= 1e-3) return String(Number(p.toPrecision(2)));
  return p.toExponential(1);
}

/** A span of simulated time at one traffic weight (a phase, the bake). */
export interface Band {
  readonly from: number;
  readonly to: number;
  readonly weight: number;
}

/**
 * The phases as bands: each run of minutes at one weight above 0, from its first minute to the
 * next run's first minute (or its own last minute).
 */
export function phaseBands(minutes: readonly { readonly minute: number; readonly weight: number }[]): Band[] {
  const bands: { from: number; to: number; weight: number }[] = [];
  for (const m of minutes) {
    const last = bands[bands.length - 1];
    if (last !== undefined && last.weight === m.weight) {
      last.to = m.minute;
      continue;
    }
    if (last !== undefined) last.to = m.minute;
    bands.push({ from: m.minute, to: m.minute, weight: m.weight });
  }
  return bands.filter((b) => b.weight > 0 && b.to > b.from);
}

/** One look of a monitor loop as the report receives it (local/progress.ts MonitorLook). */
export interface ReportLook {
  readonly minute: number;
  readonly weight: number;
  readonly loop: 'canary' | 'bake';
  /** The canary phase's index; null for the bake. */
  readonly phase: number | null;
  readonly action: string;
  readonly verdict: Pick<CanaryVerdict, 'verdict' | 'reason' | 'severity' | 'summary'> & { readonly evidence: readonly RuleEvidence[] };
}

export type RuleName = RuleEvidence['rule'];

/** The rules in the order the report shows them, with their names in prose. */
export const RULE_TITLES: Record<RuleName, string> = {
  safety_incidents: 'Safety incidents',
  error_rate: 'Error rate',
  constraint_violations: 'Constraint violations',
  risk_energy: 'Risk energy',
  latency_p50: 'p50 latency',
  latency_p95: 'p95 latency',
  latency_p99: 'p99 latency',
};

/** What a rule's effect is measured as, on the chart beside its p-value. */
export type EffectKind = 'count' | 'rate' | 'ratio';
export const EFFECT_OF: Record<RuleName, EffectKind> = {
  safety_incidents: 'count',
  error_rate: 'ratio',
  constraint_violations: 'rate',
  risk_energy: 'ratio',
  latency_p50: 'ratio',
  latency_p95: 'ratio',
  latency_p99: 'ratio',
};

/** One look of one rule: the statistic against its threshold, and the effect against its limit. */
export interface EvidencePoint {
  readonly minute: number;
  readonly loop: 'canary' | 'bake';
  readonly phase: number | null;
  readonly pValue: number | null;
  readonly alpha: number | null;
  /** The rule's effect: canary/baseline ratio, the canary's rate, or its count ({@link EFFECT_OF}). */
  readonly effect: number | null;
  /** The baseline's own measure (a rate or a count), where the rule has one. */
  readonly baseline: number | null;
  readonly limit: number;
  readonly significant: boolean;
  readonly breached: boolean;
  readonly failed: boolean;
}

/**
 * A rule's evidence over time: one point per look that judged it (a look without data has no
 * evidence and leaves a gap).
 */
export function evidenceSeries(looks: readonly ReportLook[], rule: RuleName): EvidencePoint[] {
  const out: EvidencePoint[] = [];
  for (const look of looks) {
    const e = look.verdict.evidence.find((x) => x.rule === rule);
    if (e === undefined) continue;
    const kind = EFFECT_OF[rule];
    out.push({
      minute: look.minute,
      loop: look.loop,
      phase: look.phase,
      pValue: e.pValue,
      alpha: e.alpha,
      effect: kind === 'ratio' ? e.ratio : e.canary,
      baseline: kind === 'ratio' ? null : e.baseline,
      limit: e.threshold,
      significant: e.significant,
      breached: e.breached,
      failed: e.failed,
    });
  }
  return out;
}

/** The rules the looks judged, in the report's order. */
export function rulesJudged(looks: readonly ReportLook[]): RuleName[] {
  const seen = new Set(looks.flatMap((l) => l.verdict.evidence.map((e) => e.rule)));
  return (Object.keys(RULE_TITLES) as RuleName[]).filter((r) => seen.has(r));
}

/** The look that decided the release, and what it decided. */
export interface Decision {
  readonly minute: number;
  readonly outcome: 'rolled_back' | 'promoted';
  /** The rule that failed (a rollback by the analysis); null for a promotion or a rollback from elsewhere. */
  readonly rule: RuleName | null;
  /** One line, as the chart says it ("rolled back here: error rate p=3.1e-8 ≤ α=0.0025, 3.20× > 1.5×"). */
  readonly label: string;
}

/** An effect in a sentence: 2.71×, 0.60%, 3. */
export const fmtEffect = (kind: EffectKind, v: number | null): string =>
  v === null ? 'n/a' : kind === 'ratio' ? `${v.toFixed(2)}×` : kind === 'rate' ? `${(v * 100).toFixed(2)}%` : String(v);

/** A marker of the report's timeline, as far as a decision needs it. */
export interface DecisionMarker {
  readonly minute: number;
  readonly kind: string;
  readonly label: string;
}

/** A rollback no look decided (a CloudWatch alarm's, between two looks): its minute, and the alarm when one fired then. */
function rollbackFromMarkers(markers: readonly DecisionMarker[]): Decision | null {
  const rollback = markers.find((m) => m.kind === 'rollback');
  if (rollback === undefined) return null;
  const alarm = markers.find((m) => m.kind === 'alarm' && m.minute === rollback.minute);
  return { minute: rollback.minute, outcome: 'rolled_back', rule: null, label: `rolled back here by ${alarm === undefined ? `a rollback outside the analysis (${rollback.label})` : alarm.label}` };
}

/**
 * Why the evidence decided: the look whose verdict failed and rolled back (and the rule whose finding
 * the verdict names — the worst one), or, for a promotion, the last look before it. A rollback no
 * look decided (an alarm's) is placed by the timeline's `markers`. Null for a rejection before
 * traffic, or with nothing to place it.
 *
 * @example decisionOf(looks, 'rolled_back') // { minute: 99, outcome: 'rolled_back', rule: 'error_rate', label: 'rolled back here: error rate p=3.1e-8 ≤ α=0.0025, 3.20× > 1.50×' }
 */
export function decisionOf(looks: readonly ReportLook[], outcome: string, markers: readonly DecisionMarker[] = []): Decision | null {
  if (outcome === 'rolled_back' || outcome === 'rollback_failed') {
    const look = looks.find((l) => l.action === 'rollback' && l.verdict.verdict === 'fail');
    if (look === undefined) return rollbackFromMarkers(markers);
    const failed = look.verdict.evidence.filter((e) => e.failed);
    // The verdict's summary is "<reason> (<severity>): <the worst finding's message>".
    const e = failed.find((x) => look.verdict.summary.endsWith(x.message)) ?? failed[0];
    if (e === undefined) return { minute: look.minute, outcome: 'rolled_back', rule: null, label: `rolled back here: ${look.verdict.summary}` };
    const kind = EFFECT_OF[e.rule];
    const what = RULE_TITLES[e.rule].toLowerCase();
    const why =
      e.pValue === null || e.alpha === null
        ? `${what} ${fmtEffect(kind, kind === 'ratio' ? e.ratio : e.canary)} > ${fmtEffect(kind, e.threshold)}`
        : `${what} p=${fmtP(e.pValue)} ≤ α=${fmtP(e.alpha)}, ${fmtEffect(kind, kind === 'ratio' ? e.ratio : e.canary)} > ${fmtEffect(kind, e.threshold)}`;
    return { minute: look.minute, outcome: 'rolled_back', rule: e.rule, label: `rolled back here${look.loop === 'bake' ? ' (bake)' : ''}: ${why}` };
  }
  if (outcome === 'promoted') {
    const canary = looks.filter((l) => l.loop === 'canary');
    const look = canary[canary.length - 1];
    if (look === undefined || look.action !== 'advance') return null;
    return { minute: look.minute, outcome: 'promoted', rule: null, label: `promoted here: the ${look.weight}% phase ended with no rule breached (${look.verdict.verdict})` };
  }
  return null;
}
