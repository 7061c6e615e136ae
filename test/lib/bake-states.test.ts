/**
 * The promotion machine's bake (STATE_NAMES.promotionBake) and its recovery checks after every
 * rollback (STATE_NAMES.promotionRecovery): the exact JSON of their states, and their paths run on
 * the local ASL interpreter the embedded runtime uses (aws-local-stepfunctions;
 * test/lib/path-harness.ts), on the definition the pipeline's stack synthesizes. Every task is a
 * stub keyed by state name that parses its payload with the contract schema of core/contracts.ts
 * (BakeInputSchema, RecoveryInputSchema, RollbackInputSchema, …), so that the definition builds
 * exactly what the handlers parse.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BakeInputSchema,
  BakeStateSchema,
  CanaryInputSchema,
  GatesInputSchema,
  LockInputSchema,
  RecoveryInputSchema,
  RecoveryOutputSchema,
  RejectInputSchema,
  RejectOutputSchema,
  RollbackInputSchema,
  RollbackTriggerSchema,
  ServingInputSchema,
  ServingProgressSchema,
  SmokeOutputSchema,
  STATE_NAMES,
  ValidateInputSchema,
  VerifyArtifactInputSchema,
  type RecoveryInput,
  type RollbackInput,
} from '../../core/contracts.js';
import { afterRejection } from '../../core/app/reject-release.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { LAMBDA_RETRY, LAMBDA_TRANSIENT_ERRORS } from '../../lib/sfn-tasks.js';
import { stateMachineDefinitions, synthesizeTemplate, type MachineDefinitions } from '../../lib/synth.js';
import { baker, bakeState, callOf, DEPLOYED, gate, loop, named, past, pathRunner, progress, PROMOTION_NO_WAIT, promotionInput, RECOVERY, recoverer, recoveryHandlers, releaseId, rollbackAnswers, ROLLED_BACK_AT, states, stripParent, taskNames, validation, verdict, verified, type Handler, servingStub, canaryEnds } from './path-harness.js';

const P = STATE_NAMES.promotion;
const SB = STATE_NAMES.promotionBake;
const SR = STATE_NAMES.promotionRecovery;

let defs: MachineDefinitions;
beforeAll(() => {
  defs = stateMachineDefinitions(synthesizeTemplate(parsePipelineConfig({}), { bundling: false }));
});
const st = () => defs.promotion.definition.States;
const fnArn = (handler: string) => Object.entries(defs.functionArns).find(([, h]) => h === handler)![0];

const run = pathRunner({ stateMachineName: 'builderbrain-canary', noWait: PROMOTION_NO_WAIT });

// ---- the stubs ------------------------------------------------------------------------------------
const crash = (name = 'AwsCallError', message = 'boom'): Handler => async () => Promise.reject(named(name, message));

/** The promotion's stubs: a canary that promotes, a three-look bake that ends clean, recovered rollbacks. */
function handlers(over: Record<string, Handler> = {}): Record<string, Handler> {
  const h: Record<string, Handler> = {};
  for (const [state, handler] of Object.entries(defs.promotion.handlerForTask)) {
    if (handler === 'serving') h[state] = servingStub;
    if (handler === 'release-lock') {
      h[state] = async (i) => {
        const input = LockInputSchema.parse(i);
        expect(input).toEqual({ action: state === P.acquireLock ? 'acquire' : 'release', releaseId, model: 'builderbrain' });
        return input.action === 'acquire' ? { acquired: true, holder: releaseId } : { acquired: false, holder: null };
      };
    }
  }
  return {
    ...h,
    [P.validate]: async (i) => (ValidateInputSchema.parse(i), validation(true)),
    [P.gates]: async (i) => (GatesInputSchema.parse(i), gate(true)),
    [P.verifyArtifact]: async (i) => (VerifyArtifactInputSchema.parse(i), verified(true)),
    [P.runCanary]: canaryEnds('promoted'),
    [P.reject]: async (i) => {
      const { cause } = RejectInputSchema.parse(i);
      return RejectOutputSchema.parse({ outcome: 'rejected', cause, then: afterRejection(cause) });
    },
    [P.rollbackOnFailure]: rollbackAnswers(true),
    [SB.startBake]: baker(3),
    [SB.watchBake]: baker(3),
    [SB.rollbackOnBake]: rollbackAnswers(false),
    ...recoveryHandlers(),
    ...over,
  };
}
const bakeOf = (looks: number, end: 'released' | 'rollback' = 'released') => ({ [SB.startBake]: baker(looks, end), [SB.watchBake]: baker(looks, end) });

/** The states up to the canary's end. */
const CANARY = [...DEPLOYED, P.runCanary];
/** The removal after a rollback, then its recovery check. */
const REMOVED_AND_CHECKED = [...loop('RemoveAfterRollback'), ...RECOVERY('')];

// ---- the definition -------------------------------------------------------------------------------
describe('the bake and recovery states, exactly', () => {
  const retry = [{ ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS, 'States.Timeout'], IntervalSeconds: 2, MaxAttempts: LAMBDA_RETRY.maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' }];
  const task = (handler: string, parameters: Record<string, unknown>, resultPath: string, timeoutSeconds: number, next: string, katch: unknown[]) => ({
    Type: 'Task',
    Resource: fnArn(handler),
    Parameters: parameters,
    ResultPath: resultPath,
    TimeoutSeconds: timeoutSeconds,
    Retry: retry,
    Catch: katch,
    Next: next,
  });
  const release = { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version' };

  it('stubs every task of the machine; the bake and recovery tasks invoke their own functions', () => {
    expect(Object.keys(handlers()).sort()).toEqual(taskNames(defs.promotion.definition));
    expect(defs.promotion.handlerForTask).toMatchObject({ [SB.startBake]: 'bake', [SB.watchBake]: 'bake', [SB.rollbackOnBake]: 'rollback' });
    for (const name of [SR.planRecovery, SR.verifyRecovery, SR.planRecoveryAfterAlarm, SR.verifyRecoveryAfterAlarm, SR.planRecoveryAfterFailure, SR.verifyRecoveryAfterFailure]) {
      expect(defs.promotion.handlerForTask[name], name).toBe('recovery');
    }
  });

  it('CanaryOutcome promoted → StartBake → BakeDecision, on the core\'s $.bake.action', () => {
    expect(st()['CanaryOutcome']).toMatchObject({ Choices: [{ Variable: '$.canary.outcome', StringEquals: 'promoted', Next: SB.startBake }] });
    expect(st()[SB.startBake]).toEqual(task('bake', { action: 'start', ...release }, '$.bake', 70, SB.bakeDecision, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `${SB.startBake}Failed` }]));
    expect(st()[SB.bakeDecision]).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.bake.action', StringEquals: 'continue', Next: SB.waitForBakeLook },
        { Variable: '$.bake.action', StringEquals: 'rollback', Next: SB.rollbackOnBake },
        { Variable: '$.bake.action', StringEquals: 'released', Next: 'ConvergeStart' },
      ],
      Default: SB.unknownBakeAction,
    });
    expect(st()[SB.waitForBakeLook]).toEqual({ Type: 'Wait', SecondsPath: '$.bake.lookEverySeconds', Next: SB.watchBake });
    expect(st()[SB.watchBake]).toEqual(
      task('bake', { action: 'watch', ...release, 'bake.$': '$.bake' }, '$.bake', 70, SB.bakeDecision, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `${SB.watchBake}Failed` }]),
    );
    for (const step of [SB.startBake, SB.watchBake]) {
      expect(st()[`${step}Failed`]).toEqual({ Type: 'Pass', Result: step, ResultPath: '$.failure.step', Next: P.rollbackOnFailure });
    }
    expect(st()[SB.unknownBakeAction]).toMatchObject({ Type: 'Pass', Result: { step: SB.bakeDecision, Error: 'UnknownBakeAction' }, ResultPath: '$.failure', Next: P.rollbackOnFailure });
  });

  it('RollbackOnBake: trigger bake_regression with the look\'s verdict, no execution to stop; then BakeRolledBack and the removal; its failure ends in the lock and PromotionFailed', () => {
    expect(st()[SB.rollbackOnBake]).toEqual(
      task(
        'rollback',
        { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', trigger: { kind: 'bake_regression', 'verdict.$': '$.bake.verdict' }, stopExecution: false },
        '$.rollback',
        310,
        SB.bakeRolledBack,
        [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackFailure', Next: P.releaseLockAfterFailure }],
      ),
    );
    expect(st()[SB.bakeRolledBack]).toEqual({ Type: 'Pass', Result: 'rolled_back', ResultPath: '$.canary.outcome', Next: 'RemoveAfterRollbackStart' });
  });

  it.each([
    // path, plan, wait, verify, the lock after it
    ['rollback', SR.planRecovery, SR.waitForRecovery, SR.verifyRecovery, P.releaseLock],
    ['alarm', SR.planRecoveryAfterAlarm, SR.waitForRecoveryAfterAlarm, SR.verifyRecoveryAfterAlarm, P.releaseLockAfterFailure],
    ['failure', SR.planRecoveryAfterFailure, SR.waitForRecoveryAfterFailure, SR.verifyRecoveryAfterFailure, P.releaseLockAfterFailure],
  ] as const)('the %s path\'s recovery check: plan → wait until $.recovery.checkAt → verify → %s; a failure goes on to the lock', (_path, plan, wait, verify, lock) => {
    const goOn = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.recoveryError', Next: lock }];
    const who = { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' };
    expect(st()[plan]).toEqual(task('recovery', { action: 'plan', ...who }, '$.recovery', 70, wait, goOn));
    expect(st()[wait]).toEqual({ Type: 'Wait', TimestampPath: '$.recovery.checkAt', Next: verify });
    expect(st()[verify]).toEqual(
      task('recovery', { action: 'verify', ...who, recovery: { 'rolledBackAt.$': '$.recovery.rolledBackAt', 'checkAt.$': '$.recovery.checkAt' } }, '$.recovery', 70, lock, goOn),
    );
  });

  it('every path into a recovery check comes from a removal that is done (or the choice of who rolled back)', () => {
    const into = (name: string) =>
      Object.entries(st())
        .filter(([, s]) => s['Next'] === name || s['Default'] === name || JSON.stringify(s['Choices'] ?? []).includes(`"Next":"${name}"`))
        .map(([n]) => n);
    expect(into(SR.planRecovery)).toEqual(['RemoveAfterRollbackProgress']);
    expect(into(SR.planRecoveryAfterAlarm)).toEqual([P.wasAlreadyRolledBack]);
    expect(into(SR.planRecoveryAfterFailure)).toEqual([P.wasAlreadyRolledBack]);
    expect(into(P.wasAlreadyRolledBack)).toEqual(['RemoveAfterFailureProgress']);
    // …and none after the lock: the alarm path's check is made before it, not again after RolledBackByAlarm.
    expect(st()['RolledBackByAlarm']).toMatchObject({ Next: 'RolledBack' });
  });
});

// ---- the bake's paths -----------------------------------------------------------------------------
describe('the bake', () => {
  it('promoted: StartBake, a look at a time until the core says released, then the converge loop and the lock', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers());
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...CANARY, SB.startBake, SB.watchBake, SB.watchBake, SB.watchBake, ...loop('Converge'), P.releaseLock]);
    expect(BakeInputSchema.parse(callOf(r, SB.startBake).input)).toEqual({ action: 'start', releaseId, model: 'builderbrain', version: '2.1.0' });
    // Each look gets the state the one before returned ($.bake).
    const looks = r.calls.filter((c) => c.state === SB.watchBake);
    const before = [callOf(r, SB.startBake), ...looks.slice(0, -1)].map((c) => c.output);
    for (const [n, look] of looks.entries()) {
      expect(BakeInputSchema.parse(look.input)).toEqual({ action: 'watch', releaseId, model: 'builderbrain', version: '2.1.0', bake: before[n] });
    }
    expect(looks.map((c) => BakeStateSchema.parse(c.output).iteration)).toEqual([1, 2, 3]);
    expect(r.output).toEqual({ outcome: 'promoted', releaseId, canaryExecutionArn: 'arn:canary-exec' });
    expect(states(r).filter((s) => s.includes('Recovery'))).toEqual([]);
  });

  it('no bake (0 minutes: StartBake answers released): straight to the converge loop', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers(bakeOf(0)));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...CANARY, SB.startBake, ...loop('Converge'), P.releaseLock]);
    expect(callOf(r, SB.startBake).output).toMatchObject({ minutes: 0, action: 'released' });
  });

  it('a regression: RollbackOnBake (bake_regression, the failing look\'s verdict), the candidate removed, the recovery checked, then the lock; the execution ends rolled_back', async () => {
    const rollbacks: RollbackInput[] = [];
    const recoveries: RecoveryInput[] = [];
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      handlers({ ...bakeOf(2, 'rollback'), [SB.rollbackOnBake]: rollbackAnswers(false, 'rolled_back', rollbacks), ...recoveryHandlers(recoverer(true, recoveries)) }),
    );
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...CANARY, SB.startBake, SB.watchBake, SB.watchBake, SB.rollbackOnBake, ...REMOVED_AND_CHECKED, P.releaseLock]);
    expect(rollbacks).toEqual([{ releaseId, model: 'builderbrain', trigger: { kind: 'bake_regression', verdict: verdict('fail') }, stopExecution: false }]);
    const lastLook = BakeStateSchema.parse(r.calls.filter((c) => c.state === SB.watchBake).at(-1)!.output);
    expect(lastLook).toMatchObject({ action: 'rollback', verdict: { verdict: 'fail' } });
    expect(RollbackTriggerSchema.parse(rollbacks[0]!.trigger)).toEqual({ kind: 'bake_regression', verdict: lastLook.verdict });
    expect(callOf(r, 'RemoveAfterRollbackStart').input).toEqual({ action: 'start', releaseId, goal: 'candidate_removed' });
    // The check is planned, waited for, and verified on the window PlanRecovery returned.
    const planned = RecoveryOutputSchema.parse(callOf(r, SR.planRecovery).output);
    expect(recoveries).toEqual([
      { action: 'plan', releaseId, model: 'builderbrain' },
      { action: 'verify', releaseId, model: 'builderbrain', recovery: { rolledBackAt: ROLLED_BACK_AT, checkAt: planned.checkAt } },
    ]);
    expect(r.output).toEqual({ outcome: 'rolled_back', releaseId, canaryExecutionArn: 'arn:canary-exec' });
    expect(states(r)).not.toContain('ConvergeStart');
  });

  it('a regression at the first look rolls back at once', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers(bakeOf(1, 'rollback')));
    expect(states(r)).toEqual([...CANARY, SB.startBake, SB.watchBake, SB.rollbackOnBake, ...REMOVED_AND_CHECKED, P.releaseLock]);
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it('RollbackOnBake failing (the rollback Lambda paged P0): no removal, no check; the lock\'s release is tried and the promotion fails', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ ...bakeOf(1, 'rollback'), [SB.rollbackOnBake]: crash('RollbackFailed', 'router unreachable') }));
    expect(states(r).slice(-3)).toEqual([SB.watchBake, SB.rollbackOnBake, P.releaseLockAfterFailure]);
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it.each([SB.startBake, SB.watchBake])('a crashing %s: the failure path\'s rollback (task_failure, step named), the candidate removed, the recovery checked, the lock released, the execution fails', async (state) => {
    const rollbacks: RollbackInput[] = [];
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [state]: crash('Boom', 'crashed'), [P.rollbackOnFailure]: rollbackAnswers(true, 'rolled_back', rollbacks) }));
    expect(states(r).slice(states(r).indexOf(state))).toEqual([state, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
    expect(rollbacks.map((x) => x.trigger)).toEqual([{ kind: 'task_failure', step: state, error: 'Boom' }]);
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('a bake step failing once the release is promoted or released (the rollback answers already_promoted): the version that serves everything is not removed; only the lock is released, and the promotion fails', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [SB.watchBake]: crash('Error', 'SNS publish failed'), [P.rollbackOnFailure]: rollbackAnswers(true, 'already_promoted') }));
    expect(states(r).slice(-3)).toEqual([SB.watchBake, P.rollbackOnFailure, P.releaseLockAfterFailure]);
    expect(states(r).filter((s) => s.startsWith('Remove') || s.includes('Recovery'))).toEqual([]);
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('the alarm path rolled back during the bake (WatchBake fails, the rollback answers already_rolled_back): removed, the alarm path\'s check, the lock; a succeeded rollback', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [SB.watchBake]: crash('ReleaseNotActiveError', 'release is rolled_back'), [P.rollbackOnFailure]: rollbackAnswers(true, 'already_rolled_back') }));
    expect(r.error).toBeNull();
    expect(states(r).slice(states(r).indexOf(SB.watchBake))).toEqual([SB.watchBake, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterAlarm'), P.releaseLockAfterFailure]);
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId, rollback: { outcome: 'already_rolled_back' } });
  });

  it('an action BakeDecision does not know fails closed into the failure path\'s rollback', async () => {
    const rollbacks: RollbackInput[] = [];
    const odd: Handler = async (i) => (BakeInputSchema.parse(i), { ...bakeState(), action: 'extend' });
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [SB.startBake]: odd, [P.rollbackOnFailure]: rollbackAnswers(true, 'rolled_back', rollbacks) }));
    expect(states(r).slice(states(r).indexOf(SB.startBake))).toEqual([SB.startBake, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
    expect(rollbacks.map((x) => x.trigger)).toEqual([{ kind: 'task_failure', step: SB.bakeDecision, error: 'UnknownBakeAction' }]);
    expect(r.error!.name).toBe('PromotionFailed');
  });
});

// ---- the recovery checks --------------------------------------------------------------------------
describe('the recovery check after every rollback', () => {
  const canaryFails: Handler = async () => Promise.reject(named('States.TaskFailed', 'execution aborted'));

  it('canary rolled back: removed, then PlanRecovery → WaitForRecovery → VerifyRecovery, before the lock', async () => {
    const recoveries: RecoveryInput[] = [];
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryEnds('rolled_back'), ...recoveryHandlers(recoverer(true, recoveries)) }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...CANARY, ...REMOVED_AND_CHECKED, P.releaseLock]);
    expect(recoveries.map((x) => x.action)).toEqual(['plan', 'verify']);
    expect(states(r)).not.toContain(SB.startBake);
  });

  it('the alarm path (the canary stopped, the rollback answers already_rolled_back): the alarm path\'s check, once, before the lock; a succeeded rollback', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryFails, [P.rollbackOnFailure]: rollbackAnswers(true, 'already_rolled_back') }));
    expect(r.error).toBeNull();
    expect(states(r)).toEqual([...CANARY, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterAlarm'), P.releaseLockAfterFailure]);
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId, rollback: { outcome: 'already_rolled_back' } });
  });

  it('the task-failure path (the pipeline rolled back): the failure path\'s check before the lock; the promotion fails', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryFails }));
    expect(states(r)).toEqual([...CANARY, P.rollbackOnFailure, ...loop('RemoveAfterFailure'), ...RECOVERY('AfterFailure'), P.releaseLockAfterFailure]);
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('a rollback that failed is not checked (nothing was restored; the rollback paged P0)', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryFails, [P.rollbackOnFailure]: crash('RollbackFailed', 'router down') }));
    expect(states(r).slice(-2)).toEqual([P.rollbackOnFailure, P.releaseLockAfterFailure]);
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('WaitForRecovery waits until $.recovery.checkAt', async () => {
    const plan: Handler = async (i) => {
      expect(RecoveryInputSchema.parse(i).action).toBe('plan');
      return RecoveryOutputSchema.parse({ rolledBackAt: ROLLED_BACK_AT, checkAt: new Date(Date.now() + 1200).toISOString(), recovered: null, message: 'soon' });
    };
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryEnds('rolled_back'), [SR.planRecovery]: plan }));
    expect(r.error).toBeNull();
    const checkAt = Date.parse(RecoveryOutputSchema.parse(callOf(r, SR.planRecovery).output).checkAt);
    expect(callOf(r, SR.verifyRecovery).at).toBeGreaterThanOrEqual(checkAt - 50);
  });

  it('nothing rolled back to check (PlanRecovery answers rolledBackAt null): VerifyRecovery is told so', async () => {
    const seen: RecoveryInput[] = [];
    const plan: Handler = async (i) => (seen.push(RecoveryInputSchema.parse(i)), RecoveryOutputSchema.parse({ rolledBackAt: null, checkAt: past(), recovered: null, message: 'nothing to check' }));
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryEnds('rolled_back'), [SR.planRecovery]: plan, [SR.verifyRecovery]: recoverer(true, seen) }));
    expect(r.error).toBeNull();
    expect(seen.at(-1)).toMatchObject({ action: 'verify', recovery: { rolledBackAt: null } });
  });

  it('a restored version that is not healthy again (VerifyRecovery pages P0 itself): the lock is still released, the path ends as it would', async () => {
    const r = await run(defs.promotion.definition, promotionInput, handlers({ [P.runCanary]: canaryEnds('rolled_back'), ...recoveryHandlers(recoverer(false)) }));
    expect(r.error).toBeNull();
    expect(callOf(r, SR.verifyRecovery).output).toMatchObject({ recovered: false });
    expect(states(r).at(-1)).toBe(P.releaseLock);
  });

  describe.each([
    // path, its handlers, its states' suffix, the lock after the check, how the execution ends
    ['the canary\'s rollback', { [P.runCanary]: canaryEnds('rolled_back') }, '', P.releaseLock, null],
    ['the bake\'s rollback', bakeOf(1, 'rollback'), '', P.releaseLock, null],
    ['the alarm path', { [P.runCanary]: canaryFails, [P.rollbackOnFailure]: rollbackAnswers(true, 'already_rolled_back') }, 'AfterAlarm', P.releaseLockAfterFailure, null],
    ['the task-failure path', { [P.runCanary]: canaryFails }, 'AfterFailure', P.releaseLockAfterFailure, 'PromotionFailed'],
  ] as const)('%s', (_name, path, suffix, lock, fails) => {
    const [plan, verify] = RECOVERY(suffix);
    it.each(['plan', 'verify'] as const)('a failing %s task (after its retries) still releases the lock, and the path ends as it would', async (which) => {
      const failing = which === 'plan' ? plan! : verify!;
      let attempts = 0;
      const throttled: Handler = async (i) => {
        RecoveryInputSchema.parse(i);
        attempts += 1;
        throw named('Lambda.TooManyRequestsException', 'slow down');
      };
      const r = await run(defs.promotion.definition, promotionInput, handlers({ ...path, [failing]: throttled }));
      expect(attempts).toBe(1 + LAMBDA_RETRY.maxAttempts);
      const after = states(r).slice(states(r).lastIndexOf(failing));
      expect(after).toEqual([failing, lock]);
      if (which === 'plan') expect(states(r)).not.toContain(verify);
      expect(LockInputSchema.parse(r.calls.at(-1)!.input)).toEqual({ action: 'release', releaseId, model: 'builderbrain' });
      if (fails === null) expect(r.error).toBeNull();
      else expect(r.error!.name).toBe(fails);
    });
  });
});
