/**
 * A promotion execution that ended without finishing its release: stopped by hand, timed out, or
 * failed past every Catch (Step Functions "Execution Status Change", ABORTED / TIMED_OUT / FAILED).
 * An ASL Catch cannot see the execution's own end, so this is the only place that can put traffic
 * back and free the model: the lock must always be either held by a live execution or released
 * after traffic is known to be on the baseline.
 *
 * - The release is still in flight (received … awaiting_approval, or rolling_back — a rollback that
 *   was interrupted): THE rollback (task_failure, P1, the canary execution stopped), then the lock
 *   is released.
 * - The rollback fails: the rollback use case has paged P0 and left the release rolling_back; the
 *   lock stays with it, so no new release of the model starts while traffic may still be on the
 *   candidate. An operator resolves it with `builderbrain rollback <release>` (README "When a
 *   rollback fails"); the next release then takes the finished holder's lock over.
 * - The release had already ended (promoted, rolled back, rejected): only the lock, if it still
 *   holds it.
 */
import { isInFlight } from '../lifecycle.js';
import { RollbackFailedError } from './errors.js';
import { releaseReleaseLock } from './release-lock.js';
import { rollback, type RollbackDeps } from './rollback.js';

export const ENDINGS = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;
export type ExecutionEnding = (typeof ENDINGS)[number];

export interface ExecutionEndedInput {
  readonly releaseId: string;
  readonly status: ExecutionEnding;
  readonly executionArn: string;
  /** Step Functions' error and cause of the ending, when it has them. */
  readonly error?: string | null;
}

export type ExecutionEndedOutcome =
  | 'unknown_release'
  | 'rolled_back_and_unlocked'
  | 'unlocked'
  | 'nothing_to_do'
  | 'locked_after_failed_rollback';

export interface ExecutionEndedOutput {
  readonly outcome: ExecutionEndedOutcome;
  readonly releaseId: string;
  readonly message: string;
}

/**
 * @example await executionEnded({ releaseId, status: 'ABORTED', executionArn }, deps) // { outcome: 'rolled_back_and_unlocked', … }
 */
export async function executionEnded(input: ExecutionEndedInput, deps: RollbackDeps): Promise<ExecutionEndedOutput> {
  const { releaseId, status } = input;
  const record = await deps.ledger.getRelease(releaseId);
  if (record === null) {
    return { outcome: 'unknown_release', releaseId, message: `execution ${input.executionArn} ended ${status}, but no release ${releaseId} is recorded: nothing to do` };
  }
  const model = record.model;
  const how = `the promotion execution ended ${status}${input.error ? ` (${input.error})` : ''}`;
  let rolledBack = false;
  // Traffic may not be on the baseline yet.
  if (isInFlight(record.status)) {
    try {
      await rollback(
        { releaseId, model, trigger: { kind: 'task_failure', step: 'PromotionExecution', error: how }, stopExecution: true },
        deps,
      );
      rolledBack = true;
    } catch (err) {
      if (!(err instanceof RollbackFailedError)) throw err;
      return {
        outcome: 'locked_after_failed_rollback',
        releaseId,
        message: `${how}; its rollback failed (paged P0): ${model} stays locked by ${releaseId} until \`builderbrain rollback ${releaseId}\` restores the baseline`,
      };
    }
  }
  const lock = await releaseReleaseLock({ releaseId, model }, deps);
  if (lock.holder === releaseId) {
    // releaseReleaseLock keeps the lock of a release still rolling back: traffic may be on the candidate.
    return { outcome: 'locked_after_failed_rollback', releaseId, message: `${how}; ${releaseId} is still rolling back: ${model} stays locked` };
  }
  if (rolledBack) return { outcome: 'rolled_back_and_unlocked', releaseId, message: `${how}: ${releaseId} rolled back to the baseline and ${model} unlocked` };
  return lock.holder === null
    ? { outcome: 'unlocked', releaseId, message: `${how}; ${releaseId} had already ended (${record.status}); ${model} is not locked by it any more` }
    : { outcome: 'nothing_to_do', releaseId, message: `${how}; ${releaseId} had already ended (${record.status}); the lock is ${lock.holder}'s` };
}
