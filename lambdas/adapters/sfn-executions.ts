/**
 * Executions on the Step Functions API.
 *
 * - start: StartExecution with the release id as the execution name. A name that exists already
 *   (ExecutionAlreadyExists: same name, other input, or a closed execution) is a duplicate; its ARN
 *   is derived from the state machine ARN (`…:stateMachine:<sm>` → `…:execution:<sm>:<name>`), so
 *   no Describe/List permission is needed.
 * - stop: StopExecution; an execution that does not exist or has already finished is not an error.
 * - sendTaskSuccess / sendTaskFailure: a token that is no longer waiting (TaskDoesNotExist,
 *   TaskTimedOut, InvalidToken) is {@link NothingWaitingError}.
 */
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ConfigurationError, NothingWaitingError } from '../../core/app/errors.js';
import type { Executions } from '../../core/ports.js';
import { AwsCallError, errorName, isAwsError } from './aws-errors.js';

/** StopExecution's `error` field, as it appears in the stopped execution's history. */
export const STOP_ERROR = 'RolledBack';
const MAX_CAUSE = 32_768;
const MAX_ERROR = 256;

/** The ARN of execution `name` of a Standard state machine. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const NOT_WAITING = ['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken'];

export class SfnExecutions implements Executions {
  public constructor(
    private readonly client: SFNClient,
    /** The state machine `start` starts (the promotion machine); null for handlers that never start one. */
    private readonly stateMachineArn: string | null,
  ) {}

  public async start(name: string, input: unknown): Promise<{ executionArn: string; duplicate: boolean }> {
    const arn = this.stateMachineArn;
    if (arn === null) throw new ConfigurationError('SfnExecutions.start needs the state machine ARN');
    try {
      const out = await this.client.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }));
      return { executionArn: out.executionArn ?? executionArnFor(arn, name), duplicate: false };
    } catch (err) {
      if (isAwsError(err, 'ExecutionAlreadyExists')) return { executionArn: executionArnFor(arn, name), duplicate: true };
      throw new AwsCallError('StepFunctions.StartExecution', arn, err);
    }
  }

  public async stop(executionArn: string, cause: string): Promise<void> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, error: STOP_ERROR, cause: cause.slice(0, MAX_CAUSE) }));
    } catch (err) {
      if (isAwsError(err, 'ExecutionDoesNotExist')) return;
      // Defensive: a finished execution is reported as not running by some endpoints.
      if (isAwsError(err, 'ValidationException', 'InvalidExecutionStatus') && /not running|already|finished|completed|closed/i.test((err as Error).message)) return;
      throw new AwsCallError('StepFunctions.StopExecution', executionArn, err);
    }
  }

  public async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
    } catch (err) {
      this.taskError('SendTaskSuccess', token, err);
    }
  }

  public async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    try {
      await this.client.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, MAX_ERROR), cause: cause.slice(0, MAX_CAUSE) }));
    } catch (err) {
      this.taskError('SendTaskFailure', token, err);
    }
  }

  /**
   * The token never reaches an error: AWS messages may quote it, so the error is rebuilt with the
   * token redacted and without the original as `cause` (loggers serialise causes).
   */
  private taskError(operation: string, token: string, err: unknown): never {
    if (isAwsError(err, ...NOT_WAITING)) {
      throw new NothingWaitingError('(by task token)', `${errorName(err)}: the approval was already answered or timed out`);
    }
    const e = (typeof err === 'object' && err !== null ? err : {}) as { message?: string; $metadata?: unknown; $fault?: unknown; $retryable?: unknown };
    const redacted = {
      name: errorName(err),
      message: String(e.message ?? err).split(token).join('<task token>'),
      $metadata: e.$metadata,
      $fault: e.$fault,
      $retryable: e.$retryable,
    };
    throw new AwsCallError(`StepFunctions.${operation}`, 'task token (redacted)', redacted);
  }
}
