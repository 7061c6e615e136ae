/**
 * The approvers' answer (CLI `approve` / `reject`, the embedded runtime's auto-approver): finds the
 * waiting task token in the ledger and answers the canary execution with it.
 *
 * A rejection is sent as SendTaskFailure with error {@link APPROVAL_REJECTED_ERROR} and a JSON
 * cause `{"actor": …, "note": …}`, so the state machine can build the manual rollback trigger with
 * `States.StringToJson($.error.Cause)`.
 */
import type { AuditEvent } from '../audit.js';
import { APPROVAL_REJECTED_ERROR } from '../contracts.js';
import { hotfixApprovalIssue } from '../hotfix.js';
import { approvalNotWaiting, moveRelease } from '../lifecycle.js';
import type { AuditLedger, Clock, Executions, ReleaseRecord } from '../ports.js';
import { ApprovalRefusedError, NothingWaitingError, ReleaseNotFoundError } from './errors.js';
import { approvalFrozenIssue, exemptFromFreeze } from '../freeze.js';
import { eventIds } from './ids.js';

export interface AnswerApprovalDeps {
  readonly ledger: AuditLedger;
  readonly executions: Executions;
  readonly clock: Clock;
}

export type ApprovalAnswer =
  | { readonly decision: 'approved'; readonly identity: string }
  | { readonly decision: 'rejected'; readonly identity: string; readonly reason: string };

export interface AnswerResult {
  readonly releaseId: string;
  readonly phase: number;
  readonly decision: 'approved' | 'rejected';
}

/**
 * The phase whose approval the release waits for; throws {@link ReleaseNotFoundError} or
 * {@link NothingWaitingError} (nothing is changed). The CLI asks it of a local simulation's state
 * before sending anything.
 */
export function waitingPhase(releaseId: string, record: ReleaseRecord | null): { readonly record: ReleaseRecord; readonly phase: number } {
  if (record === null) throw new ReleaseNotFoundError(releaseId);
  const notWaiting = approvalNotWaiting(record);
  if (notWaiting !== null || record.phase === null) throw new NothingWaitingError(releaseId, notWaiting ?? `the release is ${record.status}`);
  return { record, phase: record.phase };
}

/**
 * The two-person rule of a hotfix: its requester (the manifest's `hotfix.requestedBy`) may not approve
 * its phases; throws {@link ApprovalRefusedError} (nothing is changed). A rejection, by anyone, stays
 * allowed. The CLI asks it of a local simulation's state before sending anything.
 */
export function checkApprover(record: ReleaseRecord, answer: ApprovalAnswer): void {
  if (answer.decision !== 'approved') return;
  const issue = hotfixApprovalIssue(record.hotfix, answer.identity);
  if (issue !== null) throw new ApprovalRefusedError(record.releaseId, issue);
}

export async function answerApproval(releaseId: string, answer: ApprovalAnswer, deps: AnswerApprovalDeps): Promise<AnswerResult> {
  const { record, phase } = waitingPhase(releaseId, await deps.ledger.getRelease(releaseId));
  checkApprover(record, answer);
  const token = await deps.ledger.getTaskToken(releaseId, phase);
  if (token === null) throw new NothingWaitingError(releaseId, `no task token stored for phase ${phase + 1}`);
  if (answer.decision === 'approved') {
    // No promotion while releases are frozen (core/freeze.ts): the approval waits for the unfreeze.
    const frozen = approvalFrozenIssue(await deps.ledger.getFreeze(), exemptFromFreeze(record.hotfix));
    if (frozen !== null) throw new ApprovalRefusedError(releaseId, frozen);
  }
  const at = deps.clock.now().toISOString();
  if (answer.decision === 'approved') {
    await deps.executions.sendTaskSuccess(token, { approvedBy: answer.identity, at });
  } else {
    await deps.executions.sendTaskFailure(token, APPROVAL_REJECTED_ERROR, JSON.stringify({ actor: answer.identity, note: answer.reason }));
  }
  await deps.ledger.deleteTaskToken(releaseId, phase);
  const approvers = [...record.approvers, { phase, identity: answer.identity, at, decision: answer.decision }];
  if (answer.decision === 'approved') {
    await moveRelease(deps.ledger, releaseId, 'approve', { approvers, updatedAt: at });
  } else {
    await deps.ledger.update(releaseId, { approvers, updatedAt: at });
  }
  const { weight } = record;
  const actor = answer.identity;
  const event: AuditEvent =
    answer.decision === 'approved'
      ? { releaseId, eventId: eventIds.approved(phase), at, type: 'approved', actor, weight, phase, detail: {} }
      : { releaseId, eventId: eventIds.approvalRejected(phase), at, type: 'approval_rejected', actor, weight, phase, detail: { reason: answer.reason } };
  await deps.ledger.append(event);
  return { releaseId, phase, decision: answer.decision };
}
