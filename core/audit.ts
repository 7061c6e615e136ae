/**
 * The audit events of a release (policy.md §5): one union keyed by `type`, each type with the
 * schema of its `detail`. What a use case appends is an {@link AuditEvent}, typed by these schemas.
 * What a ledger gives back is a {@link StoredAuditEvent}: the same events, but a stored detail may
 * have been shrunk to fit an item (`truncated`, core/ledger-items.ts) or written by an older
 * version, so every field of it is read as optional — parsed, never cast. {@link describeEvent} is
 * the one sentence per event that `builderbrain history`, the simulate summary and its HTML report
 * show.
 */
import * as z from 'zod';
import { CANARY_RULES, CanaryVerdictSchema, HOLD_REASONS, RuleEvidenceSchema, VERDICT_KINDS } from './analysis.js';
import { VerifyArtifactOutputSchema } from './contracts.js';
import { DEPLOYMENT_GOALS, DeploymentSchema, SmokeResultSchema } from './deployment.js';
import { GateCheckSchema } from './gates.js';
import { HOOK_STAGES } from './environment-settings.js';
import { TrailEntrySchema } from './handover.js';
import { IncidentEventDetailSchema } from './incidents.js';
import { REJECT_CAUSES } from './lifecycle.js';
import { HotfixSchema } from './manifest.js';
import { MONITOR_ACTIONS, PhaseSchema } from './plan.js';
import { TRIGGER_KINDS } from './rollback.js';
import { REASON_CODES, SEVERITIES } from './severity.js';

const severity = z.enum(SEVERITIES);

/** What each type of event records. */
export const AUDIT_DETAILS = {
  /** The manifest's upload (actor: its s3:// URI). */
  received: z.object({
    bucket: z.string(),
    key: z.string(),
    versionId: z.string().nullable(),
    etag: z.string().nullable(),
    manifestSha256: z.string(),
    size: z.number(),
  }),
  validated: z.object({ model: z.string(), version: z.string(), manifestSha256: z.string() }),
  /** Rejected before any user traffic; the fields after `severity` are the cause's. */
  rejected: z.object({
    cause: z.enum(REJECT_CAUSES),
    severity,
    /** invalid_manifest: every offending field. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /** gates_failed. */
    failedChecks: z.array(GateCheckSchema).optional(),
    /** lock_busy: the release holding the lock; null when the lock could not say (core/ports.ts LockResult). */
    holder: z.string().nullable().optional(),
    /** artifact_rejected, deploy_failed, smoke_failed. */
    message: z.string().optional(),
    /** deploy_failed: the target's own reason. */
    failureReason: z.string().optional(),
    /** smoke_failed. */
    smoke: z.array(SmokeResultSchema).optional(),
  }),
  lock_acquired: z.object({ model: z.string(), takenOverFrom: z.string().optional(), why: z.string().optional() }),
  lock_released: z.object({ model: z.string() }),
  gate_check: GateCheckSchema,
  phase_started: z.object({
    firstRelease: z.boolean().optional(),
    judgedOn: z.string().optional(),
    monitorMinutes: z.number(),
    requiresApproval: z.boolean(),
    looks: z.number(),
    lookEveryMinutes: z.number(),
    executionArn: z.string(),
  }),
  /** One look of the monitor loop. */
  analysis: z.object({
    iteration: z.number(),
    looks: z.number(),
    verdict: z.enum(VERDICT_KINDS),
    reason: CanaryVerdictSchema.shape.reason,
    severity: severity.nullable(),
    immediate: z.boolean(),
    action: z.enum(MONITOR_ACTIONS),
    summary: z.string(),
    sample: CanaryVerdictSchema.shape.sample,
    evidence: z.array(RuleEvidenceSchema.pick({ rule: true, failed: true, message: true })),
    /** The look would have moved the release on, but releases are frozen (core/freeze.ts): it holds at this weight. */
    heldBy: z.object({ by: z.string(), reason: z.string(), since: z.string() }).optional(),
  }),
  approval_requested: z.object({ verdict: z.enum(VERDICT_KINDS).nullable(), summary: z.string().nullable() }),
  /** The approver is the event's actor. */
  approved: z.object({}),
  approval_rejected: z.object({ reason: z.string() }),
  rollback: z.object({
    reason: z.string().nullable(),
    severity: severity.nullable(),
    trigger: z.enum(TRIGGER_KINDS),
    immediate: z.boolean(),
    title: z.string(),
    /** The canary execution stopped, if any. */
    stoppedExecution: z.string().nullable(),
    /** The canary rule that decided (the verdict's failing rule, or the one the alarm watches); null for the other triggers. */
    rule: z.enum(CANARY_RULES).nullable().optional(),
  }),
  rollback_failed: z.object({
    reason: z.literal('rollback_failed'),
    severity: z.literal('P0'),
    error: z.string(),
    trigger: z.enum(TRIGGER_KINDS),
    rollbackReason: z.enum(REASON_CODES).nullable(),
    /** The first failure of a release's rollback pages; later ones are recorded only. */
    paged: z.boolean(),
  }),
  promoted: z.object({ version: z.string(), previousWeight: z.number() }),
  artifact_verified: VerifyArtifactOutputSchema.extend({ expectedSha256: z.string(), uri: z.string() }),
  /** A serving goal's step; the fields after `state` are the state's (planned, applied, done or failed). */
  serving: z.object({
    goal: z.enum(DEPLOYMENT_GOALS),
    state: z.enum(['planned', 'applied', 'done', 'failed']),
    target: DeploymentSchema.shape.target.optional(),
    resource: z.string().optional(),
    baseline: DeploymentSchema.shape.baseline.optional(),
    candidate: DeploymentSchema.shape.candidate.optional(),
    configs: DeploymentSchema.shape.configs.optional(),
    firstRelease: z.boolean().optional(),
    /** applied: the configuration asked for (null: no endpoint config, Lambda). */
    config: z.string().nullable().optional(),
    message: z.string().optional(),
    failureReason: z.string().nullable().optional(),
    waitedSeconds: z.number().optional(),
    /** done: what serves now. */
    serving: z
      .object({ model: z.string().nullable(), config: z.string().nullable(), version: z.string().nullable(), slots: z.array(z.string()) })
      .optional(),
  }),
  smoke_test: z.object({ passed: z.boolean(), summary: z.string(), results: z.array(SmokeResultSchema) }),
  /** A hold's one page (P1). */
  hold: z.object({ reason: z.enum(HOLD_REASONS), minutes: z.array(z.number()), message: z.string(), severity: z.literal('P1') }),
  /** A verification hook's answer (core/verification.ts). */
  hook: z.object({ hook: z.string(), functionArn: z.string(), stage: z.enum(HOOK_STAGES), passed: z.boolean(), message: z.string(), metrics: z.record(z.string(), z.number()), durationMs: z.number() }),
  /** A step of the rollback drill: the candidate rolled back on purpose, the verdict, the candidate's traffic restored. */
  drill: z.object({ action: z.enum(['rollback', 'verify', 'restore']), passed: z.boolean(), message: z.string() }),
  /** The promotion handed over to the next environment (its bus, the event's size). */
  handed_over: z.object({ to: z.string(), eventBusArn: z.string(), bytes: z.number(), sha256: z.string() }),
  /**
   * The emergency freeze (core/freeze.ts) set or lifted by the actor: on the pipeline's control log
   * and on every release then in flight (which holds at its next decision point while frozen).
   */
  freeze: z.object({ state: z.enum(['frozen', 'unfrozen']), reason: z.string(), since: z.string().nullable(), frozenBy: z.string().nullable() }),
  /** A planned rollback of a released version, asked for by one identity (the actor); another must approve it. */
  rollback_requested: z.object({ reason: z.string(), to: z.string().nullable() }),
  /** This release brings back a version after a released one was rolled back (the manifest's `rollback`). */
  rollback_release: z.object({ of: z.string(), reason: z.string(), emergency: z.boolean(), requestedBy: z.string(), approvedBy: z.string().nullable() }),
  /** This release is a hotfix (the manifest's `hotfix`, as its uploader wrote it) and runs `plan` (null: no plan was given). */
  hotfix: z.object({ ...HotfixSchema.shape, plan: z.array(PhaseSchema).nullable() }),
  /** The bake after 100%: started, a look, released (ended clean) or regressed (rolled back to the previous version). */
  bake: z.object({
    state: z.enum(['started', 'look', 'released', 'regressed']),
    watchedMinutes: z.number(),
    plannedMinutes: z.number(),
    reference: z.enum(['day', 'week']).nullable(),
    verdict: z.enum(VERDICT_KINDS).nullable(),
    summary: z.string(),
  }),
  /** After a rollback: whether the restored version is healthy again; `recovered` false paged P0. */
  recovery: z.object({
    recovered: z.boolean(),
    message: z.string(),
    rolledBackAt: z.string().nullable(),
    before: z.object({ errorRate: z.number().nullable(), p99: z.number().nullable(), minutes: z.number() }),
    after: z.object({ errorRate: z.number().nullable(), p99: z.number().nullable(), minutes: z.number() }),
  }),
  /** The post-rollback analysis (core/app/post-rollback-analysis.ts) could not be built or written: recorded, never in the rollback's way. */
  post_rollback_analysis_failed: z.object({ stage: z.enum(['build', 'write']), key: z.string(), error: z.string() }),
  /** A hand-over the environment received: accepted (artifact copied, digest checked) or refused, and why. */
  handover: z.object({ accepted: z.boolean(), from: z.string(), account: z.string(), sha256: z.string().nullable(), message: z.string(), trail: z.array(TrailEntrySchema).optional() }),
  /** A step of an incident's life (core/incidents.ts): opened, acknowledged, resolved, closed, or a status update sent; the actor is who. */
  incident: IncidentEventDetailSchema,
};

export type AuditEventType = keyof typeof AUDIT_DETAILS;
export type AuditDetail<T extends AuditEventType> = z.infer<(typeof AUDIT_DETAILS)[T]>;

/** The fields every event has, before and after its `type` (in the order the ledger gives them back). */
const head = {
  releaseId: z.string(),
  /** Deterministic per logical event, so a retried step does not record it twice. */
  eventId: z.string(),
  /** When it happened, by the writer's clock (an operator's laptop may be minutes off): shown, never used to order the timeline. */
  at: z.string(),
};
const tail = {
  /** Who or what caused it: a pipeline step, an alarm name, an operator's identity. */
  actor: z.string(),
  weight: z.number().optional(),
  phase: z.number().int().optional(),
};

const event = <T extends AuditEventType>(type: T) => z.object({ ...head, type: z.literal(type), ...tail, detail: AUDIT_DETAILS[type] });

/** One append-only event of a release's audit timeline, as a use case appends it. */
export const AuditEventSchema = z.discriminatedUnion('type', [
  event('received'),
  event('validated'),
  event('rejected'),
  event('lock_acquired'),
  event('lock_released'),
  event('gate_check'),
  event('phase_started'),
  event('analysis'),
  event('approval_requested'),
  event('approved'),
  event('approval_rejected'),
  event('rollback'),
  event('rollback_failed'),
  event('promoted'),
  event('artifact_verified'),
  event('serving'),
  event('smoke_test'),
  event('hold'),
  event('hook'),
  event('drill'),
  event('handed_over'),
  event('handover'),
  event('rollback_requested'),
  event('freeze'),
  event('rollback_release'),
  event('hotfix'),
  event('bake'),
  event('recovery'),
  event('post_rollback_analysis_failed'),
  event('incident'),
]);
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditEventOf<T extends AuditEventType> = Extract<AuditEvent, { type: T }>;
export const AUDIT_EVENT_TYPES: readonly AuditEventType[] = AuditEventSchema.options.map((o) => o.shape.type.value);

// ── as stored ───────────────────────────────────────────────────────────────────────────────────

/** A detail as a ledger gives it back: every field optional (shrunk or older), other fields kept (`truncated`, `preview`). */
export type StoredDetail<T extends AuditEventType> = { readonly [K in keyof AuditDetail<T>]?: AuditDetail<T>[K] } & { readonly [key: string]: unknown };

/** The stored form of a type's detail: a field that is missing or not of its type reads as absent; unknown fields are kept. */
function stored<T extends AuditEventType>(type: T): z.ZodType<StoredDetail<T>> {
  const shape = Object.fromEntries(Object.entries(AUDIT_DETAILS[type].shape).map(([k, s]) => [k, z.optional(s).catch(undefined)]));
  // Built field by field, so its type is declared: each field is its own schema's, optional.
  return z.looseObject(shape) as unknown as z.ZodType<StoredDetail<T>>;
}

const storedEvent = <T extends AuditEventType>(type: T) => z.object({ ...head, type: z.literal(type), ...tail, detail: stored(type) });

/** An event as a ledger gives it back (see the module's comment). */
export const StoredAuditEventSchema = z.discriminatedUnion('type', [
  storedEvent('received'),
  storedEvent('validated'),
  storedEvent('rejected'),
  storedEvent('lock_acquired'),
  storedEvent('lock_released'),
  storedEvent('gate_check'),
  storedEvent('phase_started'),
  storedEvent('analysis'),
  storedEvent('approval_requested'),
  storedEvent('approved'),
  storedEvent('approval_rejected'),
  storedEvent('rollback'),
  storedEvent('rollback_failed'),
  storedEvent('promoted'),
  storedEvent('artifact_verified'),
  storedEvent('serving'),
  storedEvent('smoke_test'),
  storedEvent('hold'),
  storedEvent('hook'),
  storedEvent('drill'),
  storedEvent('handed_over'),
  storedEvent('handover'),
  storedEvent('rollback_requested'),
  storedEvent('freeze'),
  storedEvent('rollback_release'),
  storedEvent('hotfix'),
  storedEvent('bake'),
  storedEvent('recovery'),
  storedEvent('post_rollback_analysis_failed'),
  storedEvent('incident'),
]);
export type StoredAuditEvent = z.infer<typeof StoredAuditEventSchema>;
export type StoredAuditEventOf<T extends AuditEventType> = Extract<StoredAuditEvent, { type: T }>;

// ── one sentence per event ──────────────────────────────────────────────────────────────────────

/**
 * `history`: the operator's timeline (`builderbrain history`). `summary`: the simulate summary and
 * its HTML report, which keep a shorter sentence for the events they do not dwell on (the
 * bookkeeping of the upload, the lock and the approvals) and a longer one for the serving steps.
 */
export type EventView = 'history' | 'summary';

/** A value as text: strings as they are, nothing as empty, anything else as JSON. */
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/**
 * The sentence that says what an event recorded.
 *
 * @example describeEvent({ type: 'promoted', detail: { version: '2.1.0', previousWeight: 50 }, … }) // '2.1.0 promoted'
 */
export function describeEvent(e: StoredAuditEvent, view: EventView = 'history'): string {
  return view === 'summary' ? summaryText(e) : historyText(e);
}

function historyText(e: StoredAuditEvent): string {
  switch (e.type) {
    case 'received':
      return `manifest s3://${text(e.detail.bucket)}/${text(e.detail.key)}${e.detail.versionId ? ` (version ${text(e.detail.versionId)})` : ''}`;
    case 'validated':
      return `valid manifest of ${text(e.detail.model)} ${text(e.detail.version)}`;
    case 'rejected':
      return rejectedText(e.detail);
    case 'lock_acquired':
      return `lock on ${text(e.detail.model)}${e.detail.takenOverFrom ? ` (taken over from ${text(e.detail.takenOverFrom)})` : ''}`;
    case 'lock_released':
      return `lock on ${text(e.detail.model)} released`;
    case 'approval_requested':
      return `waiting for approval${e.detail.verdict ? ` (verdict ${text(e.detail.verdict)})` : ''}`;
    case 'approved':
      return `approved by ${e.actor}`;
    case 'approval_rejected':
      return `rejected by ${e.actor}: ${text(e.detail.reason)}`;
    case 'rollback_failed':
      return `ROLLBACK FAILED (${text(e.detail.rollbackReason)}): ${text(e.detail.error)}`;
    case 'promoted':
      return `${text(e.detail.version)} promoted`;
    case 'serving':
      return text(e.detail.message);
    default:
      return commonText(e);
  }
}

function summaryText(e: StoredAuditEvent): string {
  switch (e.type) {
    case 'received':
    case 'validated':
    case 'lock_acquired':
    case 'lock_released':
    case 'approved':
    case 'promoted':
      return '';
    case 'rejected':
      return text(e.detail.cause);
    case 'approval_requested':
      return text(e.detail.summary);
    case 'approval_rejected':
    case 'rollback_failed':
      return text(e.detail.reason);
    case 'serving':
      return servingText(e.detail);
    default:
      return commonText(e);
  }
}

/** The events both views say alike. */
function commonText(e: Exclude<StoredAuditEvent, { type: 'received' | 'validated' | 'rejected' | 'lock_acquired' | 'lock_released' | 'approved' | 'approval_requested' | 'approval_rejected' | 'rollback_failed' | 'promoted' | 'serving' }>): string {
  switch (e.type) {
    case 'gate_check':
      return `${text(e.detail.name)}: ${e.detail.passed ? 'pass' : 'FAIL'} — ${text(e.detail.message)}`;
    case 'phase_started':
      return `${e.weight ?? '?'}% for ${text(e.detail.monitorMinutes)} min, ${text(e.detail.looks)} looks${e.detail.requiresApproval ? ', approval required' : ''}`;
    case 'analysis':
      return `look ${text(e.detail.iteration)}/${text(e.detail.looks)}: ${text(e.detail.verdict)} → ${text(e.detail.action)}${e.detail.heldBy ? ` (HELD: releases frozen by ${text(e.detail.heldBy.by)})` : ''}; ${text(e.detail.summary)}`;
    case 'rollback':
      return `${text(e.detail.reason)} ${text(e.detail.severity)} (${text(e.detail.trigger)}): ${text(e.detail.title)}`;
    case 'artifact_verified':
      return text(e.detail.reason ?? e.detail.message);
    case 'smoke_test':
      return text(e.detail.summary);
    case 'hold':
      return text(e.detail.reason);
    case 'hook':
      return `hook ${text(e.detail.hook)} (${text(e.detail.stage)}): ${e.detail.passed ? 'passed' : 'FAILED'} — ${text(e.detail.message)}`;
    case 'drill':
      return `rollback drill ${text(e.detail.action)}: ${e.detail.action === 'verify' ? (e.detail.passed ? 'passed — ' : 'FAILED — ') : ''}${text(e.detail.message)}`;
    case 'handed_over':
      return `handed over to ${text(e.detail.to)} (artifact SHA-256 ${text(e.detail.sha256).slice(0, 12)}…)`;
    case 'rollback_release':
      return `${e.detail.emergency ? 'EMERGENCY ' : ''}rollback release: brings back this version after the released ${text(e.detail.of)} (requested by ${text(e.detail.requestedBy)}${e.detail.approvedBy ? `, approved by ${text(e.detail.approvedBy)}` : ''}): ${text(e.detail.reason)}`;
    case 'hotfix':
      return hotfixText(e.detail);
    case 'freeze':
      return e.detail.state === 'frozen'
        ? `releases frozen by ${e.actor}: ${text(e.detail.reason)} (no release starts, those in flight hold)`
        : `releases unfrozen by ${e.actor}${e.detail.since ? ` (frozen since ${text(e.detail.since)} by ${text(e.detail.frozenBy)})` : ''}: ${text(e.detail.reason)}`;
    case 'rollback_requested':
      return `rollback${e.detail.to ? ` to ${text(e.detail.to)}` : ''} requested by ${e.actor}, waiting for a second identity: ${text(e.detail.reason)}`;
    case 'bake':
      return `bake ${text(e.detail.state)} (${text(e.detail.watchedMinutes)}/${text(e.detail.plannedMinutes)} min${e.detail.reference ? `, against the previous version a ${text(e.detail.reference)} before` : ''}): ${text(e.detail.summary)}`;
    case 'recovery':
      return `${e.detail.recovered ? 'recovered' : 'NOT RECOVERED'}: ${text(e.detail.message)}`;
    case 'post_rollback_analysis_failed':
      return `post-rollback analysis not written (${text(e.detail.stage)} of ${text(e.detail.key)}): ${text(e.detail.error)}`;
    case 'handover':
      return `hand-over from ${text(e.detail.from)} (account ${text(e.detail.account)}) ${e.detail.accepted ? 'accepted' : 'REFUSED'}: ${text(e.detail.message)}`;
    case 'incident':
      return incidentText(e.detail, e.actor);
  }
}

function incidentText(d: StoredAuditEventOf<'incident'>['detail'], actor: string): string {
  const which = d.incident ?? `incident (${text(d.key)})`;
  if (d.action === 'opened') return `incident opened ${text(d.severity)} (${text(d.reason)}): ${text(d.title)}`;
  if (d.action === 'update') return `${text(which)}: status update ${text(d.update)} sent (still open, not acknowledged)`;
  return `${text(which)} ${text(d.action)} by ${actor}${d.note ? `: ${text(d.note)}` : ''}`;
}

function hotfixText(d: StoredAuditEventOf<'hotfix'>['detail']): string {
  const plan = d.plan ? `; plan ${d.plan.map((p) => `${p.weight}%`).join(' → ')}` : '';
  return `HOTFIX for ${text(d.incident)} requested by ${text(d.requestedBy)} (approval by another identity)${plan}${d.overrideFreeze ? '; overrides a freeze' : ''}: ${text(d.reason)}`;
}

function rejectedText(d: StoredAuditEventOf<'rejected'>['detail']): string {
  const issues = d.issues === undefined ? '' : `: ${d.issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}`;
  const failed = d.failedChecks === undefined ? '' : `: ${d.failedChecks.map((c) => c.name).join(', ')} failed`;
  const holder = d.holder === null ? ': another release holds the lock' : d.holder ? `: ${d.holder} holds the lock` : '';
  return `${text(d.cause)}${issues}${failed}${holder}`;
}

function servingText(d: StoredAuditEventOf<'serving'>['detail']): string {
  const what = d.goal === 'candidate_deployed' ? 'deploy' : d.goal === 'converged' ? 'converge' : 'remove candidate';
  if (d.state === 'planned') {
    const { baseline, candidate } = d;
    const next = baseline === null ? 'nothing (a first release)' : `baseline ${baseline?.model ?? '?'}`;
    return `deploy planned on ${String(d.resource)}: candidate ${candidate?.model ?? '?'} (${candidate?.instanceCount ?? '?'}× ${candidate?.instanceType ?? '?'}) next to ${next}`;
  }
  if (d.state === 'applied') return `${what}: asked ${String(d.resource)} for ${String(d.config ?? 'no endpoint')}`;
  return `${what} ${String(d.state)}: ${String(d.message ?? '')}`;
}
