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
import type { AuditEventOf } from '../audit.js';
import type { RollbackInput, RollbackOutput } from '../contracts.js';
import { InvalidInputError } from '../errors.js';
import { MOVES, moveRelease, settledRollback } from '../lifecycle.js';
import type { AuditLedger, Clock, Executions, Notifier, ReleaseLock, ReleaseRecord, TrafficRouter } from '../ports.js';
import { alarmDuringWarmup, decideRollback, secondIdentityIssue, type ReleaseContext, type RollbackDecision, type RollbackTrigger } from '../rollback.js';
import { analysisUri } from '../post-rollback.js';
import { alarmWatches } from '../runtime-config.js';
import type { Severity } from '../severity.js';
import type { AlarmStateChangeEvent } from './events.js';
import { ReleaseNotFoundError, RollbackFailedError } from './errors.js';
import { eventIds } from './ids.js';
import { openIncident } from './incidents.js';

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
  /**
   * The artifact bucket: the incident links the post-rollback analysis the recovery step writes
   * there (core/app/post-rollback-analysis.ts). Absent (ExecutionEnded: no recovery step runs): no link.
   */
  readonly bucket?: string;
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
    case 'verification_failed':
      return `hook:${trigger.hook}`;
    case 'drill_failed':
      return 'step:RollbackDrill';
    case 'bake_regression':
      return 'step:WatchBake';
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

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

const answer = (outcome: RollbackOutput['outcome'], releaseId: string | null, message: string): RollbackOutput => ({ outcome, releaseId, reason: null, severity: null, message });

/** An alarm within the warm-up of the release's phase is not held against the candidate; null when it counts. */
function warmUpAnswer(input: RollbackInput, record: ReleaseRecord, deps: RollbackDeps): RollbackOutput | null {
  const { trigger } = input;
  if (trigger.kind !== 'alarm' || deps.warmup === undefined) return null;
  if (!alarmDuringWarmup(trigger.alarmName, record.phaseStartedAt, deps.clock.now(), deps.warmup.minutes, deps.warmup.evaluationMinutes)) return null;
  return answer(
    'ignored_warm_up',
    record.releaseId,
    `alarm ${trigger.alarmName} fired within the warm-up of phase ${(record.phase ?? 0) + 1} (its evaluation periods reach back into the ${deps.warmup.minutes} minutes after the traffic shift): not held against the candidate; the monitor loop judges those minutes`,
  );
}

/**
 * @example
 * await rollback({ releaseId, model, trigger: { kind: 'manual', actor: 'alice', note: 'bad outputs' }, stopExecution: true }, deps)
 */
export async function rollback(input: RollbackInput, deps: RollbackDeps): Promise<RollbackOutput> {
  const releaseId = input.releaseId ?? (await deps.lock.holder(input.model));
  if (releaseId === null) return answer('no_release_in_flight', null, `no release of ${input.model} is in flight; nothing to roll back`);
  const found = await deps.ledger.getRelease(releaseId);
  if (found === null) throw new ReleaseNotFoundError(releaseId);
  const early = settledRollback(found) ?? warmUpAnswer(input, found, deps);
  if (early !== null) return early;
  const twoPeople = secondIdentityIssue(found.status, input.trigger);
  if (twoPeople !== null) throw new InvalidInputError('rollback trigger', [{ path: 'trigger.requestedBy', message: twoPeople }]);
  const ctx = contextOf(found);
  const decision = decideRollback(input.trigger, ctx);
  if (!decision.rollback) {
    throw new InvalidInputError('rollback trigger', [
      { path: 'trigger.verdict.verdict', message: `${decision.title}: only a failed verdict rolls a release back` },
    ]);
  }
  const at = deps.clock.now().toISOString();
  const started = await startRollback(found, decision, at, deps);
  if ('settled' in started) return started.settled;
  const { record } = started;

  try {
    await deps.router.restoreBaseline(record.model);
  } catch (err) {
    await reportRollbackFailure(record, input, decision, err, deps);
  }
  if (input.stopExecution && record.canaryExecutionArn !== null) await deps.executions.stop(record.canaryExecutionArn, decision.title);
  const analysis = deps.bucket === undefined ? null : analysisUri(deps.bucket, releaseId);
  const published = await publishOnce(record, { ...decision, text: communicated(decision, input.trigger, analysis) }, deps);
  // The outcome is the one people were paged with: ours if we published, else the first attempt's.
  const first = record.outcome?.status === 'rolling_back' ? record.outcome : null;
  const { reason, severity } = published || first === null ? decision : first;
  await deps.ledger.append(rollbackEvent(record, ctx, input, decision, { reason, severity }, at));
  if (record.phase !== null) await deps.ledger.deleteTaskToken(releaseId, record.phase);

  const finished = await moveRelease(deps.ledger, releaseId, 'finishRollback', { weight: 0, updatedAt: at, outcome: { status: 'rolled_back', reason, severity, at } });
  const raced = !finished.ok && finished.record !== null ? settledRollback(finished.record, true) : null;
  if (raced !== null) return raced;
  return {
    outcome: 'rolled_back',
    releaseId,
    reason,
    severity,
    message: `${decision.title}. Traffic is 100% on the baseline.${published ? '' : ' (The incident for this release had already been published.)'}`,
  };
}

/**
 * Marks the release rolling_back (a release found rolling_back is driven on as it is); the answer
 * of a release another trigger finished meanwhile.
 */
async function startRollback(
  record: ReleaseRecord,
  decision: RollbackDecision,
  at: string,
  deps: RollbackDeps,
): Promise<{ readonly record: ReleaseRecord } | { readonly settled: RollbackOutput }> {
  if (record.status === MOVES.startRollback.to) return { record };
  const moved = await moveRelease(deps.ledger, record.releaseId, 'startRollback', {
    updatedAt: at,
    outcome: { status: 'rolling_back', reason: decision.reason, severity: decision.severity, at },
  });
  if (!moved.ok) {
    if (moved.record === null) throw new ReleaseNotFoundError(record.releaseId);
    const raced = settledRollback(moved.record, true);
    if (raced !== null) return { settled: raced };
  }
  return { record: moved.record ?? record };
}

/**
 * The incident's text as on-call reads it (RELEASE.md §4.2 "communication"): what happened (the
 * decision's text), who decided, and what state the endpoint is in now.
 */
export function communicated(decision: RollbackDecision, trigger: RollbackTrigger, analysis: string | null = null): string {
  return [
    decision.text,
    '',
    `Decided by: ${triggerActor(trigger)}.`,
    'Endpoint now: 100% of traffic on the previous version (the baseline); the candidate gets none and is being removed; the restored version\'s health is verified after the recovery window (a P0 follows if it is not healthy).',
    ...(analysis === null ? [] : [`Analysis: ${analysis} (timeline, onset, failure mode, candidate causes; written after the recovery check, \`builderbrain analyze\` prints it).`]),
  ].join('\n');
}

/** Publishes the release's one incident if nobody has (the ledger's claim); true when this call published it. */
async function publishOnce(record: ReleaseRecord, decision: RollbackDecision, deps: RollbackDeps): Promise<boolean> {
  const { releaseId } = record;
  if (!(await deps.ledger.claimIncident(releaseId))) return false;
  try {
    const page = { channel: 'incident', severity: decision.severity, reason: decision.reason, model: record.model, version: record.version, releaseId, title: decision.title, text: decision.text } as const;
    await deps.notifier.publish(await openIncident(page, { releaseId, key: 'rollback', severity: decision.severity, reason: decision.reason, title: decision.title, actor: 'step:Rollback' }, deps));
    return true;
  } catch (err) {
    await deps.ledger.releaseIncidentClaim(releaseId);
    throw err;
  }
}

/** The `rollback` audit event: where the release stood when the rollback was decided (`ctx`), and what it did. */
function rollbackEvent(
  record: ReleaseRecord,
  ctx: ReleaseContext,
  input: RollbackInput,
  decision: RollbackDecision,
  paged: { readonly reason: string | null; readonly severity: Severity | null },
  at: string,
): AuditEventOf<'rollback'> {
  return {
    releaseId: record.releaseId,
    eventId: eventIds.rollback(),
    at,
    type: 'rollback',
    actor: triggerActor(input.trigger),
    weight: ctx.weight,
    ...(ctx.phase === null ? {} : { phase: ctx.phase }),
    detail: {
      reason: paged.reason,
      severity: paged.severity,
      trigger: input.trigger.kind,
      immediate: decision.immediate,
      title: decision.title,
      stoppedExecution: input.stopExecution ? record.canaryExecutionArn : null,
      rule: decision.rule ?? null,
    },
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
  const event = (eventId: string, paged: boolean): AuditEventOf<'rollback_failed'> => ({
    releaseId: record.releaseId,
    eventId,
    at,
    type: 'rollback_failed',
    actor: triggerActor(input.trigger),
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
      const page = { channel: 'incident', severity: failed.severity, reason: failed.reason, model: record.model, version: record.version, releaseId: record.releaseId, title: failed.title, text: failed.text } as const;
      await deps.notifier.publish(await openIncident(page, { releaseId: record.releaseId, key: 'rollback_failed', severity: failed.severity, reason: failed.reason, title: failed.title, actor: 'step:Rollback' }, deps));
    } catch (notifyErr) {
      problems.push(`the P0 page failed too (${errorText(notifyErr)})`);
    }
  }
  // The release stays rolling_back: a retry (or an operator's `builderbrain rollback`) drives it on.
  throw new RollbackFailedError(record.releaseId, [failed.title, error, ...problems].join('; '), { cause: err });
}
