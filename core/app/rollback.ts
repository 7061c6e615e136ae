/**
 * THE rollback: one idempotent use case for every caller — the canary state machine (verdict,
 * rejection, approval timeout, failed step), the promotion state machine, the CloudWatch alarm path
 * and operators.
 *
 * In order (policy.md §3): mark the release rolling_back → traffic 100% baseline and canary clean-up
 * (TrafficRouter.restoreBaseline) → stop the canary execution when asked → the incident, published
 * once per release (AuditLedger.claimIncident) → the `rollback` audit event → rolled_back.
 *
 * Idempotency: a rolled-back release changes nothing and says so; a release found rolling_back (an
 * earlier attempt crashed, or another trigger is on it right now) is driven to the end again —
 * every step is idempotent and the incident claim makes sure nobody is paged twice, so the alarm
 * path and the monitor loop seeing the same regression give ONE incident.
 */
import type { RollbackInput, RollbackOutput } from '../contracts.js';
import { InvalidInputError } from '../errors.js';
import type { AuditLedger, Clock, Executions, Notifier, ReleaseLock, ReleaseRecord, TrafficRouter } from '../ports.js';
import { ACTIVE_STATUSES } from '../ports.js';
import { alarmDuringWarmup, decideRollback, type ReleaseContext, type RollbackDecision, type RollbackTrigger } from '../rollback.js';
import { parseWith } from '../validation.js';
import { alarmWatches } from '../runtime-config.js';
import type { AlarmStateChangeEvent } from './events.js';
import { ReleaseNotFoundError, RollbackFailedError } from './errors.js';
import { eventIds } from './ids.js';
import { CanaryVerdictSchema } from './schemas.js';

export interface RollbackDeps {
  /**
   * Alarms firing within this many minutes of a phase's traffic shift, plus the alarms' own
   * evaluation periods, are the warm-up's, not the candidate's (core/rollback.ts alarmDuringWarmup).
   * @default 0 (every alarm counts)
   */
  readonly warmup?: { readonly minutes: number; readonly evaluationMinutes: number };
  readonly ledger: AuditLedger;
  readonly lock: ReleaseLock;
  readonly router: TrafficRouter;
  readonly executions: Executions;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

/** Parses the contract's trigger into the core's (the verdict travels as `unknown`). */
export function toCoreTrigger(trigger: RollbackInput['trigger']): RollbackTrigger {
  if (trigger.kind !== 'verdict') return trigger;
  const parsed = parseWith(CanaryVerdictSchema, trigger.verdict);
  if (!parsed.ok) {
    throw new InvalidInputError(
      'rollback trigger',
      parsed.issues.map((i) => ({ path: i.path ? `trigger.verdict.${i.path}` : 'trigger.verdict', message: i.message })),
    );
  }
  return { kind: 'verdict', verdict: parsed.value };
}

/** Who or what caused the rollback, for the audit ledger. */
export function triggerActor(trigger: RollbackTrigger): string {
  switch (trigger.kind) {
    case 'verdict':
      return 'step:AnalyzeCanary';
    case 'alarm':
      return `alarm:${trigger.alarmName}`;
    case 'manual':
      return trigger.actor;
    case 'approval_timeout':
      return 'approval-timeout';
    case 'task_failure':
      return `step:${trigger.step}`;
    case 'rollback_failed':
      return 'step:Rollback';
  }
}

/**
 * The raw EventBridge alarm event as a rollback request; null for OK / INSUFFICIENT_DATA (nothing
 * to do). The release in flight is the model's lock holder (releaseId null), and the canary
 * execution is stopped: the alarm path does not wait for the monitor loop.
 */
export function alarmRollbackInput(event: AlarmStateChangeEvent, model: string): RollbackInput | null {
  const { alarmName, state } = event.detail;
  if (state.value !== 'ALARM') return null;
  return {
    releaseId: null,
    model,
    trigger: { kind: 'alarm', alarmName, watches: alarmWatches(alarmName), detail: state.reason },
    stopExecution: true,
  };
}

const contextOf = (r: ReleaseRecord): ReleaseContext => ({ model: r.model, version: r.version, releaseId: r.releaseId, weight: r.weight, phase: r.phase });

/** The answer for a release that is not (or no longer) in flight; null when it is. */
function settled(record: ReleaseRecord, concurrently = false): RollbackOutput | null {
  const o = record.outcome;
  const when = o === null ? '' : ` at ${o.at}`;
  switch (record.status) {
    case 'rolled_back':
      return {
        outcome: 'already_rolled_back',
        releaseId: record.releaseId,
        reason: o?.reason ?? null,
        severity: o?.severity ?? null,
        message: `release ${record.releaseId} was already rolled back${concurrently ? ' by another trigger' : ''}${o?.reason ? ` (${o.reason}, ${o.severity})` : ''}${when}; nothing changed`,
      };
    case 'promoted':
      return {
        outcome: 'already_promoted',
        releaseId: record.releaseId,
        reason: null,
        severity: null,
        message: `release ${record.releaseId} was already promoted${when}: it is the baseline now; nothing changed (to go back, release the previous version again)`,
      };
    case 'rejected':
      return {
        outcome: 'no_release_in_flight',
        releaseId: record.releaseId,
        reason: null,
        severity: null,
        message: `release ${record.releaseId} was rejected before any traffic moved; nothing to roll back`,
      };
    default:
      return null;
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * @example
 * await rollback({ releaseId, model, trigger: { kind: 'manual', actor: 'alice', note: 'bad outputs' }, stopExecution: true }, deps)
 */
export async function rollback(input: RollbackInput, deps: RollbackDeps): Promise<RollbackOutput> {
  const releaseId = input.releaseId ?? (await deps.lock.holder(input.model));
  if (releaseId === null) {
    return {
      outcome: 'no_release_in_flight',
      releaseId: null,
      reason: null,
      severity: null,
      message: `no release of ${input.model} is in flight; nothing to roll back`,
    };
  }
  let record = await deps.ledger.getRelease(releaseId);
  if (record === null) throw new ReleaseNotFoundError(releaseId);
  const done = settled(record);
  if (done !== null) return done;

  const trigger = toCoreTrigger(input.trigger);
  const ctx = contextOf(record);
  if (
    trigger.kind === 'alarm' &&
    deps.warmup !== undefined &&
    alarmDuringWarmup(trigger.alarmName, record.phaseStartedAt, deps.clock.now(), deps.warmup.minutes, deps.warmup.evaluationMinutes)
  ) {
    return {
      outcome: 'ignored_warm_up',
      releaseId,
      reason: null,
      severity: null,
      message: `alarm ${trigger.alarmName} fired within the warm-up of phase ${(record.phase ?? 0) + 1} (its evaluation periods reach back into the ${deps.warmup.minutes} minutes after the traffic shift): not held against the candidate; the monitor loop judges those minutes`,
    };
  }
  const decision = decideRollback(trigger, ctx);
  if (!decision.rollback) {
    throw new InvalidInputError('rollback trigger', [
      { path: 'trigger.verdict.verdict', message: `${decision.title}: only a failed verdict rolls a release back` },
    ]);
  }
  const at = deps.clock.now().toISOString();

  if (record.status !== 'rolling_back') {
    const moved = await deps.ledger.transition(releaseId, ACTIVE_STATUSES, 'rolling_back', {
      updatedAt: at,
      outcome: { status: 'rolling_back', reason: decision.reason, severity: decision.severity, at },
    });
    if (!moved.ok) {
      if (moved.record === null) throw new ReleaseNotFoundError(releaseId);
      const raced = settled(moved.record, true);
      if (raced !== null) return raced;
    }
    record = moved.record ?? record;
  }

  try {
    await deps.router.restoreBaseline(record.model);
  } catch (err) {
    await reportRollbackFailure(record, input, decision, err, deps);
  }

  if (input.stopExecution && record.canaryExecutionArn !== null) {
    await deps.executions.stop(record.canaryExecutionArn, decision.title);
  }

  let published = false;
  if (await deps.ledger.claimIncident(releaseId)) {
    try {
      await deps.notifier.publish({
        channel: 'incident',
        severity: decision.severity,
        reason: decision.reason,
        model: record.model,
        version: record.version,
        releaseId,
        title: decision.title,
        text: decision.text,
      });
      published = true;
    } catch (err) {
      await deps.ledger.releaseIncidentClaim(releaseId);
      throw err;
    }
  }
  // The outcome is the one people were paged with: ours if we published, else the first attempt's.
  const first = record.outcome?.status === 'rolling_back' ? record.outcome : null;
  const reason = published || first === null ? decision.reason : first.reason;
  const severity = published || first === null ? decision.severity : first.severity;

  await deps.ledger.append({
    releaseId,
    eventId: eventIds.rollback(),
    at,
    type: 'rollback',
    actor: triggerActor(trigger),
    weight: ctx.weight,
    ...(ctx.phase === null ? {} : { phase: ctx.phase }),
    detail: { reason, severity, trigger: trigger.kind, immediate: decision.immediate, title: decision.title, stoppedExecution: input.stopExecution ? record.canaryExecutionArn : null },
  });
  if (record.phase !== null) await deps.ledger.deleteTaskToken(releaseId, record.phase);

  const finished = await deps.ledger.transition(releaseId, ['rolling_back'], 'rolled_back', {
    weight: 0,
    updatedAt: at,
    outcome: { status: 'rolled_back', reason, severity, at },
  });
  if (!finished.ok && finished.record !== null) {
    const raced = settled(finished.record, true);
    if (raced !== null) return raced;
  }
  return {
    outcome: 'rolled_back',
    releaseId,
    reason,
    severity,
    message: `${decision.title}. Traffic is 100% on the baseline.${published ? '' : ' (The incident for this release had already been published.)'}`,
  };
}

/** Stops the canary (when asked), pages P0, audits `rollback_failed` and throws {@link RollbackFailedError}; never returns. */
async function reportRollbackFailure(
  record: ReleaseRecord,
  input: RollbackInput,
  decision: RollbackDecision,
  err: unknown,
  deps: RollbackDeps,
): Promise<never> {
  const error = errorText(err);
  const failed = decideRollback({ kind: 'rollback_failed', error }, contextOf(record));
  const at = deps.clock.now().toISOString();
  const problems: string[] = [];
  // Traffic may still reach the candidate: at least keep the canary from shifting more to it.
  if (input.stopExecution && record.canaryExecutionArn !== null) {
    try {
      await deps.executions.stop(record.canaryExecutionArn, failed.title);
    } catch (stopErr) {
      problems.push(`stopping the canary execution failed too (${errorText(stopErr)})`);
    }
  }
  // The first failure of a release's rollback pages P0; its audit event (a fixed id) is the claim,
  // so the state machine's retries and the promotion machine's second attempt page nobody twice.
  // Later failures are still recorded, under their own time.
  const event = (eventId: string, paged: boolean) => ({
    releaseId: record.releaseId,
    eventId,
    at,
    type: 'rollback_failed' as const,
    actor: triggerActor(toCoreTrigger(input.trigger)),
    weight: record.weight,
    ...(record.phase === null ? {} : { phase: record.phase }),
    detail: { reason: 'rollback_failed', severity: 'P0', error, trigger: input.trigger.kind, rollbackReason: decision.reason, paged },
  });
  let firstFailure = true;
  try {
    firstFailure = (await deps.ledger.append(event(eventIds.rollbackFailedPage(), true))) === 'appended';
    if (!firstFailure) await deps.ledger.append(event(eventIds.rollbackFailed(at), false));
  } catch (auditErr) {
    problems.push(`the audit write failed too (${errorText(auditErr)})`);
  }
  if (firstFailure) {
    try {
      await deps.notifier.publish({
        channel: 'incident',
        severity: failed.severity,
        reason: failed.reason,
        model: record.model,
        version: record.version,
        releaseId: record.releaseId,
        title: failed.title,
        text: failed.text,
      });
    } catch (notifyErr) {
      problems.push(`the P0 page failed too (${errorText(notifyErr)})`);
    }
  }
  // The release stays rolling_back: a retry (or an operator's `builderbrain rollback`) drives it on.
  throw new RollbackFailedError(record.releaseId, [failed.title, error, ...problems].join('; '), { cause: err });
}
