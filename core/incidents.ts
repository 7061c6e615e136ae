/**
 * Incidents with a life cycle (issue 15 item 3; RELEASE.md §5.2–5.3): each rollback, hold or
 * escalation opens an incident — open → acknowledged → resolved → closed — and while a P0 or P1 is
 * open and nobody has acknowledged it, a status update goes out on the incident topic every
 * `updateEveryMinutes` (15), in the incident's own thread (one subject, one `incident_id`).
 *
 * Pure: no I/O. **The audit timeline is the source of truth**: every step of an incident is an
 * `incident` audit event (core/audit.ts), and {@link incidentsFrom} folds a release's timeline into
 * its incidents. Why: the ledger appends atomically and dedupes by event id, so the event ids below
 * make every step happen once whoever races (two operators acknowledging, two reminder runs):
 *
 * | event id | what |
 * |---|---|
 * | `incident:opened:<key>` | opened by the page `key` names (`rollback`, `hold:<phase>:<reason>`, …): a retried page opens nothing new |
 * | `incident:<n>:acknowledged` · `:resolved` · `:closed` | the operator's transition: at most one of each per incident |
 * | `incident:<n>:update:<k>` | the k-th status update: the claim that sends it, so no interval sends two |
 *
 * The incident number `n` is the place of its `opened` event among the release's (the ledger's
 * sequence, never a clock), so the id `INC-<release id>-<n>` names the release: an operator command
 * finds it with one GetItem, no scan. The release record keeps a bounded copy
 * ({@link trackedIncidents}: `incidents`), what the reminder schedule and `incident list` look at.
 */
import * as z from 'zod';
import { SEVERITIES, type Severity } from './severity.js';

export const INCIDENT_STATES = ['open', 'acknowledged', 'resolved', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

/** What an operator does to an incident (`builderbrain incident ack|resolve|close`). */
export const INCIDENT_COMMANDS = ['acknowledge', 'resolve', 'close'] as const;
export type IncidentCommand = (typeof INCIDENT_COMMANDS)[number];

/** The steps of an incident as audited (`incident` events' `action`). */
export const INCIDENT_ACTIONS = ['opened', 'acknowledged', 'resolved', 'closed', 'update'] as const;
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];

/** Severities that get status updates while unacknowledged (RELEASE.md §5.3 "every 15 minutes during active incidents"). */
export const UPDATED_SEVERITIES: readonly Severity[] = ['P0', 'P1'];

/** The titles kept on the record are cut to this many characters (the record field stays bounded). */
export const MAX_INCIDENT_TITLE_CHARS = 200;
/** An operator's identity as kept on the record (an assumed-role ARN is ~150). */
export const MAX_IDENTITY_CHARS = 256;
/**
 * Incidents kept on the release record (16 × at most ~0.7 KB each, within the ledger's 12 KiB per
 * record field). A release pages a handful (a hold per phase and kind, the rollback, a failed
 * rollback, a failed recovery); past this, the oldest closed ones leave the record first — the
 * timeline keeps them all.
 */
export const MAX_TRACKED_INCIDENTS = 16;

/** `incidents` of the pipeline config: how often status updates go out, how often the schedule looks. */
export const IncidentPolicySchema = z
  .strictObject({
    /** Minutes between status updates of an open, unacknowledged P0/P1 (RELEASE.md §5.3: 15). */
    updateEveryMinutes: z.number().int().min(1).max(1440).default(15),
    /** The reminder schedule's rate (an EventBridge rule): an update goes out at most this late. */
    checkEveryMinutes: z.number().int().min(1).max(60).default(5),
  })
  .refine((p) => p.checkEveryMinutes <= p.updateEveryMinutes, { path: ['checkEveryMinutes'], message: 'must be at most updateEveryMinutes (else updates come late)' });
export type IncidentPolicy = z.output<typeof IncidentPolicySchema>;
export const DEFAULT_INCIDENT_POLICY: IncidentPolicy = IncidentPolicySchema.parse({});

/** One incident, as folded from the timeline and kept on the release record. */
export const IncidentSchema = z.object({
  id: z.string(),
  releaseId: z.string(),
  /** Its number within the release (1, 2, …). */
  n: z.number().int().min(1),
  severity: z.enum(SEVERITIES),
  reason: z.string(),
  title: z.string(),
  state: z.enum(INCIDENT_STATES),
  openedAt: z.string(),
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  closedBy: z.string().nullable(),
  closedAt: z.string().nullable(),
  /** The last message of its thread: the opening page, or the last status update. */
  lastUpdateAt: z.string(),
  /** Status updates sent. */
  updates: z.number().int().min(0),
});
export type Incident = z.infer<typeof IncidentSchema>;

/** The `incident` audit event's detail (core/audit.ts AUDIT_DETAILS.incident). */
export const IncidentEventDetailSchema = z.object({
  action: z.enum(INCIDENT_ACTIONS),
  /** opened: the page that opened it (its event id's key); its number is its place among the openings. */
  key: z.string().optional(),
  /** Every action but opened: which incident. */
  incident: z.string().optional(),
  n: z.number().int().min(1).optional(),
  severity: z.enum(SEVERITIES),
  /** opened: the page's reason and title. */
  reason: z.string().optional(),
  title: z.string().optional(),
  /** The state before and after (opened: null → open; update: unchanged). */
  from: z.enum(INCIDENT_STATES).nullable(),
  to: z.enum(INCIDENT_STATES),
  /** The operator's note, or the status update's count. */
  note: z.string().optional(),
  update: z.number().int().min(1).optional(),
});
export type IncidentEventDetail = z.infer<typeof IncidentEventDetailSchema>;

// ── ids ─────────────────────────────────────────────────────────────────────────────────────────

/** `INC-<release id>-<n>`: the release is in the id, so finding it needs no scan. */
export const incidentId = (releaseId: string, n: number): string => `INC-${releaseId}-${n}`;

export type IncidentRef = { readonly kind: 'full'; readonly releaseId: string; readonly n: number } | { readonly kind: 'short'; readonly hash: string; readonly n: number };

/**
 * What an operator typed: the full id (`INC-builderbrain-2_1_0-1a2b3c4d-1`), or the short form
 * `INC-1a2b3c4d-1` (the release id's hash and the number), resolved among the recent releases.
 * Null for anything else.
 *
 * @example parseIncidentRef('INC-builderbrain-2_1_0-1a2b3c4d-2') // { kind: 'full', releaseId: 'builderbrain-2_1_0-1a2b3c4d', n: 2 }
 */
export function parseIncidentRef(text: string): IncidentRef | null {
  const short = /^(?:INC-)?([0-9a-f]{8})-([1-9][0-9]{0,3})$/.exec(text);
  if (short !== null) return { kind: 'short', hash: short[1]!, n: Number(short[2]) };
  const full = /^INC-([A-Za-z0-9_-]{1,80})-([1-9][0-9]{0,3})$/.exec(text);
  return full === null ? null : { kind: 'full', releaseId: full[1]!, n: Number(full[2]) };
}

/** The audit event ids of an incident's steps (see the module's table). */
export const incidentEventIds = {
  opened: (key: string) => `incident:opened:${key}`,
  transition: (n: number, to: Exclude<IncidentState, 'open'>) => `incident:${n}:${to}`,
  update: (n: number, k: number) => `incident:${n}:update:${k}`,
} as const;

// ── the state machine ───────────────────────────────────────────────────────────────────────────

/**
 * Who may do what: the pipeline opens incidents and sends status updates; operators acknowledge,
 * resolve and close. `from` lists the states a command applies to; in `to` already, it is
 * idempotent (nothing changes, the answer says who did it when). Resolving an incident nobody
 * acknowledged is allowed (the fix came first); closing needs it resolved first.
 */
export const INCIDENT_TRANSITIONS = {
  acknowledge: { from: ['open'], to: 'acknowledged', by: 'operator' },
  resolve: { from: ['open', 'acknowledged'], to: 'resolved', by: 'operator' },
  close: { from: ['resolved'], to: 'closed', by: 'operator' },
} as const satisfies Record<IncidentCommand, { from: readonly IncidentState[]; to: Exclude<IncidentState, 'open'>; by: 'operator' }>;

/** The action audited for a command's target state. */
const ACTION_OF: Record<Exclude<IncidentState, 'open'>, IncidentAction> = { acknowledged: 'acknowledged', resolved: 'resolved', closed: 'closed' };

export type TransitionDecision =
  | { readonly kind: 'apply'; readonly from: IncidentState; readonly to: Exclude<IncidentState, 'open'> }
  | { readonly kind: 'already'; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string };

const VERB: Record<IncidentCommand, string> = { acknowledge: 'acknowledged', resolve: 'resolved', close: 'closed' };

/**
 * What a command does to an incident in its state.
 *
 * @example decideTransition({ ...incident, state: 'open' }, 'close') // { kind: 'refused', message: '… resolve it first …' }
 */
export function decideTransition(incident: Incident, command: IncidentCommand): TransitionDecision {
  const t = INCIDENT_TRANSITIONS[command];
  if ((t.from as readonly IncidentState[]).includes(incident.state)) return { kind: 'apply', from: incident.state, to: t.to };
  if (incident.state === t.to) {
    const by = t.to === 'acknowledged' ? incident.acknowledgedBy : t.to === 'resolved' ? incident.resolvedBy : incident.closedBy;
    const at = t.to === 'acknowledged' ? incident.acknowledgedAt : t.to === 'resolved' ? incident.resolvedAt : incident.closedAt;
    return { kind: 'already', message: `${incident.id} is already ${t.to} (by ${by ?? '?'} at ${at ?? '?'}); nothing changed` };
  }
  if (command === 'close') return { kind: 'refused', message: `${incident.id} is ${incident.state}: resolve it first (builderbrain incident resolve ${incident.id}), then close it` };
  return { kind: 'refused', message: `${incident.id} is ${incident.state}: it cannot be ${VERB[command]} any more` };
}

// ── the fold ────────────────────────────────────────────────────────────────────────────────────

/** The fields of a stored audit event the fold reads (core/audit.ts StoredAuditEvent is one). */
export interface IncidentEventLike {
  readonly releaseId: string;
  readonly type: string;
  readonly at: string;
  readonly actor: string;
  readonly detail: unknown;
}

const cut = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * A release's incidents from its timeline (in the ledger's order): each `opened` event opens the
 * next one; a transition applies when the table allows it from the state the fold has reached
 * (a late duplicate of a race is ignored); an update counts and moves `lastUpdateAt`. Events that
 * are not incidents, or whose detail does not parse, are skipped.
 */
export function incidentsFrom(events: readonly IncidentEventLike[]): Incident[] {
  const out: Incident[] = [];
  for (const e of events) {
    if (e.type !== 'incident') continue;
    const parsed = IncidentEventDetailSchema.safeParse(e.detail);
    if (!parsed.success) continue;
    const d = parsed.data;
    if (d.action === 'opened') {
      const n = out.length + 1;
      out.push({
        id: incidentId(e.releaseId, n),
        releaseId: e.releaseId,
        n,
        severity: d.severity,
        reason: d.reason ?? 'unknown',
        title: cut(d.title ?? '', MAX_INCIDENT_TITLE_CHARS),
        state: 'open',
        openedAt: e.at,
        acknowledgedBy: null,
        acknowledgedAt: null,
        resolvedBy: null,
        resolvedAt: null,
        closedBy: null,
        closedAt: null,
        lastUpdateAt: e.at,
        updates: 0,
      });
      continue;
    }
    const i = d.n === undefined ? -1 : d.n - 1;
    const current = out[i];
    if (current === undefined) continue;
    if (d.action === 'update') {
      out[i] = { ...current, updates: current.updates + 1, lastUpdateAt: e.at };
      continue;
    }
    const command = (Object.keys(INCIDENT_TRANSITIONS) as IncidentCommand[]).find((c) => ACTION_OF[INCIDENT_TRANSITIONS[c].to] === d.action)!;
    const decision = decideTransition(current, command);
    if (decision.kind !== 'apply') continue;
    const by = cut(e.actor, MAX_IDENTITY_CHARS);
    out[i] =
      decision.to === 'acknowledged'
        ? { ...current, state: 'acknowledged', acknowledgedBy: by, acknowledgedAt: e.at }
        : decision.to === 'resolved'
          ? { ...current, state: 'resolved', resolvedBy: by, resolvedAt: e.at }
          : { ...current, state: 'closed', closedBy: by, closedAt: e.at };
  }
  return out;
}

/** The bytes the record's `incidents` field may take: under the ledger's cap of a record field (core/ledger-items.ts MAX_RECORD_FIELD_BYTES, 12 KiB; a test holds them apart). */
export const INCIDENTS_FIELD_BUDGET_BYTES = 11 * 1024;

/**
 * The incidents the release record keeps: every one not closed, then the newest closed, at most
 * {@link MAX_TRACKED_INCIDENTS}, in their order — and, measured as DynamoDB counts, within
 * {@link INCIDENTS_FIELD_BUDGET_BYTES}: past it the oldest closed leave first, then the oldest
 * resolved, then the oldest. Bounded, so the record field never outgrows the ledger's cap.
 */
export function trackedIncidents(incidents: readonly Incident[]): Incident[] {
  const live = incidents.filter((i) => i.state !== 'closed').slice(-MAX_TRACKED_INCIDENTS);
  const room = MAX_TRACKED_INCIDENTS - live.length;
  const closed = room > 0 ? incidents.filter((i) => i.state === 'closed').slice(-room) : [];
  const keep = new Set([...live, ...closed].map((i) => i.n));
  const kept = incidents.filter((i) => keep.has(i.n));
  // JSON's UTF-8 length is never below DynamoDB's count of the same list (quotes, colons, digits): a safe bound.
  while (kept.length > 0 && Buffer.byteLength(JSON.stringify(kept), 'utf8') > INCIDENTS_FIELD_BUDGET_BYTES) {
    const at = [kept.findIndex((i) => i.state === 'closed'), kept.findIndex((i) => i.state === 'resolved'), 0].find((x) => x >= 0)!;
    kept.splice(at, 1);
  }
  return kept;
}

// ── status updates ──────────────────────────────────────────────────────────────────────────────

const MINUTE_MS = 60_000;

/** Whether an incident gets status updates at all now: a P0/P1, open, nobody acknowledged it. */
export const awaitsAcknowledgement = (i: Incident): boolean => UPDATED_SEVERITIES.includes(i.severity) && i.state === 'open';

/**
 * The incidents whose status update is due at `now`: those that {@link awaitsAcknowledgement} and
 * whose thread has been quiet for `everyMinutes` or more.
 *
 * @example dueUpdates(incidents, new Date(), 15) // the P0/P1 still open 15+ minutes after their last message
 */
export function dueUpdates(incidents: readonly Incident[], now: Date, everyMinutes: number): Incident[] {
  return incidents.filter((i) => awaitsAcknowledgement(i) && now.getTime() - new Date(i.lastUpdateAt).getTime() >= everyMinutes * MINUTE_MS);
}

/**
 * The thread's subject: one per incident, the same on every message of it (the opening page, the
 * updates, the transitions), so mail and chat clients thread them. The adapter makes it SNS-safe.
 *
 * @example incidentSubject({ severity: 'P1', id: 'INC-x-1', title: '[P1] BuilderBrain 2.1.0 rolled back' }) // '[P1] BuilderBrain incident INC-x-1: BuilderBrain 2.1.0 rolled back'
 */
export function incidentSubject(i: Pick<Incident, 'severity' | 'id' | 'title'>): string {
  return `[${i.severity}] BuilderBrain incident ${i.id}: ${i.title.replace(/^\[P[0-3]\]\s*/, '')}`;
}

const minutesBetween = (from: string, to: Date) => Math.max(0, Math.round((to.getTime() - new Date(from).getTime()) / MINUTE_MS));

/** The text of the k-th status update (RELEASE.md §5.3): what is open, for how long, what to do. */
export function statusUpdateText(i: Incident, k: number, now: Date, everyMinutes: number, release: { readonly status: string } | null): string {
  return [
    `Status update ${k} of ${i.id} (${i.severity}, ${i.reason}): still OPEN and not acknowledged, ${minutesBetween(i.openedAt, now)} minutes after it opened (${i.openedAt}).`,
    `Release ${i.releaseId}${release === null ? '' : ` is ${release.status}`}.`,
    '',
    `Acknowledge it to stop these updates: builderbrain incident ack ${i.id} --note "…"`,
    `Next update in ${everyMinutes} minutes while it stays unacknowledged. History: builderbrain history ${i.releaseId}`,
  ].join('\n');
}

/** The text of a transition's message in the thread. */
export function transitionText(i: Incident, to: Exclude<IncidentState, 'open'>, by: string, note: string | null): string {
  const next = to === 'acknowledged' ? 'Status updates stop.' : to === 'resolved' ? `Close it once the retrospective is done: builderbrain incident close ${i.id}` : 'Closed.';
  return [`${i.id} ${to} by ${by}${note === null ? '' : `: ${note}`}.`, next].join('\n');
}

/** One line per incident, for `status` and `incident list`. */
export function incidentLine(i: Incident): string {
  const who = i.state === 'acknowledged' ? ` by ${i.acknowledgedBy}` : i.state === 'resolved' ? ` by ${i.resolvedBy}` : i.state === 'closed' ? ` by ${i.closedBy}` : i.updates > 0 ? `, ${i.updates} update(s) sent` : '';
  return `${i.id}  ${i.severity}  ${i.state}${who}  ${i.title}`;
}
