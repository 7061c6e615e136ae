/**
 * LambdaHookInvoker (lambdas/adapters/lambda-hook-invoker.ts): a hook's function invoked
 * RequestResponse with the request as its event; what came back reported (answered, timed out,
 * error), never thrown; and, through core/verification.ts judgeHookCall, every non-answer judged
 * failed.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HookSchema } from '../../core/environments.js';
import { judgeHookCall, type HookRequest } from '../../core/verification.js';
import { LambdaHookInvoker } from '../../lambdas/adapters/lambda-hook-invoker.js';
import { ONE_ATTEMPT, awsError, denied, throttled } from './aws-helpers.js';

const lambda = mockClient(LambdaClient);
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:bb-integration-tests:live';
const request: HookRequest = {
  releaseId: 'builderbrain-2_1_0-1a2b3c4d',
  model: 'builderbrain',
  version: '2.1.0',
  environment: 'staging',
  endpoint: 'bb-endpoint',
  stage: 'before_traffic',
  hook: 'integration tests',
  phase: null,
  weight: null,
};
const hook = HookSchema.parse({ name: 'integration tests', functionArn: ARN, stage: 'before_traffic', timeoutSeconds: 60 });
const bytes = (text: string) => new TextEncoder().encode(text) as never;
/** The options the invoker passed to `send` (the abort signal): the stub's second argument. */
const sendOptions = (i: number) => (lambda.commandCalls(InvokeCommand).at(i)!.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;

/** A clock that moves 250 ms per reading: durations are measured, not guessed. */
function steppingClock() {
  let t = 1000;
  return () => (t += 250);
}

let invoker: LambdaHookInvoker;
beforeEach(() => {
  lambda.reset();
  invoker = new LambdaHookInvoker(new LambdaClient(ONE_ATTEMPT), steppingClock());
});

describe('LambdaHookInvoker', () => {
  it('invokes the function by ARN, RequestResponse, with the request as its event, and reports the parsed answer', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"status":"passed","message":"42 checks","metrics":{"p99":120}}') });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toEqual({ kind: 'answered', payload: { status: 'passed', message: '42 checks', metrics: { p99: 120 } }, durationMs: 250 });
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe(ARN);
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual(request);
    expect(judgeHookCall(hook, call)).toMatchObject({ passed: true, message: '42 checks', metrics: { p99: 120 }, durationMs: 250 });
  });

  it('a "failed" answer is reported as answered (the core fails the hook on it)', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"status":"failed","message":"3 of 42 checks failed"}') });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call.kind).toBe('answered');
    expect(judgeHookCall(hook, call)).toMatchObject({ passed: false, message: '3 of 42 checks failed' });
  });

  it('no answer within the timeout: timed_out, the request aborted', async () => {
    lambda.on(InvokeCommand).callsFake(() => new Promise(() => {}));
    const real = new LambdaHookInvoker(new LambdaClient(ONE_ATTEMPT));
    const started = Date.now();
    const call = await real.invoke(ARN, request, 50);
    expect(call.kind).toBe('timed_out');
    expect(call.durationMs).toBeGreaterThanOrEqual(45);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sendOptions(0)?.abortSignal?.aborted).toBe(true);
    expect(judgeHookCall(hook, call)).toMatchObject({ passed: false, message: 'no answer within 60 s' });
  });

  it('the SDK rejecting with an AbortError once the timeout aborted it is a timeout too, not an error', async () => {
    lambda.on(InvokeCommand).callsFake(
      (_input, _client) =>
        new Promise((_resolve, reject) => {
          const signal = sendOptions(-1)!.abortSignal!;
          signal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })));
        }),
    );
    const call = await new LambdaHookInvoker(new LambdaClient(ONE_ATTEMPT)).invoke(ARN, request, 20);
    expect(call.kind).toBe('timed_out');
  });

  it('an answer in time clears the timer: no late timeout', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"status":"passed"}') });
    const call = await new LambdaHookInvoker(new LambdaClient(ONE_ATTEMPT)).invoke(ARN, request, 5);
    expect(call.kind).toBe('answered');
    await new Promise((r) => setTimeout(r, 20));
    expect(sendOptions(0)?.abortSignal?.aborted).toBe(false);
  });

  it("FunctionError: an error with the function's errorType and errorMessage (no stack trace)", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes(JSON.stringify({ errorType: 'TypeError', errorMessage: "Cannot read properties of undefined (reading 'url')", stackTrace: ['at handler (/var/task/index.js:3:7)'] })),
    });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toEqual({ kind: 'error', message: "function error (Unhandled): TypeError: Cannot read properties of undefined (reading 'url')", durationMs: 250 });
    expect(JSON.stringify(call)).not.toContain('index.js');
    expect(judgeHookCall(hook, call)).toMatchObject({ passed: false, message: expect.stringContaining('the hook failed: function error (Unhandled): TypeError') });
  });

  it("Lambda's own timeout of the function is a FunctionError too", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes('{"errorMessage":"2025-03-01T10:00:00.000Z 1a2b Task timed out after 30.03 seconds"}') });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toMatchObject({ kind: 'error', message: 'function error (Unhandled): 2025-03-01T10:00:00.000Z 1a2b Task timed out after 30.03 seconds' });
  });

  it('a FunctionError whose payload is not JSON still is an error', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes('Runtime exited') });
    expect(await invoker.invoke(ARN, request, 60_000)).toMatchObject({ kind: 'error', message: 'function error (Unhandled)' });
  });

  it('an answer that is not JSON is reported as its raw text, and judged failed', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('OK all good') });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toEqual({ kind: 'answered', payload: 'OK all good', durationMs: 250 });
    const judged = judgeHookCall(hook, call);
    expect(judged.passed).toBe(false);
    expect(judged.message).toMatch(/^answer is not \{ status/);
  });

  it('an empty answer (a function that returned nothing) is judged failed', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toMatchObject({ kind: 'answered', payload: '' });
    expect(judgeHookCall(hook, call).passed).toBe(false);
  });

  it('AccessDenied: an error naming the SDK error, never thrown', async () => {
    lambda.on(InvokeCommand).rejects(denied());
    const call = await invoker.invoke(ARN, request, 60_000);
    expect(call).toEqual({ kind: 'error', message: 'lambda:InvokeFunction failed: AccessDeniedException: User is not authorized to perform this action', durationMs: 250 });
    expect(judgeHookCall(hook, call)).toMatchObject({ passed: false, message: expect.stringContaining('AccessDeniedException') });
  });

  it('a function that does not exist, and throttling once the SDK gave up: errors, the retryable one said so', async () => {
    lambda.on(InvokeCommand).rejectsOnce(awsError('ResourceNotFoundException', 404, 'Function not found: ' + ARN)).rejectsOnce(throttled());
    expect(await invoker.invoke(ARN, request, 60_000)).toMatchObject({ kind: 'error', message: `lambda:InvokeFunction failed: ResourceNotFoundException: Function not found: ${ARN}` });
    expect(await invoker.invoke(ARN, request, 60_000)).toMatchObject({
      kind: 'error',
      message: 'lambda:InvokeFunction failed: ThrottlingException: Rate exceeded (retryable: the SDK retries were exhausted)',
    });
  });
});
