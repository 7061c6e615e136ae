/**
 * RequestApproval (.waitForTaskToken): the task token is stored in the ledger and never logged;
 * this handler logs only the release and phase.
 */
import { requestApproval, type ApprovalRequested, type RequestApprovalDeps } from '../../core/app/request-approval.js';
import { ApprovalRequestSchema } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { silentLog, type Observability } from '../shared/ports.js';

export type RequestApprovalHandlerDeps = RequestApprovalDeps & Observability;

export function createHandler(deps: RequestApprovalHandlerDeps) {
  const log = deps.log ?? silentLog;
  return async (event: unknown): Promise<ApprovalRequested> => {
    const input = parseEvent(ApprovalRequestSchema, event, 'RequestApproval');
    const out = await requestApproval(input, deps);
    log.info('approval requested', { releaseId: input.releaseId, phase: input.phase.index, weight: input.phase.weight });
    return out;
  };
}
