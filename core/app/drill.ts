/**
 * The rollback drill (RELEASE.md §2.2 "automated rollback testing", §8.2 "rollback procedure
 * testing"): in an environment that asks for it, before the last phase may promote, the candidate
 * is rolled back on purpose (0% through the same router call a rollback makes), the baseline is
 * watched serving alone for the environment's drill minutes, the verdict is core/verification.ts
 * judgeDrill's, and the candidate gets its phase's weight back. A failed drill stops the release
 * (the canary machine's RollbackOnDrill, reason `drill_failed`, P1).
 */
import type { DrillInput, DrillOutput } from '../contracts.js';
import type { EnvironmentSettings } from '../environments.js';
import type { AuditLedger, Clock, MetricsSource, TrafficRouter } from '../ports.js';
import { judgeDrill } from '../verification.js';
import { eventIds } from './ids.js';

export interface DrillDeps {
  readonly router: TrafficRouter;
  readonly metrics: MetricsSource;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly environment: EnvironmentSettings;
}

/**
 * The baseline's error rate above which the drill fails even though it serves: the baseline a
 * rollback restores must be usable, not merely reachable (5%, ten times a healthy fleet's).
 */
export const DRILL_MAX_ERROR_RATE = 0.05;

/** One step of the drill. */
export async function drill(input: DrillInput, deps: DrillDeps): Promise<DrillOutput> {
  const now = deps.clock.now().toISOString();
  const minutes = deps.environment.drillMinutes;
  if (minutes === null) throw new Error(`environment ${deps.environment.name} has no rollback drill (drillMinutes is null) but the drill step ran`);
  let out: DrillOutput;
  switch (input.action) {
    case 'rollback':
      await deps.router.setCandidateWeight(input.model, 0);
      out = { action: 'rollback', startedAt: now, waitSeconds: minutes * 60, passed: true, message: `candidate rolled back on purpose from ${input.phase.weight}% to 0%; watching the baseline alone for ${minutes} min` };
      break;
    case 'verify': {
      const split = await deps.router.current(input.model);
      const window = await deps.metrics.window({ model: input.model, from: new Date(input.drill.startedAt), to: new Date(now) });
      const verdict = judgeDrill(split, window, DRILL_MAX_ERROR_RATE);
      out = { action: 'verify', startedAt: input.drill.startedAt, waitSeconds: 0, passed: verdict.passed, message: verdict.message };
      break;
    }
    case 'restore':
      await deps.router.setCandidateWeight(input.model, input.phase.weight);
      out = { action: 'restore', startedAt: now, waitSeconds: 0, passed: true, message: `drill passed; candidate back at ${input.phase.weight}%` };
      break;
  }
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.drill(input.action),
    at: now,
    type: 'drill',
    actor: 'step:RollbackDrill',
    phase: input.phase.index,
    weight: input.action === 'rollback' ? 0 : input.phase.weight,
    detail: { action: out.action, passed: out.passed, message: out.message },
  });
  return out;
}
