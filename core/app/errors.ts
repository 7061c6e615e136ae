/**
 * Typed errors of the use cases (core/errors.ts style: a literal `name`, `cause`, context fields). The Lambda
 * runtime reports an error's `name` as its `errorType`, which is what a Step Functions `Retry` or
 * `Catch` matches, so the names here are part of the contract with lib/.
 */
import { ROLLBACK_FAILED_ERROR } from '../contracts.js';
import { ReleaseError } from '../errors.js';
import type { ReleaseStatus } from '../ports.js';

/** A step was asked about a release the ledger does not know. Permanent: retrying cannot help. */
export class ReleaseNotFoundError extends ReleaseError {
  public override name = 'ReleaseNotFoundError';
  public constructor(public readonly releaseId: string) {
    super(`release ${releaseId} is not in the audit ledger`);
  }
}

/**
 * A step that moves traffic or waits for people was asked to act on a release that is no longer in
 * flight (rolled back by the alarm path meanwhile, rejected, promoted). Nothing was changed.
 */
export class ReleaseNotActiveError extends ReleaseError {
  public override name = 'ReleaseNotActiveError';
  public constructor(
    public readonly releaseId: string,
    public readonly status: ReleaseStatus | null,
    public readonly step: string,
  ) {
    super(`${step}: release ${releaseId} is ${status ?? 'unknown'}, not in flight; nothing was changed`);
  }
}

/**
 * The rollback could not restore the baseline (after the router's own retries). A P0 incident was
 * published before this is thrown; the state machine must fail loudly on it (no Retry).
 */
export class RollbackFailedError extends ReleaseError {
  public override name = ROLLBACK_FAILED_ERROR;
  public constructor(
    public readonly releaseId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An approval was answered but no task token is waiting for it (already answered, timed out, or none asked). */
export class NothingWaitingError extends ReleaseError {
  public override name = 'NothingWaitingError';
  public constructor(public readonly releaseId: string, detail: string) {
    super(`release ${releaseId}: no approval is waiting (${detail})`);
  }
}

/**
 * An approval the core refuses to give as asked (releases are frozen; a hotfix approved by the
 * identity that asked for it). Nothing was changed: no task token sent, nothing audited.
 */
export class ApprovalRefusedError extends ReleaseError {
  public override name = 'ApprovalRefusedError';
  public constructor(
    public readonly releaseId: string,
    public readonly why: string,
  ) {
    super(`release ${releaseId}: the approval is refused: ${why}`);
  }
}

/** A port refused a configuration (e.g. a notification channel with no topic). Permanent. */
export class ConfigurationError extends ReleaseError {
  public override name = 'ConfigurationError';
}
