/**
 * The approvers' answer (CLI `approve` / `reject`, the embedded runtime's auto-approver): finds the
 * waiting task token in the ledger and answers the canary execution with it.
 *
 * A rejection is sent as SendTaskFailure with error {@link APPROVAL_REJECTED_ERROR} and a JSON
 * cause `{"actor": …, "note": …}`, so the state machine can build the manual rollback trigger with
 * `States.StringToJson($.error.Cause)`.
 */
import { APPROVAL_REJECTED_ERROR } from '../contracts.js';
import type { AuditLedger, Clock, Executions } from '../ports.js';
import { NothingWaitingError, ReleaseNotFoundError } from './errors.js';
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

export async function answerApproval(releaseId: string, answer: ApprovalAnswer, deps: AnswerApprovalDeps): Promise<AnswerResult> {
  const record = await deps.ledger.getRelease(releaseId);
  if (record === null) throw new ReleaseNotFoundError(releaseId);
  if (record.status !== 'awaiting_approval' || record.phase === null) {
    throw new NothingWaitingError(releaseId, `the release is ${record.status}`);
  }
  const phase = record.phase;
  const token = await deps.ledger.getTaskToken(releaseId, phase);
  if (token === null) throw new NothingWaitingError(releaseId, `no task token stored for phase ${phase + 1}`);
  const at = deps.clock.now().toISOString();
  if (answer.decision === 'approved') {
    await deps.executions.sendTaskSuccess(token, { approvedBy: answer.identity, at });
  } else {
    await deps.executions.sendTaskFailure(token, APPROVAL_REJECTED_ERROR, JSON.stringify({ actor: answer.identity, note: answer.reason }));
  }
  await deps.ledger.deleteTaskToken(releaseId, phase);
  const approvers = [...record.approvers, { phase, identity: answer.identity, at, decision: answer.decision }];
  if (answer.decision === 'approved') {
    await deps.ledger.transition(releaseId, ['awaiting_approval'], 'canary', { approvers, updatedAt: at });
  } else {
    await deps.ledger.update(releaseId, { approvers, updatedAt: at });
  }
  await deps.ledger.append({
    releaseId,
    eventId: answer.decision === 'approved' ? eventIds.approved(phase) : eventIds.approvalRejected(phase),
    at,
    type: answer.decision === 'approved' ? 'approved' : 'approval_rejected',
    actor: answer.identity,
    weight: record.weight,
    phase,
    detail: answer.decision === 'approved' ? {} : { reason: answer.reason },
  });
  return { releaseId, phase, decision: answer.decision };
}
