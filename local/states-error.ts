/** Errors raised into the ASL interpreter with a Step Functions error name (what a Retry or Catch matches). */

export function statesError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** What a task of a stopped execution settles with (the aborted interpreter runs no further state). */
export function stoppedError(executionArn: string): Error {
  return statesError('ExecutionAborted', `execution ${executionArn} was stopped`);
}
