/**
 * The promotion state machine (Standard), one execution per uploaded manifest:
 *
 * ```
 * ValidateManifest → IsManifestValid ─no─▶ MarkInvalidManifest ─┐
 *   → AcquireLock → LockAcquired ─no─▶ MarkLockBusy ────────────┤
 *   → RunGates → GatesPassed ─no─▶ MarkGatesFailed ─────────────┤
 *   → VerifyArtifact → DeployCandidate… → SmokeTest ────────────┤ (each check's failure)
 *   → RunCanary (.sync:2) → CanaryOutcome                       ▼
 *                                         RejectRelease → AfterRejection ─remove_candidate─▶ RemoveAfterReject… → ReleaseLockAfterReject → Rejected (Succeed)
 *                                                                         ├─release_lock─────▶ ReleaseLockAfterReject
 *                                                                         └─otherwise────────▶ Rejected (Succeed)
 * CanaryOutcome ─promoted─▶ StartBake → BakeDecision ─continue─▶ WaitForBakeLook → WatchBake → BakeDecision
 *                                                     ├─released─▶ Converge… → ReleaseLock → Completed (Succeed)
 *                                                     ├─rollback─▶ RollbackOnBake → BakeRolledBack → RemoveAfterRollback…
 *                                                     └─otherwise▶ UnknownBakeAction → RollbackOnCanaryFailure
 *               └─rolled_back─▶ RemoveAfterRollback… → PlanRecovery → WaitForRecovery → VerifyRecovery → ReleaseLock → Completed
 *
 * RunGates … RunCanary, StartBake, WatchBake fail → <Step>Failed → RollbackOnCanaryFailure (stopExecution) → AfterFailureRollback
 * AfterFailureRollback ─already_promoted─▶ ReleaseLockAfterFailure (a promoted or released version is never removed)
 *                      └─otherwise───────▶ RemoveAfterFailure… → WasAlreadyRolledBack
 * WasAlreadyRolledBack ─already_rolled_back─▶ PlanRecoveryAfterAlarm → WaitForRecoveryAfterAlarm → VerifyRecoveryAfterAlarm ─┐
 *                      └─otherwise──────────▶ PlanRecoveryAfterFailure → WaitForRecoveryAfterFailure → VerifyRecoveryAfterFailure ┤
 *                                                                                                                   ReleaseLockAfterFailure ◀┘
 * AcquireLock / RejectRelease (after RemoveAfterRejectFailure…) / a rollback fail → ReleaseLockAfterFailure
 * ReleaseLockAfterFailure → WasRolledBackByAlarm ─already_rolled_back─▶ RolledBackByAlarm → RolledBack (Succeed)
 *                                                └─otherwise──────────▶ PromotionFailed (Fail)
 * A converge or removal that fails → ReleaseLockAfterServingFailure → ServingFailed (Fail)
 * ValidateManifest, ReleaseLock, ReleaseLockAfterReject, ReleaseLockAfterFailure fail → PromotionFailed
 * ```
 *
 * The bake (core/app/bake.ts) watches the released version at 100% against the previous one, kept
 * warm; the core plans its looks (`$.bake.lookEverySeconds`) and decides each one (`$.bake.action`):
 * a bake of 0 minutes answers `released` at once. Every rollback is followed by the recovery check
 * (core/app/recovery.ts) once its removal is done and before the lock is released: PlanRecovery
 * says when (`$.recovery.checkAt`: the rollback's time plus the settle and recovery minutes),
 * VerifyRecovery judges (and pages P0 itself when the restored version is not healthy). A recovery
 * task that fails after its retries is recorded at `$.recoveryError` and the path goes on: the
 * check never keeps the lock.
 *
 * The environment chain adds, where the props ask for them (STATE_NAMES.promotionChain):
 *
 * ```
 * beforeTrafficHooks: SmokePassed → BeforeTrafficHooks → BeforeTrafficHooksPassed ─yes─▶ RunCanary
 *                                                        └─no──▶ MarkVerificationFailed → RejectRelease (removes the candidate)
 *                     BeforeTrafficHooks fails → BeforeTrafficHooksFailed → RollbackOnCanaryFailure (as SmokeTest)
 * handOverFunction:   Converge… → ReleaseLock → HandOver → Completed;  HandOver fails → HandOverFailed (Fail)
 *                     RemoveAfterRollback… → PlanRecovery… → ReleaseLockAfterRollback → Completed (a rolled-back release is never handed over)
 * ```
 *
 * The lock is released on every path that may hold it. A canary stopped by the alarm path fails
 * RunCanary; the rollback Lambda then answers `already_rolled_back` (the alarm path rolled back and
 * paged), and the execution ends as a *succeeded* rollback, so that the pipeline-health alarm on
 * failed executions fires only for real pipeline failures.
 *
 * Input: core/contracts.ts PromotionInput. Output: `{ outcome, ... }` (promoted / rolled_back /
 * rejected; a release rolled back during its bake ends `rolled_back`).
 */
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STATE_NAMES, type BakeInput, type BakeState, type RecoveryInput, type RejectCause, type RollbackOutput } from '../core/contracts.js';
import type { HookStage } from '../core/environments.js';
import type { RejectionFollowUp } from '../core/lifecycle.js';
import type { SmokeSample } from '../core/deployment.js';
import { PhasesSchema, type Phase } from '../core/plan.js';
import type { TriggerKind } from '../core/rollback.js';
import { acknowledge } from './nag.js';
import { catchFailure, functionTimeout, lambdaStep, logicalIdOf, pipelineStateMachine } from './sfn-tasks.js';

/** The Choices compare the core's own values (core/contracts.ts, core/lifecycle.ts): a literal they do not know fails tsc. */
const outcome = (o: RollbackOutput['outcome']): string => o;
const followUp = (f: RejectionFollowUp): string => f;
const hookStage = (h: HookStage): string => h;
const bakeAction = (a: BakeState['action']): string => a;
const bakeStep = (a: BakeInput['action']): string => a;
const recoveryStep = (a: RecoveryInput['action']): string => a;
const triggerKind = (k: TriggerKind): string => k;

const S = STATE_NAMES.promotion;
const SC = STATE_NAMES.promotionChain;
const SB = STATE_NAMES.promotionBake;
const SR = STATE_NAMES.promotionRecovery;

/** The rollback paths, each with a recovery check of its own (STATE_NAMES.promotionRecovery). */
type RecoveryPath = 'rollback' | 'alarm' | 'failure';
const RECOVERY_STATES: Readonly<Record<RecoveryPath, { readonly plan: string; readonly wait: string; readonly verify: string }>> = {
  // The canary's rollback, or the bake's (RemoveAfterRollback).
  rollback: { plan: SR.planRecovery, wait: SR.waitForRecovery, verify: SR.verifyRecovery },
  // The alarm path rolled back (RollbackOnCanaryFailure answered already_rolled_back, then RemoveAfterFailure).
  alarm: { plan: SR.planRecoveryAfterAlarm, wait: SR.waitForRecoveryAfterAlarm, verify: SR.verifyRecoveryAfterAlarm },
  // A step failed and RollbackOnCanaryFailure rolled back (then RemoveAfterFailure).
  failure: { plan: SR.planRecoveryAfterFailure, wait: SR.waitForRecoveryAfterFailure, verify: SR.verifyRecoveryAfterFailure },
};

export interface PromotionStateMachineProps {
  readonly stateMachineName: string;
  readonly validateManifestFunction: lambda.IFunction;
  readonly releaseLockFunction: lambda.IFunction;
  readonly runGatesFunction: lambda.IFunction;
  readonly rejectReleaseFunction: lambda.IFunction;
  readonly rollbackFunction: lambda.IFunction;
  /** Verifies the uploaded artifact against the manifest (VerifyArtifact). */
  readonly verifyArtifactFunction: lambda.IFunction;
  /** Deploys, smoke-tests, converges and removes the candidate (core/app/serving.ts). */
  readonly servingFunction: lambda.IFunction;
  /** Smoke requests, passed to the SmokeTest task as static JSON (their size is checked by the config). */
  readonly smokeSamples: readonly SmokeSample[];
  /** Started by RunCanary and waited for (.sync:2). */
  readonly canaryStateMachine: sfn.IStateMachine;
  /** Canary phases, passed to every canary execution as static JSON. */
  readonly phases: readonly Phase[];
  /**
   * The expedited plan of a hotfix, passed to ValidateManifest with `phases` as static JSON (the core
   * answers the release's plan: core/manifest.ts releasePlan). Its fit within this machine's timeout
   * is the config's to check (lib/config.ts, core/hotfix.ts hotfixPlanIssues).
   *
   * @default - hotfixes run `phases`
   */
  readonly hotfixPhases?: readonly Phase[] | null;
  readonly maxLooksPerPhase: number;
  /** The bake after the canary promoted: StartBake and WatchBake (core/app/bake.ts). */
  readonly bakeFunction: lambda.IFunction;
  /** The recovery check after every rollback: PlanRecovery and VerifyRecovery (core/app/recovery.ts). */
  readonly recoveryFunction: lambda.IFunction;
  /** Upper bound on one execution (the canary's timeout plus the promotion's own steps, the bake and the recovery check: core/budgets.ts). */
  readonly timeout: Duration;
  /** Encrypts the execution log group. */
  readonly encryptionKey: kms.IKey;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Runs the environment's verification hooks of a stage (core/app/run-hooks.ts); required when
   * `beforeTrafficHooks` is true.
   *
   * @default - no hooks step
   */
  readonly runHooksFunction?: lambda.IFunction;
  /**
   * The environment has before-traffic hooks: BeforeTrafficHooks runs them after the smoke test and
   * before RunCanary; a failed hook rejects the release (cause `verification_failed`, the candidate
   * removed). Needs `runHooksFunction`.
   *
   * @default false
   */
  readonly beforeTrafficHooks?: boolean;
  /**
   * Hands a promoted release over to the next environment of the chain (core/app/hand-over.ts):
   * HandOver runs after ReleaseLock on the promoted path only; its failure ends in HandOverFailed.
   *
   * @default - no hand-over (no chain, or the chain's last environment)
   */
  readonly handOverFunction?: lambda.IFunction;
}

export class PromotionStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: PromotionStateMachineProps) {
    super(scope, id);
    const phases = validateProps(props);
    // The order of the fragments is the order of the transitions into each state, which orders the
    // States of the rendered definition.
    const f = new PromotionFragments(this, props);
    const terminals = f.terminals();
    const failure = f.failurePath(terminals);
    const serving = f.serving(terminals.promotionFailed);
    f.afterFailureRollback(failure, serving.removal('RemoveAfterFailure', f.recoveryAfterFailure(failure.releaseLockAfterFailure)));
    const reject = f.rejections(terminals, failure.releaseLockAfterFailure, serving.removal);
    const admission = f.admissionSteps(terminals.promotionFailed, failure);
    const runCanary = f.runCanary(phases, failure.rollbackOnFailure);
    const releaseLocks = f.releaseLocks(terminals);
    const beforeTraffic = f.beforeTrafficHooks(runCanary, reject, failure.rollbackOnFailure);
    const verifyArtifact = f.deployment(serving, failure.rollbackOnFailure, reject, beforeTraffic);
    f.afterCanary(runCanary, serving, releaseLocks, failure);
    const definition = f.admission(admission, reject, verifyArtifact);

    this.stateMachine = pipelineStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definition,
      comment: 'BuilderBrain promotion: validate, lock, gates, verify the artifact, deploy, smoke test, canary, bake, converge or remove (then check the recovery), release the lock',
      timeout: props.timeout,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      invokes: [
        props.validateManifestFunction,
        props.releaseLockFunction,
        props.runGatesFunction,
        props.rejectReleaseFunction,
        props.rollbackFunction,
        props.verifyArtifactFunction,
        props.servingFunction,
        props.bakeFunction,
        props.recoveryFunction,
        ...(props.beforeTrafficHooks === true ? [requireHooks(props)] : []),
        ...(props.handOverFunction === undefined ? [] : [props.handOverFunction]),
      ],
    });
    acknowledgeRunCanary(this.stateMachine, props.canaryStateMachine);
  }
}

/** Checks the props; returns the phases, parsed. */
function validateProps(props: PromotionStateMachineProps): readonly Phase[] {
  const phases = PhasesSchema.safeParse(props.phases);
  if (!phases.success) throw new Error(`PromotionStateMachine: phases are invalid (${phases.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; ')})`);
  const hotfix = props.hotfixPhases == null ? null : PhasesSchema.safeParse(props.hotfixPhases);
  if (hotfix !== null && !hotfix.success) throw new Error(`PromotionStateMachine: hotfixPhases are invalid (${hotfix.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; ')})`);
  if (!Number.isInteger(props.maxLooksPerPhase) || props.maxLooksPerPhase < 1) {
    throw new Error(`PromotionStateMachine: maxLooksPerPhase must be a positive integer, got ${props.maxLooksPerPhase}`);
  }
  if (props.beforeTrafficHooks === true) requireHooks(props);
  return phases.data;
}

/** The RunHooks function the before-traffic hooks need (a hook stage without it would be skipped silently). */
function requireHooks(props: PromotionStateMachineProps): lambda.IFunction {
  if (props.runHooksFunction === undefined) throw new Error('PromotionStateMachine: beforeTrafficHooks needs runHooksFunction');
  return props.runHooksFunction;
}

/**
 * The .sync integration's grant (aws-cdk-lib): Describe/StopExecution on the canary machine's
 * executions, whose names are release ids. The finding id renders the machine name as CloudFormation does.
 */
function acknowledgeRunCanary(machine: sfn.StateMachine, canary: sfn.IStateMachine): void {
  if (!(canary instanceof sfn.StateMachine)) return;
  acknowledge(
    machine.role,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(canary)}"}]}]}*]`,
    'RunCanary (.sync:2) must describe and stop the canary execution it started; its name is the release id, known only at run time. Scoped to the one canary state machine.',
  );
}

/** The promotion's ends. */
interface Terminals {
  readonly promotionFailed: sfn.Fail;
  readonly completed: sfn.Succeed;
  readonly rejected: sfn.Succeed;
  readonly rolledBack: sfn.Succeed;
}

/** The failure path: a rollback (stopping the canary), then always the lock. */
interface FailurePath {
  readonly rollbackOnFailure: tasks.LambdaInvoke;
  readonly releaseLockAfterFailure: tasks.LambdaInvoke;
}

/** The serving target's loops (one per goal: apply once, check until done, failed or timed out). */
interface ServingFragments {
  /** A serving task with the release id in its payload. */
  readonly task: (stateName: string, payload: Record<string, unknown>, resultPath?: string) => tasks.LambdaInvoke;
  /** `start`'s loop: `<p>Progress` dispatches on the core's decision `$.serving.next`. */
  readonly loop: (p: string, start: sfn.TaskStateBase, onDone: sfn.IChainable, onFailed: sfn.IChainable, onError: (task: sfn.TaskStateBase, step: string) => void) => sfn.TaskStateBase;
  /** Removes the candidate, then `onDone`; a failure releases the lock and ends in ServingFailed. */
  readonly removal: (p: string, onDone: sfn.IChainable) => sfn.TaskStateBase;
  readonly releaseLockAfterServingFailure: tasks.LambdaInvoke;
  readonly cleanupCatch: (task: sfn.TaskStateBase) => void;
}

/** The lock's release after the canary: the promoted release's (then the hand-over, if any) and the rolled-back one's. */
interface ReleaseLocks {
  readonly promoted: tasks.LambdaInvoke;
  /** The promoted release's ReleaseLock itself when nothing follows it but Completed. */
  readonly rolledBack: tasks.LambdaInvoke;
}

/** The admission's tasks (validate, lock, gates), before their choices. */
interface AdmissionSteps {
  readonly validate: tasks.LambdaInvoke;
  readonly acquireLock: tasks.LambdaInvoke;
  readonly runGates: tasks.LambdaInvoke;
}

/** A Pass state building RejectInput (core/contracts.ts) at `$.rejection`, then RejectRelease. */
type MarkRejection = (stateName: string, cause: RejectCause, extra: Record<string, string>) => sfn.Chain;

/** The promotion machine's state groups, each a function of the ones it leads to. */
class PromotionFragments {
  public constructor(
    private readonly scope: Construct,
    private readonly props: PromotionStateMachineProps,
  ) {}

  public terminals(): Terminals {
    return {
      promotionFailed: new sfn.Fail(this.scope, 'PromotionFailed', {
        stateName: 'PromotionFailed',
        error: 'PromotionFailed',
        cause: 'A step of the promotion failed after its retries; see the execution history and the incident topic.',
      }),
      completed: new sfn.Succeed(this.scope, 'Completed', { stateName: 'Completed', outputPath: '$.canary' }),
      rejected: new sfn.Succeed(this.scope, 'Rejected', { stateName: 'Rejected', outputPath: '$.reject' }),
      rolledBack: new sfn.Succeed(this.scope, 'RolledBack', { stateName: 'RolledBack', outputPath: '$.result' }),
    };
  }

  /** A ReleaseLock task (release); its own failure ends the promotion. */
  public releaseLock(stateName: string, promotionFailed: sfn.Fail): tasks.LambdaInvoke {
    const task = lambdaStep(this.scope, stateName, this.props.releaseLockFunction, {
      payload: lockPayload('release'),
      resultPath: '$.unlock',
      functionTimeout: functionTimeout(this.props.releaseLockFunction),
    });
    task.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockFailure' });
    return task;
  }

  /**
   * ReleaseLock → Completed. With a hand-over: ReleaseLock → HandOver → Completed (a failed hand-over
   * ends in HandOverFailed, the lock already released), and the rolled-back release gets a
   * ReleaseLock of its own (ReleaseLockAfterRollback → Completed), so that it never reaches HandOver.
   */
  public releaseLocks(t: Terminals): ReleaseLocks {
    const releaseLock = this.releaseLock(S.releaseLock, t.promotionFailed);
    const fn = this.props.handOverFunction;
    if (fn === undefined) {
      releaseLock.next(t.completed);
      return { promoted: releaseLock, rolledBack: releaseLock };
    }
    const handOver = lambdaStep(this.scope, SC.handOver, fn, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version' },
      resultPath: '$.handover',
      functionTimeout: functionTimeout(fn),
    });
    const handOverFailed = new sfn.Fail(this.scope, SC.handOverFailed, {
      stateName: SC.handOverFailed,
      error: 'HandOverFailed',
      cause:
        'The release was promoted in this environment and the lock released, but it was not handed over to the next environment (HandOver failed after its retries). See the execution history and the audit ledger; the hand-over is idempotent, so handing the release over again sends it at most once.',
    });
    handOver.addCatch(handOverFailed, { errors: [sfn.Errors.ALL], resultPath: '$.handOverFailure' });
    releaseLock.next(handOver).next(t.completed);
    const releaseLockAfterRollback = this.releaseLock(SC.releaseLockAfterRollback, t.promotionFailed);
    releaseLockAfterRollback.next(t.completed);
    return { promoted: releaseLock, rolledBack: releaseLockAfterRollback };
  }

  /**
   * Rollback, then the lock; then a rollback the alarm path had already made (RunCanary failed because
   * the alarm path stopped the canary) ends as a succeeded rollback, anything else as PromotionFailed.
   */
  public failurePath(t: Terminals): FailurePath {
    const releaseLockAfterFailure = this.releaseLock(S.releaseLockAfterFailure, t.promotionFailed);
    const rolledBackByAlarm = new sfn.Pass(this.scope, 'RolledBackByAlarm', {
      stateName: 'RolledBackByAlarm',
      parameters: { outcome: 'rolled_back', 'releaseId.$': '$.releaseId', 'rollback.$': '$.rollback' },
      resultPath: '$.result',
    }).next(t.rolledBack);
    releaseLockAfterFailure.next(
      new sfn.Choice(this.scope, 'WasRolledBackByAlarm', { stateName: 'WasRolledBackByAlarm' })
        .when(rollbackOutcomeIs('already_rolled_back'), rolledBackByAlarm)
        .otherwise(t.promotionFailed),
    );
    const rollbackOnFailure = lambdaStep(this.scope, S.rollbackOnFailure, this.props.rollbackFunction, {
      payload: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.validation.model',
        trigger: { kind: 'task_failure', 'step.$': '$.failure.step', 'error.$': '$.failure.Error' },
        stopExecution: true,
      },
      resultPath: '$.rollback',
      functionTimeout: functionTimeout(this.props.rollbackFunction),
    });
    rollbackOnFailure.addCatch(releaseLockAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackFailure' });
    return { rollbackOnFailure, releaseLockAfterFailure };
  }

  public serving(promotionFailed: sfn.Fail): ServingFragments {
    const servingFailed = new sfn.Fail(this.scope, 'ServingFailed', {
      stateName: 'ServingFailed',
      error: 'ServingFailed',
      cause: 'Converging on the promoted model or removing the candidate failed or timed out; the lock was released and the next release plans from the endpoint as it is. See the audit ledger (serving events).',
    });
    const releaseLockAfterServingFailure = this.releaseLock('ReleaseLockAfterServingFailure', promotionFailed);
    releaseLockAfterServingFailure.next(servingFailed);
    const task = (stateName: string, payload: Record<string, unknown>, resultPath = '$.serving') =>
      lambdaStep(this.scope, stateName, this.props.servingFunction, { payload: { 'releaseId.$': '$.releaseId', ...payload }, resultPath, functionTimeout: functionTimeout(this.props.servingFunction) });
    const loop: ServingFragments['loop'] = (p, start, onDone, onFailed, onError) => {
      const apply = task(`${p}Apply`, { action: 'apply', 'progress.$': '$.serving' });
      const check = task(`${p}Check`, { action: 'check', 'progress.$': '$.serving' });
      const wait = (name: string) => new sfn.Wait(this.scope, name, { stateName: name, time: sfn.WaitTime.timestampPath('$.serving.nextCheckAt') });
      // Apply after the bake period, check again after pollSeconds, done, or failed: bounded by the core's timeout.
      const progress = new sfn.Choice(this.scope, `${p}Progress`, { stateName: `${p}Progress` })
        .when(sfn.Condition.stringEquals('$.serving.next', 'apply'), wait(`${p}WaitToApply`).next(apply))
        .when(sfn.Condition.stringEquals('$.serving.next', 'check'), wait(`${p}WaitToCheck`).next(check))
        .when(sfn.Condition.stringEquals('$.serving.next', 'done'), onDone)
        .otherwise(onFailed);
      for (const [t, step] of [[start, start.id], [apply, `${p}Apply`], [check, `${p}Check`]] as const) {
        t.next(progress);
        onError(t, step);
      }
      return start;
    };
    const cleanupCatch = (t: sfn.TaskStateBase) => void t.addCatch(releaseLockAfterServingFailure, { errors: [sfn.Errors.ALL], resultPath: '$.servingError' });
    const removal = (p: string, onDone: sfn.IChainable) =>
      loop(p, task(`${p}Start`, { action: 'start', goal: 'candidate_removed' }), onDone, releaseLockAfterServingFailure, cleanupCatch);
    return { task, loop, removal, releaseLockAfterServingFailure, cleanupCatch };
  }

  /**
   * RejectRelease, then what the core's `$.reject.then` says: remove the candidate, release the lock,
   * or nothing. Returns the Pass states that lead there.
   */
  public rejections(t: Terminals, releaseLockAfterFailure: tasks.LambdaInvoke, removal: ServingFragments['removal']): MarkRejection {
    const rejectRelease = lambdaStep(this.scope, S.reject, this.props.rejectReleaseFunction, {
      inputPath: '$.rejection',
      resultPath: '$.reject',
      functionTimeout: functionTimeout(this.props.rejectReleaseFunction),
    });
    // A failed RejectRelease still removes whatever was deployed (nothing, before DeployCandidate) before the lock goes.
    rejectRelease.addCatch(removal('RemoveAfterRejectFailure', releaseLockAfterFailure), { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const releaseLockAfterReject = this.releaseLock(S.rejectedReleaseLock, t.promotionFailed);
    releaseLockAfterReject.next(t.rejected);
    rejectRelease.next(
      new sfn.Choice(this.scope, 'AfterRejection', { stateName: 'AfterRejection' })
        .when(sfn.Condition.stringEquals('$.reject.then', followUp('remove_candidate')), removal('RemoveAfterReject', releaseLockAfterReject))
        .when(sfn.Condition.stringEquals('$.reject.then', followUp('release_lock')), releaseLockAfterReject)
        .otherwise(t.rejected),
    );
    // Only the fields the cause has.
    return (stateName, cause, extra) =>
      new sfn.Pass(this.scope, stateName, {
        stateName,
        parameters: { 'releaseId.$': '$.releaseId', cause, 'validation.$': '$.validation', ...extra },
        resultPath: '$.rejection',
      }).next(rejectRelease);
  }

  /** RunCanary (.sync:2): the canary execution, named after the release. */
  public runCanary(phases: readonly Phase[], rollbackOnFailure: tasks.LambdaInvoke): tasks.StepFunctionsStartExecution {
    const { props } = this;
    const runCanary = new tasks.StepFunctionsStartExecution(this.scope, S.runCanary, {
      stateName: S.runCanary,
      stateMachine: props.canaryStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // Named after the release: a retried start finds the running execution instead of starting a second one.
      name: sfn.JsonPath.stringAt('$.releaseId'),
      input: sfn.TaskInput.fromObject({
        releaseId: sfn.JsonPath.stringAt('$.releaseId'),
        model: sfn.JsonPath.stringAt('$.validation.model'),
        version: sfn.JsonPath.stringAt('$.validation.version'),
        // The release's plan (ValidateManifest, from the configured `phases`); the configured plan bounds it.
        phases: sfn.JsonPath.listAt('$.validation.plan'),
        maxLooksPerPhase: props.maxLooksPerPhase,
      }),
      associateWithParent: true,
      resultSelector: { 'outcome.$': '$.Output.outcome', 'releaseId.$': '$.Output.releaseId', 'canaryExecutionArn.$': '$.ExecutionArn' },
      resultPath: '$.canary',
    });
    runCanary.addRetry({
      errors: ['StepFunctions.ExecutionLimitExceededException', 'StepFunctions.SdkClientException'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL,
    });
    catchFailure(this.scope, runCanary, S.runCanary, rollbackOnFailure);
    return runCanary;
  }

  /**
   * After the canary: a promoted release bakes, then converges on the released model (or, on a
   * regression, is rolled back); a rolled-back one has the candidate removed and its recovery
   * checked; then the lock.
   */
  public afterCanary(runCanary: tasks.StepFunctionsStartExecution, serving: ServingFragments, locks: ReleaseLocks, failure: FailurePath): void {
    const converge = serving.loop('Converge', serving.task('ConvergeStart', { action: 'start', goal: 'converged' }), locks.promoted, serving.releaseLockAfterServingFailure, serving.cleanupCatch);
    const removal = serving.removal('RemoveAfterRollback', this.recovery('rollback', locks.rolledBack));
    runCanary.next(
      new sfn.Choice(this.scope, 'CanaryOutcome', { stateName: 'CanaryOutcome' })
        .when(sfn.Condition.stringEquals('$.canary.outcome', 'promoted'), this.bake(converge, removal, failure))
        .otherwise(removal),
    );
  }

  /**
   * StartBake → BakeDecision, which dispatches on the core's `$.bake.action`: `continue` waits
   * `$.bake.lookEverySeconds` and looks again (WatchBake), `released` goes on to `released` (the
   * converge loop), `rollback` rolls back to the previous version (RollbackOnBake, trigger
   * bake_regression), then `rolledBack` (the removal after a rollback). A failing StartBake or
   * WatchBake rolls back as any step's failure does; so does an action BakeDecision does not know.
   */
  public bake(released: sfn.IChainable, rolledBack: sfn.IChainable, failure: FailurePath): tasks.LambdaInvoke {
    const fn = this.props.bakeFunction;
    const release = { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version' };
    const task = (stateName: string, payload: Record<string, unknown>) => {
      const t = lambdaStep(this.scope, stateName, fn, { payload, resultPath: '$.bake', functionTimeout: functionTimeout(fn) });
      catchFailure(this.scope, t, stateName, failure.rollbackOnFailure);
      return t;
    };
    const startBake = task(SB.startBake, { action: bakeStep('start'), ...release });
    const watchBake = task(SB.watchBake, { action: bakeStep('watch'), ...release, 'bake.$': '$.bake' });
    const waitForLook = new sfn.Wait(this.scope, SB.waitForBakeLook, { stateName: SB.waitForBakeLook, time: sfn.WaitTime.secondsPath('$.bake.lookEverySeconds') });
    waitForLook.next(watchBake);
    const unknownAction = new sfn.Pass(this.scope, SB.unknownBakeAction, {
      stateName: SB.unknownBakeAction,
      result: sfn.Result.fromObject({ step: SB.bakeDecision, Error: 'UnknownBakeAction', Cause: 'StartBake or WatchBake returned an action BakeDecision does not know' }),
      resultPath: '$.failure',
    }).next(failure.rollbackOnFailure);
    const decision = new sfn.Choice(this.scope, SB.bakeDecision, { stateName: SB.bakeDecision })
      .when(sfn.Condition.stringEquals('$.bake.action', bakeAction('continue')), waitForLook)
      .when(sfn.Condition.stringEquals('$.bake.action', bakeAction('rollback')), this.rollbackOnBake(rolledBack, failure))
      .when(sfn.Condition.stringEquals('$.bake.action', bakeAction('released')), released)
      .otherwise(unknownAction);
    startBake.next(decision);
    watchBake.next(decision);
    return startBake;
  }

  /**
   * RollbackOnBake: back to the previous version, kept warm (trigger bake_regression, the verdict
   * that found the regression), then BakeRolledBack (the execution's outcome becomes `rolled_back`)
   * and `rolledBack`. When it fails the rollback Lambda has paged P0 itself (the release stays
   * rolling_back, which keeps the lock): the lock's release is tried, and the promotion fails.
   */
  private rollbackOnBake(rolledBack: sfn.IChainable, failure: FailurePath): tasks.LambdaInvoke {
    const fn = this.props.rollbackFunction;
    const rollback = lambdaStep(this.scope, SB.rollbackOnBake, fn, {
      payload: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.validation.model',
        trigger: { kind: triggerKind('bake_regression'), 'verdict.$': '$.bake.verdict' },
        stopExecution: false,
      },
      resultPath: '$.rollback',
      functionTimeout: functionTimeout(fn),
    });
    rollback.addCatch(failure.releaseLockAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackFailure' });
    const rolledBackOutcome = new sfn.Pass(this.scope, SB.bakeRolledBack, {
      stateName: SB.bakeRolledBack,
      result: sfn.Result.fromString(outcome('rolled_back')),
      resultPath: '$.canary.outcome',
    });
    rollback.next(rolledBackOutcome).next(rolledBack);
    return rollback;
  }

  /**
   * The recovery check of one rollback path, before `next` (the lock's release): PlanRecovery (when
   * to judge, at `$.recovery`) → WaitForRecovery (until `$.recovery.checkAt`) → VerifyRecovery →
   * `next`, each named for its path. A recovery task that fails after its retries goes on to `next`
   * (its error at `$.recoveryError`): the check never keeps the lock nor stops the path.
   */
  public recovery(path: RecoveryPath, next: sfn.IChainable): tasks.LambdaInvoke {
    const fn = this.props.recoveryFunction;
    const names = RECOVERY_STATES[path];
    const task = (stateName: string, payload: Record<string, unknown>) => {
      const t = lambdaStep(this.scope, stateName, fn, {
        payload: { ...payload, 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' },
        resultPath: '$.recovery',
        functionTimeout: functionTimeout(fn),
      });
      t.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.recoveryError' });
      return t;
    };
    const plan = task(names.plan, { action: recoveryStep('plan') });
    const verify = task(names.verify, { action: recoveryStep('verify'), recovery: { 'rolledBackAt.$': '$.recovery.rolledBackAt', 'checkAt.$': '$.recovery.checkAt' } });
    const wait = new sfn.Wait(this.scope, names.wait, { stateName: names.wait, time: sfn.WaitTime.timestampPath('$.recovery.checkAt') });
    plan.next(wait).next(verify).next(next);
    return plan;
  }

  /**
   * After RemoveAfterFailure, before ReleaseLockAfterFailure: the recovery check, named for who
   * rolled back: the alarm path (RollbackOnCanaryFailure answered already_rolled_back) or the
   * failure path's own rollback. One check per rollback: the alarm path's is made here, with the
   * lock still held, not again after RolledBackByAlarm.
   */
  public recoveryAfterFailure(releaseLockAfterFailure: tasks.LambdaInvoke): sfn.Choice {
    return new sfn.Choice(this.scope, S.wasAlreadyRolledBack, { stateName: S.wasAlreadyRolledBack })
      .when(rollbackOutcomeIs('already_rolled_back'), this.recovery('alarm', releaseLockAfterFailure))
      .otherwise(this.recovery('failure', releaseLockAfterFailure));
  }

  /**
   * After RollbackOnCanaryFailure: the candidate is removed (`removal`), unless the release was
   * already promoted or released (a step of the bake failed before it could roll back, or after the
   * bake ended clean): that version serves everything now, and removing it would undo the promotion
   * behind the ledger's back. Then only the lock is released, and the promotion fails.
   */
  public afterFailureRollback(failure: FailurePath, removal: sfn.IChainable): void {
    failure.rollbackOnFailure.next(
      new sfn.Choice(this.scope, S.afterFailureRollback, { stateName: S.afterFailureRollback })
        .when(rollbackOutcomeIs('already_promoted'), failure.releaseLockAfterFailure)
        .otherwise(removal),
    );
  }

  /**
   * BeforeTrafficHooks → BeforeTrafficHooksPassed → `runCanary`; a failed hook rejects the release
   * (verification_failed), a failed step rolls back as the smoke test's does. Without
   * `beforeTrafficHooks`: `runCanary` itself.
   */
  public beforeTrafficHooks(runCanary: sfn.IChainable, reject: MarkRejection, rollbackOnFailure: tasks.LambdaInvoke): sfn.IChainable {
    if (this.props.beforeTrafficHooks !== true) return runCanary;
    const fn = requireHooks(this.props);
    const hooks = lambdaStep(this.scope, SC.beforeTrafficHooks, fn, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version', stage: hookStage('before_traffic') },
      resultPath: '$.hooks',
      functionTimeout: functionTimeout(fn),
    });
    catchFailure(this.scope, hooks, SC.beforeTrafficHooks, rollbackOnFailure);
    return hooks.next(
      new sfn.Choice(this.scope, SC.beforeTrafficHooksPassed, { stateName: SC.beforeTrafficHooksPassed })
        .when(sfn.Condition.booleanEquals('$.hooks.passed', true), runCanary)
        .otherwise(reject(SC.markVerificationFailed, 'verification_failed', { 'hooks.$': '$.hooks' })),
    );
  }

  /** VerifyArtifact → DeployCandidate's loop → SmokeTest → `afterSmoke` (the hooks or RunCanary); each check's failure a rejection. */
  public deployment(serving: ServingFragments, rollbackOnFailure: tasks.LambdaInvoke, reject: MarkRejection, afterSmoke: sfn.IChainable): tasks.LambdaInvoke {
    const verifyArtifact = lambdaStep(this.scope, S.verifyArtifact, this.props.verifyArtifactFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version', 'artifact.$': '$.validation.manifest.artifact' },
      resultPath: '$.artifact',
      functionTimeout: functionTimeout(this.props.verifyArtifactFunction),
    });
    catchFailure(this.scope, verifyArtifact, S.verifyArtifact, rollbackOnFailure);
    const deployCandidate = serving.task(S.deploy, {
      action: 'deploy',
      'model.$': '$.validation.model',
      'version.$': '$.validation.version',
      'artifact.$': '$.validation.manifest.artifact',
      'serving.$': '$.validation.serving',
    });
    const smokeTest = serving.task(S.smoke, { action: 'smoke', 'deployment.$': '$.serving.deployment', samples: this.props.smokeSamples.map((x) => ({ ...x })) }, '$.smoke');
    catchFailure(this.scope, smokeTest, S.smoke, rollbackOnFailure);
    smokeTest.next(
      new sfn.Choice(this.scope, S.smokePassed, { stateName: S.smokePassed })
        .when(sfn.Condition.booleanEquals('$.smoke.passed', true), afterSmoke)
        .otherwise(reject('MarkSmokeFailed', 'smoke_failed', { 'smoke.$': '$.smoke' })),
    );
    const deployLoop = serving.loop(S.deploy, deployCandidate, smokeTest, reject('MarkDeployFailed', 'deploy_failed', { 'serving.$': '$.serving' }), (task, step) =>
      catchFailure(this.scope, task, step, rollbackOnFailure),
    );
    verifyArtifact.next(
      new sfn.Choice(this.scope, S.artifactVerified, { stateName: S.artifactVerified })
        .when(sfn.Condition.booleanEquals('$.artifact.ok', true), deployLoop)
        .otherwise(reject('MarkArtifactRejected', 'artifact_rejected', { 'artifact.$': '$.artifact' })),
    );
    return verifyArtifact;
  }

  /** ValidateManifest, AcquireLock and RunGates, with their catches. */
  public admissionSteps(promotionFailed: sfn.Fail, failure: FailurePath): AdmissionSteps {
    const validate = lambdaStep(this.scope, S.validate, this.props.validateManifestFunction, {
      // The configured plans, static: the core answers the release's own (a hotfix runs hotfixPhases, an emergency rollback one 100% phase).
      payload: {
        'releaseId.$': '$.releaseId',
        'source.$': '$.source',
        'receivedAt.$': '$.receivedAt',
        phases: this.props.phases.map((p) => ({ ...p })),
        ...(this.props.hotfixPhases == null ? {} : { hotfixPhases: this.props.hotfixPhases.map((p) => ({ ...p })) }),
      },
      resultPath: '$.validation',
      functionTimeout: functionTimeout(this.props.validateManifestFunction),
    });
    validate.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const acquireLock = lambdaStep(this.scope, S.acquireLock, this.props.releaseLockFunction, {
      payload: lockPayload('acquire'),
      resultPath: '$.lock',
      functionTimeout: functionTimeout(this.props.releaseLockFunction),
    });
    acquireLock.addCatch(failure.releaseLockAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const runGates = lambdaStep(this.scope, S.gates, this.props.runGatesFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'manifest.$': '$.validation.manifest' },
      resultPath: '$.gate',
      functionTimeout: functionTimeout(this.props.runGatesFunction),
    });
    catchFailure(this.scope, runGates, S.gates, failure.rollbackOnFailure);
    return { validate, acquireLock, runGates };
  }

  /** ValidateManifest → AcquireLock → RunGates → `deployment`; each check's failure a rejection. */
  public admission({ validate, acquireLock, runGates }: AdmissionSteps, reject: MarkRejection, deployment: sfn.IChainable): sfn.Chain {
    const passed = (stateName: string, path: string, then: sfn.IChainable, otherwise: () => sfn.IChainable) =>
      new sfn.Choice(this.scope, stateName, { stateName }).when(sfn.Condition.booleanEquals(path, true), then).otherwise(otherwise());
    return validate.next(
      passed(
        S.isValid,
        '$.validation.valid',
        acquireLock.next(
          passed(
            S.lockAcquired,
            '$.lock.acquired',
            runGates.next(passed(S.gatesPassed, '$.gate.passed', deployment, () => reject('MarkGatesFailed', 'gates_failed', { 'gate.$': '$.gate' }))),
            () => reject('MarkLockBusy', 'lock_busy', { 'lock.$': '$.lock' }),
          ),
        ),
        () => reject('MarkInvalidManifest', 'invalid_manifest', {}),
      ),
    );
  }
}

const lockPayload = (action: 'acquire' | 'release') => ({ action, 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' });

/** The rollback's answer at `$.rollback` is `o` (absent: it is not). */
const rollbackOutcomeIs = (o: RollbackOutput['outcome']) => sfn.Condition.and(sfn.Condition.isPresent('$.rollback.outcome'), sfn.Condition.stringEquals('$.rollback.outcome', outcome(o)));
