/**
 * The incidents' use cases (core/incidents.ts decides; these act): opening one where a page goes
 * out, an operator's transition (acknowledge, resolve, close), and the reminder schedule's status
 * updates. Every step is an `incident` audit event appended before anything is sent (the append is
 * the claim: see core/incidents.ts), then the record's bounded copy is refreshed, then the message
 * goes out in the incident's thread.
 */
import * as z from 'zod';
import {
  awaitsAcknowledgement,
  decideTransition,
  dueUpdates,
  INCIDENT_COMMANDS,
  incidentEventIds,
  IncidentSchema,
  incidentsFrom,
  parseIncidentRef,
  statusUpdateText,
  trackedIncidents,
  transitionText,
  type Incident,
  type IncidentPolicy,
  type IncidentState,
} from '../incidents.js';
import type { AuditLedger, Clock, Notification, Notifier } from '../ports.js';
import type { Severity } from '../severity.js';

/**
 * A notification of an incident's thread: the notification, plus which incident and which step.
 * The SNS adapter makes the thread's subject and the `incident_id` attribute from it
 * ({@link incidentOfNotification}).
 */
export type IncidentNotification = Notification & { readonly incident: { readonly id: string; readonly event: 'opened' | 'update' | Exclude<IncidentState, 'open'> } };

const NotificationIncidentSchema = z.object({ id: z.string().min(1), event: z.enum(['opened', 'update', 'acknowledged', 'resolved', 'closed']) });

/** The incident a notification belongs to, if any (parsed, never cast). */
export function incidentOfNotification(n: Notification): IncidentNotification['incident'] | null {
  const parsed = NotificationIncidentSchema.safeParse((n as Partial<IncidentNotification>).incident);
  return parsed.success ? parsed.data : null;
}

export interface IncidentDeps {
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

/** Releases the reminder schedule looks at, newest first (one Query of the ledger's release index). */
export const REMINDER_LOOKBACK_RELEASES = 50;

/** The release's incidents, folded from its timeline. */
export async function releaseIncidents(ledger: Pick<AuditLedger, 'timeline'>, releaseId: string): Promise<Incident[]> {
  return incidentsFrom(await ledger.timeline(releaseId));
}

/** Refreshes the record's bounded copy from the timeline (the timeline is the truth; a lost race heals at the next step). */
async function syncRecord(ledger: AuditLedger, releaseId: string): Promise<Incident[]> {
  const incidents = await releaseIncidents(ledger, releaseId);
  await ledger.update(releaseId, { incidents: trackedIncidents(incidents) });
  return incidents;
}

export interface OpenIncidentInput {
  readonly releaseId: string;
  /** What opened it, unique per release (`rollback`, `hold:<phase>:<reason>`, `rollback_failed`, `recovery`): a retried page finds the same incident. */
  readonly key: string;
  /** Null: not an incident (a decision without a severity): the page goes out as it is. */
  readonly severity: Severity | null;
  readonly reason: string | null;
  readonly title: string;
  /** Who paged: a pipeline step, an alarm. */
  readonly actor: string;
}

/**
 * Opens the incident of a page (idempotent by `key`) and returns the notification to publish, in
 * the incident's thread. A release without a record (nothing to keep the incident on) gets the page
 * as it is.
 *
 * @example await deps.notifier.publish(await openIncident(notification, { releaseId, key: 'rollback', … }, deps))
 */
export async function openIncident(page: Notification, input: OpenIncidentInput, deps: Pick<IncidentDeps, 'ledger' | 'clock'>): Promise<Notification> {
  const { severity } = input;
  if (severity === null || (await deps.ledger.getRelease(input.releaseId)) === null) return page;
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: incidentEventIds.opened(input.key),
    at: deps.clock.now().toISOString(),
    type: 'incident',
    actor: input.actor,
    detail: { action: 'opened', key: input.key, severity, reason: input.reason ?? 'unknown', title: input.title, from: null, to: 'open' },
  });
  // Its number is its place among the release's openings: read back, whoever appended first.
  const timeline = await deps.ledger.timeline(input.releaseId);
  const openings = timeline.filter((e) => e.type === 'incident' && e.detail.action === 'opened');
  const n = openings.findIndex((e) => e.eventId === incidentEventIds.opened(input.key)) + 1;
  const incidents = incidentsFrom(timeline);
  await deps.ledger.update(input.releaseId, { incidents: trackedIncidents(incidents) });
  const incident = incidents[n - 1];
  if (incident === undefined) return page;
  const opened: IncidentNotification = { ...page, incident: { id: incident.id, event: 'opened' } };
  return opened;
}

// ── an operator's transition ────────────────────────────────────────────────────────────────────

/** What the incidents function is asked by an operator (the CLI invokes it with this). */
export const IncidentCommandInputSchema = z.strictObject({
  command: z.enum(INCIDENT_COMMANDS),
  incidentId: z.string().min(1).max(120),
  identity: z.string().min(1),
  note: z.string().max(2000).nullable(),
});
export type IncidentCommandInput = z.infer<typeof IncidentCommandInputSchema>;

/** The answer: `changed` (audited, notified), `unchanged` (already so), `refused` (the table forbids it), `not_found`. */
export const IncidentCommandOutputSchema = z.strictObject({
  outcome: z.enum(['changed', 'unchanged', 'refused', 'not_found']),
  incident: IncidentSchema.nullable(),
  message: z.string(),
});
export type IncidentCommandOutput = z.infer<typeof IncidentCommandOutputSchema>;

/**
 * Finds the incident an operator named: the full id names its release (one GetItem); the short
 * form is looked up among the newest releases.
 */
export async function findIncident(ref: string, ledger: Pick<AuditLedger, 'getRelease' | 'timeline' | 'listReleases'>): Promise<Incident | null> {
  const parsed = parseIncidentRef(ref);
  if (parsed === null) return null;
  let releaseId: string | null = parsed.kind === 'full' ? parsed.releaseId : null;
  if (parsed.kind === 'short') {
    const matches = (await ledger.listReleases(200)).filter((r) => r.releaseId.endsWith(`-${parsed.hash}`));
    if (matches.length !== 1) return null;
    releaseId = matches[0]!.releaseId;
  }
  if (releaseId === null || (await ledger.getRelease(releaseId)) === null) return null;
  return (await releaseIncidents(ledger, releaseId))[parsed.n - 1] ?? null;
}

/**
 * Acknowledges, resolves or closes an incident as `identity` (core/incidents.ts decideTransition):
 * audited, then told in the incident's thread. Idempotent: a second acknowledgement changes nothing
 * and says who acknowledged it; two operators racing, one wins (the event id is the claim).
 *
 * @example await transitionIncident({ command: 'acknowledge', incidentId: 'INC-builderbrain-2_1_0-1a2b3c4d-1', identity: 'alice', note: 'looking' }, deps)
 */
export async function transitionIncident(input: IncidentCommandInput, deps: IncidentDeps): Promise<IncidentCommandOutput> {
  const found = await findIncident(input.incidentId, deps.ledger);
  if (found === null) return { outcome: 'not_found', incident: null, message: `no incident ${input.incidentId} in the ledger (ids look like INC-<release id>-<n>; builderbrain incident list shows the open ones)` };
  const decision = decideTransition(found, input.command);
  if (decision.kind === 'already') return { outcome: 'unchanged', incident: found, message: decision.message };
  if (decision.kind === 'refused') return { outcome: 'refused', incident: found, message: decision.message };
  const at = deps.clock.now().toISOString();
  const appended = await deps.ledger.append({
    releaseId: found.releaseId,
    eventId: incidentEventIds.transition(found.n, decision.to),
    at,
    type: 'incident',
    actor: input.identity,
    detail: { action: decision.to, incident: found.id, n: found.n, severity: found.severity, from: decision.from, to: decision.to, ...(input.note === null ? {} : { note: input.note }) },
  });
  const incidents = await syncRecord(deps.ledger, found.releaseId);
  const after = incidents[found.n - 1] ?? found;
  if (appended === 'duplicate') {
    const again = decideTransition(after, input.command);
    return { outcome: 'unchanged', incident: after, message: again.kind === 'apply' ? `${found.id}: nothing changed` : again.message };
  }
  const by = input.identity;
  const record = await deps.ledger.getRelease(found.releaseId);
  const message: IncidentNotification = {
    channel: 'incident',
    severity: found.severity,
    reason: null,
    model: record?.model ?? '?',
    version: record?.version ?? '?',
    releaseId: found.releaseId,
    title: found.title,
    text: transitionText(found, decision.to, by, input.note),
    incident: { id: found.id, event: decision.to },
  };
  await deps.notifier.publish(message);
  return { outcome: 'changed', incident: after, message: `${found.id} ${decision.to} by ${by}` };
}

// ── the reminder schedule ───────────────────────────────────────────────────────────────────────

export interface SentUpdate {
  readonly incident: string;
  readonly update: number;
}

/**
 * The reminder schedule's run: for each recent release whose record has an incident awaiting
 * acknowledgement, the incidents whose status update is due (core/incidents.ts dueUpdates, judged on
 * the timeline, not the copy), each claimed by its update's event id — a second run at the same
 * time finds it taken — then sent in the incident's thread.
 */
export async function sendDueUpdates(deps: IncidentDeps & { readonly incidents: IncidentPolicy }): Promise<{ readonly checked: number; readonly sent: readonly SentUpdate[] }> {
  const every = deps.incidents.updateEveryMinutes;
  const releases = (await deps.ledger.listReleases(REMINDER_LOOKBACK_RELEASES)).filter((r) => (r.incidents ?? []).some(awaitsAcknowledgement));
  const sent: SentUpdate[] = [];
  for (const record of releases) {
    const now = deps.clock.now();
    const due = dueUpdates(await releaseIncidents(deps.ledger, record.releaseId), now, every);
    for (const incident of due) {
      const k = incident.updates + 1;
      const appended = await deps.ledger.append({
        releaseId: record.releaseId,
        eventId: incidentEventIds.update(incident.n, k),
        at: now.toISOString(),
        type: 'incident',
        actor: 'schedule:IncidentUpdates',
        detail: { action: 'update', incident: incident.id, n: incident.n, severity: incident.severity, from: 'open', to: 'open', update: k },
      });
      if (appended === 'duplicate') continue;
      const update: IncidentNotification = {
        channel: 'incident',
        severity: incident.severity,
        reason: null,
        model: record.model,
        version: record.version,
        releaseId: record.releaseId,
        title: incident.title,
        text: statusUpdateText(incident, k, now, every, record),
        incident: { id: incident.id, event: 'update' },
      };
      await deps.notifier.publish(update);
      sent.push({ incident: incident.id, update: k });
    }
    if (due.length > 0) await syncRecord(deps.ledger, record.releaseId);
  }
  return { checked: releases.length, sent };
}
