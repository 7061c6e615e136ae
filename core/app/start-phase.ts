/**
 * StartPhase: moves the candidate to the phase's weight and opens the phase's bounded monitor loop.
 */
import type { z } from 'zod';
import type { PhaseState, StartPhaseInputSchema } from '../contracts.js';
import { InvalidInputError } from '../errors.js';
import { effectivePhaseIndex } from '../deployment.js';
import { MOVES, moveRelease } from '../lifecycle.js';
import { planLooks } from '../plan.js';
import type { AuditLedger, Clock, TrafficRouter } from '../ports.js';
import { ReleaseNotActiveError } from './errors.js';
import { eventIds } from './ids.js';

export type StartPhaseInput = z.infer<typeof StartPhaseInputSchema>;

export interface StartPhaseDeps {
  readonly router: TrafficRouter;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
}

/**
 * The record moves to `canary` first and only then does traffic move: a release the alarm path
 * rolled back meanwhile is never given traffic again. If a rollback lands between the two (its
 * status changes under us), the weight just set is taken back and the step fails.
 */
export async function startPhase(input: StartPhaseInput, deps: StartPhaseDeps): Promise<PhaseState> {
  const { releaseId, model } = input;
  // A first release has no baseline to compare with: it runs the last phase only (core/deployment.ts).
  const before = await deps.ledger.getRelease(releaseId);
  const firstRelease = before?.deployment !== undefined && before.deployment !== null && before.deployment.baseline === null;
  const phaseIndex = effectivePhaseIndex(input.phaseIndex, input.phases.length, !firstRelease);
  const phase = input.phases[phaseIndex];
  if (phase === undefined) {
    throw new InvalidInputError('StartPhase input', [{ path: 'phaseIndex', message: `${phaseIndex} is past the last phase (${input.phases.length - 1})` }]);
  }
  const now = deps.clock.now();
  const at = now.toISOString();
  const moved = await moveRelease(deps.ledger, releaseId, 'startPhase', {
    canaryExecutionArn: input.executionArn,
    phaseStartedAt: at,
    phase: phaseIndex,
    weight: phase.weight,
    updatedAt: at,
  });
  if (!moved.ok) throw new ReleaseNotActiveError(releaseId, moved.record?.status ?? null, 'StartPhase');

  await deps.router.setCandidateWeight(model, phase.weight);
  const after = await deps.ledger.getRelease(releaseId);
  if (after?.status !== MOVES.startPhase.to) {
    await deps.router.restoreBaseline(model);
    throw new ReleaseNotActiveError(releaseId, after?.status ?? null, 'StartPhase');
  }

  const plan = planLooks(phase.monitorMinutes, input.maxLooksPerPhase);
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.phaseStarted(phaseIndex),
    at,
    type: 'phase_started',
    actor: 'step:StartPhase',
    weight: phase.weight,
    phase: phaseIndex,
    detail: { ...(firstRelease ? { firstRelease: true, judgedOn: 'no baseline to compare with: the absolute rules (safety incidents, the constraint-violation ceiling) and the smoke tests' } : {}), monitorMinutes: phase.monitorMinutes, requiresApproval: phase.requiresApproval, looks: plan.looks, lookEveryMinutes: plan.lookEveryMinutes, executionArn: input.executionArn },
  });
  return {
    index: phaseIndex,
    weight: phase.weight,
    monitorMinutes: phase.monitorMinutes,
    requiresApproval: phase.requiresApproval,
    lookEveryMinutes: plan.lookEveryMinutes,
    lookEverySeconds: plan.lookEveryMinutes * 60,
    looks: plan.looks,
    iteration: 0,
    startedAt: at,
    isLast: phaseIndex === input.phases.length - 1,
    nextIndex: phaseIndex + 1,
    action: null,
    verdict: null,
    noDataLooks: 0,
  };
}
