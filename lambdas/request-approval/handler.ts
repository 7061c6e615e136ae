/**
 * RequestApproval (.waitForTaskToken): the task token is stored in the ledger and never logged;
 * this handler logs only the release and phase.
 */
import { requestApproval } from '../../core/app/request-approval.js';
import { ApprovalRequestSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(ApprovalRequestSchema, 'RequestApproval'),
  run: requestApproval,
  report: (_out, input, { log }) => {
    log.info('approval requested', { releaseId: input.releaseId, phase: input.phase.index, weight: input.phase.weight });
  },
});
