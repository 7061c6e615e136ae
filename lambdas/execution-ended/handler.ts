/**
 * ExecutionEnded: the EventBridge "Step Functions Execution Status Change" event of a promotion
 * execution that ended ABORTED, TIMED_OUT or FAILED (the rule matches only those, only for the
 * promotion state machine) → core/app/execution-ended.ts: rollback if the release was in flight,
 * then the lock. Any other status is ignored (a rule widened by mistake does no harm).
 */
import { ExecutionStatusChangeEventSchema } from '../../core/app/events.js';
import { ENDINGS, executionEnded, type ExecutionEnding } from '../../core/app/execution-ended.js';
import { parseEvent } from '../shared/parse.js';
import { defineStep, Skip } from '../shared/step.js';

const isEnding = (s: string): s is ExecutionEnding => (ENDINGS as readonly string[]).includes(s);

export const createHandler = defineStep({
  parse: (event) => {
    const { detail } = parseEvent(ExecutionStatusChangeEventSchema, event, 'Step Functions Execution Status Change');
    if (!isEnding(detail.status)) return new Skip(`execution ${detail.executionArn} is ${detail.status}: nothing to do`);
    return { releaseId: detail.name, status: detail.status, executionArn: detail.executionArn, error: detail.error ?? null };
  },
  run: executionEnded,
  report: (out, input, { log, telemetry }) => {
    log.info(out.message, { outcome: out.outcome, releaseId: out.releaseId, status: input.status });
    if (out.outcome === 'rolled_back_and_unlocked') telemetry.count('Rollbacks');
    if (out.outcome === 'locked_after_failed_rollback') telemetry.count('RollbackFailures');
  },
});
