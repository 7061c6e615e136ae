/**
 * HookInvoker on Lambda: a team's verification hook is a Lambda function (by ARN, alias or version
 * allowed), invoked synchronously (RequestResponse) with the {@link HookRequest} as its event. What
 * came back is reported, never judged here and never thrown (core/verification.ts judgeHookCall
 * decides, failing closed):
 *
 * | what happened | reported |
 * |---|---|
 * | the function answered (JSON) | `answered`, the parsed payload |
 * | it answered something that is not JSON | `answered`, the raw text (the core judges it failed) |
 * | no answer within the hook's timeout | `timed_out` (the request is aborted) |
 * | the function failed (`FunctionError`: it threw, or Lambda's own timeout or memory limit) | `error`, with its errorType and errorMessage |
 * | it could not be invoked (AccessDenied, ResourceNotFound, throttling or 5xx once the SDK's retries are spent) | `error`, naming the SDK error |
 *
 * Every result carries the time the call took (`durationMs`). Nothing is logged here: a request or
 * an answer may carry what a team's function considers secret; only the judged message (clipped,
 * core/verification.ts) reaches the audit trail.
 *
 * The client's region is the pipeline's: a hook in another region cannot be invoked through it and
 * is reported as an `error` (fail closed).
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import type { HookInvoker } from '../../core/ports.js';
import type { HookCall, HookRequest } from '../../core/verification.js';
import { errorName, isRetryable } from './aws-errors.js';

/** A function error's payload as Lambda's runtimes write it. */
interface FunctionErrorPayload {
  readonly errorType?: unknown;
  readonly errorMessage?: unknown;
}

/** Longest text of a function error kept (the core clips what it audits further). */
const MAX_ERROR_TEXT = 1000;

const clip = (s: string): string => (s.length > MAX_ERROR_TEXT ? `${s.slice(0, MAX_ERROR_TEXT - 1)}…` : s);

/** `FunctionError` and the errorType/errorMessage of its payload, as one line (no stack trace). */
function functionErrorMessage(kind: string, text: string): string {
  let payload: FunctionErrorPayload | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) payload = parsed as FunctionErrorPayload;
  } catch {
    // Not JSON: described below without it.
  }
  const type = typeof payload?.errorType === 'string' ? payload.errorType : null;
  const message = typeof payload?.errorMessage === 'string' ? payload.errorMessage : null;
  const what = [type, message].filter((x) => x !== null).join(': ');
  return clip(`function error (${kind})${what === '' ? '' : `: ${what}`}`);
}

/** What an SDK failure is reported as: its name and message, and whether the SDK had retried it. */
function sdkErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return clip(`lambda:InvokeFunction failed: ${errorName(err)}: ${message}${isRetryable(err) ? ' (retryable: the SDK retries were exhausted)' : ''}`);
}

const TIMED_OUT = Symbol('timed out');

export class LambdaHookInvoker implements HookInvoker {
  public constructor(
    private readonly client: LambdaClient,
    /** A monotonic clock in ms (for `durationMs`). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  public async invoke(functionArn: string, request: HookRequest, timeoutMs: number): Promise<HookCall> {
    const started = this.now();
    const elapsed = () => Math.max(0, Math.round(this.now() - started));
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The abort signal ends the HTTP request; the race ends the wait even if a retry backoff ignores it.
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(TIMED_OUT);
      }, Math.max(0, timeoutMs));
    });
    try {
      const call = this.client.send(
        new InvokeCommand({
          FunctionName: functionArn,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
        { abortSignal: controller.signal },
      );
      const out: InvokeCommandOutput | typeof TIMED_OUT = await Promise.race([call, timeout]);
      if (out === TIMED_OUT) return { kind: 'timed_out', durationMs: elapsed() };
      const text = out.Payload === undefined ? '' : new TextDecoder('utf-8').decode(out.Payload);
      if (out.FunctionError !== undefined && out.FunctionError !== '') {
        return { kind: 'error', message: functionErrorMessage(out.FunctionError, text), durationMs: elapsed() };
      }
      let payload: unknown;
      try {
        payload = JSON.parse(text) as unknown;
      } catch {
        // Not JSON: the raw text, which is no answer of the contract's shape (judged failed).
        payload = text;
      }
      return { kind: 'answered', payload, durationMs: elapsed() };
    } catch (err) {
      // Aborted by our timeout (the SDK rejects with an AbortError): no answer in time.
      if (controller.signal.aborted) return { kind: 'timed_out', durationMs: elapsed() };
      return { kind: 'error', message: sdkErrorMessage(err), durationMs: elapsed() };
    } finally {
      clearTimeout(timer);
    }
  }
}
