/**
 * AcceptHandover: the EventBridge rule on this environment's hand-over bus delivers the previous
 * environment's event; the use case decides (sender, model, digest) and starts the release.
 */
import { acceptHandover } from '../../core/app/accept-handover.js';
import { HandoverEventSchema } from '../../core/handover.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(HandoverEventSchema, 'hand-over event'),
  run: acceptHandover,
  report: (out, _input, { log, telemetry }) => {
    log.info(`hand-over ${out.outcome}`, { ...out });
    telemetry.count(out.outcome === 'accepted' ? 'HandoverAccepted' : out.outcome === 'refused' ? 'HandoverRefused' : 'HandoverDuplicate');
  },
});
