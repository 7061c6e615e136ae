/**
 * Building blocks shared by the promotion and canary state machines. Both are JSONPath (never
 * JSONata, no `Assign`, no variables) and never use `ResultPath: "$"`: the embedded runtime's ASL
 * interpreter runs the very same definitions and supports neither.
 */
import { CfnElement, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { allowLogsService } from './kms.js';
import { acknowledge, acknowledgeLogRetention } from './nag.js';

/** Transient Lambda invoke errors worth retrying (plus States.Timeout where the step is idempotent). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** The one retry policy of every Lambda task: 2 s, ×2, 4 attempts, full jitter. */
export const LAMBDA_RETRY = {
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 4,
  jitterStrategy: sfn.JitterType.FULL,
} as const;

export interface LambdaStepOptions {
  /** The payload: a JSONPath Parameters object (keys ending in `.$` are paths). Omit to send the (InputPath-selected) input. */
  readonly payload?: Record<string, unknown>;
  /** @default - the whole state input */
  readonly inputPath?: string;
  /** Where the handler's result goes in the state's input. Never `$`. */
  readonly resultPath: string;
  /** The function's own timeout; the task times out a little later. */
  readonly functionTimeout: Duration;
  /**
   * Whether `States.Timeout` is retried (every handler is idempotent; false only where a timeout
   * means something else).
   *
   * @default true
   */
  readonly retryOnTimeout?: boolean;
}

/**
 * A Lambda task that returns the handler's result itself (`payloadResponseOnly`: the Resource is the
 * function ARN), with the shared retry policy.
 *
 * @example lambdaStep(this, 'RunGates', fn, { payload: { 'releaseId.$': '$.releaseId' }, resultPath: '$.gate', functionTimeout: Duration.seconds(30) })
 */
export function lambdaStep(scope: Construct, stateName: string, fn: lambda.IFunction, opts: LambdaStepOptions): tasks.LambdaInvoke {
  assertResultPath(stateName, opts.resultPath);
  const task = new tasks.LambdaInvoke(scope, stateName, {
    stateName,
    lambdaFunction: fn,
    payload: opts.payload === undefined ? undefined : sfn.TaskInput.fromObject(opts.payload),
    inputPath: opts.inputPath,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: opts.resultPath,
    taskTimeout: sfn.Timeout.duration(opts.functionTimeout.plus(Duration.seconds(10))),
  });
  const errors: string[] = [...LAMBDA_TRANSIENT_ERRORS];
  if (opts.retryOnTimeout !== false) errors.push(sfn.Errors.TIMEOUT);
  task.addRetry({ errors, ...LAMBDA_RETRY });
  return task;
}

/** A function's own timeout (a Lambda task times out a little later): 5 minutes when the function does not say. */
export function functionTimeout(fn: lambda.IFunction): Duration {
  return (fn as lambda.Function).timeout ?? Duration.minutes(5);
}

/** Guards the interpreter constraint at build time. */
export function assertResultPath(stateName: string, resultPath: string): void {
  if (resultPath === '$' || !resultPath.startsWith('$.')) {
    throw new Error(`${stateName}: ResultPath must be a sub-path of the input ("$.x"), not "${resultPath}"`);
  }
}

/**
 * A Pass state that records which step failed into the error object a Catch left at `$.failure`,
 * so the rollback trigger can name it (`{ kind: 'task_failure', step, error }`).
 */
export function markFailedStep(scope: Construct, step: string): sfn.Pass {
  return new sfn.Pass(scope, `${step}Failed`, {
    stateName: `${step}Failed`,
    result: sfn.Result.fromString(step),
    resultPath: '$.failure.step',
  });
}

/** Catches everything a step throws after its retries into `$.failure`, then records the step's name. */
export function catchFailure(scope: Construct, state: sfn.TaskStateBase, step: string, next: sfn.IChainable): void {
  state.addCatch(markFailedStep(scope, step).next(next), { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
}

export interface PipelineStateMachineProps {
  readonly stateMachineName: string;
  readonly definition: sfn.IChainable;
  readonly comment: string;
  readonly timeout?: Duration;
  readonly encryptionKey: kms.IKey;
  /** @default THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** The functions its Lambda tasks invoke (for the role's acknowledgments). */
  readonly invokes: readonly lambda.IFunction[];
}

/**
 * A pipeline state machine as both machines are built: Standard, JSONPath (what the embedded runtime
 * executes), X-Ray on, encrypted logs without execution data, its role's acknowledgments.
 */
export function pipelineStateMachine(scope: Construct, props: PipelineStateMachineProps): sfn.StateMachine {
  const machine = new sfn.StateMachine(scope, 'Resource', {
    stateMachineName: props.stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    queryLanguage: sfn.QueryLanguage.JSON_PATH,
    definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
    comment: props.comment,
    timeout: props.timeout,
    tracingEnabled: true,
    logs: machineLogging(scope, {
      // Retained after the stack is deleted: a name of its own per stack creation, so a deploy after a
      // `cdk destroy` (or a failed first deploy) does not find it "already exists".
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}-${stackCreationId(scope)}`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    }),
  });
  acknowledgeMachineRole(machine, props.invokes);
  return machine;
}

export interface MachineLoggingProps {
  readonly logGroupName: string;
  readonly encryptionKey: kms.IKey;
  readonly retention: logs.RetentionDays;
}

/**
 * An encrypted log group for a state machine (under /aws/vendedlogs/, which keeps the Logs resource
 * policy small) and the logging options: every event, never execution data, because inputs and
 * outputs carry approval task tokens. Kept when the stack is deleted, removed again when the stack's
 * first creation fails.
 */
export function machineLogging(scope: Construct, props: MachineLoggingProps): sfn.LogOptions {
  allowLogsService(props.encryptionKey);
  const destination = new logs.LogGroup(scope, 'Logs', {
    logGroupName: props.logGroupName,
    encryptionKey: props.encryptionKey,
    retention: props.retention,
    removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
  });
  acknowledgeLogRetention(destination, props.retention);
  return { destination, level: sfn.LogLevel.ALL, includeExecutionData: false };
}

/**
 * The first 8 hex digits of the stack's id (a UUID CloudFormation draws each time the stack is
 * created): part of a retained resource's name, so the next creation of the stack gets another.
 */
export function stackCreationId(scope: Construct): string {
  return Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Stack.of(scope).stackId))));
}

/**
 * The acknowledgments a state machine role needs: log delivery and X-Ray actions that AWS allows on
 * no specific resource, and `lambda:InvokeFunction` on `<function ARN>:*` that the Lambda tasks grant
 * (any version or alias of that one function).
 */
export function acknowledgeMachineRole(machine: sfn.StateMachine, invoked: readonly lambda.IFunction[]): void {
  acknowledge(
    machine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'Resource "*" only where AWS supports no resource-level permissions: CloudWatch Logs vended-log delivery (logs:CreateLogDelivery and friends) and X-Ray tracing (xray:PutTraceSegments and friends).',
  );
  for (const fn of new Set(invoked)) {
    acknowledge(
      machine.role,
      `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
      'The Lambda task may invoke any version or alias of this one function (the grant aws-cdk-lib renders for every Lambda task).',
    );
  }
}

/** The logical id of a construct's CloudFormation resource (as cdk-nag names it in finding ids). */
export function logicalIdOf(construct: Construct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child);
}
