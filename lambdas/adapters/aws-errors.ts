/**
 * How adapters fail. The SDK retries throttling, 5xx and transient network errors itself (client
 * `maxAttempts`); what is left is thrown as {@link AwsCallError}: the SDK error's `name` is kept
 * (that is what a Step Functions Retry/Catch matches via the Lambda errorType), the message says
 * which call on which resource failed, and `retryable` tells a human or a Retry policy whether
 * trying again can help.
 */

/** What the SDK's service exceptions carry (without importing any one service's base class). */
interface SdkErrorShape {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

/** Error names AWS services use for throttling (shared by the adapters and the CLI's messages). */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
  'TransactionInProgressException',
]);

/** The error name of an SDK (or any) error. */
export function errorName(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as SdkErrorShape).name === 'string' ? (err as SdkErrorShape).name! : 'Error';
}

/** True when `err` is an AWS error of one of `names`. */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  return names.includes(errorName(err));
}

/** Throttling, a 5xx or a fault the SDK marks retryable: trying again later can succeed. */
export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  return THROTTLING_ERROR_NAMES.has(errorName(err)) || e.$retryable !== undefined || e.$fault === 'server' || (status !== undefined && status >= 500);
}

export class AwsCallError extends Error {
  public readonly retryable: boolean;
  public readonly httpStatusCode: number | undefined;

  public constructor(
    /** `Service.Operation`, e.g. `SNS.Publish`. */
    public readonly operation: string,
    /** The resource it was called on (ARN, table, s3:// URI). */
    public readonly resource: string,
    cause: unknown,
  ) {
    const e = (typeof cause === 'object' && cause !== null ? cause : {}) as SdkErrorShape;
    const retryable = isRetryable(cause);
    super(
      `${operation} on ${resource} failed: ${errorName(cause)}: ${e.message ?? String(cause)}${retryable ? ' (retryable: the SDK retries were exhausted)' : ''}`,
      { cause },
    );
    // Keep the SDK's name: it is the errorType Step Functions matches.
    this.name = errorName(cause);
    this.retryable = retryable;
    this.httpStatusCode = e.$metadata?.httpStatusCode;
  }
}

/** Wraps and rethrows an SDK failure with its context. */
export function rethrow(operation: string, resource: string, err: unknown): never {
  if (err instanceof AwsCallError) throw err;
  throw new AwsCallError(operation, resource, err);
}

/** Awaits `call`, turning a failure into {@link AwsCallError}. */
export async function call<T>(operation: string, resource: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    rethrow(operation, resource, err);
  }
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long an update waits for a resource that is still applying the previous one. */
export interface WaitOptions {
  /** Give up after this long (ms). */
  readonly maxWaitMs?: number;
  /** Try again every this long (ms). */
  readonly pollMs?: number;
  readonly sleep?: Sleep;
}

/**
 * Sends an update, retrying while `settling(err)` says the resource is still busy with the previous
 * one (a traffic shift of the last phase), for at most `maxWaitMs`; any other failure, or running out
 * of time, throws {@link AwsCallError} for `operation` on `resource`.
 */
export async function sendWhileSettling(
  send: () => Promise<unknown>,
  settling: (err: unknown) => boolean,
  wait: { readonly maxWaitMs: number; readonly pollMs: number; readonly sleep: Sleep },
  operation: string,
  resource: string,
): Promise<void> {
  let waited = 0;
  for (;;) {
    try {
      await send();
      return;
    } catch (err) {
      if (!settling(err) || waited >= wait.maxWaitMs) throw new AwsCallError(operation, resource, err);
      await wait.sleep(wait.pollMs);
      waited += wait.pollMs;
    }
  }
}
