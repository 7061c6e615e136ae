/**
 * Verified recovery (RELEASE.md §4.2 "verification", §8.2 "state restoration validation,
 * performance recovery confirmation"): after any rollback — in the canary, during the bake, or by
 * an operator — the pipeline waits out the recovery window and checks that the restored version is
 * healthy again: the router sends the candidate nothing, and the baseline's error rate and p99 are
 * back within the range they had before the release's traffic moved (core/bake.ts judgeRecovery).
 * When not, it escalates: P0 "rollback did not restore health", on the incident topic.
 */
import { judgeRecovery, type RecoveryPolicy } from '../bake.js';
import type { RecoveryInput, RecoveryOutput } from '../contracts.js';
import { displayName } from '../notes.js';
import type { ArtifactStore, AuditLedger, Clock, MetricsSource, Notifier, TrafficRouter } from '../ports.js';
import { eventIds } from './ids.js';
import { analyzeAfterRollback } from './post-rollback-analysis.js';
import { openIncident } from './incidents.js';

export interface RecoveryDeps {
  readonly metrics: MetricsSource;
  readonly router: TrafficRouter;
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly recovery: RecoveryPolicy;
  /**
   * Where the post-rollback analysis is written (core/app/post-rollback-analysis.ts): the manifest
   * is read from `artifacts`, the report written to `analysis/<releaseId>.json` of `bucket`.
   * Absent: no analysis.
   */
  readonly artifacts?: ArtifactStore;
  readonly bucket?: string;
}

const MINUTE_MS = 60_000;
/** Minutes before the first phase the pre-release range is taken from (the baseline served everything then). */
const BEFORE_MINUTES = 60;

export async function recoveryStep(input: RecoveryInput, deps: RecoveryDeps): Promise<RecoveryOutput> {
  if (input.action === 'plan') return planRecovery(input, deps);
  const verified = await verifyRecovery(input, deps);
  // After every rollback, once traffic is safe and the window's metrics are in: the analysis
  // (never throws; a failure is audited). Here rather than in the rollback itself, which pages first.
  if (deps.artifacts !== undefined && deps.bucket !== undefined) await analyzeAfterRollback({ releaseId: input.releaseId }, { ...deps, artifacts: deps.artifacts, bucket: deps.bucket });
  return verified;
}

/** When to judge: the rollback's time, plus the settle and recovery minutes. */
async function planRecovery(input: Extract<RecoveryInput, { action: 'plan' }>, deps: RecoveryDeps): Promise<RecoveryOutput> {
  const record = await deps.ledger.getRelease(input.releaseId);
  const now = deps.clock.now();
  const rolledBack = record?.status === 'rolled_back' && deps.recovery.minutes > 0 ? (record.outcome?.at ?? null) : null;
  if (rolledBack === null) {
    return { rolledBackAt: null, checkAt: now.toISOString(), recovered: null, message: record?.status === 'rolled_back' ? 'recovery check off (recovery.minutes 0)' : `nothing to check: the release is ${record?.status ?? 'unknown'}` };
  }
  const due = new Date(rolledBack).getTime() + (deps.recovery.settleMinutes + deps.recovery.minutes) * MINUTE_MS;
  return { rolledBackAt: rolledBack, checkAt: new Date(Math.max(due, now.getTime())).toISOString(), recovered: null, message: `recovery checked at ${new Date(due).toISOString()}` };
}

async function verifyRecovery(input: Extract<RecoveryInput, { action: 'verify' }>, deps: RecoveryDeps): Promise<RecoveryOutput> {
  const { rolledBackAt, checkAt } = input.recovery;
  if (rolledBackAt === null) return { rolledBackAt, checkAt, recovered: null, message: 'nothing rolled back: no recovery to check' };
  const now = deps.clock.now();
  const [timeline, split] = await Promise.all([deps.ledger.timeline(input.releaseId), deps.router.current(input.model)]);
  const firstPhase = timeline.find((e) => e.type === 'phase_started');
  const start = new Date(firstPhase?.at ?? rolledBackAt);
  let before = (await deps.metrics.window({ model: input.model, from: new Date(start.getTime() - BEFORE_MINUTES * MINUTE_MS), to: start })).map((m) => m.baseline);
  // Too little before the first phase (a fresh endpoint): its first minutes, the baseline then served 99%.
  if (before.filter((m) => m.requests > 0).length < 3) before = (await deps.metrics.window({ model: input.model, from: start, to: new Date(start.getTime() + 30 * MINUTE_MS) })).map((m) => m.baseline);
  const after = (await deps.metrics.window({ model: input.model, from: new Date(rolledBackAt), to: now })).map((m) => m.baseline);
  const judged = judgeRecovery(before, after, deps.recovery);
  const routed = split.candidate === 0;
  const recovered = judged.recovered && routed;
  const message = routed ? judged.message : `the router still sends ${split.candidate}% to the candidate; ${judged.message}`;
  const at = now.toISOString();
  const appended = await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.recovery(),
    at,
    type: 'recovery',
    actor: 'step:VerifyRecovery',
    weight: split.candidate,
    detail: { recovered, message, rolledBackAt, before: judged.before, after: judged.after },
  });
  await deps.ledger.update(input.releaseId, { updatedAt: at, recovery: { recovered, message, at } });
  // A retried step finds its event and pages nobody twice.
  if (!recovered && appended === 'appended') await escalate(input, message, deps);
  return { rolledBackAt, checkAt, recovered, message };
}

async function escalate(input: { releaseId: string; model: string }, message: string, deps: RecoveryDeps): Promise<void> {
  const record = await deps.ledger.getRelease(input.releaseId);
  const version = record?.version ?? '?';
  const name = `${displayName(input.model)} ${version}`;
  const title = `[P0] ${name}: rollback did not restore health`;
  const page = {
    channel: 'incident',
    severity: 'P0',
    reason: 'rollback_failed',
    model: input.model,
    version,
    releaseId: input.releaseId,
    title,
    text: [
      `${name} was rolled back${record?.outcome?.reason ? ` (${record.outcome.reason})` : ''}, but ${deps.recovery.minutes} minutes later the restored version is not healthy: ${message}.`,
      'The problem is not (only) the candidate: look at the restored version, its instances and its dependencies now. Traffic stays on the restored version.',
      'Decided by: the pipeline (recovery check).',
      '',
      `Release: ${input.releaseId}`,
      `History: builderbrain history ${input.releaseId}`,
    ].join('\n'),
  } as const;
  await deps.notifier.publish(await openIncident(page, { releaseId: input.releaseId, key: 'recovery', severity: 'P0', reason: 'recovery_failed', title, actor: 'step:VerifyRecovery' }, deps));
}
