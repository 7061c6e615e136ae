/** Promote: the candidate becomes the baseline and takes all traffic. */
import { canMove, moveRelease } from '../lifecycle.js';
import { displayName } from '../notes.js';
import type { AuditLedger, Clock, Notifier, TrafficRouter } from '../ports.js';
import { ReleaseNotActiveError, ReleaseNotFoundError } from './errors.js';
import { eventIds } from './ids.js';

export interface PromoteDeps {
  readonly router: TrafficRouter;
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

export interface PromoteResult {
  readonly outcome: 'promoted' | 'already_promoted';
  readonly releaseId: string;
  readonly model: string;
  readonly version: string;
}

/**
 * Checks the release is still in flight before touching traffic (a rollback may have won the race);
 * a retried Promote after success changes nothing and says so.
 */
export async function promote(
  input: { releaseId: string; model: string; version: string; phase: { index: number; weight: number } },
  deps: PromoteDeps,
): Promise<PromoteResult> {
  const { releaseId, model, version } = input;
  const record = await deps.ledger.getRelease(releaseId);
  if (record === null) throw new ReleaseNotFoundError(releaseId);
  if (record.status === 'promoted') return { outcome: 'already_promoted', releaseId, model, version };
  if (!canMove(record.status, 'promote')) throw new ReleaseNotActiveError(releaseId, record.status, 'Promote');
  await deps.router.promoteCandidate(model);
  const at = deps.clock.now().toISOString();
  const moved = await moveRelease(deps.ledger, releaseId, 'promote', {
    weight: 100,
    updatedAt: at,
    outcome: { status: 'promoted', reason: null, severity: null, at },
  });
  if (!moved.ok) throw new ReleaseNotActiveError(releaseId, moved.record?.status ?? null, 'Promote');
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.promoted(),
    at,
    type: 'promoted',
    actor: 'step:Promote',
    weight: 100,
    phase: input.phase.index,
    detail: { version, previousWeight: input.phase.weight },
  });
  const name = `${displayName(model)} ${version}`;
  await deps.notifier.publish({
    channel: 'info',
    severity: null,
    reason: 'promoted',
    model,
    version,
    releaseId,
    title: `${name} promoted: now the baseline at 100%`,
    text: [
      `${name} passed every canary phase and was promoted: it is the new baseline and serves 100% of traffic.`,
      `Release: ${releaseId}`,
      `History: builderbrain history ${releaseId}`,
    ].join('\n'),
  });
  return { outcome: 'promoted', releaseId, model, version };
}
