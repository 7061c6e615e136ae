/** AnalyzeCanary: one look of the monitor loop — canary vs baseline since the phase started. */
import { analyzeCanary as analyze, type CanaryVerdict } from '../analysis.js';
import type { PhaseState } from '../contracts.js';
import { monitorStep, type MonitorAction } from '../plan.js';
import type { CanaryPolicy } from '../policy.js';
import type { AuditLedger, Clock, MetricsSource } from '../ports.js';
import { eventIds } from './ids.js';

export interface AnalyzeCanaryDeps {
  readonly metrics: MetricsSource;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly canaryPolicy: CanaryPolicy;
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
  const datapoints = await deps.metrics.window({ model, from: new Date(phase.startedAt), to: now });
  const verdict = analyze({ datapoints, plannedMinutes: phase.monitorMinutes, lookEveryMinutes: phase.lookEveryMinutes }, deps.canaryPolicy);
  const iteration = phase.iteration + 1;
  const action = monitorStep(verdict, iteration, phase.looks, phase.requiresApproval);
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
    },
  });
  await deps.ledger.update(releaseId, { lastVerdict: { verdict: verdict.verdict, summary: verdict.summary, at }, updatedAt: at });
  return { ...phase, iteration, action, verdict };
}
