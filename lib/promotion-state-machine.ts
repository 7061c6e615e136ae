/**
 * The promotion state machine (Standard), one execution per uploaded manifest:
 *
 * ```
 * ValidateManifest → IsManifestValid ─no─▶ MarkInvalidManifest ─┐
 *   → AcquireLock → LockAcquired ─no─▶ MarkLockBusy ────────────┤
 *   → RunGates → GatesPassed ─no─▶ MarkGatesFailed ─────────────┤
 *   → RunCanary (.sync:2) → ReleaseLock → Completed (Succeed)    ▼
 *                                         RejectRelease → WasLockTaken ─gates_failed─▶ ReleaseLockAfterReject → Rejected (Succeed)
 *                                                                       └─otherwise──▶ Rejected (Succeed)
 * RunGates / RunCanary fail → <Step>Failed → RollbackOnCanaryFailure (stopExecution) → ReleaseLockAfterFailure
 * AcquireLock / RejectRelease / the rollback fail → ReleaseLockAfterFailure
 * ReleaseLockAfterFailure → RolledBackByAlarm? ─already_rolled_back─▶ RolledBackByAlarm → RolledBack (Succeed)
 *                                              └─otherwise──────────▶ PromotionFailed (Fail)
 * ValidateManifest, ReleaseLock, ReleaseLockAfterReject, ReleaseLockAfterFailure fail → PromotionFailed
 * ```
 *
 * The lock is released on every path that may hold it. A canary stopped by the alarm path fails
 * RunCanary; the rollback Lambda then answers `already_rolled_back` (the alarm path rolled back and
 * paged), and the execution ends as a *succeeded* rollback, so that the pipeline-health alarm on
 * failed executions fires only for real pipeline failures.
 *
 * Input: core/contracts.ts PromotionInput. Output: `{ outcome, ... }` (promoted / rolled_back /
 * rejected).
 */
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { STATE_NAMES } from '../core/contracts.js';
import type { SmokeSample } from '../core/deployment.js';
import type { Phase } from '../core/plan.js';
import { PhasesSchema } from '../core/plan.js';
import { acknowledge } from './nag.js';
import { catchFailure, lambdaStep, logicalIdOf, pipelineStateMachine } from './sfn-tasks.js';

const S = STATE_NAMES.promotion;

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
  readonly maxLooksPerPhase: number;
  /** Upper bound on one execution (the canary's timeout plus the promotion's own steps). */
  readonly timeout: Duration;
  /** Encrypts the execution log group. */
  readonly encryptionKey: kms.IKey;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
}

export class PromotionStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;

  public constructor(scope: Construct, id: string, props: PromotionStateMachineProps) {
    super(scope, id);
    const phases = PhasesSchema.safeParse(props.phases);
    if (!phases.success) throw new Error(`PromotionStateMachine: phases are invalid (${phases.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`).join('; ')})`);
    if (!Number.isInteger(props.maxLooksPerPhase) || props.maxLooksPerPhase < 1) {
      throw new Error(`PromotionStateMachine: maxLooksPerPhase must be a positive integer, got ${props.maxLooksPerPhase}`);
    }
    const fnTimeout = (fn: lambda.IFunction) => (fn as lambda.Function).timeout ?? Duration.minutes(5);
    const lockPayload = (action: 'acquire' | 'release') => ({ action, 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' });

    // ---- terminal states ----------------------------------------------------------------------
    const promotionFailed = new sfn.Fail(this, 'PromotionFailed', {
      stateName: 'PromotionFailed',
      error: 'PromotionFailed',
      cause: 'A step of the promotion failed after its retries; see the execution history and the incident topic.',
    });
    const completed = new sfn.Succeed(this, 'Completed', { stateName: 'Completed', outputPath: '$.canary' });
    const rejected = new sfn.Succeed(this, 'Rejected', { stateName: 'Rejected', outputPath: '$.reject' });
    const rolledBack = new sfn.Succeed(this, 'RolledBack', { stateName: 'RolledBack', outputPath: '$.result' });

    // ---- failure path: rollback, then always the lock -------------------------------------------
    const releaseLockAfterFailure = lambdaStep(this, S.releaseLockAfterFailure, props.releaseLockFunction, {
      payload: lockPayload('release'),
      resultPath: '$.unlock',
      functionTimeout: fnTimeout(props.releaseLockFunction),
    });
    releaseLockAfterFailure.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockFailure' });
    const rolledBackByAlarm = new sfn.Pass(this, 'RolledBackByAlarm', {
      stateName: 'RolledBackByAlarm',
      parameters: { outcome: 'rolled_back', 'releaseId.$': '$.releaseId', 'rollback.$': '$.rollback' },
      resultPath: '$.result',
    }).next(rolledBack);
    const afterFailure = new sfn.Choice(this, 'WasRolledBackByAlarm', { stateName: 'WasRolledBackByAlarm' })
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.rollback.outcome'),
          sfn.Condition.stringEquals('$.rollback.outcome', 'already_rolled_back'),
        ),
        rolledBackByAlarm,
      )
      .otherwise(promotionFailed);
    releaseLockAfterFailure.next(afterFailure);

    const rollbackOnFailure = lambdaStep(this, S.rollbackOnFailure, props.rollbackFunction, {
      payload: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.validation.model',
        trigger: { kind: 'task_failure', 'step.$': '$.failure.step', 'error.$': '$.failure.Error' },
        stopExecution: true,
      },
      resultPath: '$.rollback',
      functionTimeout: fnTimeout(props.rollbackFunction),
    });
    rollbackOnFailure.addCatch(releaseLockAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.rollbackFailure' });

    // ---- the serving target: one loop per goal (apply once, check until done / failed / timed out) ----
    const servingFailed = new sfn.Fail(this, 'ServingFailed', {
      stateName: 'ServingFailed',
      error: 'ServingFailed',
      cause: 'Converging on the promoted model or removing the candidate failed or timed out; the lock was released and the next release plans from the endpoint as it is. See the audit ledger (serving events).',
    });
    const releaseLockAfterServingFailure = lambdaStep(this, 'ReleaseLockAfterServingFailure', props.releaseLockFunction, {
      payload: lockPayload('release'),
      resultPath: '$.unlock',
      functionTimeout: fnTimeout(props.releaseLockFunction),
    });
    releaseLockAfterServingFailure.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockFailure' });
    releaseLockAfterServingFailure.next(servingFailed);
    const servingTask = (stateName: string, payload: Record<string, unknown>, resultPath = '$.serving') =>
      lambdaStep(this, stateName, props.servingFunction, { payload: { 'releaseId.$': '$.releaseId', ...payload }, resultPath, functionTimeout: fnTimeout(props.servingFunction) });
    /**
     * `<p>Progress` dispatches on the core's decision `$.serving.next`: apply (after the bake
     * period), check again (after pollSeconds), done, or failed. Bounded by the core's timeout.
     */
    const servingLoop = (p: string, start: sfn.TaskStateBase, onDone: sfn.IChainable, onFailed: sfn.IChainable, onError: (task: sfn.TaskStateBase, step: string) => void) => {
      const apply = servingTask(`${p}Apply`, { action: 'apply', 'progress.$': '$.serving' });
      const check = servingTask(`${p}Check`, { action: 'check', 'progress.$': '$.serving' });
      const wait = (name: string) => new sfn.Wait(this, name, { stateName: name, time: sfn.WaitTime.timestampPath('$.serving.nextCheckAt') });
      const progress = new sfn.Choice(this, `${p}Progress`, { stateName: `${p}Progress` })
        .when(sfn.Condition.stringEquals('$.serving.next', 'apply'), wait(`${p}WaitToApply`).next(apply))
        .when(sfn.Condition.stringEquals('$.serving.next', 'check'), wait(`${p}WaitToCheck`).next(check))
        .when(sfn.Condition.stringEquals('$.serving.next', 'done'), onDone)
        .otherwise(onFailed);
      for (const [task, step] of [[start, start.id], [apply, `${p}Apply`], [check, `${p}Check`]] as const) {
        task.next(progress);
        onError(task, step);
      }
      return start;
    };
    const cleanupCatch = (task: sfn.TaskStateBase) => task.addCatch(releaseLockAfterServingFailure, { errors: [sfn.Errors.ALL], resultPath: '$.servingError' });
    const removal = (p: string, onDone: sfn.IChainable) =>
      servingLoop(p, servingTask(`${p}Start`, { action: 'start', goal: 'candidate_removed' }), onDone, releaseLockAfterServingFailure, cleanupCatch);

    rollbackOnFailure.next(removal('RemoveAfterFailure', releaseLockAfterFailure));

    // ---- rejections -----------------------------------------------------------------------------
    const rejectRelease = lambdaStep(this, S.reject, props.rejectReleaseFunction, {
      inputPath: '$.rejection',
      resultPath: '$.reject',
      functionTimeout: fnTimeout(props.rejectReleaseFunction),
    });
    // A failed RejectRelease still removes whatever was deployed (nothing, before DeployCandidate) before the lock goes.
    rejectRelease.addCatch(removal('RemoveAfterRejectFailure', releaseLockAfterFailure), { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    const releaseLockAfterReject = lambdaStep(this, S.rejectedReleaseLock, props.releaseLockFunction, {
      payload: lockPayload('release'),
      resultPath: '$.unlock',
      functionTimeout: fnTimeout(props.releaseLockFunction),
    });
    releaseLockAfterReject.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockFailure' });
    releaseLockAfterReject.next(rejected);
    rejectRelease.next(
      new sfn.Choice(this, 'AfterRejection', { stateName: 'AfterRejection' })
        .when(sfn.Condition.stringEquals('$.reject.then', 'remove_candidate'), removal('RemoveAfterReject', releaseLockAfterReject))
        .when(sfn.Condition.stringEquals('$.reject.then', 'release_lock'), releaseLockAfterReject)
        .otherwise(rejected),
    );
    /** Builds RejectInput (core/contracts.ts) at `$.rejection`; only the fields the cause has. */
    const markRejection = (stateName: string, cause: 'invalid_manifest' | 'lock_busy' | 'gates_failed' | 'artifact_rejected' | 'deploy_failed' | 'smoke_failed', extra: Record<string, string>) =>
      new sfn.Pass(this, stateName, {
        stateName,
        parameters: { 'releaseId.$': '$.releaseId', cause, 'validation.$': '$.validation', ...extra },
        resultPath: '$.rejection',
      }).next(rejectRelease);

    // ---- the happy path -------------------------------------------------------------------------
    const validate = lambdaStep(this, S.validate, props.validateManifestFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'source.$': '$.source', 'receivedAt.$': '$.receivedAt' },
      resultPath: '$.validation',
      functionTimeout: fnTimeout(props.validateManifestFunction),
    });
    validate.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });

    const acquireLock = lambdaStep(this, S.acquireLock, props.releaseLockFunction, {
      payload: lockPayload('acquire'),
      resultPath: '$.lock',
      functionTimeout: fnTimeout(props.releaseLockFunction),
    });
    acquireLock.addCatch(releaseLockAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });

    const runGates = lambdaStep(this, S.gates, props.runGatesFunction, {
      payload: { 'releaseId.$': '$.releaseId', 'manifest.$': '$.validation.manifest' },
      resultPath: '$.gate',
      functionTimeout: fnTimeout(props.runGatesFunction),
    });
    catchFailure(this, runGates, S.gates, rollbackOnFailure);

    const runCanary = new tasks.StepFunctionsStartExecution(this, S.runCanary, {
      stateName: S.runCanary,
      stateMachine: props.canaryStateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // Named after the release: a retried start finds the running execution instead of starting a second one.
      name: sfn.JsonPath.stringAt('$.releaseId'),
      input: sfn.TaskInput.fromObject({
        releaseId: sfn.JsonPath.stringAt('$.releaseId'),
        model: sfn.JsonPath.stringAt('$.validation.model'),
        version: sfn.JsonPath.stringAt('$.validation.version'),
        phases: phases.data,
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
    catchFailure(this, runCanary, S.runCanary, rollbackOnFailure);

    const releaseLock = lambdaStep(this, S.releaseLock, props.releaseLockFunction, {
      payload: lockPayload('release'),
      resultPath: '$.unlock',
      functionTimeout: fnTimeout(props.releaseLockFunction),
    });
    releaseLock.addCatch(promotionFailed, { errors: [sfn.Errors.ALL], resultPath: '$.unlockFailure' });
    releaseLock.next(completed);

    // ---- verify → deploy → smoke test → canary → converge / remove --------------------------------
    const verifyArtifact = lambdaStep(this, S.verifyArtifact, props.verifyArtifactFunction, {
      payload: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.validation.model',
        'version.$': '$.validation.version',
        'artifact.$': '$.validation.manifest.artifact',
      },
      resultPath: '$.artifact',
      functionTimeout: fnTimeout(props.verifyArtifactFunction),
    });
    catchFailure(this, verifyArtifact, S.verifyArtifact, rollbackOnFailure);
    const deployCandidate = servingTask(S.deploy, {
      action: 'deploy',
      'model.$': '$.validation.model',
      'version.$': '$.validation.version',
      'artifact.$': '$.validation.manifest.artifact',
      'serving.$': '$.validation.serving',
    });
    const smokeTest = servingTask(S.smoke, { action: 'smoke', 'deployment.$': '$.serving.deployment', samples: props.smokeSamples.map((x) => ({ ...x })) }, '$.smoke');
    catchFailure(this, smokeTest, S.smoke, rollbackOnFailure);
    const converge = servingLoop(
      'Converge',
      servingTask('ConvergeStart', { action: 'start', goal: 'converged' }),
      releaseLock,
      releaseLockAfterServingFailure,
      cleanupCatch,
    );
    const afterCanary = new sfn.Choice(this, 'CanaryOutcome', { stateName: 'CanaryOutcome' })
      .when(sfn.Condition.stringEquals('$.canary.outcome', 'promoted'), converge)
      .otherwise(removal('RemoveAfterRollback', releaseLock));
    runCanary.next(afterCanary);
    smokeTest.next(
      new sfn.Choice(this, S.smokePassed, { stateName: S.smokePassed })
        .when(sfn.Condition.booleanEquals('$.smoke.passed', true), runCanary)
        .otherwise(markRejection('MarkSmokeFailed', 'smoke_failed', { 'smoke.$': '$.smoke' })),
    );
    const deployLoop = servingLoop(S.deploy, deployCandidate, smokeTest, markRejection('MarkDeployFailed', 'deploy_failed', { 'serving.$': '$.serving' }), (task, step) =>
      catchFailure(this, task, step, rollbackOnFailure),
    );
    verifyArtifact.next(
      new sfn.Choice(this, S.artifactVerified, { stateName: S.artifactVerified })
        .when(sfn.Condition.booleanEquals('$.artifact.ok', true), deployLoop)
        .otherwise(markRejection('MarkArtifactRejected', 'artifact_rejected', { 'artifact.$': '$.artifact' })),
    );

    const definition = validate.next(
      new sfn.Choice(this, S.isValid, { stateName: S.isValid })
        .when(
          sfn.Condition.booleanEquals('$.validation.valid', true),
          acquireLock.next(
            new sfn.Choice(this, S.lockAcquired, { stateName: S.lockAcquired })
              .when(
                sfn.Condition.booleanEquals('$.lock.acquired', true),
                runGates.next(
                  new sfn.Choice(this, S.gatesPassed, { stateName: S.gatesPassed })
                    .when(sfn.Condition.booleanEquals('$.gate.passed', true), verifyArtifact)
                    .otherwise(markRejection('MarkGatesFailed', 'gates_failed', { 'gate.$': '$.gate' })),
                ),
              )
              .otherwise(markRejection('MarkLockBusy', 'lock_busy', { 'lock.$': '$.lock' })),
          ),
        )
        .otherwise(markRejection('MarkInvalidManifest', 'invalid_manifest', {})),
    );

    this.stateMachine = pipelineStateMachine(this, {
      stateMachineName: props.stateMachineName,
      definition,
      comment: 'BuilderBrain promotion: validate, lock, gates, verify the artifact, deploy, smoke test, canary, converge or remove, release the lock',
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
      ],
    });
    // The .sync integration's grant (aws-cdk-lib): Describe/StopExecution on the canary machine's
    // executions, whose names are release ids. The finding id renders the machine name as CloudFormation does.
    if (props.canaryStateMachine instanceof sfn.StateMachine) {
      acknowledge(
        this.stateMachine.role,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(props.canaryStateMachine)}"}]}]}*]`,
        'RunCanary (.sync:2) must describe and stop the canary execution it started; its name is the release id, known only at run time. Scoped to the one canary state machine.',
      );
    }
  }
}
