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
import { APPROVAL_REJECTED_ERROR, ROLLBACK_FAILED_ERROR, STATE_NAMES } from '../core/contracts.js';
import { assertResultPath, catchFailure, LAMBDA_RETRY, LAMBDA_TRANSIENT_ERRORS, lambdaStep, pipelineStateMachine } from './sfn-tasks.js';

const S = STATE_NAMES.canary;

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
}

/** What every canary rollback task sends besides its trigger. */
const ROLLBACK_BASE = { 'releaseId.$': '$.releaseId', 'model.$': '$.model', stopExecution: false } as const;

export class CanaryStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: CanaryStateMachineProps) {
    super(scope, id);
    if (props.approvalTimeout.toSeconds() < 60) throw new Error('CanaryStateMachine: approvalTimeout must be at least one minute');
    if (props.timeout.toSeconds() <= props.approvalTimeout.toSeconds()) {
      throw new Error('CanaryStateMachine: timeout must exceed approvalTimeout');
    }
    const fnTimeout = (fn: lambda.IFunction) => (fn as lambda.Function).timeout ?? Duration.minutes(5);

    // ---- terminal states ----------------------------------------------------------------------
    const rollbackFailed = new sfn.Fail(this, 'RollbackFailed', {
      stateName: 'RollbackFailed',
      error: ROLLBACK_FAILED_ERROR,
      cause: 'The rollback could not restore the baseline; a P0 incident was published. Restore traffic by hand.',
    });
    const canaryFailed = new sfn.Fail(this, 'CanaryFailed', {
      stateName: 'CanaryFailed',
      error: 'CanaryStepFailed',
      cause: 'A step of the canary failed after its retries; the release was rolled back.',
    });
    const rolledBack = new sfn.Pass(this, 'RolledBack', {
      stateName: 'RolledBack',
      parameters: { outcome: 'rolled_back', 'releaseId.$': '$.releaseId', 'version.$': '$.version', 'rollback.$': '$.rollback' },
      resultPath: '$.result',
    }).next(new sfn.Succeed(this, 'CanaryRolledBack', { stateName: 'CanaryRolledBack', outputPath: '$.result' }));

    // ---- rollbacks ----------------------------------------------------------------------------
    const rollback = (stateName: string, trigger: Record<string, unknown>) => {
      const task = lambdaStep(this, stateName, props.rollbackFunction, {
        payload: { ...ROLLBACK_BASE, trigger },
        resultPath: '$.rollback',
        functionTimeout: fnTimeout(props.rollbackFunction),
      });
      task.addCatch(rollbackFailed, { errors: [ROLLBACK_FAILED_ERROR], resultPath: '$.rollbackError' });
      task.addCatch(rollbackFailed, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackError' });
      return task;
    };
    const rollbackOnVerdict = rollback(S.rollbackOnVerdict, { kind: 'verdict', 'verdict.$': '$.phase.verdict' }).next(rolledBack);
    const rollbackOnRejection = rollback(S.rollbackOnRejection, {
      kind: 'manual',
      'actor.$': '$.rejectionAnswer.answer.actor',
      'note.$': "States.Format('phase approval rejected: {}', $.rejectionAnswer.answer.note)",
    }).next(rolledBack);
    const approvalMinutes = Math.round(props.approvalTimeout.toMinutes({ integral: false }));
    const rollbackOnTimeout = rollback(S.rollbackOnTimeout, { kind: 'approval_timeout', minutes: approvalMinutes }).next(rolledBack);
    const rollbackOnFailure = rollback(S.rollbackOnFailure, {
      kind: 'task_failure',
      'step.$': '$.failure.step',
      'error.$': '$.failure.Error',
    }).next(canaryFailed);

    // ---- the phase loop -------------------------------------------------------------------------
    const initCanary = new sfn.Pass(this, CANARY_START_STATE, {
      stateName: CANARY_START_STATE,
      result: sfn.Result.fromObject({ phaseIndex: 0 }),
      resultPath: '$.cursor',
    });
    const startPhase = lambdaStep(this, S.startPhase, props.startPhaseFunction, {
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
      functionTimeout: fnTimeout(props.startPhaseFunction),
    });
    const waitForNextLook = new sfn.Wait(this, S.wait, {
      stateName: S.wait,
      time: sfn.WaitTime.secondsPath('$.phase.lookEverySeconds'),
    });
    const analyze = lambdaStep(this, S.analyze, props.analyzeCanaryFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.model', 'version.$': '$.version', 'phase.$': '$.phase' },
      resultPath: '$.phase',
      functionTimeout: fnTimeout(props.analyzeCanaryFunction),
    });
    const requestApproval = new tasks.LambdaInvoke(this, S.requestApproval, {
      stateName: S.requestApproval,
      lambdaFunction: props.requestApprovalFunction,
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
      taskTimeout: sfn.Timeout.duration(props.approvalTimeout),
    });
    assertResultPath(S.requestApproval, '$.approval');
    requestApproval.addRetry({ errors: [...LAMBDA_TRANSIENT_ERRORS], ...LAMBDA_RETRY });
    const parseRejection = new sfn.Pass(this, 'ParseRejection', {
      stateName: 'ParseRejection',
      parameters: {
        'answer.$':
          "States.JsonMerge(States.StringToJson('{\"actor\":\"unknown operator\",\"note\":\"\"}'), States.StringToJson($.rejection.Cause), false)",
      },
      resultPath: '$.rejectionAnswer',
    });
    requestApproval.addCatch(parseRejection.next(rollbackOnRejection), { errors: [APPROVAL_REJECTED_ERROR], resultPath: '$.rejection' });
    requestApproval.addCatch(rollbackOnTimeout, { errors: [sfn.Errors.TIMEOUT], resultPath: '$.approvalTimeout' });

    const promote = lambdaStep(this, S.promote, props.promoteFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'model.$': '$.model', 'version.$': '$.version', 'phase.$': '$.phase' },
      resultPath: '$.promotion',
      functionTimeout: fnTimeout(props.promoteFunction),
    });
    const promoted = new sfn.Pass(this, 'Promoted', {
      stateName: 'Promoted',
      parameters: { outcome: 'promoted', 'releaseId.$': '$.releaseId', 'version.$': '$.version' },
      resultPath: '$.result',
    }).next(new sfn.Succeed(this, 'CanaryPromoted', { stateName: 'CanaryPromoted', outputPath: '$.result' }));

    const advancePhase = new sfn.Pass(this, 'AdvancePhase', {
      stateName: 'AdvancePhase',
      parameters: { 'phaseIndex.$': '$.phase.nextIndex' },
      resultPath: '$.cursor',
    });
    const nextPhase = new sfn.Choice(this, S.nextPhase, { stateName: S.nextPhase })
      .when(sfn.Condition.booleanEquals('$.phase.isLast', true), promote.next(promoted))
      .otherwise(advancePhase.next(startPhase));

    const unknownAction = new sfn.Pass(this, 'UnknownMonitorAction', {
      stateName: 'UnknownMonitorAction',
      result: sfn.Result.fromObject({ step: S.decide, Error: 'UnknownMonitorAction', Cause: 'AnalyzeCanary returned an action MonitorDecision does not know' }),
      resultPath: '$.failure',
    }).next(rollbackOnFailure);
    const decide = new sfn.Choice(this, S.decide, { stateName: S.decide })
      .when(sfn.Condition.stringEquals('$.phase.action', 'continue'), waitForNextLook)
      .when(sfn.Condition.stringEquals('$.phase.action', 'rollback'), rollbackOnVerdict)
      .when(sfn.Condition.stringEquals('$.phase.action', 'await_approval'), requestApproval.next(nextPhase))
      .when(sfn.Condition.stringEquals('$.phase.action', 'advance'), nextPhase)
      .otherwise(unknownAction);

    catchFailure(this, startPhase, S.startPhase, rollbackOnFailure);
    catchFailure(this, analyze, S.analyze, rollbackOnFailure);
    catchFailure(this, requestApproval, S.requestApproval, rollbackOnFailure);
    catchFailure(this, promote, S.promote, rollbackOnFailure);

    const definition = initCanary.next(startPhase).next(waitForNextLook).next(analyze).next(decide);

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
      ],
    });
  }
}
