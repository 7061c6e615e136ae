/**
 * The lifecycle of a release record, as one table: its statuses, the moves between them (each named
 * by the step that makes it), which statuses are active, in flight or ended, what an operator is
 * offered in each, whether the model's lock stays with the release, what the promotion does after
 * each kind of rejection, and what a rollback or an approval of a release that is no longer there
 * to act on answers. The use cases (core/app/), the ledgers (the index of releases in flight), the
 * CLI and the embedded runtime all read it here. Pure: no I/O.
 */
import type { RollbackOutput } from './contracts.js';
import type { AuditLedger, TransitionResult } from './ports.js';
import type { RecordPatch, ReleaseRecord } from './release-record.js';

export const RELEASE_STATUSES = [
  'received',
  'gated',
  'canary',
  'awaiting_approval',
  'rolling_back',
  'rejected',
  'promoted',
  /** At 100% and watched against the previous version (core/bake.ts), which stays warm. */
  'baking',
  /** The bake ended clean (or there was none to run): the version serves, the previous one is removed. */
  'released',
  'rolled_back',
] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** What an operator can ask of a release (`builderbrain approve | reject | rollback`). */
export type OperatorAction = 'approve' | 'reject' | 'rollback';

export interface StatusRule {
  /** The pipeline drives the release forward (gates, canary, approvals); a rollback may start here. */
  readonly active: boolean;
  /** Nothing moves the release any more; the ledger's index of releases in flight drops it. */
  readonly ended: boolean;
  /**
   * The model's lock stays with the release even when its pipeline asks to release it: traffic may
   * still be on the candidate (a rollback that failed), so no other release of the model may start.
   */
  readonly keepsLock: boolean;
  /** What `builderbrain status` offers the operator, in this order. */
  readonly offers: readonly OperatorAction[];
}

/**
 * Every status, what it means for the pipeline and what the operator is offered. An operator's
 * rollback is accepted in every status that has not ended (core/app/rollback.ts): in
 * `awaiting_approval` the offer is the approval's answer (a rejection rolls the release back); in
 * `rolling_back` a rollback is under way or has failed (P0): running it again is how an operator
 * finishes it and frees the model's lock (README "When a rollback fails").
 */
export const STATUS_RULES: { readonly [S in ReleaseStatus]: StatusRule } = {
  received: { active: true, ended: false, keepsLock: false, offers: ['rollback'] },
  gated: { active: true, ended: false, keepsLock: false, offers: ['rollback'] },
  canary: { active: true, ended: false, keepsLock: false, offers: ['rollback'] },
  awaiting_approval: { active: true, ended: false, keepsLock: false, offers: ['approve', 'reject'] },
  rolling_back: { active: false, ended: false, keepsLock: true, offers: ['rollback'] },
  rejected: { active: false, ended: true, keepsLock: false, offers: [] },
  // At 100%, the canary done: StartBake follows at once (to `baking`, or to `released` with no bake).
  promoted: { active: true, ended: false, keepsLock: false, offers: [] },
  // The bake: still the pipeline's, and still rollback-able at once (the previous version is warm).
  baking: { active: true, ended: false, keepsLock: false, offers: ['rollback'] },
  released: { active: false, ended: true, keepsLock: false, offers: [] },
  rolled_back: { active: false, ended: true, keepsLock: false, offers: [] },
};

const statusesWhere = (rule: (r: StatusRule) => boolean): readonly ReleaseStatus[] => RELEASE_STATUSES.filter((s) => rule(STATUS_RULES[s]));

/** Driven forward by the pipeline: received … awaiting_approval. */
export const ACTIVE_STATUSES: readonly ReleaseStatus[] = statusesWhere((r) => r.active);
/** Ended: rejected, released, rolled back. */
export const TERMINAL_STATUSES: readonly ReleaseStatus[] = statusesWhere((r) => r.ended);
/** Not ended: traffic may not be on the baseline alone yet (`rolling_back` included). */
export const IN_FLIGHT_STATUSES: readonly ReleaseStatus[] = statusesWhere((r) => !r.ended);

export const isTerminal = (status: ReleaseStatus): boolean => STATUS_RULES[status].ended;
export const isInFlight = (status: ReleaseStatus): boolean => !STATUS_RULES[status].ended;
export const keepsLock = (status: ReleaseStatus): boolean => STATUS_RULES[status].keepsLock;
export const operatorOffers = (status: ReleaseStatus): readonly OperatorAction[] => STATUS_RULES[status].offers;

/** A move of the record's status: allowed only while the status is one of `from` (a conditional write). */
export interface Move {
  readonly from: readonly ReleaseStatus[];
  readonly to: ReleaseStatus;
}

/** Every move a release makes, by the step that makes it. */
export const MOVES = {
  /** RunGates: every promotion gate passed. */
  gatesPassed: { from: ['received'], to: 'gated' },
  /** RejectRelease: stopped before any user traffic moved. */
  reject: { from: ['received', 'gated'], to: 'rejected' },
  /** StartPhase: the candidate takes the phase's weight (the first phase, the next one, or the same one again). */
  startPhase: { from: ['gated', 'canary', 'awaiting_approval'], to: 'canary' },
  /** RequestApproval: the phase waits for a person (again, on a retried step). */
  requestApproval: { from: ['canary', 'awaiting_approval'], to: 'awaiting_approval' },
  /** An approver approved the waiting phase (a rejection leaves the move to the rollback). */
  approve: { from: ['awaiting_approval'], to: 'canary' },
  /** Promote: the candidate becomes the baseline. */
  promote: { from: ['canary', 'awaiting_approval'], to: 'promoted' },
  /** StartBake: the promoted version is watched against the previous one. */
  startBake: { from: ['promoted'], to: 'baking' },
  /** The bake ended clean. */
  release: { from: ['promoted', 'baking'], to: 'released' },
  /** The rollback starts: from any active status. */
  startRollback: { from: ACTIVE_STATUSES, to: 'rolling_back' },
  /** The rollback restored the baseline. */
  finishRollback: { from: ['rolling_back'], to: 'rolled_back' },
} as const satisfies Record<string, Move>;
export type MoveName = keyof typeof MOVES;

/** Statuses a step needs without moving the release (DeployCandidate deploys only a gated release). */
export const REQUIRES: { readonly deploy: readonly ReleaseStatus[] } = {
  deploy: ['gated'],
};

/** True when `status` is one the move may start from. */
export function canMove(status: ReleaseStatus, move: MoveName): boolean {
  const from: readonly ReleaseStatus[] = MOVES[move].from;
  return from.includes(status);
}

/**
 * Makes `move` on the release through the ledger's conditional transition.
 *
 * @example await moveRelease(deps.ledger, releaseId, 'promote', { weight: 100, updatedAt: at })
 */
export function moveRelease(ledger: Pick<AuditLedger, 'transition'>, releaseId: string, move: MoveName, patch?: RecordPatch): Promise<TransitionResult> {
  return ledger.transition(releaseId, MOVES[move].from, MOVES[move].to, patch);
}

// ── rejections ──────────────────────────────────────────────────────────────────────────────────

export const REJECT_CAUSES = ['invalid_manifest', 'gates_failed', 'lock_busy', 'artifact_rejected', 'deploy_failed', 'smoke_failed', 'verification_failed'] as const;
export type RejectCause = (typeof REJECT_CAUSES)[number];

/** What the promotion machine does after a rejection: remove the deployed candidate and release the lock, only release the lock, or nothing. */
export const REJECTION_FOLLOW_UPS = ['remove_candidate', 'release_lock', 'done'] as const;
export type RejectionFollowUp = (typeof REJECTION_FOLLOW_UPS)[number];

/**
 * After each rejection: a deployed candidate is removed (its instances released) before the lock
 * goes; a release that took the lock releases it; one that never took it — an invalid manifest is
 * rejected before the lock, a busy lock is another release's — leaves the lock alone.
 */
export const AFTER_REJECTION: { readonly [C in RejectCause]: RejectionFollowUp } = {
  invalid_manifest: 'done',
  lock_busy: 'done',
  gates_failed: 'release_lock',
  artifact_rejected: 'release_lock',
  deploy_failed: 'remove_candidate',
  smoke_failed: 'remove_candidate',
  verification_failed: 'remove_candidate',
};

// ── what a release no longer there to act on answers ────────────────────────────────────────────

/**
 * What a rollback of a release that has ended answers, without acting; null while it is in flight.
 * `concurrently`: it ended while this rollback was under way (another trigger won the race).
 *
 * @example settledRollback(record)?.outcome // 'already_promoted' for a promoted release
 */
export function settledRollback(record: ReleaseRecord, concurrently = false): RollbackOutput | null {
  const o = record.outcome;
  const when = o === null ? '' : ` at ${o.at}`;
  const { releaseId } = record;
  switch (record.status) {
    case 'rolled_back':
      return {
        outcome: 'already_rolled_back',
        releaseId,
        reason: o?.reason ?? null,
        severity: o?.severity ?? null,
        message: `release ${releaseId} was already rolled back${concurrently ? ' by another trigger' : ''}${o?.reason ? ` (${o.reason}, ${o.severity})` : ''}${when}; nothing changed`,
      };
    case 'promoted':
      return {
        outcome: 'already_promoted',
        releaseId,
        reason: null,
        severity: null,
        message: `release ${releaseId} was already promoted${when}: it is the baseline now; nothing changed (to go back, release the previous version again)`,
      };
    case 'released':
      return {
        outcome: 'already_promoted',
        releaseId,
        reason: null,
        severity: null,
        message: `release ${releaseId} was released${when} after its bake: it serves alone now, the previous version is gone; nothing changed (to go back, release the previous version again)`,
      };
    case 'rejected':
      return { outcome: 'no_release_in_flight', releaseId, reason: null, severity: null, message: `release ${releaseId} was rejected before any traffic moved; nothing to roll back` };
    default:
      return null;
  }
}

/**
 * Why no approval of the release can be answered (the detail of core/app NothingWaitingError);
 * null when its phase waits for one.
 */
export function approvalNotWaiting(record: ReleaseRecord): string | null {
  return canMove(record.status, 'approve') && record.phase !== null ? null : `the release is ${record.status}`;
}
