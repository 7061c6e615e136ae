/**
 * ExecutionEnded: the EventBridge "Step Functions Execution Status Change" event of a promotion
 * execution that ended ABORTED, TIMED_OUT or FAILED (the rule matches only those, only for the
 * promotion state machine) → core/app/execution-ended.ts: rollback if the release was in flight,
 * then the lock. Any other status is ignored (a rule widened by mistake does no harm).
 */
import { ExecutionStatusChangeEventSchema } from '../../core/app/events.js';
import { ENDINGS, executionEnded, type ExecutionEndedOutput, type ExecutionEnding } from '../../core/app/execution-ended.js';
import type { RollbackDeps } from '../../core/app/rollback.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type ExecutionEndedHandlerDeps = RollbackDeps & Observability;

export type ExecutionEndedHandlerResult = ExecutionEndedOutput | { readonly outcome: 'ignored'; readonly message: string };

const isEnding = (s: string): s is ExecutionEnding => (ENDINGS as readonly string[]).includes(s);

export function createHandler(deps: ExecutionEndedHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<ExecutionEndedHandlerResult> => {
    const { detail } = parseEvent(ExecutionStatusChangeEventSchema, event, 'Step Functions Execution Status Change');
    if (!isEnding(detail.status)) {
      const message = `execution ${detail.executionArn} is ${detail.status}: nothing to do`;
      log.info(message);
      return { outcome: 'ignored', message };
    }
    const out = await executionEnded({ releaseId: detail.name, status: detail.status, executionArn: detail.executionArn, error: detail.error ?? null }, deps);
    log.info(out.message, { outcome: out.outcome, releaseId: out.releaseId, status: detail.status });
    if (out.outcome === 'rolled_back_and_unlocked') telemetry.count('Rollbacks');
    if (out.outcome === 'locked_after_failed_rollback') telemetry.count('RollbackFailures');
    return out;
  };
}
