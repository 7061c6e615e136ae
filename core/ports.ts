/**
 * The ports between the release logic and the world (architecture.md "The seams"). The core and its
 * use cases (core/app/) speak only to these interfaces; AWS adapters live in lambdas/adapters/, the
 * embedded runtime's in local/. No AWS import here.
 */
import type { LatencyThresholds, MinuteDatapoint } from './analysis.js';
import type { ArtifactFacts, Deployment, DeploymentGoal, ServingState, SmokeResponse, SmokeSample } from './deployment.js';
import type { AuditEvent, StoredAuditEvent } from './audit.js';
import type { ReleaseStatus } from './lifecycle.js';
import type { RecordPatch, ReleaseRecord } from './release-record.js';
import type { HandoverRecord } from './handover.js';
import type { Freeze } from './freeze.js';
import type { HookCall, HookRequest } from './verification.js';
import type { ReasonCode, Severity } from './severity.js';

export interface MetricsQuery {
  readonly model: string;
  readonly from: Date;
  readonly to: Date;
  readonly latencyThresholdsMs?: LatencyThresholds | null;
}

/** Canary and baseline datapoints, one per minute, of one model. */
export interface MetricsSource {
  /**
   * Datapoints for the minutes in [from, to), `minute` counted from `from`. With
   * `latencyThresholdsMs`, each variant's minute also counts its latency values above them
   * (`latencyAbove`: CloudWatch's SampleCount and percentile rank PR(:T)).
   */
  window(query: MetricsQuery): Promise<MinuteDatapoint[]>;
}

/** Traffic split of one model between its baseline and candidate variants, in percent. */
export interface TrafficSplit {
  readonly baseline: number;
  readonly candidate: number;
}

export interface TrafficRouter {
  /** Candidate gets `weight` percent, the baseline the rest. */
  setCandidateWeight(model: string, weight: number): Promise<void>;
  current(model: string): Promise<TrafficSplit>;
  /** The candidate becomes the new baseline and takes 100%. */
  promoteCandidate(model: string): Promise<void>;
  /** 100% to the baseline; the candidate variant's capacity is released (canary clean-up). Idempotent. */
  restoreBaseline(model: string): Promise<void>;
}

export type NotificationChannel = 'incident' | 'approval' | 'info';

export interface Notification {
  readonly channel: NotificationChannel;
  /** Required for incidents (SNS message attribute `severity`, for subscription filters). */
  readonly severity: Severity | null;
  readonly reason: ReasonCode | 'rejected' | 'promoted' | 'approval_requested' | 'hold' | 'hotfix' | null;
  readonly model: string;
  readonly version: string;
  readonly releaseId: string;
  readonly title: string;
  readonly text: string;
}

export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

// The release record, its lifecycle and its audit events have their own modules; re-exported here.
export type { AuditEvent, AuditEventType, StoredAuditEvent } from './audit.js';
export type { RecordPatch, ReleaseRecord } from './release-record.js';
export type { ReleaseStatus } from './lifecycle.js';
export { ACTIVE_STATUSES, RELEASE_STATUSES, TERMINAL_STATUSES, isTerminal } from './lifecycle.js';

export type TransitionResult =
  | { readonly ok: true; readonly record: ReleaseRecord }
  | { readonly ok: false; readonly record: ReleaseRecord | null };

/**
 * The audit timeline and the release records. Every write stays within DynamoDB's item limit
 * (400 KB in UTF-8 bytes, core/ledger-items.ts), checked before it is made: an event whose detail
 * is too large is stored with its detail shrunk and marked `truncated`, a record field too large
 * with its strings shortened (on a character boundary).
 */
export interface AuditLedger {
  /**
   * Appends an event; a second append of the same eventId changes nothing. The ledger gives the
   * event the release's next sequence number and links it to the event before it by hash
   * (core/ledger-chain.ts): the timeline's order is the order of the appends.
   */
  append(event: AuditEvent): Promise<'appended' | 'duplicate'>;
  /** The release's events in the order they were appended (the ledger's sequence), whatever their `at`; details as stored. */
  timeline(releaseId: string): Promise<StoredAuditEvent[]>;
  /**
   * The release's event items exactly as stored, chain fields included (`seq`, `prevHash`, `hash`:
   * core/ledger-chain.ts), in chain order: what `builderbrain audit verify` checks.
   */
  chainItems(releaseId: string): Promise<Record<string, unknown>[]>;
  /** Creates the record if absent; returns the stored one either way. */
  createRelease(record: ReleaseRecord): Promise<{ created: boolean; record: ReleaseRecord }>;
  getRelease(releaseId: string): Promise<ReleaseRecord | null>;
  /** Conditional update: applies `patch` (and `to`) only while the status is one of `from`. */
  transition(releaseId: string, from: readonly ReleaseStatus[], to: ReleaseStatus, patch?: RecordPatch): Promise<TransitionResult>;
  /** Conditional update of fields without a status change (e.g. lastVerdict, approvers). */
  update(releaseId: string, patch: RecordPatch): Promise<void>;
  /** Claims the release's single incident; false when it was already claimed. */
  claimIncident(releaseId: string): Promise<boolean>;
  /** Gives the claim back after a failed publish, so a retry can page. */
  releaseIncidentClaim(releaseId: string): Promise<void>;
  /** Releases, newest first (bounded). */
  listReleases(limit: number): Promise<ReleaseRecord[]>;
  /**
   * Every release not yet ended (not rejected, promoted or rolled back), newest first, from an index
   * of the active releases only: however many releases ended since, a waiting one is listed.
   */
  listActiveReleases(): Promise<ReleaseRecord[]>;
  /** Task token of the approval a phase waits for (stored, never logged or sent). */
  putTaskToken(releaseId: string, phase: number, token: string): Promise<void>;
  getTaskToken(releaseId: string, phase: number): Promise<string | null>;
  deleteTaskToken(releaseId: string, phase: number): Promise<void>;
  /** The emergency freeze (core/freeze.ts), null when releases are not frozen. Consistent read. */
  getFreeze(): Promise<Freeze | null>;
  /** Freezes (overwriting an earlier freeze) or, with null, unfreezes. */
  setFreeze(freeze: Freeze | null): Promise<void>;
  /** Keeps an accepted hand-over (core/handover.ts): what admits the version's release in this environment. Overwrites. */
  putHandover(record: HandoverRecord): Promise<void>;
  getHandover(model: string, version: string): Promise<HandoverRecord | null>;
}

/**
 * `holder` null: the lock is taken but its holder could not be named (it changed hands while the
 * adapter looked: lost a race twice). The core words that for people (core/app/reject-release.ts).
 */
export type LockResult = { readonly acquired: true } | { readonly acquired: false; readonly holder: string | null };

/** One release per model at a time. */
export interface ReleaseLock {
  /** Acquiring again with the holder's own releaseId succeeds (a retried step). */
  acquire(model: string, releaseId: string): Promise<LockResult>;
  /** Releases only if `releaseId` holds it; idempotent. */
  release(model: string, releaseId: string): Promise<void>;
  holder(model: string): Promise<string | null>;
}

export interface Executions {
  /** Starts an execution named `name`; an existing one of that name is reported, not restarted. */
  start(name: string, input: unknown): Promise<{ executionArn: string; duplicate: boolean }>;
  /** Stops a running execution; stopping a finished or unknown one is not an error. */
  stop(executionArn: string, cause: string): Promise<void>;
  sendTaskSuccess(token: string, output: unknown): Promise<void>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
}

/** Where uploaded manifests and model artifacts are read from (nothing uploaded is ever changed); the pipeline's own reports are written next to them. */
export interface ArtifactStore {
  getObjectText(source: { bucket: string; key: string; versionId: string | null }, maxBytes: number): Promise<{ text: string; tooLarge: boolean; size: number }>;
  /**
   * Existence, size, version and whole-object SHA-256 of an artifact: the store's own stored
   * checksum when the upload carried a full-object SHA-256, otherwise computed by streaming the
   * object (never buffered whole: artifacts are gigabytes).
   */
  describeArtifact(location: { bucket: string; key: string }): Promise<ArtifactFacts>;
  /**
   * Writes one of the pipeline's own reports (the post-rollback analysis, core/post-rollback.ts)
   * under `analysis/` of the bucket — never anything uploaded. Refuses, unwritten, a text over
   * `maxBytes` (UTF-8) or a key outside `analysis/` (core/post-rollback.ts reportWriteIssue);
   * overwrites (a retried step writes the same key).
   */
  putReport(location: { bucket: string; key: string }, text: string, maxBytes: number): Promise<{ bytes: number }>;
}

/**
 * The serving target a release deploys to: a SageMaker endpoint (production variants) or a Lambda
 * function (published versions behind aliases). Adapters observe and act; core/deployment.ts
 * decides (the plan, and whether a goal is reached, pending or failed).
 */
export interface ServingTarget {
  readonly kind: 'sagemaker' | 'lambda';
  /** What serves now (SageMaker: DescribeEndpoint + its EndpointConfig; Lambda: the live alias). */
  observe(): Promise<ServingState>;
  /**
   * Asks the target to move to `goal`, creating first what the goal needs (SageMaker: the Model and
   * EndpointConfig named in the deployment; Lambda: a published version carrying the artifact,
   * the candidate alias on it). Idempotent and resumable: what already exists is found, not created
   * again; a target already on, or moving to, the goal is left alone. Returns the deployment with
   * what became known (the Lambda version).
   */
  apply(goal: DeploymentGoal, deployment: Deployment): Promise<Deployment>;
  /** Sends one request to the candidate alone (SageMaker TargetVariant, the Lambda version). */
  invoke(deployment: Deployment, sample: SmokeSample): Promise<SmokeResponse>;
}

export interface Clock {
  now(): Date;
}

/** Invokes a team's verification hook (a Lambda function, by ARN) and reports what came back; never throws. */
export interface HookInvoker {
  invoke(functionArn: string, request: HookRequest, timeoutMs: number): Promise<HookCall>;
}

/** A PutEvents entry of the hand-over (core/handover.ts handoverEntry: sized before the call). */
export interface HandoverEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  /** The next environment's hand-over bus, by ARN (another account's). */
  readonly EventBusName: string;
}

/** Sends the hand-over event to the next environment's bus; throws when EventBridge refuses it. */
export interface HandoverBus {
  send(entry: HandoverEntry): Promise<void>;
}

/** The receiver's side of the artifact hand-over: copies from the previous environment's bucket into its own. */
export interface UpstreamArtifacts {
  /**
   * Copies `from` (the previous environment's bucket, in its account) to `to` (this pipeline's
   * bucket), computing the SHA-256 of the bytes as they stream through (never buffered whole).
   * `sha256` null, with `error`, when `from` could not be read.
   */
  copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<{ sha256: string | null; size: number | null; error: string | null }>;
  /** Writes this environment's release.json (its upload starts the release, as a team's upload would). */
  putManifest(to: { bucket: string; key: string }, text: string): Promise<{ versionId: string | null }>;
}
