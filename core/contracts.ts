/**
 * The payloads between the state machines and the Lambda handlers, as zod schemas: the state
 * machine definitions (lib/) build exactly these, the handlers (lambdas/) parse exactly these, and
 * the embedded runtime (local/) runs both. State names are part of the contract (the local runtime
 * keys its task handlers by state name): see STATE_NAMES.
 */
import * as z from 'zod';
import { CanaryVerdictSchema, LatencyThresholdsSchema, MinuteDatapointSchema } from './analysis.js';
import { DEPLOYMENT_GOALS, DeploymentSchema, ServingRequestSchema, SmokeResultSchema, SmokeSampleSchema } from './deployment.js';
import { GateResultSchema } from './gates.js';
import { REJECT_CAUSES, REJECTION_FOLLOW_UPS } from './lifecycle.js';
import { ReleaseManifestSchema } from './manifest.js';
import { MONITOR_ACTIONS, PhaseSchema } from './plan.js';
import { RollbackTriggerSchema } from './rollback.js';
import { HOOK_STAGES } from './environment-settings.js';
import { SEVERITIES } from './severity.js';

export { REJECT_CAUSES, type RejectCause } from './lifecycle.js';
export { RollbackTriggerSchema } from './rollback.js';

export const ReleaseIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be 1-80 chars of A-Z a-z 0-9 _ -');

/** Where a release's manifest was uploaded (one S3 object version). */
export const ReleaseSourceSchema = z.strictObject({
  bucket: z.string().min(3),
  key: z.string().min(1),
  versionId: z.string().min(1).nullable(),
  etag: z.string().nullable(),
});
export type ReleaseSource = z.infer<typeof ReleaseSourceSchema>;

/** Input of the promotion state machine (started by the intake handler). */
export const PromotionInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  source: ReleaseSourceSchema,
  receivedAt: z.iso.datetime(),
});
export type PromotionInput = z.infer<typeof PromotionInputSchema>;

// ---- ValidateManifest --------------------------------------------------------------------------
/**
 * ValidateManifest: the promotion's input, and the configured phase plans (static in the machine) the
 * release's plan comes from: `phases`, and `hotfixPhases` for a hotfix (absent: hotfixes run `phases`).
 */
export const ValidateInputSchema = PromotionInputSchema.extend({ phases: z.array(PhaseSchema).min(1).optional(), hotfixPhases: z.array(PhaseSchema).min(1).optional() });
export const ValidateOutputSchema = z.strictObject({
  valid: z.boolean(),
  model: z.string(),
  version: z.string(),
  manifest: ReleaseManifestSchema.nullable(),
  manifestSha256: z.string(),
  issues: z.array(z.strictObject({ path: z.string(), message: z.string() })),
  /** The manifest's `serving` request (null when absent), at a path that always exists for the state machine. */
  serving: ServingRequestSchema.nullable(),
  /**
   * The phases this release runs (core/manifest.ts releasePlan: the configured plan, the hotfix plan
   * for a hotfix, or one 100% phase for an emergency rollback release); null when the manifest is
   * invalid or no plan was given.
   */
  plan: z.array(PhaseSchema).nullable().default(null),
});
export type ValidateOutput = z.infer<typeof ValidateOutputSchema>;

// ---- AcquireLock / ReleaseLock -----------------------------------------------------------------
export const LockInputSchema = z.strictObject({
  action: z.enum(['acquire', 'release']),
  releaseId: ReleaseIdSchema,
  model: z.string(),
});
/** `holder`: who holds the lock; null when it is free, or was taken by a release that could not be named (core/ports.ts LockResult). */
export const LockOutputSchema = z.strictObject({ acquired: z.boolean(), holder: z.string().nullable() });
export type LockOutput = z.infer<typeof LockOutputSchema>;

// ---- RunGates ----------------------------------------------------------------------------------
export const GatesInputSchema = z.strictObject({ releaseId: ReleaseIdSchema, manifest: ReleaseManifestSchema });
/** Output: core/gates.ts GateResult. */
export const GatesOutputSchema = GateResultSchema;

// ---- VerifyArtifact ----------------------------------------------------------------------------
export const VerifyArtifactInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  artifact: z.strictObject({ uri: z.string(), sha256: z.string() }),
});
export const VerifyArtifactOutputSchema = z.strictObject({
  ok: z.boolean(),
  reason: z.enum(['artifact_location', 'artifact_missing', 'artifact_digest_mismatch']).nullable(),
  message: z.string(),
  sha256: z.string().nullable(),
  digestSource: z.enum(['checksum', 'computed']).nullable(),
  size: z.number().nullable(),
  versionId: z.string().nullable(),
});
export type VerifyArtifactOutput = z.infer<typeof VerifyArtifactOutputSchema>;

// ---- Serving target: deploy, converge, remove (one loop per goal), smoke test ------------------
/**
 * Where a goal stands, carried at `$.serving` between the Apply / Check tasks of a goal's loop.
 * `next` is the core's decision (core/app/serving.ts); the Choice state only dispatches on it.
 */
export const ServingProgressSchema = z.strictObject({
  goal: z.enum(DEPLOYMENT_GOALS),
  /** Null only when nothing was ever deployed for the release (removal has nothing to do). */
  deployment: DeploymentSchema.nullable(),
  next: z.enum(['apply', 'check', 'done', 'failed']),
  message: z.string(),
  failureReason: z.string().nullable(),
  /** When the goal was first applied: the timeout counts from here. */
  startedAt: z.iso.datetime().nullable(),
  /** Not applied before this time (the bake period before converging). */
  notBefore: z.iso.datetime().nullable(),
  /** The Wait state's TimestampPath. */
  nextCheckAt: z.iso.datetime(),
  checks: z.number().int().min(0),
});
export type ServingProgress = z.infer<typeof ServingProgressSchema>;

export const ServingInputSchema = z.discriminatedUnion('action', [
  /** Plans the candidate's deployment from the target as it is (or takes the one recorded), records it, and applies it. */
  z.strictObject({
    action: z.literal('deploy'),
    releaseId: ReleaseIdSchema,
    model: z.string(),
    version: z.string(),
    artifact: z.strictObject({ uri: z.string(), sha256: z.string() }),
    serving: ServingRequestSchema.nullable(),
  }),
  /** Opens the loop of a goal on the deployment recorded for the release. */
  z.strictObject({ action: z.literal('start'), releaseId: ReleaseIdSchema, goal: z.enum(['converged', 'candidate_removed']) }),
  z.strictObject({ action: z.literal('apply'), releaseId: ReleaseIdSchema, progress: ServingProgressSchema }),
  z.strictObject({ action: z.literal('check'), releaseId: ReleaseIdSchema, progress: ServingProgressSchema }),
  z.strictObject({ action: z.literal('smoke'), releaseId: ReleaseIdSchema, deployment: DeploymentSchema, samples: z.array(SmokeSampleSchema) }),
]);
export type ServingInput = z.infer<typeof ServingInputSchema>;

export const SmokeOutputSchema = z.strictObject({
  passed: z.boolean(),
  summary: z.string(),
  results: z.array(SmokeResultSchema),
});
export type SmokeOutput = z.infer<typeof SmokeOutputSchema>;

// ---- RejectRelease -----------------------------------------------------------------------------
export const RejectInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  cause: z.enum(REJECT_CAUSES),
  validation: ValidateOutputSchema,
  /** When cause = gates_failed. */
  gate: GateResultSchema.optional(),
  /** LockOutput when cause = lock_busy. */
  lock: LockOutputSchema.optional(),
  /** VerifyArtifactOutput when cause = artifact_rejected. */
  artifact: VerifyArtifactOutputSchema.optional(),
  /** ServingProgress when cause = deploy_failed. */
  serving: ServingProgressSchema.optional(),
  /** SmokeOutput when cause = smoke_failed. */
  smoke: SmokeOutputSchema.optional(),
  /** HooksOutput when cause = verification_failed (a before_traffic hook). */
  hooks: z.lazy(() => HooksOutputSchema).optional(),
});
/**
 * `then`: what the promotion machine does after the rejection (core/lifecycle.ts AFTER_REJECTION):
 * remove the deployed candidate and release the lock, only release the lock, or nothing (the lock
 * was never taken, or is another release's).
 */
export const RejectOutputSchema = z.strictObject({
  outcome: z.literal('rejected'),
  cause: z.enum(REJECT_CAUSES),
  then: z.enum(REJECTION_FOLLOW_UPS),
});
export type RejectOutput = z.infer<typeof RejectOutputSchema>;

// ---- Canary state machine ----------------------------------------------------------------------
/** Input of the canary state machine (the promotion machine's RunCanary task builds it). */
export const CanaryInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  phases: z.array(PhaseSchema).min(1),
  maxLooksPerPhase: z.number().int().min(1),
});
export type CanaryInput = z.infer<typeof CanaryInputSchema>;

/** The loop state of the current phase, carried in `$.phase` between the canary's states. */
export const PhaseStateSchema = z.strictObject({
  index: z.number().int().min(0),
  weight: z.number(),
  monitorMinutes: z.number().int(),
  requiresApproval: z.boolean(),
  lookEveryMinutes: z.number().int(),
  /** Wait state's SecondsPath. */
  lookEverySeconds: z.number().int(),
  looks: z.number().int(),
  iteration: z.number().int().min(0),
  startedAt: z.iso.datetime(),
  isLast: z.boolean(),
  nextIndex: z.number().int(),
  /** Set by AnalyzeCanary. */
  action: z.enum(MONITOR_ACTIONS).nullable(),
  /** The latest verdict, null before the first look. */
  verdict: CanaryVerdictSchema.nullable(),
  /** Consecutive looks without metrics so far (core/analysis.ts noDataVerdict). */
  noDataLooks: z.number().int().min(0).default(0),
  /** The phase's latency thresholds once fixed (core/analysis.ts latencyThresholds); the metrics count the requests above them. */
  latencyThresholdsMs: LatencyThresholdsSchema.nullable().optional(),
});
export type PhaseState = z.infer<typeof PhaseStateSchema>;

// StartPhase: sets the weight of phase `phaseIndex`, records the canary execution; → PhaseState at $.phase
export const StartPhaseInputSchema = CanaryInputSchema.extend({
  phaseIndex: z.number().int().min(0),
  executionArn: z.string(),
});

// AnalyzeCanary: one look; → PhaseState at $.phase
export const AnalyzeInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  phase: PhaseStateSchema,
});

// RequestApproval (.waitForTaskToken): stores the token, notifies approvers; the answer is the task's output.
export const ApprovalRequestSchema = z.strictObject({
  taskToken: z.string().min(1),
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  phase: PhaseStateSchema,
});
/** What an approver sends back with SendTaskSuccess (rejections use SendTaskFailure, error "Rejected"). */
export const ApprovalAnswerSchema = z.strictObject({ approvedBy: z.string().min(1), at: z.iso.datetime() });
export const APPROVAL_REJECTED_ERROR = 'Rejected';

// Promote
export const PromoteInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  phase: PhaseStateSchema,
});

// ---- Rollback (state machines, alarm path, operators) ------------------------------------------
export const RollbackInputSchema = z.strictObject({
  /** Null from the alarm path: the model's lock holder is the release in flight. */
  releaseId: ReleaseIdSchema.nullable(),
  model: z.string(),
  trigger: RollbackTriggerSchema,
  /** Stop the canary execution (alarm path, operators); false when the canary machine itself calls. */
  stopExecution: z.boolean(),
});
export type RollbackInput = z.infer<typeof RollbackInputSchema>;

export const ROLLBACK_OUTCOMES = ['rolled_back', 'already_rolled_back', 'no_release_in_flight', 'already_promoted', 'ignored_warm_up'] as const;
export const RollbackOutputSchema = z.strictObject({
  outcome: z.enum(ROLLBACK_OUTCOMES),
  releaseId: z.string().nullable(),
  /** The rollback's reason code (core/severity.ts), as the release's outcome recorded it. */
  reason: z.string().nullable(),
  severity: z.enum(SEVERITIES).nullable(),
  message: z.string(),
});
export type RollbackOutput = z.infer<typeof RollbackOutputSchema>;

/** Error name the rollback handler throws when it could not restore the baseline (after paging P0). */
export const ROLLBACK_FAILED_ERROR = 'RollbackFailed';

// ---- Verification hooks (RunHooks tasks of both machines) ---------------------------------------
/** A stage's hooks: before traffic (promotion machine), during or after a phase (canary machine, with `phase`). */
export const HooksInputSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  model: z.string(),
  version: z.string(),
  stage: z.enum(HOOK_STAGES),
  /** The phase's state (during/after a phase); absent before traffic. */
  phase: z.object({ index: z.number().int().min(0), weight: z.number() }).optional(),
});
export type HooksInput = z.infer<typeof HooksInputSchema>;
export const HookResultSchema = z.strictObject({
  hook: z.string(),
  functionArn: z.string(),
  stage: z.enum(HOOK_STAGES),
  passed: z.boolean(),
  message: z.string(),
  metrics: z.record(z.string(), z.number()),
  durationMs: z.number(),
});
/** `passed` drives the machine's Choice; `failure` and `severity` name what failed for the rejection or rollback. */
export const HooksOutputSchema = z.strictObject({
  passed: z.boolean(),
  stage: z.enum(HOOK_STAGES),
  results: z.array(HookResultSchema),
  failure: z.strictObject({ hook: z.string(), message: z.string() }).nullable(),
  severity: z.enum(SEVERITIES).nullable(),
});
export type HooksOutput = z.infer<typeof HooksOutputSchema>;

// ---- Rollback drill (pre-production, before the last phase promotes) ---------------------------
export const DrillInputSchema = z.discriminatedUnion('action', [
  /** Rolls the candidate back on purpose (0%); plans the wait before the verdict. */
  z.strictObject({ action: z.literal('rollback'), releaseId: ReleaseIdSchema, model: z.string(), version: z.string(), phase: z.object({ index: z.number().int().min(0), weight: z.number() }) }),
  /** Judges whether the baseline served alone since `drill.startedAt`. */
  z.strictObject({ action: z.literal('verify'), releaseId: ReleaseIdSchema, model: z.string(), version: z.string(), phase: z.object({ index: z.number().int().min(0), weight: z.number() }), drill: z.object({ startedAt: z.iso.datetime() }) }),
  /** Gives the candidate its phase's weight back. */
  z.strictObject({ action: z.literal('restore'), releaseId: ReleaseIdSchema, model: z.string(), version: z.string(), phase: z.object({ index: z.number().int().min(0), weight: z.number() }) }),
]);
export type DrillInput = z.infer<typeof DrillInputSchema>;
export const DrillOutputSchema = z.strictObject({
  action: z.enum(['rollback', 'verify', 'restore']),
  startedAt: z.iso.datetime(),
  /** rollback: seconds the Wait state waits before the verdict. */
  waitSeconds: z.number().int().min(0),
  /** verify: the verdict (rollback and restore: true). */
  passed: z.boolean(),
  message: z.string(),
});
export type DrillOutput = z.infer<typeof DrillOutputSchema>;

// ---- Hand-over to the next environment (after the promotion released the lock) ------------------
export const HandOverInputSchema = z.strictObject({ releaseId: ReleaseIdSchema, model: z.string(), version: z.string() });
export const HandOverOutputSchema = z.strictObject({ sent: z.boolean(), to: z.string().nullable(), bytes: z.number().int().min(0) });
export type HandOverOutput = z.infer<typeof HandOverOutputSchema>;

// ---- Bake (post-release validation) and recovery (after a rollback) -----------------------------
/** The bake loop's state, carried in `$.bake` between the promotion machine's bake states. */
export const BakeStateSchema = z.strictObject({
  startedAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  minutes: z.number().int().min(0),
  lookEverySeconds: z.number().int().min(60),
  iteration: z.number().int().min(0),
  /** continue: wait and look again; rollback: a regression against the previous version; released: the bake ended clean. */
  action: z.enum(['continue', 'rollback', 'released']),
  verdict: CanaryVerdictSchema.nullable(),
  reference: z.enum(['day', 'week']).nullable(),
});
export type BakeState = z.infer<typeof BakeStateSchema>;
export const BakeInputSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('start'), releaseId: ReleaseIdSchema, model: z.string(), version: z.string() }),
  z.strictObject({ action: z.literal('watch'), releaseId: ReleaseIdSchema, model: z.string(), version: z.string(), bake: BakeStateSchema }),
]);
export type BakeInput = z.infer<typeof BakeInputSchema>;

export const RecoveryInputSchema = z.discriminatedUnion('action', [
  /** When to judge: the rollback's time plus the settle and recovery minutes. */
  z.strictObject({ action: z.literal('plan'), releaseId: ReleaseIdSchema, model: z.string() }),
  z.strictObject({ action: z.literal('verify'), releaseId: ReleaseIdSchema, model: z.string(), recovery: z.object({ rolledBackAt: z.iso.datetime().nullable(), checkAt: z.iso.datetime() }) }),
]);
export type RecoveryInput = z.infer<typeof RecoveryInputSchema>;
export const RecoveryOutputSchema = z.strictObject({
  rolledBackAt: z.iso.datetime().nullable(),
  checkAt: z.iso.datetime(),
  /** null until verified (plan), and when nothing was rolled back to check. */
  recovered: z.boolean().nullable(),
  message: z.string(),
});
export type RecoveryOutput = z.infer<typeof RecoveryOutputSchema>;

/** The metrics window an analysis reads (also the embedded runtime's metric store format). */
export const MetricsWindowSchema = z.array(MinuteDatapointSchema);

/**
 * State names: part of the contract (tests, the embedded runtime and dashboards refer to them).
 */
export const STATE_NAMES = {
  promotion: {
    validate: 'ValidateManifest',
    isValid: 'IsManifestValid',
    acquireLock: 'AcquireLock',
    lockAcquired: 'LockAcquired',
    gates: 'RunGates',
    gatesPassed: 'GatesPassed',
    verifyArtifact: 'VerifyArtifact',
    artifactVerified: 'ArtifactVerified',
    deploy: 'DeployCandidate',
    smoke: 'SmokeTest',
    smokePassed: 'SmokePassed',
    reject: 'RejectRelease',
    runCanary: 'RunCanary',
    rollbackOnFailure: 'RollbackOnCanaryFailure',
    releaseLock: 'ReleaseLock',
    releaseLockAfterFailure: 'ReleaseLockAfterFailure',
    rejectedReleaseLock: 'ReleaseLockAfterReject',
    /** After RollbackOnCanaryFailure: a release already promoted (or released) keeps its version; any other is removed. */
    afterFailureRollback: 'AfterFailureRollback',
    /** After RemoveAfterFailure: the recovery check of the alarm path (already rolled back) or of the failure path. */
    wasAlreadyRolledBack: 'WasAlreadyRolledBack',
  },
  /**
   * The bake after the canary promoted (lib/promotion-state-machine.ts), in every promotion machine:
   * StartBake, then looks (WaitForBakeLook → WatchBake) until BakeDecision sees `released` (→ the
   * converge loop) or `rollback` (RollbackOnBake → BakeRolledBack → the removal after a rollback).
   */
  promotionBake: {
    startBake: 'StartBake',
    bakeDecision: 'BakeDecision',
    waitForBakeLook: 'WaitForBakeLook',
    watchBake: 'WatchBake',
    rollbackOnBake: 'RollbackOnBake',
    bakeRolledBack: 'BakeRolledBack',
    unknownBakeAction: 'UnknownBakeAction',
  },
  /**
   * The recovery check after each rollback of the promotion machine, one set of states per path,
   * each before the lock is released: after the removal that follows the canary's (or the bake's)
   * rollback, after the removal on the alarm path (RollbackOnCanaryFailure answered
   * `already_rolled_back`), and after the removal on the task-failure path.
   */
  promotionRecovery: {
    planRecovery: 'PlanRecovery',
    waitForRecovery: 'WaitForRecovery',
    verifyRecovery: 'VerifyRecovery',
    planRecoveryAfterAlarm: 'PlanRecoveryAfterAlarm',
    waitForRecoveryAfterAlarm: 'WaitForRecoveryAfterAlarm',
    verifyRecoveryAfterAlarm: 'VerifyRecoveryAfterAlarm',
    planRecoveryAfterFailure: 'PlanRecoveryAfterFailure',
    waitForRecoveryAfterFailure: 'WaitForRecoveryAfterFailure',
    verifyRecoveryAfterFailure: 'VerifyRecoveryAfterFailure',
  },
  canary: {
    startPhase: 'StartPhase',
    wait: 'WaitForNextLook',
    analyze: 'AnalyzeCanary',
    decide: 'MonitorDecision',
    requestApproval: 'RequestApproval',
    nextPhase: 'NextPhase',
    promote: 'Promote',
    rollbackOnVerdict: 'RollbackOnVerdict',
    rollbackOnRejection: 'RollbackOnRejection',
    rollbackOnTimeout: 'RollbackOnApprovalTimeout',
    rollbackOnFailure: 'RollbackOnTaskFailure',
  },
  /**
   * The environment chain's states of the promotion machine (lib/promotion-state-machine.ts), present
   * only where the machine's props ask for them: the before-traffic hooks (`beforeTrafficHooks`) and
   * the hand-over (`handOverFunction`). With a hand-over, a rolled-back release releases the lock in
   * `releaseLockAfterRollback` (never followed by the hand-over); `promotion.releaseLock` stays the
   * promoted release's.
   */
  promotionChain: {
    beforeTrafficHooks: 'BeforeTrafficHooks',
    beforeTrafficHooksPassed: 'BeforeTrafficHooksPassed',
    markVerificationFailed: 'MarkVerificationFailed',
    handOver: 'HandOver',
    handOverFailed: 'HandOverFailed',
    releaseLockAfterRollback: 'ReleaseLockAfterRollback',
  },
  /**
   * The environment chain's states of the canary machine (lib/canary-state-machine.ts), present only
   * where the machine's props ask for them: the hooks during a phase (`duringPhaseHooks`), after a
   * phase (`afterPhaseHooks`) and the rollback drill (`drillFunction`).
   */
  canaryChain: {
    duringPhaseHooks: 'DuringPhaseHooks',
    duringPhaseHooksPassed: 'DuringPhaseHooksPassed',
    rollbackOnVerification: 'RollbackOnVerification',
    afterPhaseHooks: 'AfterPhaseHooks',
    afterPhaseHooksPassed: 'AfterPhaseHooksPassed',
    afterPhaseAction: 'AfterPhaseAction',
    rollbackOnAfterPhaseVerification: 'RollbackOnAfterPhaseVerification',
    rollbackDrill: 'RollbackDrill',
    waitForDrill: 'WaitForDrill',
    verifyDrill: 'VerifyDrill',
    drillPassed: 'DrillPassed',
    restoreAfterDrill: 'RestoreAfterDrill',
    rollbackOnDrill: 'RollbackOnDrill',
  },
} as const;
