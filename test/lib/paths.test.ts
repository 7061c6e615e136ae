/**
 * Path tests: the synthesized definitions run on the local ASL interpreter the embedded runtime uses
 * (aws-local-stepfunctions; test/lib/path-harness.ts), every task replaced by a stub keyed by state
 * name. Each stub parses the payload it receives with the contract schema of core/contracts.ts: the
 * state machines build exactly the payloads the handlers parse.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AFTER_REJECTION } from '../../core/lifecycle.js';
import {
  ApprovalRequestSchema,
  CanaryInputSchema,
  GatesInputSchema,
  LockInputSchema,
  PromoteInputSchema,
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
  VerifyArtifactInputSchema,
  type ServingProgress,
} from '../../core/contracts.js';
import type { DeploymentGoal } from '../../core/deployment.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { stateMachineDefinitions, synthesizeTemplate, type MachineDefinitions } from '../../lib/synth.js';
import {
  analyzer, baker, callOf, canaryInput, DEPLOYED, deployment, gate, loop, manifest, named, past, pathRunner, phaseState, progress, PROMOTION_NO_WAIT, promotionInput, RECOVERY,
  recoveryHandlers, releaseId, rollbackAnswers, states, stripParent, validation, verdict, verified, type Handler,
} from './path-harness.js';

const P = STATE_NAMES.promotion;
const C = STATE_NAMES.canary;
const SB = STATE_NAMES.promotionBake;

/** The config the definitions are built from: one smoke sample, which the SmokeTest task must carry. */
const config = parsePipelineConfig({
  deployment: { smoke: [{ name: 'hello', body: '{"prompt":"hi"}', expect: { jsonSchema: { type: 'object', required: ['completion'] }, maxLatencyMs: 2000 } }] },
});

let defs: MachineDefinitions;
beforeAll(() => {
  defs = stateMachineDefinitions(synthesizeTemplate(config, { bundling: false }));
});

const run = pathRunner({ stateMachineName: 'builderbrain-canary', noWait: [C.wait, ...PROMOTION_NO_WAIT] });

// ---- promotion --------------------------------------------------------------------------------
/** The serving loops: task-name prefix → the goal it drives the target to. */
const LOOPS: Record<string, DeploymentGoal> = {
  [P.deploy]: 'candidate_deployed',
  Converge: 'converged',
  RemoveAfterRollback: 'candidate_removed',
  RemoveAfterReject: 'candidate_removed',
  RemoveAfterRejectFailure: 'candidate_removed',
  RemoveAfterFailure: 'candidate_removed',
};
const deployLoop = loop(P.deploy, P.deploy);
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
      return RejectOutputSchema.parse({ outcome: 'rejected', cause, then: AFTER_REJECTION[cause] });
    },
    [P.rollbackOnFailure]: rollbackStub(),
    // A one-look bake (test/lib/bake-states.test.ts runs the bake's paths).
    [SB.startBake]: baker(1),
    [SB.watchBake]: baker(1),
    [SB.rollbackOnBake]: rollbackAnswers(false),
    ...recoveryHandlers(),
  });
  return { ...handlers, ...over } as Record<string, Handler>;
}

describe('promotion state machine paths', () => {
  it('stubs every task of the machine', () => {
    const tasks = Object.entries(defs.promotion.definition.States).filter(([, st]) => st['Type'] === 'Task').map(([n]) => n);
    expect(Object.keys(promotionHandlers()).sort()).toEqual(tasks.sort());
  });

  it('happy path: verify, deploy loop, smoke test, canary (.sync), bake, converge loop, release the lock', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers());
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, P.runCanary, SB.startBake, SB.watchBake, ...loop('Converge'), P.releaseLock]);
    expect(r.output).toEqual({ outcome: 'promoted', releaseId, canaryExecutionArn: 'arn:canary-exec' });
    const canaryInput = stripParent(callOf(r, P.runCanary).input.Input);
    expect(canaryInput).toEqual({ releaseId, model: 'builderbrain', version: '2.1.0', phases: DEFAULT_PHASES, maxLooksPerPhase: 120 });
    expect(callOf(r, P.deploy).input).toEqual({ action: 'deploy', releaseId, model: 'builderbrain', version: '2.1.0', artifact: manifest.artifact, serving: null });
    expect(callOf(r, 'ConvergeStart').input).toEqual({ action: 'start', releaseId, goal: 'converged' });
  });

  it('each loop step gets the progress the step before returned ($.serving), and the smoke test its deployment and the config\'s samples', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers());
    for (const [i, c] of r.calls.entries()) {
      if (!/(Apply|Check)$/.test(c.state)) continue;
      expect(c.input, c.state).toEqual({ action: c.state.endsWith('Apply') ? 'apply' : 'check', releaseId, progress: r.calls[i - 1]!.output });
    }
    const smokeInput = ServingInputSchema.parse(callOf(r, P.smoke).input);
    expect(smokeInput).toEqual({ action: 'smoke', releaseId, deployment, samples: config.deployment.smoke });
    expect(callOf(r, P.smoke).input.samples).toEqual([
      { name: 'hello', contentType: 'application/json', body: '{"prompt":"hi"}', expect: { jsonSchema: { type: 'object', required: ['completion'] }, maxLatencyMs: 2000 } },
    ]);
  });

  it('passes the manifest\'s serving request to DeployCandidate', async () => {
    const request = { instanceType: 'ml.g5.2xlarge', instanceCount: 2 };
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [P.validate]: async (i) => (ValidateInputSchema.parse(i), validation(true, request)) }),
    );
    expect(r.error).toBeNull();
    expect(ServingInputSchema.parse(callOf(r, P.deploy).input)).toMatchObject({ action: 'deploy', serving: request });
  });

  it('loops on the core\'s decision: checks again, and re-applies after a bake period, until done', async () => {
    let deployChecks = 0;
    let convergeApplies = 0;
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [`${P.deploy}Check`]: async (i) => servingAnswers(++deployChecks < 3 ? 'check' : 'done', { checks: deployChecks })(i),
        ConvergeApply: async (i) => servingAnswers(++convergeApplies < 2 ? 'apply' : 'check')(i),
      }),
    );
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([
      P.validate, P.acquireLock, P.gates, P.verifyArtifact,
      P.deploy, `${P.deploy}Apply`, `${P.deploy}Check`, `${P.deploy}Check`, `${P.deploy}Check`,
      P.smoke, P.runCanary, SB.startBake, SB.watchBake,
      'ConvergeStart', 'ConvergeApply', 'ConvergeApply', 'ConvergeCheck',
      P.releaseLock,
    ]);
  });

  it('the serving Wait states wait until $.serving.nextCheckAt', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [`${P.deploy}Apply`]: servingAnswers('check', { nextCheckAt: new Date(Date.now() + 1200).toISOString() }) }),
    );
    expect(r.error).toBeNull();
    const applied = callOf(r, `${P.deploy}Apply`);
    const waitedUntil = Date.parse((applied.output as ServingProgress).nextCheckAt);
    expect(callOf(r, `${P.deploy}Check`).at).toBeGreaterThanOrEqual(waitedUntil - 50);
  });

  it('invalid manifest: rejected (P3 by the handler), no lock taken or released', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.validate]: async () => validation(false) }));
    expect(states(r)).toEqual([P.validate, P.reject]);
    expect(RejectInputSchema.parse(r.calls[1]!.input)).toMatchObject({ cause: 'invalid_manifest', releaseId });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'invalid_manifest', then: 'done' });
  });

  it('lock busy: rejected with the holder, the other release keeps its lock', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [P.acquireLock]: async () => ({ acquired: false, holder: 'other-release' }) }),
    );
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.reject]);
    expect(RejectInputSchema.parse(r.calls[2]!.input)).toMatchObject({ cause: 'lock_busy', lock: { acquired: false, holder: 'other-release' } });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'lock_busy', then: 'done' });
  });

  it('gates failed: rejected, then the lock is released; nothing verified or deployed', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.gates]: async () => gate(false) }));
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.gates, P.reject, P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(r.calls[3]!.input)).toMatchObject({ cause: 'gates_failed', gate: gate(false) });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'gates_failed', then: 'release_lock' });
  });

  it('artifact rejected: rejected with the verification, the lock released, nothing deployed', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.verifyArtifact]: async (i) => (VerifyArtifactInputSchema.parse(i), verified(false)) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.gates, P.verifyArtifact, P.reject, P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(callOf(r, P.reject).input)).toEqual({ releaseId, cause: 'artifact_rejected', validation: validation(true), artifact: verified(false) });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'artifact_rejected', then: 'release_lock' });
  });

  it('deploy failed: rejected with the failed progress, the candidate removed, then the lock released', async () => {
    const failedCheck = servingAnswers('failed', { message: 'deploying 2.1.0 failed: endpoint builderbrain failed', failureReason: 'CapacityError' });
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [`${P.deploy}Check`]: failedCheck }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.gates, P.verifyArtifact, ...deployLoop, P.reject, ...loop('RemoveAfterReject'), P.rejectedReleaseLock]);
    const rejection = RejectInputSchema.parse(callOf(r, P.reject).input);
    expect(rejection).toMatchObject({ releaseId, cause: 'deploy_failed', serving: callOf(r, `${P.deploy}Check`).output as object });
    expect(rejection.serving).toMatchObject({ next: 'failed', failureReason: 'CapacityError' });
    expect(callOf(r, 'RemoveAfterRejectStart').input).toEqual({ action: 'start', releaseId, goal: 'candidate_removed' });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'deploy_failed', then: 'remove_candidate' });
  });

  it('a deployment that fails before anything is built: rejected, the removal finds nothing to do, the lock released', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.deploy]: async (i) => (ServingInputSchema.parse(i), progress('candidate_deployed', 'failed', { deployment: null, message: 'the pipeline config has no deployment.sagemaker' })),
        RemoveAfterRejectStart: async (i) => (ServingInputSchema.parse(i), progress('candidate_removed', 'done', { deployment: null, message: 'nothing was deployed' })),
      }),
    );
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.gates, P.verifyArtifact, P.deploy, P.reject, 'RemoveAfterRejectStart', P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(callOf(r, P.reject).input).serving).toMatchObject({ next: 'failed', deployment: null });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'deploy_failed', then: 'remove_candidate' });
  });

  it('a RejectRelease that fails after a smoke failure still removes the candidate, then releases the lock', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.smoke]: async (i) => (ServingInputSchema.parse(i), smoke(false)),
        [P.reject]: async () => Promise.reject(named('Lambda.Unknown', 'reject crashed')),
      }),
    );
    expect(states(r).slice(-4)).toEqual([...loop('RemoveAfterRejectFailure'), P.releaseLockAfterFailure]);
    expect(callOf(r, 'RemoveAfterRejectFailureStart').input).toEqual({ action: 'start', releaseId, goal: 'candidate_removed' });
  });

  it('smoke test failed: rejected with the results, the candidate removed, then the lock released; no canary', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.smoke]: async (i) => (ServingInputSchema.parse(i), smoke(false)) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, P.reject, ...loop('RemoveAfterReject'), P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(callOf(r, P.reject).input)).toMatchObject({ releaseId, cause: 'smoke_failed', smoke: smoke(false) });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'smoke_failed', then: 'remove_candidate' });
  });

  it('canary rolled back: the candidate removed, the recovery checked, then the lock released; the execution succeeds as a rollback', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.runCanary]: async (i) => ({ Output: { outcome: 'rolled_back', releaseId: i.Input.releaseId, reason: 'verdict' }, ExecutionArn: 'arn:canary-exec' }),
      }),
    );
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, P.runCanary, ...loop('RemoveAfterRollback'), ...RECOVERY(''), P.releaseLock]);
    expect(callOf(r, 'RemoveAfterRollbackStart').input).toEqual({ action: 'start', releaseId, goal: 'candidate_removed' });
    expect(r.output).toEqual({ outcome: 'rolled_back', releaseId, canaryExecutionArn: 'arn:canary-exec' });
  });

  it.each([
    ['RemoveAfterRollbackStart', 'throws'],
    ['RemoveAfterRollbackApply', 'throws'],
    ['RemoveAfterRollbackCheck', 'throws'],
    ['RemoveAfterRollbackCheck', 'fails'],
  ] as const)('a removal whose %s %s: the lock released, the execution fails as ServingFailed', async (state, how) => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.runCanary]: async (i) => ({ Output: { outcome: 'rolled_back', releaseId: i.Input.releaseId }, ExecutionArn: 'arn:canary-exec' }),
        [state]: how === 'throws' ? async () => Promise.reject(named('AwsCallError', 'SageMaker.UpdateEndpoint: throttled')) : servingAnswers('failed', { message: 'removing 2.1.0 failed: timed out' }),
      }),
    );
    const removal = loop('RemoveAfterRollback');
    expect(states(r)).toEqual([...DEPLOYED, P.runCanary, ...removal.slice(0, removal.indexOf(state) + 1), 'ReleaseLockAfterServingFailure']);
    expect(LockInputSchema.parse(r.calls.at(-1)!.input)).toEqual({ action: 'release', releaseId, model: 'builderbrain' });
    expect(r.error).toEqual({ name: 'ServingFailed', message: expect.stringContaining('the lock was released') });
  });

  it.each([
    // state, whether the smoke test fails first (to reach the removal after a rejection)
    ['RemoveAfterRejectApply', true],
    ['ConvergeCheck', false],
  ] as const)('a failing %s also ends in ServingFailed after releasing the lock', async (state, smokeFails) => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        ...(smokeFails ? { [P.smoke]: async (i: unknown) => (ServingInputSchema.parse(i), smoke(false)) } : {}),
        [state]: async () => Promise.reject(named('AwsCallError', 'boom')),
      }),
    );
    expect(r.calls.at(-2)!.state).toBe(state);
    expect(r.calls.at(-1)!.state).toBe('ReleaseLockAfterServingFailure');
    expect(r.error!.name).toBe('ServingFailed');
  });

  it('canary failure: rollback (stopExecution, step named), the candidate removed, the recovery checked, lock released, execution fails', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [P.runCanary]: async () => Promise.reject(named('States.TaskFailed', 'canary failed')) }),
    );
    expect(states(r)).toEqual([...DEPLOYED, P.runCanary, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
    expect(RollbackInputSchema.parse(callOf(r, P.rollbackOnFailure).input)).toEqual({
      releaseId,
      model: 'builderbrain',
      trigger: { kind: 'task_failure', step: P.runCanary, error: 'States.TaskFailed' },
      stopExecution: true,
    });
    expect(r.error).toEqual({ name: 'PromotionFailed', message: expect.any(String) });
  });

  it.each([P.verifyArtifact, P.deploy, `${P.deploy}Apply`, `${P.deploy}Check`, P.smoke])(
    'a crashing %s: rollback naming the step, the candidate removed, lock released, execution fails',
    async (state) => {
      const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [state]: async () => Promise.reject(named('Boom', 'crashed')) }));
      expect(states(r).slice(states(r).indexOf(state))).toEqual([state, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
      expect(RollbackInputSchema.parse(callOf(r, P.rollbackOnFailure).input).trigger).toEqual({ kind: 'task_failure', step: state, error: 'Boom' });
      expect(r.calls.map((c) => c.state)).not.toContain(P.runCanary);
      expect(r.error!.name).toBe('PromotionFailed');
    },
  );

  it('canary stopped by the alarm path: already rolled back, the candidate removed, the recovery checked (the alarm path\'s), lock released, execution succeeds as a rollback', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.runCanary]: async () => Promise.reject(named('States.TaskFailed', 'execution aborted')),
        [P.rollbackOnFailure]: rollbackStub('already_rolled_back'),
      }),
    );
    expect(states(r).slice(-7)).toEqual([P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterAlarm'), P.releaseLockAfterFailure]);
    expect(r.error).toBeNull();
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId, rollback: { outcome: 'already_rolled_back' } });
  });

  it('a removal that fails after a canary failure still releases the lock, and fails the execution', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.runCanary]: async () => Promise.reject(named('States.TaskFailed', 'canary failed')),
        RemoveAfterFailureCheck: servingAnswers('failed'),
      }),
    );
    expect(states(r).slice(-5)).toEqual([P.rollbackOnFailure, ...loop('RemoveAfterFailure'), 'ReleaseLockAfterServingFailure']);
    expect(r.error!.name).toBe('ServingFailed');
  });

  it('a failed rollback still releases the lock, and fails the execution', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.gates]: async () => Promise.reject(named('GateCrashed', 'boom')),
        [P.rollbackOnFailure]: async () => Promise.reject(named('RollbackFailed', 'router down')),
      }),
    );
    expect(states(r)).toEqual([P.validate, P.acquireLock, P.gates, P.rollbackOnFailure, P.releaseLockAfterFailure]);
    expect(r.calls[3]!.input.trigger).toEqual({ kind: 'task_failure', step: P.gates, error: 'GateCrashed' });
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('retries a throttled handler, then goes on', async () => {
    let attempts = 0;
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.gates]: async () => {
          attempts += 1;
          if (attempts < 3) throw named('Lambda.TooManyRequestsException', 'slow down');
          return gate(true);
        },
      }),
    );
    expect(attempts).toBe(3);
    expect(r.output).toMatchObject({ outcome: 'promoted' });
  });
});

// ---- canary -----------------------------------------------------------------------------------
function canaryHandlers(over: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  const rollback: Handler = async (i) => {
    const r = RollbackInputSchema.parse(i);
    expect(r.stopExecution).toBe(false);
    return { outcome: 'rolled_back', releaseId: r.releaseId, reason: 'x', severity: 'P1', message: 'rolled back' };
  };
  return {
    [C.startPhase]: async (i) => {
      const input = StartPhaseInputSchema.parse(i);
      return phaseState(input.phaseIndex);
    },
    [C.analyze]: analyzer((p) => (p.requiresApproval ? 'await_approval' : 'advance')),
    [C.requestApproval]: async (i) => {
      expect(i.FunctionName).toMatch(/:function:/);
      ApprovalRequestSchema.parse(i.Payload);
      return { approvedBy: 'alice', at: '2025-01-01T01:00:00.000Z' };
    },
    [C.promote]: async (i) => (PromoteInputSchema.parse(i), { outcome: 'promoted' }),
    [C.rollbackOnVerdict]: rollback,
    [C.rollbackOnRejection]: rollback,
    [C.rollbackOnTimeout]: rollback,
    [C.rollbackOnFailure]: rollback,
    ...over,
  } as Record<string, Handler>;
}

describe('canary state machine paths', () => {
  it('happy path: two phases, bounded looks, one approval, promotion', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers());
    expect(r.error).toBeNull();
    expect(r.output).toEqual({ outcome: 'promoted', releaseId: canaryInput.releaseId, version: '2.1.0' });
    expect(r.calls.map((c) => c.state)).toEqual([
      C.startPhase, C.analyze, C.analyze, C.requestApproval,
      C.startPhase, C.analyze, C.analyze, C.promote,
    ]);
    const starts = r.calls.filter((c) => c.state === C.startPhase).map((c) => StartPhaseInputSchema.parse(c.input));
    expect(starts.map((s) => s.phaseIndex)).toEqual([0, 1]);
    expect(starts[0]!.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:builderbrain-canary:rel-1');
    const approval = ApprovalRequestSchema.parse(r.calls.find((c) => c.state === C.requestApproval)!.input.Payload);
    expect(approval.taskToken).toBe('token-123');
  });

  it('a failing verdict rolls back (trigger verdict) and ends rolled_back', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'rollback', verdict: verdict('fail') }) }),
    );
    expect(r.calls.map((c) => c.state)).toEqual([C.startPhase, C.analyze, C.rollbackOnVerdict]);
    expect(r.calls[2]!.input.trigger).toEqual({ kind: 'verdict', verdict: verdict('fail') });
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId: canaryInput.releaseId });
  });

  it('a rejected approval rolls back with the approver as actor', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('Rejected', JSON.stringify({ actor: 'bob', note: 'latency looks off' }))) }),
    );
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnRejection);
    expect(RollbackInputSchema.parse(r.calls.at(-1)!.input).trigger).toEqual({ kind: 'manual', actor: 'bob', note: 'phase approval rejected: latency looks off' });
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it('a rejection without a JSON actor still rolls back, as an unknown operator', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('Rejected', '{}')) }),
    );
    expect(r.calls.at(-1)!.input.trigger).toEqual({ kind: 'manual', actor: 'unknown operator', note: 'phase approval rejected: ' });
  });

  it('an approval timeout rolls back', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('States.Timeout', 'no answer')) }),
    );
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnTimeout);
    expect(r.calls.at(-1)!.input.trigger).toMatchObject({ kind: 'approval_timeout', minutes: expect.any(Number) });
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it.each([C.startPhase, C.analyze, C.promote])('a failing %s rolls back (task_failure, step named) and fails', async (state) => {
    const handlers = canaryHandlers({ [state]: async () => Promise.reject(named('Boom', 'crashed')) });
    const r = await run(defs.canary.definition, canaryInput, handlers);
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnFailure);
    expect(RollbackInputSchema.parse(r.calls.at(-1)!.input).trigger).toEqual({ kind: 'task_failure', step: state, error: 'Boom' });
    expect(r.error!.name).toBe('CanaryStepFailed');
  });

  it('a monitor action nobody knows fails closed into a rollback', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'dance' }) }),
    );
    expect(r.calls.at(-1)!.input.trigger).toEqual({ kind: 'task_failure', step: C.decide, error: 'UnknownMonitorAction' });
    expect(r.error!.name).toBe('CanaryStepFailed');
  });

  it('a rollback that fails ends in the RollbackFailed state', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({
        [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'rollback', verdict: verdict('fail') }),
        [C.rollbackOnVerdict]: async () => Promise.reject(named('RollbackFailed', 'router unreachable')),
      }),
    );
    expect(r.error).toEqual({ name: 'RollbackFailed', message: expect.stringContaining('P0') });
  });
});
