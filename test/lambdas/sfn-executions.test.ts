import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NothingWaitingError } from '../../core/app/errors.js';
import { SfnExecutions, STOP_ERROR, executionArnFor } from '../../lambdas/adapters/sfn-executions.js';
import { ONE_ATTEMPT, awsError, denied, throttled } from './aws-helpers.js';

const sfn = mockClient(SFNClient);
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:bb-promotion';
const executions = new SfnExecutions(new SFNClient(ONE_ATTEMPT), SM);
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:bb-canary:run-1';
const TOKEN = 'AAAA-secret-task-token-ZZZZ';
const meta = { $metadata: {} };

beforeEach(() => sfn.reset());

describe('SfnExecutions', () => {
  it('starts an execution named by the release id with JSON input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArnFor(SM, 'r-1'), startDate: new Date() });
    expect(await executions.start('r-1', { releaseId: 'r-1' })).toEqual({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:bb-promotion:r-1', duplicate: false });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({ stateMachineArn: SM, name: 'r-1', input: '{"releaseId":"r-1"}' });
  });

  it('ExecutionAlreadyExists is a duplicate with the existing ARN', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...meta }));
    expect(await executions.start('r-1', {})).toEqual({ executionArn: executionArnFor(SM, 'r-1'), duplicate: true });
  });

  it('throttling and permanent start failures are thrown', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(throttled()).rejectsOnce(awsError('StateMachineDoesNotExist', 400, 'State Machine Does Not Exist'));
    await expect(executions.start('r-1', {})).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true });
    await expect(executions.start('r-1', {})).rejects.toMatchObject({ name: 'StateMachineDoesNotExist', retryable: false });
  });

  it('stops with an error and cause; a finished or unknown execution is not an error', async () => {
    sfn.on(StopExecutionCommand).resolvesOnce({ stopDate: new Date() }).resolvesOnce({ stopDate: new Date() }).rejectsOnce(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta }));
    await executions.stop(EXEC, 'rolled back: alarm');
    // A finished execution: Step Functions answers without changing it.
    await executions.stop(EXEC, 'rolled back again');
    await executions.stop(EXEC, 'gone');
    expect(sfn.commandCalls(StopExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: EXEC, error: STOP_ERROR, cause: 'rolled back: alarm' });
  });

  it('stop failures other than "not there" propagate', async () => {
    sfn.on(StopExecutionCommand).rejects(denied());
    await expect(executions.stop(EXEC, 'x')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('answers task tokens; a token no longer waiting is NothingWaiting', async () => {
    sfn.on(SendTaskSuccessCommand).resolvesOnce({}).rejectsOnce(new TaskTimedOut({ message: 'Task Timed Out', ...meta }));
    sfn.on(SendTaskFailureCommand).resolves({});
    await executions.sendTaskSuccess(TOKEN, { approvedBy: 'alice' });
    await executions.sendTaskFailure(TOKEN, 'Rejected', '{"actor":"bob","note":"no"}');
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({ taskToken: TOKEN, output: '{"approvedBy":"alice"}' });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input).toEqual({ taskToken: TOKEN, error: 'Rejected', cause: '{"actor":"bob","note":"no"}' });
    await expect(executions.sendTaskSuccess(TOKEN, {})).rejects.toBeInstanceOf(NothingWaitingError);
  });

  it('never puts the task token in an error', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(awsError('InvalidOutput', 400, `bad output for task ${TOKEN}`));
    const err = (await executions.sendTaskSuccess(TOKEN, {}).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('InvalidOutput');
    expect(err.message).not.toContain(TOKEN);
    expect(JSON.stringify({ m: err.message, c: String((err as { cause?: { message?: string } }).cause?.message) })).not.toContain(TOKEN);
  });

  it('a handler without a state machine cannot start', async () => {
    await expect(new SfnExecutions(new SFNClient(ONE_ATTEMPT), null).start('x', {})).rejects.toThrow(/needs the state machine ARN/);
  });
});
