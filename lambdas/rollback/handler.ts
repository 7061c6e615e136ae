/**
 * Rollback: the state machines' RollbackInput, an operator's, or the raw EventBridge "CloudWatch
 * Alarm State Change" event (the fast path: ALARM rolls back the model's release in flight and
 * stops its canary execution; OK and INSUFFICIENT_DATA are ignored).
 */
import { AlarmStateChangeEventSchema, isEventBridgeEvent } from '../../core/app/events.js';
import { alarmRollbackInput, rollback, type RollbackDeps } from '../../core/app/rollback.js';
import { RollbackInputSchema, ROLLBACK_FAILED_ERROR, type RollbackInput, type RollbackOutput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type RollbackHandlerDeps = RollbackDeps &
  Observability & {
    /** The model whose alarms this stack watches (BB_MODEL): the alarm event names an alarm, not a release. */
    readonly model: string;
  };

export type RollbackHandlerResult = RollbackOutput | { readonly outcome: 'ignored'; readonly message: string };

export function createHandler(deps: RollbackHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<RollbackHandlerResult> => {
    let input: RollbackInput;
    if (isEventBridgeEvent(event, 'CloudWatch Alarm State Change')) {
      const alarm = parseEvent(AlarmStateChangeEventSchema, event, 'CloudWatch Alarm State Change');
      const fromAlarm = alarmRollbackInput(alarm, deps.model);
      if (fromAlarm === null) {
        const message = `alarm ${alarm.detail.alarmName} is ${alarm.detail.state.value}: nothing to do`;
        log.info(message);
        return { outcome: 'ignored', message };
      }
      input = fromAlarm;
    } else {
      input = parseEvent(RollbackInputSchema, event, 'Rollback');
    }
    try {
      const out = await rollback(input, deps);
      log.info(out.message, { outcome: out.outcome, releaseId: out.releaseId, reason: out.reason, severity: out.severity, trigger: input.trigger.kind });
      if (out.outcome === 'rolled_back') telemetry.count('Rollbacks');
      return out;
    } catch (err) {
      if (err instanceof Error && err.name === ROLLBACK_FAILED_ERROR) telemetry.count('RollbackFailures');
      throw err;
    }
  };
}
