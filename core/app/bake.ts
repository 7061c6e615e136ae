/**
 * The bake (RELEASE.md §10.1 post-release validation): after the canary promoted, the released
 * version is watched against the previous version's own metrics a day (or a week) before, with the
 * canary's statistics (core/bake.ts judgeBake), while the previous version stays warm. `start` moves
 * the release to `baking` (or straight to `released` when there is no bake); each `watch` is one
 * look; a regression answers `rollback` (the promotion machine rolls back to the previous version,
 * P1), the last clean look moves the release to `released` and tells the approvers.
 */
import { judgeBake, MIN_REFERENCE_COVERAGE, referenceCoverage, referenceWindows, type BakePolicy } from '../bake.js';
import type { BakeInput, BakeState } from '../contracts.js';
import { moveRelease } from '../lifecycle.js';
import { displayName } from '../notes.js';
import type { CanaryPolicy } from '../policy.js';
import type { AuditLedger, Clock, MetricsSource, Notifier } from '../ports.js';
import { eventIds } from './ids.js';

export interface BakeDeps {
  readonly metrics: MetricsSource;
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly bake: BakePolicy;
  readonly canaryPolicy: CanaryPolicy;
}

const MINUTE_MS = 60_000;

/** One step of the bake. */
export async function bakeStep(input: BakeInput, deps: BakeDeps): Promise<BakeState> {
  return input.action === 'start' ? startBake(input, deps) : watchBake(input, deps);
}

async function startBake(input: Extract<BakeInput, { action: 'start' }>, deps: BakeDeps): Promise<BakeState> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const minutes = deps.bake.minutes;
  const state: BakeState = {
    startedAt: at,
    endsAt: new Date(now.getTime() + minutes * MINUTE_MS).toISOString(),
    minutes,
    lookEverySeconds: deps.bake.lookEveryMinutes * 60,
    iteration: 0,
    action: minutes === 0 ? 'released' : 'continue',
    verdict: null,
    reference: null,
  };
  if (minutes === 0) {
    await released(input, state, deps, 'no bake configured');
    return state;
  }
  await moveRelease(deps.ledger, input.releaseId, 'startBake', { updatedAt: at, bake: { startedAt: at, endsAt: state.endsAt, watchedMinutes: 0, plannedMinutes: minutes, reference: null, lastVerdict: null } });
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.bake('started', 0),
    at,
    type: 'bake',
    actor: 'step:StartBake',
    weight: 100,
    detail: { state: 'started', watchedMinutes: 0, plannedMinutes: minutes, reference: null, verdict: null, summary: `watching ${displayName(input.model)} ${input.version} at 100% for ${minutes} min against the previous version (kept warm)` },
  });
  return state;
}

async function watchBake(input: Extract<BakeInput, { action: 'watch' }>, deps: BakeDeps): Promise<BakeState> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const from = new Date(input.bake.startedAt);
  const window = await deps.metrics.window({ model: input.model, from, to: now });
  // In the order judgeBake tries them; the fallback is read only when the first does not cover
  // enough of the bake (the same choice, one GetMetricData call fewer on most looks).
  const references = [];
  for (const r of referenceWindows(from, now, deps.bake.reference)) {
    const points = await deps.metrics.window({ model: input.model, from: r.from, to: r.to });
    references.push({ kind: r.kind, points });
    if (referenceCoverage(window, points) >= MIN_REFERENCE_COVERAGE) break;
  }
  const watchedMinutes = Math.floor((now.getTime() - from.getTime()) / MINUTE_MS);
  const judged = judgeBake({ bake: window, references, minutesWatched: watchedMinutes }, deps.bake, deps.canaryPolicy);
  const state: BakeState = { ...input.bake, iteration: input.bake.iteration + 1, action: judged.action, verdict: judged.verdict, reference: judged.reference };
  const lastVerdict = { verdict: judged.verdict.verdict, summary: judged.verdict.summary, at };
  await deps.ledger.update(input.releaseId, { updatedAt: at, bake: { startedAt: input.bake.startedAt, endsAt: input.bake.endsAt, watchedMinutes, plannedMinutes: input.bake.minutes, reference: judged.reference, lastVerdict } });
  const detailState = judged.action === 'rollback' ? 'regressed' : judged.action === 'released' ? 'released' : 'look';
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.bake(detailState, state.iteration),
    at,
    type: 'bake',
    actor: 'step:WatchBake',
    weight: 100,
    detail: { state: detailState, watchedMinutes, plannedMinutes: input.bake.minutes, reference: judged.reference, verdict: judged.verdict.verdict, summary: judged.verdict.summary },
  });
  if (judged.action === 'released') await released(input, state, deps, judged.verdict.summary);
  return state;
}

/** The bake ended clean: `released`, and the approvers are told what serves now. */
async function released(input: { releaseId: string; model: string; version: string }, state: BakeState, deps: BakeDeps, why: string): Promise<void> {
  const at = deps.clock.now().toISOString();
  await moveRelease(deps.ledger, input.releaseId, 'release', { updatedAt: at, outcome: { status: 'released', reason: null, severity: null, at } });
  const name = `${displayName(input.model)} ${input.version}`;
  await deps.notifier.publish({
    channel: 'info',
    severity: null,
    reason: 'promoted',
    model: input.model,
    version: input.version,
    releaseId: input.releaseId,
    title: `${name} released${state.minutes > 0 ? ` after a clean ${state.minutes}-minute bake` : ''}`,
    text: [
      `${name} is released: it serves 100% of traffic; the previous version is removed now.`,
      state.minutes > 0 ? `Bake: ${state.minutes} min at 100% against the previous version — ${why}.` : `No bake was configured (${why}).`,
      'Decided by: the pipeline (bake clean).',
      '',
      `Release: ${input.releaseId}`,
      `Release notes: builderbrain status ${input.releaseId}`,
    ].join('\n'),
  });
}
