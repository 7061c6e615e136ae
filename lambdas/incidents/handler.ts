/**
 * Incidents: the EventBridge schedule's "Scheduled Event" (every `incidents.checkEveryMinutes`)
 * sends the status updates that are due (core/app/incidents.ts sendDueUpdates); an operator's
 * `{ command, incidentId, identity, note }` (the CLI invokes the function: the incident topic admits
 * only the pipeline's roles) acknowledges, resolves or closes one (transitionIncident).
 */
import { IncidentCommandInputSchema, sendDueUpdates, transitionIncident, type IncidentCommandInput, type IncidentCommandOutput, type IncidentDeps, type SentUpdate } from '../../core/app/incidents.js';
import { isEventBridgeEvent } from '../../core/app/events.js';
import type { IncidentPolicy } from '../../core/incidents.js';
import { parseEvent } from '../shared/parse.js';
import { defineStep } from '../shared/step.js';

export type IncidentsHandlerDeps = IncidentDeps & { readonly incidents: IncidentPolicy };

type IncidentsInput = { readonly kind: 'remind' } | ({ readonly kind: 'command' } & IncidentCommandInput);
export type IncidentsOutput = IncidentCommandOutput | { readonly outcome: 'reminded'; readonly checked: number; readonly sent: readonly SentUpdate[] };

export const createHandler = defineStep({
  parse: (event: unknown): IncidentsInput =>
    isEventBridgeEvent(event, 'Scheduled Event') ? { kind: 'remind' } : { kind: 'command', ...parseEvent(IncidentCommandInputSchema, event, 'Incidents') },
  run: async (input: IncidentsInput, deps: IncidentsHandlerDeps): Promise<IncidentsOutput> => {
    if (input.kind === 'remind') return { outcome: 'reminded', ...(await sendDueUpdates(deps)) };
    const { kind: _kind, ...command } = input;
    return transitionIncident(command, deps);
  },
  report: (out, input, { log, telemetry }) => {
    if (out.outcome === 'reminded') {
      if (out.sent.length > 0) log.info(`${out.sent.length} incident status update(s) sent`, { sent: out.sent });
      telemetry.count('IncidentUpdates', out.sent.length);
      return;
    }
    log.info(out.message, { outcome: out.outcome, incident: input.kind === 'command' ? input.incidentId : null });
  },
});
