/**
 * The environment chain's states (STATE_NAMES.promotionChain / canaryChain): the before-traffic
 * hooks and the hand-over of the promotion machine, the during- and after-phase hooks and the
 * rollback drill of the canary machine. Both machines are built in a stack of their own with every
 * chain prop set, and run on the local ASL interpreter the embedded runtime uses
 * (aws-local-stepfunctions; test/lib/path-harness.ts), as test/lib/paths.test.ts runs the
 * pipeline's: every task is a stub keyed by state name that parses its payload with the contract
 * schema of core/contracts.ts, so that the definitions build exactly what the handlers parse.
 */
import asl from 'amazon-states-language-service';
import aslValidator from 'asl-validator';
import { Duration, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { afterRejection } from '../../core/app/reject-release.js';
import {
  ApprovalRequestSchema, CanaryInputSchema, DrillInputSchema, DrillOutputSchema, GatesInputSchema, HandOverInputSchema,
  HandOverOutputSchema, HooksInputSchema, HooksOutputSchema, LockInputSchema, PromoteInputSchema, RejectInputSchema,
  RejectOutputSchema, RollbackInputSchema, RollbackOutputSchema, ServingInputSchema, ServingProgressSchema, SmokeOutputSchema,
  STATE_NAMES, StartPhaseInputSchema, ValidateInputSchema, VerifyArtifactInputSchema, type DrillOutput, type HooksOutput,
} from '../../core/contracts.js';
import type { HookStage } from '../../core/environments.js';
import { CanaryStateMachine, type CanaryStateMachineProps } from '../../lib/canary-state-machine.js';
import { STEP_METADATA_KEY, type HandlerName } from '../../lib/pipeline-functions.js';
import { PromotionStateMachine, type PromotionStateMachineProps } from '../../lib/promotion-state-machine.js';
import { LAMBDA_RETRY, LAMBDA_TRANSIENT_ERRORS } from '../../lib/sfn-tasks.js';
import { createApp, stateMachineDefinitions, type CfnTemplate, type MachineDefinitions } from '../../lib/synth.js';
import { analyzer, baker, callOf, canaryInput, DEPLOYED, gate, loop, named, past, pathRunner, phaseState, progress, PROMOTION_NO_WAIT, promotionInput, RECOVERY, recoveryHandlers, releaseId, rollbackAnswers, states, stripParent, taskNames, twoPhases, validation, verified, type Handler, servingStub, canaryEnds } from './path-harness.js';

const P = STATE_NAMES.promotion;
const PC = STATE_NAMES.promotionChain;
const C = STATE_NAMES.canary;
const CC = STATE_NAMES.canaryChain;
const SB = STATE_NAMES.promotionBake;

type ChainProps = {
  readonly promotion?: Partial<Pick<PromotionStateMachineProps, 'beforeTrafficHooks'>> & { readonly runHooks?: boolean; readonly handOver?: boolean };
  readonly canary?: Partial<Pick<CanaryStateMachineProps, 'duringPhaseHooks' | 'afterPhaseHooks'>> & { readonly runHooks?: boolean; readonly drill?: boolean };
};
const ALL_ON: ChainProps = {
  promotion: { runHooks: true, beforeTrafficHooks: true, handOver: true },
  canary: { runHooks: true, duringPhaseHooks: true, afterPhaseHooks: true, drill: true },
};

/** Both machines in a stack of their own, each function tagged with its step (so `handlerForTask` names it). */
function build(chain: ChainProps): MachineDefinitions {
  const app = createApp({ bundling: false, builtinValidation: false });
  const stack = new Stack(app, 'ChainStates');
  const encryptionKey = new kms.Key(stack, 'Key');
  const fns = new Map<HandlerName, lambda.Function>();
  const fn = (step: HandlerName) => {
    let f = fns.get(step);
    if (f === undefined) {
      f = new lambda.Function(stack, `Fn-${step}`, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'), timeout: Duration.seconds(30) });
      (f.node.defaultChild as lambda.CfnFunction).addMetadata(STEP_METADATA_KEY, step);
      fns.set(step, f);
    }
    return f;
  };
  const c = chain.canary ?? {};
  const canary = new CanaryStateMachine(stack, 'Canary', {
    stateMachineName: 'chain-canary',
    startPhaseFunction: fn('start-phase'),
    analyzeCanaryFunction: fn('analyze-canary'),
    requestApprovalFunction: fn('request-approval'),
    promoteFunction: fn('promote'),
    rollbackFunction: fn('rollback'),
    approvalTimeout: Duration.hours(1),
    timeout: Duration.hours(6),
    encryptionKey,
    ...(c.runHooks === true ? { runHooksFunction: fn('run-hooks') } : {}),
    ...(c.duringPhaseHooks === undefined ? {} : { duringPhaseHooks: c.duringPhaseHooks }),
    ...(c.afterPhaseHooks === undefined ? {} : { afterPhaseHooks: c.afterPhaseHooks }),
    ...(c.drill === true ? { drillFunction: fn('drill') } : {}),
  });
  const p = chain.promotion ?? {};
  new PromotionStateMachine(stack, 'Promotion', {
    stateMachineName: 'chain-promotion',
    validateManifestFunction: fn('validate-manifest'),
    releaseLockFunction: fn('release-lock'),
    runGatesFunction: fn('run-gates'),
    rejectReleaseFunction: fn('reject-release'),
    rollbackFunction: fn('rollback'),
    verifyArtifactFunction: fn('verify-artifact'),
    servingFunction: fn('serving'),
    bakeFunction: fn('bake'),
    recoveryFunction: fn('recovery'),
    smokeSamples: [],
    canaryStateMachine: canary.stateMachine,
    phases: twoPhases,
    maxLooksPerPhase: 120,
    timeout: Duration.hours(8),
    encryptionKey,
    ...(p.runHooks === true ? { runHooksFunction: fn('run-hooks') } : {}),
    ...(p.beforeTrafficHooks === undefined ? {} : { beforeTrafficHooks: p.beforeTrafficHooks }),
    ...(p.handOver === true ? { handOverFunction: fn('hand-over') } : {}),
  });
  return stateMachineDefinitions(app.synth().getStackByName(stack.stackName).template as CfnTemplate);
}

let defs: MachineDefinitions;
beforeAll(() => {
  defs = build(ALL_ON);
});

// ---- the interpreter ----------------------------------------------------------------------------
const run = pathRunner({ stateMachineName: 'chain-canary', noWait: [C.wait, CC.waitForDrill, ...PROMOTION_NO_WAIT] });

// ---- the hooks' and the drill's answers (parsed by the contract) --------------------------------
const hooksAnswer = (stage: HookStage, passed: boolean): HooksOutput =>
  HooksOutputSchema.parse({
    passed,
    stage,
    results: [
      {
        hook: 'integration-tests',
        functionArn: 'arn:aws:lambda:us-east-1:111111111111:function:integration-tests',
        stage,
        passed,
        message: passed ? '42 tests passed' : '3 of 42 tests failed',
        metrics: { tests: 42 },
        durationMs: 1200,
      },
    ],
    failure: passed ? null : { hook: 'integration-tests', message: '3 of 42 tests failed' },
    severity: passed ? null : stage === 'during_phase' ? 'P1' : stage === 'after_phase' ? 'P2' : 'P3',
  });
/** A RunHooks stub: parses HooksInput, checks the stage, answers `passed` (or what `passed(input)` says). */
const hooksStub = (stage: HookStage, passed: (input: ReturnType<typeof HooksInputSchema.parse>) => boolean = () => true): Handler => async (i) => {
  const input = HooksInputSchema.parse(i);
  expect(input.stage).toBe(stage);
  return hooksAnswer(stage, passed(input));
};

const DRILL_STARTED_AT = '2025-01-01T02:00:00.000Z';
/** The drill stub: parses DrillInput; the verify step answers `verdict`. */
const drillStub = (verdict = true): Handler => async (i) => {
  const input = DrillInputSchema.parse(i);
  const out: DrillOutput =
    input.action === 'rollback'
      ? { action: 'rollback', startedAt: DRILL_STARTED_AT, waitSeconds: 300, passed: true, message: 'candidate rolled back on purpose' }
      : input.action === 'verify'
        ? { action: 'verify', startedAt: input.drill.startedAt, waitSeconds: 0, passed: verdict, message: verdict ? 'the baseline served alone' : 'the router still sends 100% of traffic to the candidate after the rollback' }
        : { action: 'restore', startedAt: '2025-01-01T02:05:00.000Z', waitSeconds: 0, passed: true, message: 'drill passed; candidate back at 100%' };
  return DrillOutputSchema.parse(out);
};

// ---- promotion ----------------------------------------------------------------------------------

function promotionHandlers(over: Record<string, Handler> = {}, d: MachineDefinitions = defs): Record<string, Handler> {
  const handlers: Record<string, Handler> = {};
  for (const [state, handler] of Object.entries(d.promotion.handlerForTask)) {
    if (handler === 'serving') handlers[state] = servingStub;
    if (handler === 'release-lock') {
      handlers[state] = async (i) => {
        const input = LockInputSchema.parse(i);
        expect(input.action).toBe(state === P.acquireLock ? 'acquire' : 'release');
        return input.action === 'acquire' ? { acquired: true, holder: releaseId } : { acquired: false, holder: null };
      };
    }
  }
  return {
    ...handlers,
    [P.validate]: async (i) => (ValidateInputSchema.parse(i), validation(true)),
    [P.gates]: async (i) => (GatesInputSchema.parse(i), gate(true)),
    [P.verifyArtifact]: async (i) => (VerifyArtifactInputSchema.parse(i), verified(true)),
    [PC.beforeTrafficHooks]: hooksStub('before_traffic'),
    [P.runCanary]: canaryEnds('promoted'),
    [P.reject]: async (i) => {
      const { cause } = RejectInputSchema.parse(i);
      return RejectOutputSchema.parse({ outcome: 'rejected', cause, then: afterRejection(cause) });
    },
    [P.rollbackOnFailure]: async (i) => {
      const r = RollbackInputSchema.parse(i);
      expect(r.stopExecution).toBe(true);
      return RollbackOutputSchema.parse({ outcome: 'rolled_back', releaseId: r.releaseId, reason: 'task_failure', severity: 'P1', message: 'rolled back' });
    },
    [PC.handOver]: async (i) => {
      expect(HandOverInputSchema.parse(i)).toEqual({ releaseId, model: 'builderbrain', version: '2.1.0' });
      return HandOverOutputSchema.parse({ sent: true, to: 'production', bytes: 4096 });
    },
    // An environment before the last bakes 0 minutes by default (lib/config.ts environmentPipelines): released at once.
    [SB.startBake]: baker(0),
    [SB.watchBake]: baker(0),
    [SB.rollbackOnBake]: rollbackAnswers(false),
    ...recoveryHandlers(),
    ...over,
  };
}

describe('promotion machine: the environment chain', () => {
  it('has every STATE_NAMES.promotionChain state; its tasks invoke RunHooks, HandOver and ReleaseLock', () => {
    for (const name of Object.values({ ...P, ...PC })) expect(defs.promotion.definition.States).toHaveProperty([name]);
    expect(defs.promotion.handlerForTask).toMatchObject({ [PC.beforeTrafficHooks]: 'run-hooks', [PC.handOver]: 'hand-over', [PC.releaseLockAfterRollback]: 'release-lock', [P.releaseLock]: 'release-lock' });
    expect(Object.keys(promotionHandlers()).sort()).toEqual(taskNames(defs.promotion.definition));
  });

  it('the new tasks retry as every Lambda task does; the hooks step\'s failure rolls back as the smoke test\'s', () => {
    const st = defs.promotion.definition.States;
    const retry = [{ ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS, 'States.Timeout'], IntervalSeconds: 2, MaxAttempts: LAMBDA_RETRY.maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' }];
    for (const name of [PC.beforeTrafficHooks, PC.handOver, PC.releaseLockAfterRollback]) expect(st[name]!['Retry'], name).toEqual(retry);
    expect(st[PC.beforeTrafficHooks]!['Catch']).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `${PC.beforeTrafficHooks}Failed` }]);
    expect(st[`${PC.beforeTrafficHooks}Failed`]!['Next']).toBe(st[`${P.smoke}Failed`]!['Next']);
    expect(st[PC.handOver]!['Catch']).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.handOverFailure', Next: PC.handOverFailed }]);
    expect(st[PC.handOverFailed]).toMatchObject({ Type: 'Fail', Error: 'HandOverFailed' });
  });

  it('before-traffic hooks passed: RunCanary; promoted: converge, ReleaseLock, then HandOver', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers());
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, PC.beforeTrafficHooks, P.runCanary, SB.startBake, ...loop('Converge'), P.releaseLock, PC.handOver]);
    expect(HooksInputSchema.parse(callOf(r, PC.beforeTrafficHooks).input)).toEqual({ releaseId, model: 'builderbrain', version: '2.1.0', stage: 'before_traffic' });
    expect(r.output).toEqual({ outcome: 'promoted', releaseId, canaryExecutionArn: 'arn:canary-exec' });
  });

  it('a before-traffic hook failed: rejected (verification_failed, with the hooks\' answer), the candidate removed, the lock released; no canary, no hand-over', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [PC.beforeTrafficHooks]: hooksStub('before_traffic', () => false) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, PC.beforeTrafficHooks, P.reject, ...loop('RemoveAfterReject'), P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(callOf(r, P.reject).input)).toEqual({ releaseId, cause: 'verification_failed', validation: validation(true), hooks: hooksAnswer('before_traffic', false) });
    expect(afterRejection('verification_failed')).toBe('remove_candidate');
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'verification_failed', then: 'remove_candidate' });
  });

  it('a crashing BeforeTrafficHooks: rollback naming the step, the candidate removed, the lock released, the execution fails', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [PC.beforeTrafficHooks]: async () => Promise.reject(named('Boom', 'crashed')) }));
    expect(states(r)).toEqual([...DEPLOYED, PC.beforeTrafficHooks, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
    expect(RollbackInputSchema.parse(callOf(r, P.rollbackOnFailure).input)).toEqual({
      releaseId,
      model: 'builderbrain',
      trigger: { kind: 'task_failure', step: PC.beforeTrafficHooks, error: 'Boom' },
      stopExecution: true,
    });
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('canary rolled back: the candidate removed, the recovery checked, ReleaseLockAfterRollback, and never a hand-over', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.runCanary]: canaryEnds('rolled_back') }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, PC.beforeTrafficHooks, P.runCanary, ...loop('RemoveAfterRollback'), ...RECOVERY(''), PC.releaseLockAfterRollback]);
    expect(LockInputSchema.parse(callOf(r, PC.releaseLockAfterRollback).input)).toEqual({ action: 'release', releaseId, model: 'builderbrain' });
    expect(states(r)).not.toContain(PC.handOver);
    expect(r.output).toEqual({ outcome: 'rolled_back', releaseId, canaryExecutionArn: 'arn:canary-exec' });
  });

  it('no path but the promoted one reaches HandOver', () => {
    const st = defs.promotion.definition.States;
    const into = Object.entries(st).filter(([, s]) => s['Next'] === PC.handOver || JSON.stringify(s['Choices'] ?? []).includes(`"${PC.handOver}"`) || s['Default'] === PC.handOver);
    expect(into.map(([n]) => n)).toEqual([P.releaseLock]);
    expect(st['ConvergeProgress']!['Choices']).toContainEqual({ Variable: '$.serving.next', StringEquals: 'done', Next: P.releaseLock });
    expect(st['RemoveAfterRollbackProgress']!['Choices']).toContainEqual({ Variable: '$.serving.next', StringEquals: 'done', Next: 'PlanRecovery' });
    expect(st['VerifyRecovery']).toMatchObject({ Next: PC.releaseLockAfterRollback, Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recoveryError', Next: PC.releaseLockAfterRollback }] });
    // The bake's states lead to the converge loop or the removal, never straight to the lock or the hand-over.
    expect(st[SB.bakeDecision]!['Choices']).toContainEqual({ Variable: '$.bake.action', StringEquals: 'released', Next: 'ConvergeStart' });
    expect(st[SB.bakeRolledBack]).toMatchObject({ Next: 'RemoveAfterRollbackStart' });
  });

  it('a regression during the bake: rolled back, the candidate removed, the recovery checked, ReleaseLockAfterRollback, never a hand-over', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [SB.startBake]: baker(2, 'rollback'), [SB.watchBake]: baker(2, 'rollback') }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, PC.beforeTrafficHooks, P.runCanary, SB.startBake, SB.watchBake, SB.watchBake, SB.rollbackOnBake, ...loop('RemoveAfterRollback'), ...RECOVERY(''), PC.releaseLockAfterRollback]);
    expect(states(r)).not.toContain(PC.handOver);
    expect(r.output).toEqual({ outcome: 'rolled_back', releaseId, canaryExecutionArn: 'arn:canary-exec' });
  });

  it('a HandOver that keeps failing: retried, then HandOverFailed (the lock already released)', async () => {
    let attempts = 0;
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [PC.handOver]: async (i) => {
          HandOverInputSchema.parse(i);
          attempts += 1;
          throw named('Lambda.TooManyRequestsException', 'slow down');
        },
      }),
    );
    expect(attempts).toBe(1 + LAMBDA_RETRY.maxAttempts);
    expect(states(r).filter((s) => s !== PC.handOver).slice(-2)).toEqual(['ConvergeCheck', P.releaseLock]);
    expect(r.error).toEqual({ name: 'HandOverFailed', message: expect.stringContaining('not handed over to the next environment') });
  });

  it('a HandOver that throws an error of its own: HandOverFailed at once', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [PC.handOver]: async () => Promise.reject(named('Error', 'release is rolled_back, not promoted')) }));
    expect(states(r).slice(-2)).toEqual([P.releaseLock, PC.handOver]);
    expect(r.error!.name).toBe('HandOverFailed');
  });
});

// ---- canary -------------------------------------------------------------------------------------
const canaryRollback: Handler = async (i) => {
  const r = RollbackInputSchema.parse(i);
  expect(r.stopExecution).toBe(false);
  return RollbackOutputSchema.parse({ outcome: 'rolled_back', releaseId: r.releaseId, reason: r.trigger.kind, severity: 'P1', message: 'rolled back' });
};

function canaryHandlers(over: Record<string, Handler> = {}): Record<string, Handler> {
  return {
    [C.startPhase]: async (i) => phaseState(StartPhaseInputSchema.parse(i).phaseIndex),
    [CC.duringPhaseHooks]: hooksStub('during_phase'),
    [C.analyze]: analyzer((p) => (p.requiresApproval ? 'await_approval' : 'advance')),
    [CC.afterPhaseHooks]: hooksStub('after_phase'),
    [C.requestApproval]: async (i) => (ApprovalRequestSchema.parse(i.Payload), { approvedBy: 'alice', at: '2025-01-01T01:00:00.000Z' }),
    [CC.rollbackDrill]: drillStub(),
    [CC.verifyDrill]: drillStub(),
    [CC.restoreAfterDrill]: drillStub(),
    [C.promote]: async (i) => (PromoteInputSchema.parse(i), { outcome: 'promoted' }),
    ...Object.fromEntries(
      [C.rollbackOnVerdict, C.rollbackOnRejection, C.rollbackOnTimeout, C.rollbackOnFailure, CC.rollbackOnVerification, CC.rollbackOnAfterPhaseVerification, CC.rollbackOnDrill].map((n) => [n, canaryRollback]),
    ),
    ...over,
  };
}
const PHASE_0 = [C.startPhase, CC.duringPhaseHooks, C.analyze, C.analyze, CC.afterPhaseHooks, C.requestApproval];
const PHASE_1 = [C.startPhase, CC.duringPhaseHooks, C.analyze, C.analyze, CC.afterPhaseHooks];
const DRILL = [CC.rollbackDrill, CC.verifyDrill, CC.restoreAfterDrill];

describe('canary machine: the environment chain', () => {
  it('has every STATE_NAMES.canaryChain state; its tasks invoke RunHooks, the drill and the rollback', () => {
    for (const name of Object.values({ ...C, ...CC })) expect(defs.canary.definition.States).toHaveProperty([name]);
    expect(defs.canary.handlerForTask).toMatchObject({
      [CC.duringPhaseHooks]: 'run-hooks',
      [CC.afterPhaseHooks]: 'run-hooks',
      [CC.rollbackDrill]: 'drill',
      [CC.verifyDrill]: 'drill',
      [CC.restoreAfterDrill]: 'drill',
      [CC.rollbackOnVerification]: 'rollback',
      [CC.rollbackOnAfterPhaseVerification]: 'rollback',
      [CC.rollbackOnDrill]: 'rollback',
    });
    expect(Object.keys(canaryHandlers()).sort()).toEqual(taskNames(defs.canary.definition));
    expect(defs.canary.definition.States[CC.waitForDrill]).toEqual({ Type: 'Wait', SecondsPath: '$.drill.waitSeconds', Next: CC.verifyDrill });
  });

  it('every new task retries and catches as the others do', () => {
    const st = defs.canary.definition.States;
    const retry = [{ ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS, 'States.Timeout'], IntervalSeconds: 2, MaxAttempts: LAMBDA_RETRY.maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' }];
    for (const name of [CC.duringPhaseHooks, CC.afterPhaseHooks, CC.rollbackDrill, CC.verifyDrill, CC.restoreAfterDrill]) {
      expect(st[name]!['Retry'], name).toEqual(retry);
      expect(st[name]!['Catch'], name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `${name}Failed` }]);
      expect(st[`${name}Failed`]!['Next'], name).toBe(C.rollbackOnFailure);
    }
    for (const name of [CC.rollbackOnVerification, CC.rollbackOnAfterPhaseVerification, CC.rollbackOnDrill]) {
      expect(st[name]!['Catch'], name).toEqual(st[C.rollbackOnVerdict]!['Catch']);
      expect(st[name]!['Next'], name).toBe('RolledBack');
    }
  });

  it('happy path: hooks during and after each phase, the approval, then the drill before the promotion', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers());
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...PHASE_0, ...PHASE_1, ...DRILL, C.promote]);
    expect(r.output).toEqual({ outcome: 'promoted', releaseId, version: '2.1.0' });
    const hooks = r.calls.filter((c) => c.state.endsWith('PhaseHooks')).map((c) => HooksInputSchema.parse(c.input));
    expect(hooks).toEqual([
      { releaseId, model: 'builderbrain', version: '2.1.0', stage: 'during_phase', phase: { index: 0, weight: 10 } },
      { releaseId, model: 'builderbrain', version: '2.1.0', stage: 'after_phase', phase: { index: 0, weight: 10 } },
      { releaseId, model: 'builderbrain', version: '2.1.0', stage: 'during_phase', phase: { index: 1, weight: 100 } },
      { releaseId, model: 'builderbrain', version: '2.1.0', stage: 'after_phase', phase: { index: 1, weight: 100 } },
    ]);
    const drill = DRILL.map((s) => DrillInputSchema.parse(callOf(r, s).input));
    const release = { releaseId, model: 'builderbrain', version: '2.1.0', phase: { index: 1, weight: 100 } };
    expect(drill).toEqual([
      { action: 'rollback', ...release },
      { action: 'verify', ...release, drill: { startedAt: DRILL_STARTED_AT } },
      { action: 'restore', ...release },
    ]);
    // The hooks' and the drill's results do not overwrite the phase Promote reports.
    expect(PromoteInputSchema.parse(callOf(r, C.promote).input).phase).toMatchObject({ index: 1, weight: 100, action: 'advance' });
  });

  it('a phase without an approval: after its hooks, straight to NextPhase', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [C.analyze]: analyzer(() => 'advance') }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...PHASE_0.slice(0, -1), ...PHASE_1, ...DRILL, C.promote]);
  });

  it('a during-phase hook failed: RollbackOnVerification (stage during_phase, the hook named), no look', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [CC.duringPhaseHooks]: hooksStub('during_phase', () => false) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([C.startPhase, CC.duringPhaseHooks, CC.rollbackOnVerification]);
    expect(RollbackInputSchema.parse(callOf(r, CC.rollbackOnVerification).input)).toEqual({
      releaseId,
      model: 'builderbrain',
      trigger: { kind: 'verification_failed', stage: 'during_phase', hook: 'integration-tests', message: '3 of 42 tests failed' },
      stopExecution: false,
    });
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId, rollback: { reason: 'verification_failed' } });
  });

  it('a during-phase hook failed in the second phase only: the first phase went through', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [CC.duringPhaseHooks]: hooksStub('during_phase', (i) => i.phase?.index !== 1) }));
    expect(states(r)).toEqual([...PHASE_0, C.startPhase, CC.duringPhaseHooks, CC.rollbackOnVerification]);
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it('an after-phase hook failed: RollbackOnAfterPhaseVerification (stage after_phase), no approval asked', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [CC.afterPhaseHooks]: hooksStub('after_phase', () => false) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...PHASE_0.slice(0, -1), CC.rollbackOnAfterPhaseVerification]);
    expect(RollbackInputSchema.parse(callOf(r, CC.rollbackOnAfterPhaseVerification).input).trigger).toEqual({
      kind: 'verification_failed',
      stage: 'after_phase',
      hook: 'integration-tests',
      message: '3 of 42 tests failed',
    });
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it('the drill failed: RollbackOnDrill (drill_failed, the verdict\'s message); no restore, no promotion', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [CC.verifyDrill]: drillStub(false) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...PHASE_0, ...PHASE_1, CC.rollbackDrill, CC.verifyDrill, CC.rollbackOnDrill]);
    expect(RollbackInputSchema.parse(callOf(r, CC.rollbackOnDrill).input).trigger).toEqual({
      kind: 'drill_failed',
      message: 'the router still sends 100% of traffic to the candidate after the rollback',
    });
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId });
  });

  it.each([CC.duringPhaseHooks, CC.afterPhaseHooks, CC.rollbackDrill, CC.verifyDrill, CC.restoreAfterDrill])('a failing %s rolls back (task_failure, step named) and fails', async (state) => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers({ [state]: async () => Promise.reject(named('Boom', 'crashed')) }));
    expect(r.calls.at(-2)!.state).toBe(state);
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnFailure);
    expect(RollbackInputSchema.parse(r.calls.at(-1)!.input).trigger).toEqual({ kind: 'task_failure', step: state, error: 'Boom' });
    expect(r.error!.name).toBe('CanaryStepFailed');
  });

  it('a failed verification rollback ends in RollbackFailed', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({
        [CC.duringPhaseHooks]: hooksStub('during_phase', () => false),
        [CC.rollbackOnVerification]: async () => Promise.reject(named('RollbackFailed', 'router unreachable')),
      }),
    );
    expect(r.error).toEqual({ name: 'RollbackFailed', message: expect.stringContaining('P0') });
  });
});

// ---- what the embedded runtime and the validators require --------------------------------------
describe('the chain definitions', () => {
  it.each(['promotion', 'canary'] as const)('%s: JSONPath only, no Assign/Arguments/Output, no ResultPath "$"', (which) => {
    const def = defs[which].definition;
    expect(def['QueryLanguage'] ?? 'JSONPath').toBe('JSONPath');
    for (const [name, state] of Object.entries(def.States)) {
      expect(state['QueryLanguage'], name).toBeUndefined();
      for (const field of ['Assign', 'Arguments', 'Output']) expect(state[field], `${name}.${field}`).toBeUndefined();
      expect(state['ResultPath'], name).not.toBe('$');
      for (const c of (state['Catch'] as { ResultPath?: string }[] | undefined) ?? []) expect(c.ResultPath, `${name} Catch`).not.toBe('$');
    }
    expect(JSON.stringify(def)).not.toMatch(/\{%|%\}/);
  });

  it.each(['promotion', 'canary'] as const)('%s passes asl-validator (ARNs and paths checked)', (which) => {
    const result = aslValidator(structuredClone(defs[which].definition), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it.each(['promotion', 'canary'] as const)('%s: the ASL language service reports no diagnostic', async (which) => {
    const service = asl.getLanguageService({});
    const document = asl.TextDocument.create('file:///definition.asl.json', 'json', 0, JSON.stringify(defs[which].definition, null, 2));
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
    expect(diagnostics.map((d) => `${d.severity} ${d.message} @${d.range.start.line + 1}:${d.range.start.character + 1}`)).toEqual([]);
  });
});

// ---- the props, one by one ----------------------------------------------------------------------
describe('the chain props', () => {
  const chainStates = (d: MachineDefinitions) => [...Object.values(PC), ...Object.values(CC)].filter((n) => n in d.promotion.definition.States || n in d.canary.definition.States);

  it('off, or set to false, they change nothing: the definitions are those without them', () => {
    const none = build({});
    const off = build({ promotion: { runHooks: true, beforeTrafficHooks: false }, canary: { runHooks: true, duringPhaseHooks: false, afterPhaseHooks: false } });
    expect(off.promotion.definition).toEqual(none.promotion.definition);
    expect(off.canary.definition).toEqual(none.canary.definition);
    expect(chainStates(none)).toEqual([]);
  });

  it('each adds only its own states', () => {
    expect(chainStates(build({ promotion: { handOver: true } }))).toEqual([PC.handOver, PC.handOverFailed, PC.releaseLockAfterRollback]);
    expect(chainStates(build({ promotion: { runHooks: true, beforeTrafficHooks: true } }))).toEqual([PC.beforeTrafficHooks, PC.beforeTrafficHooksPassed, PC.markVerificationFailed]);
    expect(chainStates(build({ canary: { runHooks: true, duringPhaseHooks: true } }))).toEqual([CC.duringPhaseHooks, CC.duringPhaseHooksPassed, CC.rollbackOnVerification]);
    expect(chainStates(build({ canary: { runHooks: true, afterPhaseHooks: true } }))).toEqual([CC.afterPhaseHooks, CC.afterPhaseHooksPassed, CC.afterPhaseAction, CC.rollbackOnAfterPhaseVerification]);
    expect(chainStates(build({ canary: { drill: true } }))).toEqual([CC.rollbackDrill, CC.waitForDrill, CC.verifyDrill, CC.drillPassed, CC.restoreAfterDrill, CC.rollbackOnDrill]);
  });

  it('the drill alone: the last phase drills, then promotes', async () => {
    const d = build({ canary: { drill: true } });
    const r = await run(d.canary.definition, canaryInput, canaryHandlers());
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([C.startPhase, C.analyze, C.analyze, C.requestApproval, C.startPhase, C.analyze, C.analyze, ...DRILL, C.promote]);
  });

  it('the hand-over alone: a promotion hands over, from the one ReleaseLock', async () => {
    const d = build({ promotion: { handOver: true } });
    const r = await run(d.promotion.definition, promotionInput, promotionHandlers({}, d));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...DEPLOYED, P.runCanary, SB.startBake, ...loop('Converge'), P.releaseLock, PC.handOver]);
  });

  it('a hook stage without runHooksFunction is a build error, not a skipped verification', () => {
    expect(() => build({ promotion: { beforeTrafficHooks: true } })).toThrow(/beforeTrafficHooks needs runHooksFunction/);
    expect(() => build({ canary: { duringPhaseHooks: true } })).toThrow(/need runHooksFunction/);
    expect(() => build({ canary: { afterPhaseHooks: true } })).toThrow(/need runHooksFunction/);
  });
});
