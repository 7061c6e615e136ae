/**
 * RequestApproval (.waitForTaskToken): keeps the task token in the ledger — never in a log or a
 * notification — and asks the approvers, with the phase's evidence and the exact commands.
 */
import type { CanaryVerdict } from '../analysis.js';
import type { PhaseState } from '../contracts.js';
import { displayName } from '../notes.js';
import { moveRelease } from '../lifecycle.js';
import type { AuditLedger, Clock, Notifier } from '../ports.js';
import { ReleaseNotActiveError } from './errors.js';
import { eventIds } from './ids.js';

export interface RequestApprovalDeps {
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

export interface ApprovalRequest {
  readonly taskToken: string;
  readonly releaseId: string;
  readonly model: string;
  readonly version: string;
  readonly phase: PhaseState;
}

export interface ApprovalRequested {
  readonly requested: true;
  readonly releaseId: string;
  readonly phase: number;
}

/** The approvers' message: what is asked, on which evidence, and the commands that answer it. */
export function approvalMessage(req: Omit<ApprovalRequest, 'taskToken'>, verdict: CanaryVerdict | null): { title: string; text: string } {
  const name = `${displayName(req.model)} ${req.version}`;
  const p = req.phase;
  const what = p.isLast ? 'promotion to 100% (the candidate becomes the baseline)' : `progress beyond phase ${p.index + 1}`;
  const lines = [
    `${name} needs your approval for ${what}.`,
    `Release: ${req.releaseId}`,
    `Phase ${p.index + 1} at ${p.weight}% canary traffic, monitored for ${p.monitorMinutes} minute(s) (${p.iteration} of ${p.looks} looks).`,
    '',
  ];
  if (verdict === null) {
    lines.push('No analysis verdict is available for this phase: evidence was insufficient. Decide with care.');
  } else {
    if (verdict.verdict === 'inconclusive') {
      lines.push(`Verdict: inconclusive — evidence was insufficient for an automatic decision: ${verdict.summary}`);
    } else {
      lines.push(`Verdict: ${verdict.verdict} — ${verdict.summary}`);
    }
    lines.push(
      `Evidence over ${verdict.sample.minutes} minute(s), ${verdict.sample.canaryRequests} canary and ${verdict.sample.baselineRequests} baseline request(s):`,
      ...verdict.evidence.map((e) => `${e.failed ? '✗' : '·'} ${e.rule}: ${e.message}`),
    );
  }
  lines.push(
    '',
    'Answer with:',
    `  builderbrain approve ${req.releaseId}`,
    `  builderbrain reject ${req.releaseId} --reason "…"`,
    `History: builderbrain history ${req.releaseId}`,
  );
  return { title: `${name}: approval needed at ${p.weight}% (phase ${p.index + 1})`, text: lines.join('\n') };
}

/**
 * Stores the token, moves the release to awaiting_approval, audits and notifies.
 *
 * @example await requestApproval({ taskToken, releaseId, model, version, phase }, deps)
 */
export async function requestApproval(req: ApprovalRequest, deps: RequestApprovalDeps): Promise<ApprovalRequested> {
  const { releaseId, phase } = req;
  const at = deps.clock.now().toISOString();
  const moved = await moveRelease(deps.ledger, releaseId, 'requestApproval', { updatedAt: at });
  if (!moved.ok) throw new ReleaseNotActiveError(releaseId, moved.record?.status ?? null, 'RequestApproval');
  await deps.ledger.putTaskToken(releaseId, phase.index, req.taskToken);

  const { verdict } = phase;
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.approvalRequested(phase.index),
    at,
    type: 'approval_requested',
    actor: 'step:RequestApproval',
    weight: phase.weight,
    phase: phase.index,
    detail: { verdict: verdict?.verdict ?? null, summary: verdict?.summary ?? null },
  });
  const { title, text } = approvalMessage(req, verdict);
  await deps.notifier.publish({
    channel: 'approval',
    severity: null,
    reason: 'approval_requested',
    model: req.model,
    version: req.version,
    releaseId,
    title,
    text,
  });
  return { requested: true, releaseId, phase: phase.index };
}
