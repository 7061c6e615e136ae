/**
 * What to do about a finding: roll back or not, at once or at the loop's next step, with which
 * severity, and the incident text people will read (policy.md §3–4). One function for every source
 * of a rollback (analysis verdict, alarm, operator, failed step), so they cannot drift apart.
 */
import * as z from 'zod';
import { CanaryVerdictSchema, type CanaryRule, type CanaryVerdict, type RuleEvidence } from './analysis.js';
import type { GateResult } from './gates.js';
import type { ReleaseManifest } from './manifest.js';
import { displayName } from './notes.js';
import type { MonitorAction } from './plan.js';
import { alarmRule, canaryAlarmSuffix } from './runtime-config.js';
import { REASON_CODES, type ReasonCode, type Severity } from './severity.js';
import { HOOK_FAILURE_SEVERITY } from './verification.js';

/** Where the release stands when something happens. */
export interface ReleaseContext {
  readonly model: string;
  readonly version: string;
  readonly releaseId: string;
  /** Candidate traffic weight when it happened (0 before the canary). */
  readonly weight: number;
  /** Phase index (0-based), null before the canary. */
  readonly phase: number | null;
}

/**
 * The sources of a rollback a caller can ask for, as data (the rollback contract's `trigger`:
 * core/contracts.ts RollbackInputSchema).
 */
export const RollbackTriggerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('verdict'), verdict: CanaryVerdictSchema }),
  z.strictObject({
    kind: z.literal('alarm'),
    alarmName: z.string(),
    /** The rule the alarm watches, when it maps to one (e.g. `error_rate_increase`). */
    watches: z.enum(REASON_CODES).nullable(),
    detail: z.string(),
  }),
  z.strictObject({
    kind: z.literal('manual'),
    actor: z.string(),
    note: z.string(),
    /** An emergency (security, data or privacy breach, compliance): P0 and immediate, no second identity needed. */
    emergency: z.boolean().optional(),
    /** A planned rollback of a released version: who asked for it (the second identity, `actor`, approved it). */
    requestedBy: z.string().optional(),
  }),
  /** Nobody answered a phase's approval in time: a rollback on the operators' behalf (policy.md §2). */
  z.strictObject({ kind: z.literal('approval_timeout'), minutes: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('task_failure'), step: z.string(), error: z.string() }),
  /** A verification hook failed during or after a phase (core/verification.ts). */
  z.strictObject({ kind: z.literal('verification_failed'), stage: z.enum(['during_phase', 'after_phase']), hook: z.string(), message: z.string() }),
  /** The rollback drill failed: the candidate is already at 0%; the release stops. */
  z.strictObject({ kind: z.literal('drill_failed'), message: z.string() }),
  /** The bake found the released version worse than the previous one (core/bake.ts): back to the previous, warm, at once. */
  z.strictObject({ kind: z.literal('bake_regression'), verdict: CanaryVerdictSchema }),
]);
export type RequestedTrigger = z.infer<typeof RollbackTriggerSchema>;
export type TriggerKind = RequestedTrigger['kind'];
export const TRIGGER_KINDS = ['verdict', 'alarm', 'manual', 'approval_timeout', 'task_failure', 'verification_failed', 'drill_failed', 'bake_regression'] as const satisfies readonly TriggerKind[];

/** Every source of a rollback decision: a requested one, or the rollback itself failing (the P0 page). */
export type RollbackTrigger = RequestedTrigger | { readonly kind: 'rollback_failed'; readonly error: string };

export interface RollbackDecision {
  readonly rollback: boolean;
  readonly immediate: boolean;
  readonly reason: ReasonCode | null;
  readonly severity: Severity | null;
  /** One line: what happened to which release. */
  readonly title: string;
  /** The incident body: why, measured values against thresholds, phase and weight, what to do. */
  readonly text: string;
  /** The canary rule that decided: the verdict's failing rule, or the one the alarm watches; null for the other triggers. */
  readonly rule?: CanaryRule | null;
}

const NO_ROLLBACK = (title: string, text: string): RollbackDecision => ({
  rollback: false,
  immediate: false,
  reason: null,
  severity: null,
  title,
  text,
});

/** The severity an alarm pages with: the rule it watches (policy.md §3), else P1. */
export function alarmSeverity(watches: ReasonCode | null): Severity {
  switch (watches) {
    case 'safety_violation':
      return 'P0';
    case 'performance_degradation':
    case 'error_rate_increase':
    case 'constraint_violations':
      return 'P1';
    default:
      return 'P1';
  }
}

function where(ctx: ReleaseContext): string {
  return ctx.phase === null ? 'before the canary' : `in phase ${ctx.phase + 1} at ${ctx.weight}% canary traffic`;
}

function evidenceLines(evidence: readonly RuleEvidence[]): string[] {
  return evidence.map((e) => `${e.failed ? '✗' : '·'} ${e.rule}: ${e.message}`);
}

/** What the decision of each trigger needs: the release's name, where it stands and the incident's footer. */
interface Wording {
  readonly name: string;
  readonly where: string;
  readonly footer: readonly string[];
}

type Of<K extends RollbackTrigger['kind']> = Extract<RollbackTrigger, { kind: K }>;

function verdictDecision(v: CanaryVerdict, w: Wording): RollbackDecision {
  if (v.verdict !== 'fail' || v.reason === null || v.severity === null) return NO_ROLLBACK(`${w.name}: canary ${v.verdict}`, v.summary);
  const text = [
    `${w.name} was rolled back ${w.where} because of ${v.reason} (${v.immediate ? 'immediate' : 'automatic'} rollback).`,
    v.summary,
    '',
    `Evidence over ${v.sample.minutes} minute(s), ${v.sample.canaryRequests} canary and ${v.sample.baselineRequests} baseline request(s):`,
    ...evidenceLines(v.evidence),
    ...w.footer,
  ].join('\n');
  return { rollback: true, immediate: v.immediate, reason: v.reason, severity: v.severity, title: `[${v.severity}] ${w.name} rolled back: ${v.reason} ${w.where}`, text, rule: v.rule ?? null };
}

function alarmDecision(t: Of<'alarm'>, w: Wording): RollbackDecision {
  const severity = alarmSeverity(t.watches);
  return {
    rollback: true,
    immediate: true,
    reason: 'alarm',
    severity,
    title: `[${severity}] ${w.name} rolled back: alarm ${t.alarmName} ${w.where}`,
    rule: alarmRule(t.alarmName),
    text: [`CloudWatch alarm ${t.alarmName}${t.watches ? ` (watching ${t.watches})` : ''} went to ALARM ${w.where}; ${w.name} was rolled back at once.`, t.detail, ...w.footer].join('\n'),
  };
}

const immediate = (reason: ReasonCode, severity: Severity, title: string, lines: readonly string[]): RollbackDecision => ({
  rollback: true,
  immediate: true,
  reason,
  severity,
  title,
  text: lines.join('\n'),
});

/**
 * Maps a trigger to the one rollback decision.
 *
 * @example
 * const d = decideRollback({ kind: 'verdict', verdict }, ctx);
 * if (d.rollback) await rollback(ctx.releaseId, d);
 */
export function decideRollback(trigger: RollbackTrigger, ctx: ReleaseContext): RollbackDecision {
  const w: Wording = { name: `${displayName(ctx.model)} ${ctx.version}`, where: where(ctx), footer: ['', `Release: ${ctx.releaseId}`, `History: builderbrain history ${ctx.releaseId}`] };
  const { name } = w;
  switch (trigger.kind) {
    case 'verdict':
      return verdictDecision(trigger.verdict, w);
    case 'alarm':
      return alarmDecision(trigger, w);
    case 'manual':
      if (trigger.emergency === true) {
        return immediate('manual', 'P0', `[P0] ${name}: EMERGENCY rollback by ${trigger.actor} ${w.where}`, [
          `${trigger.actor} rolled ${name} back as an emergency ${w.where}: ${trigger.note}`,
          'Emergency rollbacks (security, data or privacy breach, compliance) are immediate and need no second approval; review it afterwards.',
          ...w.footer,
        ]);
      }
      return immediate('manual', 'P2', `[P2] ${name} rolled back by ${trigger.actor} ${w.where}`, [
        `${trigger.actor} rolled ${name} back ${w.where}: ${trigger.note}`,
        ...(trigger.requestedBy === undefined ? [] : [`Planned rollback of a released version: requested by ${trigger.requestedBy}, approved by ${trigger.actor}.`]),
        ...w.footer,
      ]);
    case 'approval_timeout':
      // Nobody approved: the pipeline decides for the operators, as a manual rollback would.
      return immediate('manual', 'P2', `[P2] ${name} rolled back: approval timed out ${w.where}`, [
        `Nobody approved ${name} ${w.where} within ${trigger.minutes} minutes, so it was rolled back to the baseline.`,
        ...w.footer,
      ]);
    case 'task_failure':
      return immediate('task_failure', 'P1', `[P1] ${name} rolled back: pipeline step ${trigger.step} failed ${w.where}`, [
        `The pipeline step ${trigger.step} failed after its retries ${w.where}, so ${name} was rolled back to the baseline.`,
        `Error: ${trigger.error}`,
        ...w.footer,
      ]);
    case 'verification_failed': {
      const severity = HOOK_FAILURE_SEVERITY[trigger.stage];
      return immediate('verification_failed', severity, `[${severity}] ${name} rolled back: verification hook ${trigger.hook} failed ${w.where}`, [
        `The verification hook ${trigger.hook} (${trigger.stage}) failed ${w.where}, so ${name} was rolled back to the baseline.`,
        `Hook: ${trigger.message}`,
        ...w.footer,
      ]);
    }
    case 'bake_regression': {
      const v = trigger.verdict;
      // P1 at least: the version serves everyone; a safety finding stays P0.
      const severity: Severity = v.severity === 'P0' ? 'P0' : 'P1';
      const reason = v.reason ?? 'performance_degradation';
      return {
        ...immediate(reason, severity, `[${severity}] ${name} rolled back during its bake: ${reason}`, [
          `${name} served 100% and was being watched against the previous version (its bake); it regressed, so traffic went back to the previous version, kept warm for this.`,
          v.summary,
          '',
          `Evidence over ${v.sample.minutes} minute(s):`,
          ...evidenceLines(v.evidence),
          ...w.footer,
        ]),
        rule: v.rule ?? null,
      };
    }
    case 'drill_failed':
      return immediate('drill_failed', 'P1', `[P1] ${name} stopped: the rollback drill failed ${w.where}`, [
        `The rollback drill rolled ${name} back on purpose ${w.where}, but the baseline did not serve alone again: ${trigger.message}.`,
        'The rollback path is broken in this environment: fix it before any release goes further. The candidate stays at 0%.',
        ...w.footer,
      ]);
    case 'rollback_failed':
      return {
        ...immediate('rollback_failed', 'P0', `[P0] ${name}: ROLLBACK FAILED ${w.where} — traffic may still reach the candidate`, [
          `The rollback of ${name} ${w.where} could not restore the baseline. Restore traffic by hand now.`,
          `Error: ${trigger.error}`,
          ...w.footer,
        ]),
        rollback: false,
      };
  }
}

/** The P3 incident of a release rejected before any traffic moved (gates failed or manifest invalid). */
export function rejectionIncident(
  ctx: Pick<ReleaseContext, 'model' | 'version' | 'releaseId'>,
  cause: { readonly gate: GateResult } | { readonly invalid: readonly { path: string; message: string }[] },
): { severity: 'P3'; reason: 'rejected'; title: string; text: string } {
  const name = `${displayName(ctx.model)} ${ctx.version}`;
  const lines =
    'gate' in cause
      ? cause.gate.checks.filter((c) => !c.passed).map((c) => `✗ ${c.name}: ${c.message}`)
      : cause.invalid.map((i) => `✗ ${i.path || '(root)'}: ${i.message}`);
  const why = 'gate' in cause ? 'failed its promotion gates' : 'has an invalid manifest';
  return {
    severity: 'P3',
    reason: 'rejected',
    title: `[P3] ${name} rejected: ${why}`,
    text: [`${name} ${why}; no production traffic was touched.`, ...lines, '', `Release: ${ctx.releaseId}`].join('\n'),
  };
}

/**
 * The page of a release that holds (P1): a fleet-wide incident the baseline suffers alike, or metrics
 * that stopped coming. Nothing was rolled back: the candidate is not blamed for what the fleet does.
 */
const HOLD_WHAT = { fleet_wide: 'fleet-wide incident', no_data: 'canary metrics unavailable', traffic_mismatch: 'traffic split mismatch' } as const;
const HOLD_ADVICE = {
  fleet_wide: 'The baseline is affected alike: look at the serving fleet, not at the candidate. The release goes on by itself when it clears; a phase that ends held waits for an approval.',
  no_data: "Check CloudWatch and the fleet's metric publishing. The release goes on by itself when metrics return; a phase that ends without them waits for an approval.",
  traffic_mismatch:
    'The canary does not serve the population the baseline serves (sticky sessions, a pinned cohort): check the routing. Latency and risk energy cannot be judged until it does; a phase that ends held waits for an approval.',
} as const;

export function holdIncident(ctx: ReleaseContext, hold: { reason: keyof typeof HOLD_WHAT; message: string }): { severity: 'P1'; title: string; text: string } {
  const name = `${displayName(ctx.model)} ${ctx.version}`;
  const where = ctx.phase === null ? '' : ` in phase ${ctx.phase + 1} at ${ctx.weight}% canary traffic`;
  const what = HOLD_WHAT[hold.reason];
  return {
    severity: 'P1',
    title: `[P1] ${name} holds${where}: ${what}`,
    text: [
      `${name} holds${where}: no promotion, no rollback.`,
      hold.message,
      HOLD_ADVICE[hold.reason],
      '',
      `Release: ${ctx.releaseId}`,
      `History: builderbrain history ${ctx.releaseId}`,
    ].join('\n'),
  };
}

/**
 * An alarm that fires while the canary's fresh instances warm up after a traffic shift is not
 * evidence against the candidate: its evaluation periods (`evaluationMinutes`) reach back into the
 * warm-up. The monitor loop, which leaves the warm-up out, judges those minutes instead. A safety
 * incident alarm always counts.
 *
 * @example alarmDuringWarmup('bb-bb-canary-latency-p99', '2026-01-05T10:00:00Z', new Date('2026-01-05T10:07:00Z'), 5, 5) // true
 */
export function alarmDuringWarmup(alarmName: string, phaseStartedAt: string | null | undefined, now: Date, warmupMinutes: number, evaluationMinutes: number): boolean {
  // The safety-incident alarm counts in the warm-up too.
  if (canaryAlarmSuffix(alarmName) === 'safety-incidents' || phaseStartedAt === null || phaseStartedAt === undefined) return false;
  return now.getTime() - new Date(phaseStartedAt).getTime() < (warmupMinutes + evaluationMinutes) * 60_000;
}

/** The monitor loop's move at a phase's end (core/plan.ts MONITOR_ACTIONS, less `continue`). */
export type PhaseDecision = Exclude<MonitorAction, 'continue'>;

/**
 * At the end of a phase's monitoring: a pass advances (or waits for approval when the phase asks
 * for one); a fail rolls back; too little evidence is never promoted blindly — a person decides.
 */
export function decidePhaseEnd(verdict: CanaryVerdict, requiresApproval: boolean): PhaseDecision {
  if (verdict.verdict === 'fail') return 'rollback';
  // Too little evidence, or a hold (a fleet-wide incident, no metrics) still on at the phase's end: a person decides.
  if (verdict.verdict === 'inconclusive' || verdict.verdict === 'hold') return 'await_approval';
  return requiresApproval ? 'await_approval' : 'advance';
}

/**
 * A planned (not emergency) rollback of a released version — one serving everyone, in its bake —
 * needs two people (RELEASE.md §4.2: assessment → approval → execution): the one who asked
 * (`requestedBy`) and another who approved and runs it (`actor`). Null when the trigger may run;
 * otherwise why not. An emergency, and any rollback during the canary, needs one.
 *
 * @example secondIdentityIssue('baking', { kind: 'manual', actor: 'bob', note: 'x', requestedBy: 'alice' }) // null
 */
export function secondIdentityIssue(status: string, trigger: RequestedTrigger): string | null {
  if (trigger.kind !== 'manual' || trigger.emergency === true || status !== 'baking') return null;
  if (trigger.requestedBy === undefined) return 'a planned rollback of a released version needs a second identity: it is requested by one person and approved by another (or, for security, a breach or compliance, run it as an emergency)';
  return twoPeopleIssue(trigger.requestedBy, trigger.actor);
}

/**
 * Why `approvedBy` may not approve what `requestedBy` asked for (`what`: "this rollback", "hotfix
 * INC-2041"); null when two people did. The two-person rule of planned rollbacks and of hotfixes.
 *
 * @example twoPeopleIssue('alice', 'arn:aws:sts::111111111111:assumed-role/Approver/alice', 'hotfix INC-2041') // 'arn:…/alice (alice) requested hotfix INC-2041 and cannot also approve it: a second identity must'
 */
export function twoPeopleIssue(requestedBy: string, approvedBy: string, what = 'this rollback'): string | null {
  if (!sameIdentity(requestedBy, approvedBy)) return null;
  return `${approvedBy}${approvedBy === requestedBy ? '' : ` (${requestedBy})`} requested ${what} and cannot also approve it: a second identity must`;
}

/**
 * The person an identity names, for the two-person rule: an ARN's last segment (an IAM user's name,
 * an assumed role's session name), what follows `local:`, an email's local part; compared without case.
 * Generous on purpose: a hotfix's `requestedBy` is written by hand ("alice", "alice@example.com")
 * while its approver is an ARN, and a false match only asks for another approver.
 */
function personOf(identity: string): string {
  const trimmed = identity.trim().toLowerCase();
  const name = trimmed.startsWith('arn:') ? (trimmed.split(/[:/]/).pop() ?? trimmed) : trimmed.replace(/^local:/, '');
  return name.split('@')[0]!;
}

/** Whether two identities are the same person ({@link personOf}). */
export function sameIdentity(a: string, b: string): boolean {
  return a === b || personOf(a) === personOf(b);
}

/**
 * The release.json of a rollback release: the manifest of the version that served before, as it
 * was released (its artifact and digest unchanged), with `rollback` saying what it rolls back, why,
 * and who decided. Uploaded again at its own key, it goes through the whole pipeline: the artifact
 * verified, the model deployed and smoke-tested, its traffic moved by its plan (core/manifest.ts
 * releasePlan: one 100% phase in an emergency).
 */
export function rollbackManifest(previous: ReleaseManifest, rollback: NonNullable<ReleaseManifest['rollback']>): ReleaseManifest {
  // Not a hotfix again: the version it brings back is judged by its own plan, its approvals by the rollback's two people.
  const { rollback: _earlier, hotfix: _hotfix, ...rest } = previous;
  return { ...rest, rollback };
}

/**
 * How an operator's rollback of a release goes, by its status (RELEASE.md §4.1–4.2). `via`: the
 * traffic moves back to the previous version still deployed (in the canary, or in the bake where it
 * is warm), or — released and converged, the previous version removed — that version is released
 * again through the pipeline. `step`: at once (one identity: a release in its canary, or an
 * emergency), a request (a planned rollback of a released version: a second identity must approve),
 * or the approval of the pending request.
 *
 * @example operatorRollbackPlan('baking', { emergency: false, approve: false }) // { via: 'traffic', step: 'request' }
 */
export function operatorRollbackPlan(status: string | null, ask: { readonly emergency: boolean; readonly approve: boolean }): { via: 'traffic' | 'rerelease'; step: 'now' | 'request' | 'approve' } {
  const released = status === 'released' || status === 'baking';
  const via = status === 'released' ? 'rerelease' : 'traffic';
  if (ask.approve) return { via, step: 'approve' };
  return { via, step: released && !ask.emergency ? 'request' : 'now' };
}
