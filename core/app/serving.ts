/**
 * The serving target's steps: deploy the candidate next to the baseline, smoke-test it, and after
 * the canary converge (promotion) or remove it (rollback, rejection). Each goal is a loop the state
 * machine runs — apply once, then check until the target is done, failed or out of time — so no
 * Lambda ever sleeps through a SageMaker update, and a crash anywhere resumes from the target's
 * actual state (the deployment is planned once and recorded; applying is idempotent).
 */
import type { ServingInput, ServingProgress, SmokeOutput } from '../contracts.js';
import {
  goalConfig,
  judgeGoal,
  planLambdaDeployment,
  planSageMakerDeployment,
  resolveSizing,
  servingAfter,
  type Deployment,
  type DeploymentGoal,
} from '../deployment.js';
import type { ServingSettingsConfig } from '../runtime-config.js';
import { judgeSmoke, smokeVerdict } from '../smoke.js';
import { REQUIRES } from '../lifecycle.js';
import type { AuditLedger, Clock, ServingTarget } from '../ports.js';
import { ReleaseNotActiveError, ReleaseNotFoundError } from './errors.js';
import { eventIds } from './ids.js';

/** How deployments are planned and driven (core/runtime-config.ts ServingSettingsSchema). */
export type ServingSettings = ServingSettingsConfig;

export interface ServingDeps {
  readonly target: ServingTarget;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly settings: ServingSettings;
}

type Of<A extends ServingInput['action']> = Extract<ServingInput, { action: A }>;

const iso = (d: Date) => d.toISOString();
const plusSeconds = (d: Date, s: number) => new Date(d.getTime() + s * 1000);

/** Plans (or takes the recorded plan), records it, applies it. */
export async function deployCandidate(input: Of<'deploy'>, deps: ServingDeps): Promise<ServingProgress> {
  const record = await deps.ledger.getRelease(input.releaseId);
  if (record === null) throw new ReleaseNotFoundError(input.releaseId);
  if (!REQUIRES.deploy.includes(record.status)) throw new ReleaseNotActiveError(input.releaseId, record.status, 'DeployCandidate');
  const now = deps.clock.now();
  let deployment = record.deployment ?? null;
  if (deployment === null) {
    const state = await deps.target.observe();
    const p = deps.settings.plan;
    if (p.kind === 'sagemaker') {
      if (p.serving === null) {
        return refused(input.releaseId, 'the pipeline config has no deployment.sagemaker (serving image, execution role, instance type): nothing can be deployed', now, deps);
      }
      const sizing = resolveSizing(p.serving, input.serving ?? undefined);
      if (!sizing.ok) {
        return refused(input.releaseId, `the manifest's serving request is outside the pipeline config: ${sizing.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, now, deps);
      }
      deployment = planSageMakerDeployment(state, { ...p, at: iso(now), releaseId: input.releaseId, version: input.version, artifact: input.artifact, instanceType: sizing.instanceType, instanceCount: sizing.instanceCount });
    } else {
      deployment = planLambdaDeployment(state, { ...p, at: iso(now), releaseId: input.releaseId, version: input.version, artifact: input.artifact });
    }
    await deps.ledger.update(input.releaseId, { deployment, updatedAt: iso(now) });
    await deps.ledger.append({
      releaseId: input.releaseId,
      eventId: eventIds.serving('candidate_deployed', 'planned'),
      at: iso(now),
      type: 'serving',
      actor: 'step:DeployCandidate',
      detail: {
        goal: 'candidate_deployed',
        state: 'planned',
        target: deployment.target,
        resource: deployment.resource,
        baseline: deployment.baseline,
        candidate: deployment.candidate,
        configs: deployment.configs,
        firstRelease: deployment.baseline === null,
      },
    });
  }
  // A retried deploy keeps counting its timeout from when the plan was made.
  const start = { ...initial('candidate_deployed', deployment, now, null), startedAt: deployment.plannedAt ?? null };
  return applyGoal({ action: 'apply', releaseId: input.releaseId, progress: start }, deps);
}

/** A deployment refused before anything is planned or built: audited, then judged failed (the release is rejected). */
async function refused(releaseId: string, message: string, now: Date, deps: ServingDeps): Promise<ServingProgress> {
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.serving('candidate_deployed', 'failed'),
    at: iso(now),
    type: 'serving',
    actor: 'step:DeployCandidate',
    detail: { goal: 'candidate_deployed', state: 'failed', message, failureReason: null, waitedSeconds: 0 },
  });
  return progress('candidate_deployed', null, 'failed', message, now, { startedAt: iso(now) });
}

/** Opens a goal's loop on the recorded deployment; nothing recorded: nothing was deployed, nothing to do. */
export async function startGoal(input: Of<'start'>, deps: ServingDeps): Promise<ServingProgress> {
  const record = await deps.ledger.getRelease(input.releaseId);
  if (record === null) throw new ReleaseNotFoundError(input.releaseId);
  const now = deps.clock.now();
  const deployment = record.deployment ?? null;
  if (deployment === null) return progress(input.goal, null, 'done', 'nothing was deployed for this release: nothing to change', now, { startedAt: iso(now) });
  const notBefore = input.goal === 'converged' ? plusSeconds(now, deps.settings.bakeMinutes * 60) : null;
  return initial(input.goal, deployment, now, notBefore);
}

function initial(goal: DeploymentGoal, deployment: Deployment, now: Date, notBefore: Date | null): ServingProgress {
  const waiting = notBefore !== null && notBefore.getTime() > now.getTime();
  return {
    goal,
    deployment,
    next: 'apply',
    message: waiting ? `${goal}: the previous model stays warm until ${iso(notBefore)} (bake period)` : `${goal}: applying`,
    failureReason: null,
    startedAt: null,
    notBefore: notBefore === null ? null : iso(notBefore),
    nextCheckAt: iso(waiting ? notBefore : now),
    checks: 0,
  };
}

/** Applies the goal once (not before `notBefore`), then hands over to the check loop. */
export async function applyGoal(input: Of<'apply'>, deps: ServingDeps): Promise<ServingProgress> {
  const p = input.progress;
  const now = deps.clock.now();
  if (p.deployment === null) return { ...p, next: 'done', message: 'nothing was deployed: nothing to change', nextCheckAt: iso(now) };
  if (p.notBefore !== null && new Date(p.notBefore).getTime() > now.getTime()) {
    return { ...p, next: 'apply', message: `${p.goal}: waiting for the end of the bake period at ${p.notBefore}`, nextCheckAt: p.notBefore };
  }
  const deployment = await deps.target.apply(p.goal, p.deployment);
  if (JSON.stringify(deployment) !== JSON.stringify(p.deployment)) await deps.ledger.update(input.releaseId, { deployment, updatedAt: iso(now) });
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.serving(p.goal, 'applied'),
    at: iso(now),
    type: 'serving',
    actor: `step:${stepName(p.goal)}`,
    detail: { goal: p.goal, state: 'applied', config: goalConfig(p.goal, deployment), resource: deployment.resource },
  });
  return checkGoal({ action: 'check', releaseId: input.releaseId, progress: { ...p, deployment, startedAt: p.startedAt ?? iso(now) } }, deps);
}

/** Observes the target and judges the goal (core/deployment.ts judgeGoal); records the end either way. */
export async function checkGoal(input: Of<'check'>, deps: ServingDeps): Promise<ServingProgress> {
  const p = input.progress;
  const now = deps.clock.now();
  if (p.deployment === null) return { ...p, next: 'done', message: 'nothing was deployed: nothing to change', nextCheckAt: iso(now) };
  const startedAt = p.startedAt ?? iso(now);
  const timedOut = now.getTime() - new Date(startedAt).getTime() > deps.settings.timeoutMinutes * 60_000;
  const state = await deps.target.observe();
  const judged = judgeGoal(p.goal, p.deployment, state, timedOut);
  const next = judged.action === 'wait' ? 'check' : judged.action;
  const out: ServingProgress = {
    ...p,
    startedAt,
    next,
    message: judged.message,
    failureReason: judged.action === 'failed' ? judged.failureReason : null,
    nextCheckAt: iso(plusSeconds(now, deps.settings.pollSeconds)),
    checks: p.checks + 1,
  };
  if (next === 'done' || next === 'failed') {
    await deps.ledger.append({
      releaseId: input.releaseId,
      eventId: eventIds.serving(p.goal, next),
      at: iso(now),
      type: 'serving',
      actor: `step:${stepName(p.goal)}`,
      detail: {
        goal: p.goal,
        state: next,
        message: judged.message,
        failureReason: out.failureReason,
        waitedSeconds: Math.round((now.getTime() - new Date(startedAt).getTime()) / 1000),
        ...(next === 'done' ? { serving: servingAfter(p.goal, p.deployment) } : {}),
      },
    });
  }
  return out;
}

/** Every smoke sample to the candidate alone; the verdict is the core's (judgeSmoke). */
export async function smokeTest(input: Of<'smoke'>, deps: ServingDeps): Promise<SmokeOutput> {
  const results = [];
  for (const sample of input.samples) results.push(judgeSmoke(sample, await deps.target.invoke(input.deployment, sample)));
  const verdict = smokeVerdict(results);
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.smokeTest(),
    at: iso(deps.clock.now()),
    type: 'smoke_test',
    actor: 'step:SmokeTest',
    detail: { passed: verdict.passed, summary: verdict.summary, results: [...verdict.results] },
  });
  return { passed: verdict.passed, summary: verdict.summary, results: [...verdict.results] };
}

/** One entry for the handler. */
export async function servingStep(input: ServingInput, deps: ServingDeps): Promise<ServingProgress | SmokeOutput> {
  switch (input.action) {
    case 'deploy':
      return deployCandidate(input, deps);
    case 'start':
      return startGoal(input, deps);
    case 'apply':
      return applyGoal(input, deps);
    case 'check':
      return checkGoal(input, deps);
    case 'smoke':
      return smokeTest(input, deps);
  }
}

function progress(
  goal: DeploymentGoal,
  deployment: Deployment | null,
  next: ServingProgress['next'],
  message: string,
  now: Date,
  extra: Partial<ServingProgress> = {},
): ServingProgress {
  return { goal, deployment, next, message, failureReason: null, startedAt: null, notBefore: null, nextCheckAt: iso(now), checks: 0, ...extra };
}

function stepName(goal: DeploymentGoal): string {
  return goal === 'candidate_deployed' ? 'DeployCandidate' : goal === 'converged' ? 'Converge' : 'RemoveCandidate';
}
