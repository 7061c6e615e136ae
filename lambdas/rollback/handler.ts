/**
 * Rollback: the state machines' RollbackInput, an operator's, or the raw EventBridge "CloudWatch
 * Alarm State Change" event (the fast path: ALARM rolls back the model's release in flight and
 * stops its canary execution; OK and INSUFFICIENT_DATA are ignored).
 */
import { AlarmStateChangeEventSchema, isEventBridgeEvent } from '../../core/app/events.js';
import { alarmRollbackInput, rollback, type RollbackDeps } from '../../core/app/rollback.js';
import { RollbackInputSchema, ROLLBACK_FAILED_ERROR, type RollbackInput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { defineStep, Skip } from '../shared/step.js';

export type RollbackHandlerDeps = RollbackDeps & {
  /** The model whose alarms this stack watches (BB_MODEL): the alarm event names an alarm, not a release. */
  readonly model: string;
};

export const createHandler = defineStep({
  parse: (event: unknown, deps: RollbackHandlerDeps): RollbackInput | Skip => {
    if (!isEventBridgeEvent(event, 'CloudWatch Alarm State Change')) return parseEvent(RollbackInputSchema, event, 'Rollback');
    const alarm = parseEvent(AlarmStateChangeEventSchema, event, 'CloudWatch Alarm State Change');
    return alarmRollbackInput(alarm, deps.model) ?? new Skip(`alarm ${alarm.detail.alarmName} is ${alarm.detail.state.value}: nothing to do`);
  },
  run: rollback,
  report: (out, input, { log, telemetry }) => {
    log.info(out.message, { outcome: out.outcome, releaseId: out.releaseId, reason: out.reason, severity: out.severity, trigger: input.trigger.kind });
    if (out.outcome === 'rolled_back') telemetry.count('Rollbacks');
  },
  onError: (err, { telemetry }) => {
    if (err instanceof Error && err.name === ROLLBACK_FAILED_ERROR) telemetry.count('RollbackFailures');
  },
});
