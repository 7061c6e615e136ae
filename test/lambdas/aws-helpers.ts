/** SDK-shaped errors for the adapter tests (what the SDK throws once its own retries are spent). */
export function awsError(name: string, status: number, message = `${name} message`): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1 },
  });
}

export const throttled = () => awsError('ThrottlingException', 400, 'Rate exceeded');
export const internal = () => awsError('InternalFailure', 500, 'We encountered an internal error');
export const denied = () => awsError('AccessDeniedException', 403, 'User is not authorized to perform this action');

/** Client config of every test client: one attempt, so nothing waits on SDK backoff. */
export const ONE_ATTEMPT = { region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } as const;
