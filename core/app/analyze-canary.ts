/** AnalyzeCanary: one look of the monitor loop — canary vs baseline since the phase started. */
import { analyzeCanary as analyze, latencyThresholds, noDataVerdict, type CanaryVerdict, type LatencyThresholds, type MinuteDatapoint } from '../analysis.js';
import { holdIncident } from '../rollback.js';
import { exemptFromFreeze, heldByFreeze } from '../freeze.js';
import type { PhaseState } from '../contracts.js';
import { monitorStep, type MonitorAction } from '../plan.js';
import type { CanaryPolicy } from '../policy.js';
import type { AuditLedger, Clock, MetricsSource, Notifier } from '../ports.js';
import { eventIds } from './ids.js';
import { openIncident } from './incidents.js';

export interface AnalyzeCanaryDeps {
  readonly metrics: MetricsSource;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly canaryPolicy: CanaryPolicy;
  /** Pages a hold (P1) once per release and phase. */
  readonly notifier: Notifier;
}

/** The phase state after a look: the verdict and the action are set. */
export type AnalyzedPhase = PhaseState & { readonly verdict: CanaryVerdict; readonly action: MonitorAction };

export interface AnalyzeInput {
  readonly releaseId: string;
  readonly model: string;
  readonly version: string;
  readonly phase: PhaseState;
}

/**
 * Reads the phase's window, judges it and decides the loop's next move (core/plan monitorStep).
 * The verdict is audited once per (phase, iteration) and kept as the release's last verdict.
 */
export async function analyzeCanaryStep(input: AnalyzeInput, deps: AnalyzeCanaryDeps): Promise<AnalyzedPhase> {
  const { releaseId, model, phase } = input;
  const now = deps.clock.now();
  const at = now.toISOString();
  // Metrics that cannot be read are evidence of nothing: a verdict of the core, never a failed step
  // (which would roll a healthy canary back).
  const policy = deps.canaryPolicy;
  let datapoints: MinuteDatapoint[] | null = null;
  let thresholds: LatencyThresholds | null = phase.latencyThresholdsMs ?? null;
  let why = '';
  try {
    const query = { model, from: new Date(phase.startedAt), to: now };
    datapoints = await deps.metrics.window({ ...query, latencyThresholdsMs: thresholds });
    if (thresholds === null) {
      // Fixed once, from the baseline before the comparison; from then on the requests above them are counted.
      thresholds = latencyThresholds(datapoints, policy);
      if (thresholds !== null) datapoints = await deps.metrics.window({ ...query, latencyThresholdsMs: thresholds });
    }
  } catch (err) {
    why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  const iteration = phase.iteration + 1;
  const canarySeen = datapoints !== null && datapoints.some((p) => p.minute >= policy.warmupMinutes && p.canary.requests > 0);
  const pastWarmup = (now.getTime() - new Date(phase.startedAt).getTime()) / 60_000 > policy.warmupMinutes + 1;
  const noData = datapoints === null || (pastWarmup && phase.weight > 0 && !canarySeen);
  const noDataLooks = noData ? phase.noDataLooks + 1 : 0;
  const verdict =
    datapoints === null
      ? noDataVerdict(noDataLooks, policy, why)
      : noData
        ? noDataVerdict(noDataLooks, policy, 'no canary datapoints since the warm-up')
        : analyze({ datapoints, plannedMinutes: judgedMinutes(phase, now, iteration), lookEveryMinutes: phase.lookEveryMinutes, latencyThresholdsMs: thresholds, canaryWeightPct: phase.weight }, policy);
  const { action, heldBy } = await underFreeze(releaseId, monitorStep(verdict, iteration, phase.looks, phase.requiresApproval), deps);
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.analysis(phase.index, iteration),
    at,
    type: 'analysis',
    actor: 'step:AnalyzeCanary',
    weight: phase.weight,
    phase: phase.index,
    detail: {
      iteration,
      looks: phase.looks,
      verdict: verdict.verdict,
      reason: verdict.reason,
      severity: verdict.severity,
      immediate: verdict.immediate,
      action,
      summary: verdict.summary,
      sample: verdict.sample,
      evidence: verdict.evidence.map((e) => ({ rule: e.rule, failed: e.failed, message: e.message })),
      ...(heldBy === null ? {} : { heldBy }),
    },
  });
  await deps.ledger.update(releaseId, { lastVerdict: { verdict: verdict.verdict, summary: verdict.summary, at }, updatedAt: at });
  if (verdict.verdict === 'hold' && verdict.hold) await pageHoldOnce(input, verdict.hold, at, deps);
  return { ...phase, iteration, action, verdict, noDataLooks, latencyThresholdsMs: thresholds };
}

/**
 * The minutes the analysis spreads its false-alarm budget over: the phase's plan; past it (a phase
 * held by a freeze keeps being watched), every minute watched so far, so the looks past the plan
 * are covered too.
 */
function judgedMinutes(phase: PhaseState, now: Date, iteration: number): number {
  if (iteration <= phase.looks) return phase.monitorMinutes;
  return Math.max(phase.monitorMinutes, Math.ceil((now.getTime() - new Date(phase.startedAt).getTime()) / 60_000));
}

/**
 * The loop's move under an emergency freeze (core/freeze.ts): read at the decision points only (a
 * move that would add traffic, ask for an approval or promote), where a freeze turns it into
 * another look at the same weight — unless the release is a hotfix overriding the freeze.
 */
async function underFreeze(releaseId: string, decided: MonitorAction, deps: AnalyzeCanaryDeps): Promise<{ action: MonitorAction; heldBy: { by: string; reason: string; since: string } | null }> {
  if (decided !== 'advance' && decided !== 'await_approval') return { action: decided, heldBy: null };
  const freeze = await deps.ledger.getFreeze();
  if (freeze === null) return { action: decided, heldBy: null };
  const exempt = exemptFromFreeze((await deps.ledger.getRelease(releaseId))?.hotfix);
  const { action, held } = heldByFreeze(decided, freeze, exempt);
  return { action, heldBy: held ? { by: freeze.by, reason: freeze.reason, since: freeze.at } : null };
}

/** One P1 page per release, phase and kind of hold (the audit event's fixed id is the claim). */
async function pageHoldOnce(input: AnalyzeInput, hold: NonNullable<CanaryVerdict['hold']>, at: string, deps: AnalyzeCanaryDeps): Promise<void> {
  const { releaseId, model, version, phase } = input;
  const first = await deps.ledger.append({
    releaseId,
    eventId: eventIds.hold(phase.index, hold.reason),
    at,
    type: 'hold',
    actor: 'step:AnalyzeCanary',
    weight: phase.weight,
    phase: phase.index,
    detail: { reason: hold.reason, minutes: hold.minutes, message: hold.message, severity: 'P1' },
  });
  if (first !== 'appended') return;
  const incident = holdIncident({ model, version, releaseId, weight: phase.weight, phase: phase.index }, hold);
  const page = { channel: 'incident', severity: incident.severity, reason: 'hold', model, version, releaseId, title: incident.title, text: incident.text } as const;
  await deps.notifier.publish(await openIncident(page, { releaseId, key: eventIds.hold(phase.index, hold.reason), severity: incident.severity, reason: `hold:${hold.reason}`, title: incident.title, actor: 'step:AnalyzeCanary' }, deps));
}
