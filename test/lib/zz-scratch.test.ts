/**
 * Path tests: the synthesized definitions run on the local ASL interpreter the embedded runtime uses
 * (aws-local-stepfunctions), every task replaced by a stub keyed by state name. Each stub parses the
 * payload it receives with the contract schema of core/contracts.ts: the state machines build
 * exactly the payloads the handlers parse.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { afterRejection } from '../../core/app/reject-release.js';
import {
  AnalyzeInputSchema,
  ApprovalRequestSchema,
  CanaryInputSchema,
  GatesInputSchema,
  LockInputSchema,
  PromoteInputSchema,
  REJECT_CAUSES,
  RejectInputSchema,
  RejectOutputSchema,
  RollbackInputSchema,
  RollbackOutputSchema,
  ServingInputSchema,
  ServingProgressSchema,
  SmokeOutputSchema,
  STATE_NAMES,
  StartPhaseInputSchema,
  ValidateInputSchema,
  ValidateOutputSchema,
  VerifyArtifactInputSchema,
  VerifyArtifactOutputSchema,
  type PhaseState,
  type RejectCause,
  type ServingProgress,
} from '../../core/contracts.js';
import { DeploymentSchema, type DeploymentGoal } from '../../core/deployment.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { stateMachineDefinitions, synthesizeTemplate, type MachineDefinitions } from '../../lib/synth.js';

const P = STATE_NAMES.promotion;
const C = STATE_NAMES.canary;

/** The config the definitions are built from: one smoke sample, which the SmokeTest task must carry. */
const config = parsePipelineConfig({
  deployment: { smoke: [{ name: 'hello', body: '{"prompt":"hi"}', expect: { jsonSchema: { type: 'object', required: ['completion'] }, maxLatencyMs: 2000 } }] },
});

let defs: MachineDefinitions;
beforeAll(() => {
  defs = stateMachineDefinitions(synthesizeTemplate(config, { bundling: false }));
});

type Handler = (input: any) => Promise<unknown>;
interface Call {
  state: string;
  input: any;
  output: unknown;
  /** When the handler was entered (ms since the epoch). */
  at: number;
}

const machines = new Map<unknown, StateMachine>();
/** One interpreter per definition (constructing one validates the definition, as the embedded runtime will). */
function machineFor(definition: unknown): StateMachine {
  let sm = machines.get(definition);
  if (sm === undefined) {
    sm = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(definition, sm);
  }
  return sm;
}

/**
 * Runs a definition; returns its output or its failure, and the states' received payloads in order.
 * The promotion's serving Wait states are not overridden: they wait until `$.serving.nextCheckAt`
 * as Step Functions would (the stubs set it in the past unless a test wants a real wait).
 */
async function run(definition: unknown, input: unknown, handlers: Record<string, Handler>) {
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
  const sm = machineFor(definition);
  const states = (definition as { States: Record<string, { Retry?: unknown }> }).States;
  const noRetryPause = Object.fromEntries(Object.keys(states).filter((n) => states[n]!.Retry !== undefined).map((n) => [n, 0]));
  const execution = sm.run(input as never, {
    overrides: { taskResourceLocalHandlers: wrapped as never, waitTimeOverrides: { [C.wait]: 0 }, retryIntervalOverrides: noRetryPause },
    context: { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:builderbrain-canary:rel-1' }, Task: { Token: 'token-123' } },
  });
  try {
    return { output: (await execution.result) as any, error: null, calls };
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    return { output: null, error: { name: cause?.name ?? (err as Error).name, message: cause?.message ?? (err as Error).message }, calls };
  }
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

// ---- promotion --------------------------------------------------------------------------------
const promotionInput = {
  releaseId: 'builderbrain-2_1_0-abcdef12',
  source: { bucket: 'artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1', etag: null },
  receivedAt: '2025-01-01T00:00:00.000Z',
};
const releaseId = promotionInput.releaseId;
const manifest = {
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
const validation = (valid: boolean, serving: Record<string, unknown> | null = null) =>
  ValidateOutputSchema.parse({
    valid,
    model: 'builderbrain',
    version: '2.1.0',
    manifest: valid ? { ...manifest, ...(serving === null ? {} : { serving }) } : null,
    manifestSha256: 'b'.repeat(64),
    issues: valid ? [] : [{ path: 'version', message: 'bad' }],
    serving,
  });
const gate = (passed: boolean) => ({ passed, checks: [] });
const verified = (ok: boolean) =>
  VerifyArtifactOutputSchema.parse(
    ok
      ? { ok, reason: null, message: 'the artifact has the manifest\'s SHA-256', sha256: 'a'.repeat(64), digestSource: 'checksum', size: 1024, versionId: 'v7' }
      : { ok, reason: 'artifact_digest_mismatch', message: 'the uploaded artifact is not the one the gates judged', sha256: 'c'.repeat(64), digestSource: 'computed', size: 1024, versionId: 'v7' },
  );

/** What a release deploys (core/deployment.ts Deployment), as the serving handler records and carries it. */
const deployment = DeploymentSchema.parse({
  target: 'sagemaker',
  resource: 'builderbrain',
  releaseId,
  version: '2.1.0',
  artifact: manifest.artifact,
  baseline: { slot: 'baseline', model: 'builderbrain-2-0-3-11111111-m', config: 'builderbrain-2-0-3-11111111-s', instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true },
  candidate: { slot: 'canary', model: 'builderbrain-2-1-0-22222222-m', version: '2.1.0', instanceType: 'ml.g5.xlarge', instanceCount: 1 },
  configs: { candidate: 'builderbrain-2-1-0-22222222-c', converged: 'builderbrain-2-1-0-22222222-s', restore: 'builderbrain-2-1-0-22222222-r' },
});

/** The serving loops: task-name prefix → the goal it drives the target to. */
const LOOPS: Record<string, DeploymentGoal> = {
  [P.deploy]: 'candidate_deployed',
  Converge: 'converged',
  RemoveAfterRollback: 'candidate_removed',
  RemoveAfterReject: 'candidate_removed',
  RemoveAfterFailure: 'candidate_removed',
};
const loop = (p: string, first = `${p}Start`) => [first, `${p}Apply`, `${p}Check`];
const deployLoop = loop(P.deploy, P.deploy);
const past = () => new Date(Date.now() - 1000).toISOString();

const progress = (goal: DeploymentGoal, next: ServingProgress['next'], over: Partial<ServingProgress> = {}): ServingProgress =>
  ServingProgressSchema.parse({ goal, deployment, next, message: `${goal}: ${next}`, failureReason: null, startedAt: null, notBefore: null, nextCheckAt: past(), checks: 0, ...over });

/** The serving handler, per task state: the input parsed by ServingInputSchema, the output by its schema. */
function servingStub(state: string): Handler {
  const prefix = Object.keys(LOOPS).find((p) => [p, `${p}Start`, `${p}Apply`, `${p}Check`].includes(state));
  return async (i) => {
    const input = ServingInputSchema.parse(i);
    expect(input.releaseId).toBe(releaseId);
    switch (input.action) {
      case 'deploy':
        expect(state).toBe(P.deploy);
        return progress('candidate_deployed', 'apply');
      case 'start':
        expect(state).toBe(`${prefix}Start`);
        expect(input.goal).toBe(LOOPS[prefix!]);
        return progress(input.goal, 'apply');
      case 'apply':
        expect(state).toBe(`${prefix}Apply`);
        expect(input.progress).toMatchObject({ goal: LOOPS[prefix!], next: 'apply' });
        return ServingProgressSchema.parse({ ...input.progress, next: 'check', startedAt: new Date().toISOString(), nextCheckAt: past() });
      case 'check':
        expect(state).toBe(`${prefix}Check`);
        expect(input.progress).toMatchObject({ goal: LOOPS[prefix!], next: 'check' });
        return ServingProgressSchema.parse({ ...input.progress, next: 'done', checks: input.progress.checks + 1, nextCheckAt: past() });
      case 'smoke':
        expect(state).toBe(P.smoke);
        return smoke(true);
    }
  };
}
/** A serving stub that answers `next` (parsing its input as the handler does). */
const servingAnswers = (next: ServingProgress['next'], over: Partial<ServingProgress> = {}): Handler => async (i) => {
  const input = ServingInputSchema.parse(i);
  if (input.action !== 'apply' && input.action !== 'check') throw new Error(`unexpected ${input.action}`);
  return ServingProgressSchema.parse({ ...input.progress, next, nextCheckAt: past(), ...over });
};
const smoke = (passed: boolean) =>
  SmokeOutputSchema.parse({
    passed,
    summary: passed ? '1 smoke request(s) passed' : '1 of 1 smoke request(s) failed: hello: answered in 2500 ms, over the limit of 2000 ms',
    results: [{ name: 'hello', passed, latencyMs: passed ? 120 : 2500, message: passed ? 'hello: ok' : 'hello: too slow' }],
  });

/** What the promotion does after each rejection cause (core/app/reject-release.ts afterRejection; pinned here). */
const THEN: Record<RejectCause, 'remove_candidate' | 'release_lock' | 'done'> = {
  invalid_manifest: 'done',
  lock_busy: 'done',
  gates_failed: 'release_lock',
  artifact_rejected: 'release_lock',
  deploy_failed: 'remove_candidate',
  smoke_failed: 'remove_candidate',
};

const lockStub = (action: 'acquire' | 'release'): Handler => async (i) => {
  expect(LockInputSchema.parse(i)).toEqual({ action, releaseId, model: 'builderbrain' });
  return action === 'acquire' ? { acquired: true, holder: releaseId } : { acquired: false, holder: null };
};
const rollbackStub = (outcome: 'rolled_back' | 'already_rolled_back' = 'rolled_back'): Handler => async (i) => {
  const r = RollbackInputSchema.parse(i);
  expect(r.stopExecution).toBe(true);
  return RollbackOutputSchema.parse({ outcome, releaseId: r.releaseId, reason: 'task_failure', severity: 'P1', message: outcome });
};

function promotionHandlers(over: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  const handlers: Record<string, Handler> = {};
  // Every Lambda task of the machine, by the handler it invokes.
  for (const [state, handler] of Object.entries(defs.promotion.handlerForTask)) {
    if (handler === 'serving') handlers[state] = servingStub(state);
    if (handler === 'release-lock') handlers[state] = lockStub(state === P.acquireLock ? 'acquire' : 'release');
  }
  Object.assign(handlers, {
    [P.validate]: async (i: unknown) => (ValidateInputSchema.parse(i), validation(true)),
    [P.gates]: async (i: unknown) => (GatesInputSchema.parse(i), gate(true)),
    [P.verifyArtifact]: async (i: unknown) => {
      expect(VerifyArtifactInputSchema.parse(i)).toEqual({ releaseId, model: 'builderbrain', version: '2.1.0', artifact: manifest.artifact });
      return verified(true);
    },
    [P.runCanary]: async (i: any) => {
      CanaryInputSchema.parse(stripParent(i.Input));
      expect(i.Name).toBe(releaseId);
      return { Output: { outcome: 'promoted', releaseId: i.Input.releaseId, version: '2.1.0' }, ExecutionArn: 'arn:canary-exec' };
    },
    [P.reject]: async (i: unknown) => {
      const { cause } = RejectInputSchema.parse(i);
      return RejectOutputSchema.parse({ outcome: 'rejected', cause, then: THEN[cause] });
    },
    [P.rollbackOnFailure]: rollbackStub(),
  });
  return { ...handlers, ...over } as Record<string, Handler>;
}

/** RunCanary's input carries the parent execution id (associateWithParent) besides CanaryInput. */
function stripParent(input: Record<string, unknown>) {
  const { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent, ...rest } = input;
  expect(parent).toMatch(/^arn:/);
  return rest;
}

const states = (r: { calls: Call[] }) => r.calls.map((c) => c.state);
const callOf = (r: { calls: Call[] }, state: string) => {
  const found = r.calls.filter((c) => c.state === state);
  expect(found, state).toHaveLength(1);
  return found[0]!;
};
/** Up to and including the smoke test: what every release that gets that far runs. */
const DEPLOYED = [P.validate, P.acquireLock, P.gates, P.verifyArtifact, ...deployLoop, P.smoke];

describe('scratch', () => {
  it('reject fails after deploy_failed', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [`${P.deploy}Check`]: servingAnswers('failed'), [P.reject]: async () => Promise.reject(named('Boom', 'x')) }));
    console.log('CALLS', JSON.stringify(states(r).slice(7)), JSON.stringify(r.error));
  });
  it('rollback fails after deploy crash', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [`${P.deploy}Check`]: async () => Promise.reject(named('Boom', 'x')), [P.rollbackOnFailure]: async () => Promise.reject(named('RollbackFailed', 'x')) }));
    console.log('CALLS2', JSON.stringify(states(r).slice(7)), JSON.stringify(r.error));
  });
});
