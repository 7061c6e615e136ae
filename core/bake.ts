/**
 * After promotion (RELEASE.md §10.1 post-release validation, §4.2 and §8.2 rollback verification):
 * the pure decisions of the bake and of the recovery check.
 *
 * **Bake.** At 100% there is no concurrent baseline, so the released version is compared with the
 * previous version's own metrics over a reference window: the same minutes of the day before (or
 * of the week before, when the day before has no data), so that daily patterns are not taken for
 * regressions. Each bake minute is paired with its reference minute and judged by the canary's own
 * analysis (core/analysis.ts: the same sequential tests, dispersion, warm-up and change-point grid),
 * the reference in the baseline's place. The previous version stays warm (weight 0) all along, so a
 * regression rolls back to it at once. No reference at all: only the absolute rules can judge
 * (safety incidents, the constraint-violation ceiling), and the verdict says so.
 *
 * **Recovery.** After any rollback, the restored version must be healthy again: over a window after
 * the rollback its error rate and p99 latency are back within the range the baseline showed before
 * the release's traffic moved (its own minutes then). Otherwise the rollback did not restore health
 * and the pipeline escalates (P0).
 */
import * as z from 'zod';
import { analyzeCanary, type CanaryVerdict, type MinuteDatapoint, type VariantMinute } from './analysis.js';
import type { CanaryPolicy } from './policy.js';

export const BakePolicySchema = z.strictObject({
  /** How long the released version is watched after 100% before it is `released` (0: no bake). */
  minutes: z.number().int().min(0).max(14 * 24 * 60).default(24 * 60),
  /** How often it is looked at. */
  lookEveryMinutes: z.number().int().min(1).max(60).default(10),
  /** The reference window first tried: the same minutes a day or a week before (the other is the fallback). */
  reference: z.enum(['day', 'week']).default('day'),
});
export type BakePolicy = z.output<typeof BakePolicySchema>;

export const RecoveryPolicySchema = z.strictObject({
  /** Minutes after a rollback over which the restored version must be healthy again (0: not checked). */
  minutes: z.number().int().min(0).max(240).default(15),
  /** The first minutes after the rollback, left out: traffic drains and caches refill. */
  settleMinutes: z.number().int().min(0).max(60).default(2),
  /** Healthy: error rate at most this many times the pre-release baseline's (and 0.5 points above it at least). */
  errorRateRatio: z.number().gt(1).default(1.5),
  /** Healthy: p99 latency at most this many times the pre-release baseline's. */
  latencyRatio: z.number().gt(1).default(1.25),
});
export type RecoveryPolicy = z.output<typeof RecoveryPolicySchema>;

const MINUTE_MS = 60_000;
const REFERENCE_OFFSET_MINUTES = { day: 24 * 60, week: 7 * 24 * 60 } as const;
export type ReferenceKind = keyof typeof REFERENCE_OFFSET_MINUTES;

/** The reference windows to try, in order, for the bake window [from, to). */
export function referenceWindows(from: Date, to: Date, first: ReferenceKind): { kind: ReferenceKind; from: Date; to: Date }[] {
  const kinds: ReferenceKind[] = first === 'day' ? ['day', 'week'] : ['week', 'day'];
  return kinds.map((kind) => {
    const offset = REFERENCE_OFFSET_MINUTES[kind] * MINUTE_MS;
    return { kind, from: new Date(from.getTime() - offset), to: new Date(to.getTime() - offset) };
  });
}

/** Share of bake minutes a reference must cover to be used (a day with a gap still serves; one mostly missing does not). */
export const MIN_REFERENCE_COVERAGE = 0.8;

/**
 * The bake's minutes paired with the reference's: the released version in the canary's place, the
 * previous version (the reference window's baseline variant) in the baseline's. Minute indices are
 * the bake's; a minute missing on either side is left out.
 */
export function pairWithReference(bake: readonly MinuteDatapoint[], reference: readonly MinuteDatapoint[]): MinuteDatapoint[] {
  const byMinute = new Map(reference.map((r) => [r.minute, r.baseline]));
  return bake.flatMap((b) => {
    const ref = byMinute.get(b.minute);
    return ref === undefined || ref.requests === 0 || b.canary.requests === 0 ? [] : [{ minute: b.minute, canary: b.canary, baseline: ref }];
  });
}

/** How well a reference covers the bake so far (share of bake minutes with a served reference minute). */
export function referenceCoverage(bake: readonly MinuteDatapoint[], reference: readonly MinuteDatapoint[]): number {
  if (bake.length === 0) return 0;
  return pairWithReference(bake, reference).length / bake.filter((b) => b.canary.requests > 0).length || 0;
}

/** The bake's verdict at one look, with what it was compared with. */
export interface BakeVerdict {
  readonly verdict: CanaryVerdict;
  readonly reference: ReferenceKind | null;
  /** Minutes watched so far and in all. */
  readonly watchedMinutes: number;
  readonly plannedMinutes: number;
  /** The bake's next move: keep watching, roll back to the previous version, or end clean (released). */
  readonly action: 'continue' | 'rollback' | 'released';
}

/**
 * Judges the bake so far: paired with the first reference that covers it, through the canary's
 * analysis; without one, on the released version's own minutes (absolute rules only). A failing
 * verdict rolls back; the last look without one releases. An inconclusive end still releases: the
 * canary's phases already judged the version against a live baseline, the bake only watches for a
 * regression that shows later.
 *
 * @example judgeBake({ bake, references: [{ kind: 'day', points: yesterday }], minutesWatched: 60 }, bake24h, policy.canary).action // 'continue'
 */
export function judgeBake(
  input: { bake: readonly MinuteDatapoint[]; references: readonly { kind: ReferenceKind; points: readonly MinuteDatapoint[] }[]; minutesWatched: number },
  bake: BakePolicy,
  policy: CanaryPolicy,
): BakeVerdict {
  const ref = input.references.find((r) => referenceCoverage(input.bake, r.points) >= MIN_REFERENCE_COVERAGE) ?? null;
  const datapoints = ref === null ? input.bake.map((b) => ({ ...b, baseline: emptyMinute() })) : pairWithReference(input.bake, ref.points);
  const verdict = analyzeCanary({ datapoints, plannedMinutes: Math.max(1, bake.minutes), lookEveryMinutes: bake.lookEveryMinutes }, policy);
  const summary = ref === null ? `${verdict.summary} (no reference window with data: absolute rules only)` : `${verdict.summary} (against the previous version a ${ref.kind} before)`;
  const judged = { ...verdict, summary };
  const last = input.minutesWatched >= bake.minutes;
  const action = verdict.verdict === 'fail' ? 'rollback' : last ? 'released' : 'continue';
  return { verdict: judged, reference: ref?.kind ?? null, watchedMinutes: input.minutesWatched, plannedMinutes: bake.minutes, action };
}

function emptyMinute(): VariantMinute {
  return { requests: 0, errors: 0, latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null, constraintViolations: 0, safetyIncidents: 0 };
}

// ── recovery ────────────────────────────────────────────────────────────────────────────────────

/** The recovery check's verdict. */
export interface RecoveryVerdict {
  readonly recovered: boolean;
  readonly message: string;
  readonly before: { readonly errorRate: number | null; readonly p99: number | null; readonly minutes: number };
  readonly after: { readonly errorRate: number | null; readonly p99: number | null; readonly minutes: number };
}

/** Request-weighted error rate and median p99 of a variant over minutes (null with no request). */
function health(points: readonly VariantMinute[]): { errorRate: number | null; p99: number | null; minutes: number } {
  const served = points.filter((p) => p.requests > 0);
  const requests = served.reduce((n, p) => n + p.requests, 0);
  const errors = served.reduce((n, p) => n + p.errors, 0);
  const p99s = served.map((p) => p.latencyP99).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return { errorRate: requests > 0 ? errors / requests : null, p99: p99s.length > 0 ? p99s[p99s.length >> 1]! : null, minutes: served.length };
}

/**
 * Is the restored version healthy again? `before`: the baseline variant's minutes before the
 * release's traffic moved (or during its first phase, when it still served almost everything);
 * `after`: the baseline variant's minutes after the rollback, the first `settleMinutes` left out.
 * Healthy: it serves, its error rate is within `errorRateRatio` × (and 0.5 points of) the one
 * before, its median p99 within `latencyRatio` ×. No data after the rollback is not recovery.
 *
 * @example judgeRecovery(before, after, DEFAULT_RECOVERY).recovered
 */
export function judgeRecovery(before: readonly VariantMinute[], after: readonly VariantMinute[], policy: RecoveryPolicy): RecoveryVerdict {
  const b = health(before);
  const a = health(after.slice(policy.settleMinutes));
  const seen = { before: b, after: a };
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  if (a.minutes === 0 || a.errorRate === null) return { recovered: false, message: 'the restored version served no request after the rollback', ...seen };
  const problems: string[] = [];
  if (b.errorRate !== null) {
    const ceiling = Math.max(b.errorRate * policy.errorRateRatio, b.errorRate + 0.005);
    if (a.errorRate > ceiling) problems.push(`error rate ${pct(a.errorRate)}, over ${pct(ceiling)} (${pct(b.errorRate)} before the release)`);
  }
  if (b.p99 !== null && a.p99 !== null && a.p99 > b.p99 * policy.latencyRatio) problems.push(`p99 ${Math.round(a.p99)} ms, over ${Math.round(b.p99 * policy.latencyRatio)} ms (${Math.round(b.p99)} ms before the release)`);
  if (problems.length > 0) return { recovered: false, message: `the restored version is not healthy again: ${problems.join('; ')}`, ...seen };
  const basis = b.errorRate === null ? 'no pre-release reference: it serves' : `within the pre-release range (error rate ${pct(b.errorRate)}${b.p99 === null ? '' : `, p99 ${Math.round(b.p99)} ms`})`;
  return { recovered: true, message: `the restored version is healthy again over ${a.minutes} minute(s): error rate ${pct(a.errorRate)}${a.p99 === null ? '' : `, p99 ${Math.round(a.p99)} ms`}, ${basis}`, ...seen };
}
