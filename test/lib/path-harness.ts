/**
 * The path tests' harness (test/lib/paths.test.ts, test/lib/environment-chain-states.test.ts): a
 * synthesized definition run on the local ASL interpreter the embedded runtime uses
 * (aws-local-stepfunctions), every task replaced by a stub keyed by state name; and the release
 * both run through the promotion and canary machines (its input, manifest, validation, deployment,
 * phases), as the handlers' contract schemas of core/contracts.ts parse them.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { expect } from 'vitest';
import {
  AnalyzeInputSchema,
  CanaryInputSchema,
  ServingInputSchema,
  SmokeOutputSchema,
  BakeInputSchema,
  BakeStateSchema,
  RecoveryInputSchema,
  RecoveryOutputSchema,
  RollbackInputSchema,
  RollbackOutputSchema,
  ServingProgressSchema,
  STATE_NAMES,
  ValidateOutputSchema,
  VerifyArtifactOutputSchema,
  type BakeState,
  type PhaseState,
  type RecoveryInput,
  type RollbackInput,
  type ServingProgress,
} from '../../core/contracts.js';
import { DeploymentSchema, type DeploymentGoal } from '../../core/deployment.js';
import type { AslDefinition } from '../../lib/synth.js';

const P = STATE_NAMES.promotion;

// ---- the interpreter ----------------------------------------------------------------------------
export type Handler = (input: any) => Promise<unknown>;
export interface Call {
  state: string;
  input: any;
  output: unknown;
  /** When the handler was entered (ms since the epoch). */
  at: number;
}
export interface PathRun {
  output: any;
  error: { name: string; message: string } | null;
  calls: Call[];
}

const machines = new Map<unknown, StateMachine>();
/** One interpreter per definition (constructing one validates the definition, as the embedded runtime will). */
function machineFor(definition: AslDefinition): StateMachine {
  let sm = machines.get(definition);
  if (sm === undefined) {
    // A copy: the interpreter normalizes the definition it is given (it adds QueryLanguage to every state).
    sm = new StateMachine(structuredClone(definition) as never, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(definition, sm);
  }
  return sm;
}

export interface PathRunnerOptions {
  /** The state machine's name in the execution ARN the interpreter is given (`$$.Execution.Id`). */
  readonly stateMachineName: string;
  /** The Wait states that do not wait. */
  readonly noWait: readonly string[];
}

/**
 * `run(definition, input, handlers)`: runs a definition; returns its output or its failure, and the
 * tasks' received payloads in order. Retries do not pause; the Wait states not in `noWait` (the
 * promotion's serving waits) wait until `$.serving.nextCheckAt` as Step Functions would (the stubs
 * set it in the past unless a test wants a real wait).
 */
export function pathRunner({ stateMachineName, noWait }: PathRunnerOptions) {
  const waitTimeOverrides = Object.fromEntries(noWait.map((n) => [n, 0]));
  return async function run(definition: AslDefinition, input: unknown, handlers: Record<string, Handler>): Promise<PathRun> {
    const calls: Call[] = [];
    const wrapped = Object.fromEntries(
      Object.entries(handlers).map(([state, h]) => [
        state,
        async (i: unknown) => {
          const call: Call = { state, input: i, output: undefined, at: Date.now() };
          calls.push(call);
          call.output = await h(i);
          return call.output;
        },
      ]),
    );
    const states = definition.States;
    const noRetryPause = Object.fromEntries(Object.keys(states).filter((n) => states[n]!['Retry'] !== undefined).map((n) => [n, 0]));
    const execution = machineFor(definition).run(input as never, {
      overrides: { taskResourceLocalHandlers: wrapped as never, waitTimeOverrides, retryIntervalOverrides: noRetryPause },
      context: { Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:${stateMachineName}:rel-1` }, Task: { Token: 'token-123' } },
    });
    try {
      return { output: (await execution.result) as any, error: null, calls };
    } catch (err) {
      const cause = (err as Error).cause as Error | undefined;
      return { output: null, error: { name: cause?.name ?? (err as Error).name, message: cause?.message ?? (err as Error).message }, calls };
    }
  };
}

/** An error of that name, as a stub throws it. */
export const named = (name: string, message: string) => Object.assign(new Error(message), { name });
/** The states whose tasks ran, in order. */
export const states = (r: { calls: Call[] }) => r.calls.map((c) => c.state);
/** The one call of a state (fails the test unless there is exactly one). */
export const callOf = (r: { calls: Call[] }, state: string) => {
  const found = r.calls.filter((c) => c.state === state);
  expect(found, state).toHaveLength(1);
  return found[0]!;
};
/** The Task states of a definition, sorted. */
export const taskNames = (def: AslDefinition) => Object.entries(def.States).filter(([, st]) => st['Type'] === 'Task').map(([n]) => n).sort();

// ---- promotion ----------------------------------------------------------------------------------
export const promotionInput = {
  releaseId: 'builderbrain-2_1_0-abcdef12',
  source: { bucket: 'artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1', etag: null },
  receivedAt: '2025-01-01T00:00:00.000Z',
};
export const releaseId = promotionInput.releaseId;
export const manifest = {
  model: 'builderbrain',
  version: '2.1.0',
  previousVersion: '2.0.3',
  releaseType: 'minor',
  artifact: { uri: 's3://artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: 'a'.repeat(64) },
  shadowEvaluation: {
    riskEnergy: { candidate: 0.41, baseline: 0.43 },
    performance: { candidate: 0.812, baseline: 0.82 },
    constraintSatisfaction: 0.97,
    tests: { passed: 10, failed: 0 },
  },
  changelog: {},
  migrationGuide: null,
  owner: 'ml-platform',
};
/** ValidateManifest's answer: the manifest (with the serving request, if any) or an issue. */
export const validation = (valid: boolean, serving: Record<string, unknown> | null = null) =>
  ValidateOutputSchema.parse({
    valid,
    model: 'builderbrain',
    version: '2.1.0',
    manifest: valid ? { ...manifest, ...(serving === null ? {} : { serving }) } : null,
    manifestSha256: 'b'.repeat(64),
    issues: valid ? [] : [{ path: 'version', message: 'bad' }],
    serving,
    // ValidateManifest's plan for the release (core/manifest.ts releasePlan): the configured phases.
    plan: valid ? DEFAULT_PHASES.map((p) => ({ ...p })) : null,
  });
export const gate = (passed: boolean) => ({ passed, checks: [] });
export const verified = (ok: boolean) =>
  VerifyArtifactOutputSchema.parse(
    ok
      ? { ok, reason: null, message: 'the artifact has the manifest\'s SHA-256', sha256: 'a'.repeat(64), digestSource: 'checksum', size: 1024, versionId: 'v7' }
      : { ok, reason: 'artifact_digest_mismatch', message: 'the uploaded artifact is not the one the gates judged', sha256: 'c'.repeat(64), digestSource: 'computed', size: 1024, versionId: 'v7' },
  );

/** What a release deploys (core/deployment.ts Deployment), as the serving handler records and carries it. */
export const deployment = DeploymentSchema.parse({
  target: 'sagemaker',
  resource: 'builderbrain',
  releaseId,
  version: '2.1.0',
  artifact: manifest.artifact,
  baseline: { slot: 'baseline', model: 'builderbrain-2-0-3-11111111-m', config: 'builderbrain-2-0-3-11111111-s', instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true },
  candidate: { slot: 'canary', model: 'builderbrain--2-1-0-22222222-m', version: '2.1.0', instanceType: 'ml.g5.xlarge', instanceCount: 1 },
  configs: { candidate: 'builderbrain--2-1-0-22222222-c', converged: 'builderbrain--2-1-0-22222222-s', restore: 'builderbrain--2-1-0-22222222-r' },
});

/** A serving loop's task states: start (or deploy) → apply → check. */
export const loop = (p: string, first = `${p}Start`) => [first, `${p}Apply`, `${p}Check`];
/** Up to and including the smoke test: what every release that gets that far runs. */
export const DEPLOYED = [P.validate, P.acquireLock, P.gates, P.verifyArtifact, ...loop(P.deploy, P.deploy), P.smoke];
/** A second ago: a serving wait that is already over. */
export const past = () => new Date(Date.now() - 1000).toISOString();
/** The serving handler's progress towards `goal` (the deployment above), next step `next`. */
export const progress = (goal: DeploymentGoal, next: ServingProgress['next'], over: Partial<ServingProgress> = {}): ServingProgress =>
  ServingProgressSchema.parse({ goal, deployment, next, message: `${goal}: ${next}`, failureReason: null, startedAt: null, notBefore: null, nextCheckAt: past(), checks: 0, ...over });

/** RunCanary's input carries the parent execution id (associateWithParent) besides CanaryInput. */
export function stripParent(input: Record<string, unknown>) {
  const { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent, ...rest } = input;
  expect(parent).toMatch(/^arn:/);
  return rest;
}

// ---- canary -------------------------------------------------------------------------------------
export const twoPhases = [
  { weight: 10, monitorMinutes: 2, requiresApproval: true },
  { weight: 100, monitorMinutes: 2, requiresApproval: false },
];
export const canaryInput = { releaseId, model: 'builderbrain', version: '2.1.0', phases: twoPhases, maxLooksPerPhase: 120 };

/** StartPhase's answer for phase `index` of `twoPhases`: two looks. */
export function phaseState(index: number, over: Partial<PhaseState> = {}): PhaseState {
  const p = twoPhases[index]!;
  return {
    noDataLooks: 0,
    index,
    weight: p.weight,
    monitorMinutes: p.monitorMinutes,
    requiresApproval: p.requiresApproval,
    lookEveryMinutes: 1,
    lookEverySeconds: 60,
    looks: 2,
    iteration: 0,
    startedAt: '2025-01-01T00:00:00.000Z',
    isLast: index === twoPhases.length - 1,
    nextIndex: index + 1,
    action: null,
    verdict: null,
    ...over,
  };
}

export const verdict = (v: 'pass' | 'fail') => ({ verdict: v, reason: v === 'fail' ? 'error_rate_increase' : null, severity: v === 'fail' ? 'P1' : null, immediate: false, summary: v, evidence: [], sample: { minutes: 2, canaryRequests: 100, baselineRequests: 900 } });

/** Analysis stub: `continue` until the phase's last look, then the phase-end action. */
export function analyzer(endAction: (phase: PhaseState) => PhaseState['action']): Handler {
  return async (i) => {
    const { phase } = AnalyzeInputSchema.parse(i);
    const iteration = phase.iteration + 1;
    const action = iteration < phase.looks ? 'continue' : endAction(phase);
    return { ...phase, iteration, action, verdict: verdict('pass') };
  };
}

// ---- bake and recovery (the promotion machine's, after the canary) -------------------------------
const SB = STATE_NAMES.promotionBake;
const SR = STATE_NAMES.promotionRecovery;
/** The promotion's Wait states that do not wait in a path test: the bake's looks (the recovery waits until `$.recovery.checkAt`, in the past). */
export const PROMOTION_NO_WAIT = [SB.waitForBakeLook] as const;

export const BAKE_STARTED_AT = '2025-01-02T00:00:00.000Z';
/** The bake's state as StartBake opens it (core/app/bake.ts): a day, a look every 10 minutes. */
export const bakeState = (over: Partial<BakeState> = {}): BakeState =>
  BakeStateSchema.parse({ startedAt: BAKE_STARTED_AT, endsAt: '2025-01-03T00:00:00.000Z', minutes: 1440, lookEverySeconds: 600, iteration: 0, action: 'continue', verdict: null, reference: null, ...over });

/**
 * The bake handler's stub: parses BakeInput (StartBake and WatchBake of this release); `start` opens
 * the bake (`released` at once when `looks` is 0: no bake), each `watch` is a look that carries the
 * state it was given; look number `looks` ends the bake with `end` (a failing verdict for `rollback`).
 */
export function baker(looks: number, end: 'released' | 'rollback' = 'released'): Handler {
  return async (i) => {
    const input = BakeInputSchema.parse(i);
    expect(input).toMatchObject({ releaseId, model: 'builderbrain', version: '2.1.0' });
    if (input.action === 'start') return bakeState(looks === 0 ? { minutes: 0, endsAt: BAKE_STARTED_AT, action: 'released' } : {});
    const iteration = input.bake.iteration + 1;
    const last = iteration >= looks;
    const action = last ? end : 'continue';
    return BakeStateSchema.parse({ ...input.bake, iteration, action, verdict: verdict(action === 'rollback' ? 'fail' : 'pass'), reference: 'day' });
  };
}

/** The rollback handler's stub: parses RollbackInput, checks `stopExecution`, answers `outcome`. */
export const rollbackAnswers = (stopExecution: boolean, outcome: 'rolled_back' | 'already_rolled_back' | 'already_promoted' = 'rolled_back', seen: RollbackInput[] = []): Handler => async (i) => {
  const r = RollbackInputSchema.parse(i);
  seen.push(r);
  expect(r.stopExecution).toBe(stopExecution);
  return RollbackOutputSchema.parse({ outcome, releaseId: r.releaseId, reason: r.trigger.kind, severity: 'P1', message: outcome });
};

/** When the stubbed rollback happened (a recovery window already over: the Wait does not wait). */
export const ROLLED_BACK_AT = '2025-01-01T06:00:00.000Z';
/**
 * The recovery handler's stub: parses RecoveryInput (this release); `plan` answers a check due a
 * second ago, `verify` answers `recovered` for the window it was given. `seen` collects the inputs.
 */
export function recoverer(recovered = true, seen: RecoveryInput[] = []): Handler {
  return async (i) => {
    const input = RecoveryInputSchema.parse(i);
    seen.push(input);
    expect(input).toMatchObject({ releaseId, model: 'builderbrain' });
    if (input.action === 'plan') return RecoveryOutputSchema.parse({ rolledBackAt: ROLLED_BACK_AT, checkAt: past(), recovered: null, message: 'recovery checked a second ago' });
    return RecoveryOutputSchema.parse({ ...input.recovery, recovered, message: recovered ? 'the restored version is healthy again' : 'the restored version is not healthy again' });
  };
}

/** Every recovery task of the promotion machine (each path's PlanRecovery and VerifyRecovery), stubbed alike. */
export const recoveryHandlers = (h: Handler = recoverer()): Record<string, Handler> =>
  Object.fromEntries(Object.entries(SR).filter(([k]) => !k.startsWith('waitFor')).map(([, state]) => [state, h]));

/** The recovery check's tasks on a path: '' (after RemoveAfterRollback), 'AfterAlarm', 'AfterFailure'. */
export const RECOVERY = (suffix: '' | 'AfterAlarm' | 'AfterFailure') => [`PlanRecovery${suffix}`, `VerifyRecovery${suffix}`];

/** Every serving loop runs start (or deploy) → apply → check → done. */
export const servingStub: Handler = async (i) => {
  const input = ServingInputSchema.parse(i);
  expect(input.releaseId).toBe(releaseId);
  switch (input.action) {
    case 'deploy':
      return progress('candidate_deployed', 'apply');
    case 'start':
      return progress(input.goal, 'apply');
    case 'apply':
      return ServingProgressSchema.parse({ ...input.progress, next: 'check', nextCheckAt: past() });
    case 'check':
      return ServingProgressSchema.parse({ ...input.progress, next: 'done', nextCheckAt: past() });
    case 'smoke':
      return SmokeOutputSchema.parse({ passed: true, summary: 'ok', results: [] });
  }
};
/** The canary execution's end, as RunCanary (.sync:2) reports it. */
export const canaryEnds = (outcome: 'promoted' | 'rolled_back'): Handler => async (i) => {
  CanaryInputSchema.parse(stripParent(i.Input));
  return { Output: { outcome, releaseId: i.Input.releaseId, version: '2.1.0' }, ExecutionArn: 'arn:canary-exec' };
};
