/** AcquireLock / ReleaseLock: one release per model at a time (a busy lock is answered, not waited for). */
import { releaseLockStep, type ReleaseLockDeps } from '../../core/app/release-lock.js';
import { LockInputSchema, type LockOutput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { silentLog, type Observability } from '../shared/ports.js';

export type ReleaseLockHandlerDeps = ReleaseLockDeps & Observability;

export function createHandler(deps: ReleaseLockHandlerDeps) {
  const log = deps.log ?? silentLog;
  return async (event: unknown): Promise<LockOutput> => {
    const input = parseEvent(LockInputSchema, event, 'ReleaseLock');
    const out = await releaseLockStep(input, deps);
    log.info(`lock ${input.action}`, { releaseId: input.releaseId, model: input.model, acquired: out.acquired, holder: out.holder });
    return out;
  };
}
