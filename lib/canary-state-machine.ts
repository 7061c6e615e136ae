/**
 * The canary state machine (Standard): for each phase, shift traffic, then a bounded monitor loop
 * (wait → analyze → decide), an approval where the phase asks for one, and finally the promotion.
 * Every failure path ends in the rollback Lambda; a failed rollback ends in the `RollbackFailed`
 * Fail state (the Lambda has paged P0 before throwing).
 *
 * ```
 * InitCanary → StartPhase → WaitForNextLook → AnalyzeCanary → MonitorDecision
 *   continue       → WaitForNextLook            (bounded: StartPhase planned `looks`, core/plan.ts)
 *   rollback       → RollbackOnVerdict → RolledBack → CanaryRolledBack (Succeed)
 *   await_approval → RequestApproval (.waitForTaskToken) → NextPhase
 *                      Rejected      → ParseRejection → RollbackOnRejection → RolledBack
 *                      States.Timeout → RollbackOnApprovalTimeout → RolledBack
 *   advance        → NextPhase
 * NextPhase: isLast → Promote → Promoted → CanaryPromoted (Succeed); else AdvancePhase → StartPhase
 * any task failure → <Step>Failed → RollbackOnTaskFailure → CanaryFailed (Fail)
 * any rollback failure → RollbackFailed (Fail)
 * ```
 *
 * The environment chain adds, where the props ask for them (STATE_NAMES.canaryChain):
 *
 * ```
 * duringPhaseHooks: StartPhase → DuringPhaseHooks → DuringPhaseHooksPassed ─yes─▶ WaitForNextLook
 *                                                   └─no──▶ RollbackOnVerification → RolledBack
 * afterPhaseHooks:  MonitorDecision (await_approval | advance) → AfterPhaseHooks → AfterPhaseHooksPassed
 *                     yes → AfterPhaseAction: await_approval → RequestApproval; otherwise → NextPhase
 *                     no  → RollbackOnAfterPhaseVerification → RolledBack
 * drillFunction:    NextPhase (isLast) → RollbackDrill → WaitForDrill → VerifyDrill → DrillPassed
 *                     yes → RestoreAfterDrill → Promote;  no → RollbackOnDrill → RolledBack
 * every new task's failure → <Step>Failed → RollbackOnTaskFailure
 * ```
 *
 * Input: core/contracts.ts CanaryInput. Output: `{ outcome: 'promoted' | 'rolled_back', releaseId, ... }`.
 *
 * Rejections: an approver calls SendTaskFailure with error `Rejected` and, as cause, the JSON text
 * `{"actor": "<who>", "note": "<why>"}` (core/app/answer-approval.ts; a missing field defaults to
 * "unknown operator" / ""; a cause that is not JSON fails the execution, and the promotion machine's
 * catch rolls back).
 */
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { APPROVAL_REJECTED_ERROR, ROLLBACK_FAILED_ERROR, STATE_NAMES, type DrillInput } from '../core/contracts.js';
import type { HookStage } from '../core/environments.js';
import type { MonitorAction } from '../core/plan.js';
import type { TriggerKind } from '../core/rollback.js';
import { assertResultPath, catchFailure, functionTimeout, LAMBDA_RETRY, LAMBDA_TRANSIENT_ERRORS, lambdaStep, pipelineStateMachine } from './sfn-tasks.js';

/** A monitor action as core/plan.ts MONITOR_ACTIONS names it (a literal it does not know fails tsc). */
const action = (a: MonitorAction): string => a;
/** The core's own hook stages, rollback trigger kinds and drill actions (a literal they do not know fails tsc). */
const hookStage = (h: HookStage): string => h;
const triggerKind = (k: TriggerKind): string => k;
const drillAction = (a: DrillInput['action']): string => a;

const S = STATE_NAMES.canary;
const SC = STATE_NAMES.canaryChain;

/** The canary machine's first state (sets the phase cursor), besides the contract's STATE_NAMES. */
export const CANARY_START_STATE = 'InitCanary';

export interface CanaryStateMachineProps {
  readonly stateMachineName: string;
  readonly startPhaseFunction: lambda.IFunction;
  readonly analyzeCanaryFunction: lambda.IFunction;
  readonly requestApprovalFunction: lambda.IFunction;
  readonly promoteFunction: lambda.IFunction;
  readonly rollbackFunction: lambda.IFunction;
  /** How long a phase waits for an approval before it rolls back. */
  readonly approvalTimeout: Duration;
  /** Upper bound on one execution (phases, approvals, slack). */
  readonly timeout: Duration;
  /** Encrypts the execution log group. */
  readonly encryptionKey: kms.IKey;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Runs the environment's verification hooks of a stage (core/app/run-hooks.ts); required when
   * `duringPhaseHooks` or `afterPhaseHooks` is true.
   *
   * @default - no hooks steps
   */
  readonly runHooksFunction?: lambda.IFunction;
  /**
   * The environment has during-phase hooks: DuringPhaseHooks runs them once each phase has its
   * traffic (after StartPhase, before the first look); a failed hook rolls back (P1). Needs
   * `runHooksFunction`.
   *
   * @default false
   */
  readonly duringPhaseHooks?: boolean;
  /**
   * The environment has after-phase hooks: AfterPhaseHooks runs them when a phase's monitoring ends
   * well (before its approval, or before the next phase); a failed hook rolls back (P2). Needs
   * `runHooksFunction`.
   *
   * @default false
   */
  readonly afterPhaseHooks?: boolean;
  /**
   * The rollback drill (core/app/drill.ts): before the last phase promotes, the candidate is rolled
   * back on purpose, the baseline watched serving alone, then the candidate restored; a failed drill
   * rolls back (`drill_failed`).
   *
   * @default - no drill
   */
  readonly drillFunction?: lambda.IFunction;
}

/** What every canary rollback task sends besides its trigger. */
const ROLLBACK_BASE = { 'releaseId.$': '$.releaseId', 'model.$': '$.model', stopExecution: false } as const;
/** The release and the current phase, as the hooks and the drill take them (core/contracts.ts HooksInput, DrillInput). */
const RELEASE_AND_PHASE = {
  'releaseId.$': '$.releaseId',
  'model.$': '$.model',
  'version.$': '$.version',
  phase: { 'index.$': '$.phase.index', 'weight.$': '$.phase.weight' },
} as const;

export class CanaryStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: CanaryStateMachineProps) {
    super(scope, id);
    if (props.approvalTimeout.toSeconds() < 60) throw new Error('CanaryStateMachine: approvalTimeout must be at least one minute');
    if (props.timeout.toSeconds() <= props.approvalTimeout.toSeconds()) {
      throw new Error('CanaryStateMachine: timeout must exceed approvalTimeout');
    }
    if (props.duringPhaseHooks === true || props.afterPhaseHooks === true) requireHooks(props);
    // The order of the fragments is the order of the transitions into each state, which orders the
    // States of the rendered definition.
    const f = new CanaryFragments(this, props);
    const rollbacks = f.rollbacks(f.terminals());
    const loop = f.phaseLoop();
    const requestApproval = f.approval(rollbacks);
    const { nextPhase, promote } = f.nextPhase(loop.startPhase, rollbacks);
    const approvalThenNext = requestApproval.next(nextPhase);
    const phaseEnd = f.afterPhaseHooks(rollbacks, approvalThenNext, nextPhase);
    const decide = f.monitorDecision(loop.waitForNextLook, rollbacks, phaseEnd ?? approvalThenNext, phaseEnd ?? nextPhase);
    for (const [task, step] of [[loop.startPhase, S.startPhase], [loop.analyze, S.analyze], [requestApproval, S.requestApproval], [promote, S.promote]] as const) {
      catchFailure(this, task, step, rollbacks.onFailure);
    }
    const definition = loop.initCanary.next(loop.startPhase);
    loop.startPhase.next(f.duringPhaseHooks(rollbacks, loop.waitForNextLook));
    loop.waitForNextLook.next(loop.analyze).next(decide);

    this.stateMachine = pipelineStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definition,
      comment: 'BuilderBrain canary: phases, bounded monitor loops, approvals, promotion or rollback',
      timeout: props.timeout,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      invokes: [
        props.startPhaseFunction,
        props.analyzeCanaryFunction,
        props.requestApprovalFunction,
        props.promoteFunction,
        props.rollbackFunction,
        ...(props.duringPhaseHooks === true || props.afterPhaseHooks === true ? [requireHooks(props)] : []),
        ...(props.drillFunction === undefined ? [] : [props.drillFunction]),
      ],
    });
  }
}

/** The RunHooks function the hook stages need (a hook stage without it would be skipped silently). */
function requireHooks(props: CanaryStateMachineProps): lambda.IFunction {
  if (props.runHooksFunction === undefined) throw new Error('CanaryStateMachine: duringPhaseHooks and afterPhaseHooks need runHooksFunction');
  return props.runHooksFunction;
}

interface Terminals {
  readonly rollbackFailed: sfn.Fail;
  readonly canaryFailed: sfn.Fail;
  /** The rolled-back result, then CanaryRolledBack. */
  readonly rolledBack: sfn.Chain;
}

/** The rollback tasks, one per trigger. */
interface Rollbacks {
  readonly onVerdict: sfn.Chain;
  readonly onRejection: sfn.Chain;
  readonly onTimeout: sfn.Chain;
  readonly onFailure: tasks.LambdaInvoke;
  /** Another rollback task (the environment chain's triggers), then RolledBack. */
  readonly rollBack: (stateName: string, trigger: Record<string, unknown>) => sfn.Chain;
}

/** The phase loop's states: the cursor, the traffic shift, the wait and the look. */
interface PhaseLoop {
  readonly initCanary: sfn.Pass;
  readonly startPhase: tasks.LambdaInvoke;
  readonly waitForNextLook: sfn.Wait;
  readonly analyze: tasks.LambdaInvoke;
}

/** The canary machine's state groups, each a function of the ones it leads to. */
class CanaryFragments {
  public constructor(
    private readonly scope: Construct,
    private readonly props: CanaryStateMachineProps,
  ) {}

  public terminals(): Terminals {
    return {
      rollbackFailed: new sfn.Fail(this.scope, 'RollbackFailed', {
        stateName: 'RollbackFailed',
        error: ROLLBACK_FAILED_ERROR,
        cause: 'The rollback could not restore the baseline; a P0 incident was published. Restore traffic by hand.',
      }),
      canaryFailed: new sfn.Fail(this.scope, 'CanaryFailed', {
        stateName: 'CanaryFailed',
        error: 'CanaryStepFailed',
        cause: 'A step of the canary failed after its retries; the release was rolled back.',
      }),
      rolledBack: new sfn.Pass(this.scope, 'RolledBack', {
        stateName: 'RolledBack',
        parameters: { outcome: 'rolled_back', 'releaseId.$': '$.releaseId', 'version.$': '$.version', 'rollback.$': '$.rollback' },
        resultPath: '$.result',
      }).next(new sfn.Succeed(this.scope, 'CanaryRolledBack', { stateName: 'CanaryRolledBack', outputPath: '$.result' })),
    };
  }

  /** A rollback on each trigger: a verdict, a rejected approval, an approval timeout, a failed step. */
  public rollbacks(t: Terminals): Rollbacks {
    const rollback = (stateName: string, trigger: Record<string, unknown>) => {
      const task = lambdaStep(this.scope, stateName, this.props.rollbackFunction, {
        payload: { ...ROLLBACK_BASE, trigger },
        resultPath: '$.rollback',
        functionTimeout: functionTimeout(this.props.rollbackFunction),
      });
      task.addCatch(t.rollbackFailed, { errors: [ROLLBACK_FAILED_ERROR], resultPath: '$.rollbackError' });
      task.addCatch(t.rollbackFailed, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackError' });
      return task;
    };
    const onVerdict = rollback(S.rollbackOnVerdict, { kind: 'verdict', 'verdict.$': '$.phase.verdict' }).next(t.rolledBack);
    const onRejection = rollback(S.rollbackOnRejection, {
      kind: 'manual',
      'actor.$': '$.rejectionAnswer.answer.actor',
      'note.$': "States.Format('phase approval rejected: {}', $.rejectionAnswer.answer.note)",
    }).next(t.rolledBack);
    const approvalMinutes = Math.round(this.props.approvalTimeout.toMinutes({ integral: false }));
    const onTimeout = rollback(S.rollbackOnTimeout, { kind: 'approval_timeout', minutes: approvalMinutes }).next(t.rolledBack);
    const onFailure = rollback(S.rollbackOnFailure, { kind: 'task_failure', 'step.$': '$.failure.step', 'error.$': '$.failure.Error' });
    onFailure.next(t.canaryFailed);
    const rollBack = (stateName: string, trigger: Record<string, unknown>) => rollback(stateName, trigger).next(t.rolledBack);
    return { onVerdict, onRejection, onTimeout, onFailure, rollBack };
  }

  public phaseLoop(): PhaseLoop {
    const initCanary = new sfn.Pass(this.scope, CANARY_START_STATE, {
      stateName: CANARY_START_STATE,
      result: sfn.Result.fromObject({ phaseIndex: 0 }),
      resultPath: '$.cursor',
    });
    const startPhase = lambdaStep(this.scope, S.startPhase, this.props.startPhaseFunction, {
      payload: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.model',
        'version.$': '$.version',
        'phases.$': '$.phases',
        'maxLooksPerPhase.$': '$.maxLooksPerPhase',
        'phaseIndex.$': '$.cursor.phaseIndex',
        'executionArn.$': '$$.Execution.Id',
      },
      resultPath: '$.phase',
      functionTimeout: functionTimeout(this.props.startPhaseFunction),
    });
    const waitForNextLook = new sfn.Wait(this.scope, S.wait, { stateName: S.wait, time: sfn.WaitTime.secondsPath('$.phase.lookEverySeconds') });
    const analyze = lambdaStep(this.scope, S.analyze, this.props.analyzeCanaryFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.model', 'version.$': '$.version', 'phase.$': '$.phase' },
      resultPath: '$.phase',
      functionTimeout: functionTimeout(this.props.analyzeCanaryFunction),
    });
    return { initCanary, startPhase, waitForNextLook, analyze };
  }

  /** RequestApproval (.waitForTaskToken): its timeout is the approval deadline; a rejection or a timeout rolls back. */
  public approval(rollbacks: Rollbacks): tasks.LambdaInvoke {
    const requestApproval = new tasks.LambdaInvoke(this.scope, S.requestApproval, {
      stateName: S.requestApproval,
      lambdaFunction: this.props.requestApprovalFunction,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        releaseId: sfn.JsonPath.stringAt('$.releaseId'),
        model: sfn.JsonPath.stringAt('$.model'),
        version: sfn.JsonPath.stringAt('$.version'),
        phase: sfn.JsonPath.objectAt('$.phase'),
      }),
      retryOnServiceExceptions: false,
      resultPath: '$.approval',
      // The timeout is the approval deadline: never retried.
      taskTimeout: sfn.Timeout.duration(this.props.approvalTimeout),
    });
    assertResultPath(S.requestApproval, '$.approval');
    requestApproval.addRetry({ errors: [...LAMBDA_TRANSIENT_ERRORS], ...LAMBDA_RETRY });
    const parseRejection = new sfn.Pass(this.scope, 'ParseRejection', {
      stateName: 'ParseRejection',
      parameters: {
        'answer.$':
          "States.JsonMerge(States.StringToJson('{\"actor\":\"unknown operator\",\"note\":\"\"}'), States.StringToJson($.rejection.Cause), false)",
      },
      resultPath: '$.rejectionAnswer',
    });
    requestApproval.addCatch(parseRejection.next(rollbacks.onRejection), { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.rejection' });
    requestApproval.addCatch(rollbacks.onTimeout, { errors: [sfn.Errors.TIMEOUT], resultPath: '$.approvalTimeout' });
    return requestApproval;
  }

  /** NextPhase: the last phase promotes (after the drill, if any); any other advances the cursor and starts the next one. */
  public nextPhase(startPhase: tasks.LambdaInvoke, rollbacks: Rollbacks): { readonly nextPhase: sfn.Choice; readonly promote: tasks.LambdaInvoke } {
    const promote = lambdaStep(this.scope, S.promote, this.props.promoteFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.model', 'version.$': '$.version', 'phase.$': '$.phase' },
      resultPath: '$.promotion',
      functionTimeout: functionTimeout(this.props.promoteFunction),
    });
    const promoted = new sfn.Pass(this.scope, 'Promoted', {
      stateName: 'Promoted',
      parameters: { outcome: 'promoted', 'releaseId.$': '$.releaseId', 'version.$': '$.version' },
      resultPath: '$.result',
    }).next(new sfn.Succeed(this.scope, 'CanaryPromoted', { stateName: 'CanaryPromoted', outputPath: '$.result' }));
    const advancePhase = new sfn.Pass(this.scope, 'AdvancePhase', {
      stateName: 'AdvancePhase',
      parameters: { 'phaseIndex.$': '$.phase.nextIndex' },
      resultPath: '$.cursor',
    });
    const nextPhase = new sfn.Choice(this.scope, S.nextPhase, { stateName: S.nextPhase })
      .when(sfn.Condition.booleanEquals('$.phase.isLast', true), this.drill(rollbacks, promote.next(promoted)))
      .otherwise(advancePhase.next(startPhase));
    return { nextPhase, promote };
  }

  /** MonitorDecision: dispatches on AnalyzeCanary's `action`; an action it does not know fails the step. */
  public monitorDecision(waitForNextLook: sfn.Wait, rollbacks: Rollbacks, awaitApproval: sfn.IChainable, nextPhase: sfn.IChainable): sfn.Choice {
    const unknownAction = new sfn.Pass(this.scope, 'UnknownMonitorAction', {
      stateName: 'UnknownMonitorAction',
      result: sfn.Result.fromObject({ step: S.decide, Error: 'UnknownMonitorAction', Cause: 'AnalyzeCanary returned an action MonitorDecision does not know' }),
      resultPath: '$.failure',
    }).next(rollbacks.onFailure);
    return new sfn.Choice(this.scope, S.decide, { stateName: S.decide })
      .when(sfn.Condition.stringEquals('$.phase.action', action('continue')), waitForNextLook)
      .when(sfn.Condition.stringEquals('$.phase.action', action('rollback')), rollbacks.onVerdict)
      .when(sfn.Condition.stringEquals('$.phase.action', action('await_approval')), awaitApproval)
      .when(sfn.Condition.stringEquals('$.phase.action', action('advance')), nextPhase)
      .otherwise(unknownAction);
  }

  /** A RunHooks task of a phase's stage (HooksInput at `$.hooks`); its failure rolls back as any step's. */
  private hooksTask(stateName: string, stage: HookStage, rollbacks: Rollbacks): tasks.LambdaInvoke {
    const fn = requireHooks(this.props);
    const task = lambdaStep(this.scope, stateName, fn, {
      payload: { ...RELEASE_AND_PHASE, stage: hookStage(stage) },
      resultPath: '$.hooks',
      functionTimeout: functionTimeout(fn),
    });
    catchFailure(this.scope, task, stateName, rollbacks.onFailure);
    return task;
  }

  /** The rollback trigger of a failed hook (core/rollback.ts `verification_failed`), from RunHooks' `failure`. */
  private static verificationFailed(stage: Extract<HookStage, 'during_phase' | 'after_phase'>): Record<string, unknown> {
    return { kind: triggerKind('verification_failed'), stage: hookStage(stage), 'hook.$': '$.hooks.failure.hook', 'message.$': '$.hooks.failure.message' };
  }

  /** DuringPhaseHooks → DuringPhaseHooksPassed → `waitForNextLook`, or RollbackOnVerification. Without `duringPhaseHooks`: `waitForNextLook`. */
  public duringPhaseHooks(rollbacks: Rollbacks, waitForNextLook: sfn.Wait): sfn.IChainable {
    if (this.props.duringPhaseHooks !== true) return waitForNextLook;
    return this.hooksTask(SC.duringPhaseHooks, 'during_phase', rollbacks).next(
      new sfn.Choice(this.scope, SC.duringPhaseHooksPassed, { stateName: SC.duringPhaseHooksPassed })
        .when(sfn.Condition.booleanEquals('$.hooks.passed', true), waitForNextLook)
        .otherwise(rollbacks.rollBack(SC.rollbackOnVerification, CanaryFragments.verificationFailed('during_phase'))),
    );
  }

  /**
   * AfterPhaseHooks → AfterPhaseHooksPassed → AfterPhaseAction (`requestApproval` where the phase
   * awaits one, else `nextPhase`), or RollbackOnAfterPhaseVerification. Without `afterPhaseHooks`: undefined.
   */
  public afterPhaseHooks(rollbacks: Rollbacks, requestApproval: sfn.IChainable, nextPhase: sfn.IChainable): sfn.IChainable | undefined {
    if (this.props.afterPhaseHooks !== true) return undefined;
    const phaseAction = new sfn.Choice(this.scope, SC.afterPhaseAction, { stateName: SC.afterPhaseAction })
      .when(sfn.Condition.stringEquals('$.phase.action', action('await_approval')), requestApproval)
      .otherwise(nextPhase);
    return this.hooksTask(SC.afterPhaseHooks, 'after_phase', rollbacks).next(
      new sfn.Choice(this.scope, SC.afterPhaseHooksPassed, { stateName: SC.afterPhaseHooksPassed })
        .when(sfn.Condition.booleanEquals('$.hooks.passed', true), phaseAction)
        .otherwise(rollbacks.rollBack(SC.rollbackOnAfterPhaseVerification, CanaryFragments.verificationFailed('after_phase'))),
    );
  }

  /**
   * RollbackDrill → WaitForDrill → VerifyDrill → DrillPassed → RestoreAfterDrill → `promote`, or
   * RollbackOnDrill. Without `drillFunction`: `promote`.
   */
  public drill(rollbacks: Rollbacks, promote: sfn.Chain): sfn.IChainable {
    const fn = this.props.drillFunction;
    if (fn === undefined) return promote;
    const step = (stateName: string, a: DrillInput['action'], resultPath: string, extra: Record<string, unknown> = {}) => {
      const task = lambdaStep(this.scope, stateName, fn, { payload: { action: drillAction(a), ...RELEASE_AND_PHASE, ...extra }, resultPath, functionTimeout: functionTimeout(fn) });
      catchFailure(this.scope, task, stateName, rollbacks.onFailure);
      return task;
    };
    const rollbackDrill = step(SC.rollbackDrill, 'rollback', '$.drill');
    const waitForDrill = new sfn.Wait(this.scope, SC.waitForDrill, { stateName: SC.waitForDrill, time: sfn.WaitTime.secondsPath('$.drill.waitSeconds') });
    const verifyDrill = step(SC.verifyDrill, 'verify', '$.drill', { drill: { 'startedAt.$': '$.drill.startedAt' } });
    const restore = step(SC.restoreAfterDrill, 'restore', '$.drillRestore');
    const onDrill = rollbacks.rollBack(SC.rollbackOnDrill, { kind: triggerKind('drill_failed'), 'message.$': '$.drill.message' });
    return rollbackDrill
      .next(waitForDrill)
      .next(verifyDrill)
      .next(
        new sfn.Choice(this.scope, SC.drillPassed, { stateName: SC.drillPassed })
          .when(sfn.Condition.booleanEquals('$.drill.passed', true), restore.next(promote))
          .otherwise(onDrill),
      );
  }
}

