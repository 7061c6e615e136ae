/**
 * Serving: the serving target's steps (core/app/serving.ts) — deploy the candidate, open a goal's
 * loop (converge, remove), apply it, check it, and the smoke test. One function, because every step
 * needs the same permissions on the same endpoint or function.
 */
import { servingStep, type ServingDeps } from '../../core/app/serving.js';
import { ServingInputSchema, type ServingProgress, type SmokeOutput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type ServingHandlerDeps = ServingDeps & Observability;

export function createHandler(deps: ServingHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<ServingProgress | SmokeOutput> => {
    const input = parseEvent(ServingInputSchema, event, 'Serving');
    const out = await servingStep(input, deps);
    if ('goal' in out) {
      log.info(out.message, { releaseId: input.releaseId, action: input.action, goal: out.goal, next: out.next, checks: out.checks });
      if (out.next === 'done') telemetry.count(`Serving_${out.goal}`);
      if (out.next === 'failed') telemetry.count(`ServingFailed_${out.goal}`);
    } else {
      log.info(out.summary, { releaseId: input.releaseId, action: input.action, passed: out.passed });
      telemetry.count(out.passed ? 'SmokeTestsPassed' : 'SmokeTestsFailed');
    }
    return out;
  };
}
