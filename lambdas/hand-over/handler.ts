/** HandOver: a promoted version, handed over to the next environment of the chain. */
import { handOver } from '../../core/app/hand-over.js';
import { HandOverInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(HandOverInputSchema, 'HandOver'),
  run: handOver,
  report: (out, input, { log, telemetry }) => {
    log.info(out.sent ? `handed over to ${out.to}` : 'last environment: nothing to hand over', { releaseId: input.releaseId, bytes: out.bytes });
    if (out.sent) telemetry.count('HandedOver');
  },
});
