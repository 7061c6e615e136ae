import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideTransition,
  dueUpdates,
  incidentId,
  incidentsFrom,
  incidentSubject,
  MAX_TRACKED_INCIDENTS,
  parseIncidentRef,
  trackedIncidents,
  type Incident,
  type IncidentCommand,
  type IncidentEventDetail,
  type IncidentEventLike,
  type IncidentState,
} from '../../core/incidents.js';
import { MAX_RECORD_FIELD_BYTES, utf8Length, valueBytes } from '../../core/ledger-items.js';

const RELEASE = 'builderbrain-2_1_0-1a2b3c4d';
const T0 = Date.parse('2026-01-05T10:00:00.000Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();

const ev = (minute: number, detail: IncidentEventDetail, actor = 'step:Rollback'): IncidentEventLike => ({ releaseId: RELEASE, type: 'incident', at: at(minute), actor, detail });
const opened = (minute: number, severity: Incident['severity'] = 'P1', key = `k${minute}`) =>
  ev(minute, { action: 'opened', key, severity, reason: 'error_rate_increase', title: `[${severity}] BuilderBrain 2.1.0 rolled back`, from: null, to: 'open' });
const step = (minute: number, n: number, to: 'acknowledged' | 'resolved' | 'closed', actor = 'alice') =>
  ev(minute, { action: to, incident: incidentId(RELEASE, n), n, severity: 'P1', from: null, to }, actor);
const update = (minute: number, n: number, k: number) => ev(minute, { action: 'update', incident: incidentId(RELEASE, n), n, severity: 'P1', from: 'open', to: 'open', update: k }, 'schedule:IncidentUpdates');

const incidentIn = (state: IncidentState): Incident => {
  const steps: IncidentEventLike[] = [opened(0)];
  if (state !== 'open') steps.push(step(1, 1, state === 'acknowledged' ? 'acknowledged' : 'resolved'));
  if (state === 'closed') steps.push(step(2, 1, 'closed'));
  return incidentsFrom(steps)[0]!;
};

describe('the incident state machine', () => {
  // [state, command, decision kind, resulting state or message fragment]
  const TABLE: readonly [IncidentState, IncidentCommand, 'apply' | 'already' | 'refused', string][] = [
    ['open', 'acknowledge', 'apply', 'acknowledged'],
    ['open', 'resolve', 'apply', 'resolved'],
    ['open', 'close', 'refused', 'resolve it first'],
    ['acknowledged', 'acknowledge', 'already', 'already acknowledged (by alice'],
    ['acknowledged', 'resolve', 'apply', 'resolved'],
    ['acknowledged', 'close', 'refused', 'resolve it first'],
    ['resolved', 'acknowledge', 'refused', 'cannot be acknowledged any more'],
    ['resolved', 'resolve', 'already', 'already resolved'],
    ['resolved', 'close', 'apply', 'closed'],
    ['closed', 'acknowledge', 'refused', 'cannot be acknowledged'],
    ['closed', 'resolve', 'refused', 'cannot be resolved'],
    ['closed', 'close', 'already', 'already closed'],
  ];
  it.each(TABLE)('%s + %s → %s', (state, command, kind, what) => {
    const d = decideTransition(incidentIn(state), command);
    expect(d.kind).toBe(kind);
    if (d.kind === 'apply') expect(d.to).toBe(what);
    else expect(d.message).toContain(what);
  });
});

describe('incidentsFrom: the timeline folded', () => {
  it('numbers incidents by their openings, records who did what when, and counts updates', () => {
    const incidents = incidentsFrom([opened(0, 'P1'), update(15, 1, 1), opened(20, 'P0'), step(25, 1, 'acknowledged', 'alice'), step(40, 1, 'resolved', 'bob'), step(41, 1, 'closed', 'bob')]);
    expect(incidents.map((i) => [i.id, i.severity, i.state, i.updates])).toEqual([
      [`INC-${RELEASE}-1`, 'P1', 'closed', 1],
      [`INC-${RELEASE}-2`, 'P0', 'open', 0],
    ]);
    expect(incidents[0]).toMatchObject({ acknowledgedBy: 'alice', acknowledgedAt: at(25), resolvedBy: 'bob', closedAt: at(41), lastUpdateAt: at(15) });
  });

  it('ignores a transition the table forbids at that point (a race lost), other event types and bad details', () => {
    const incidents = incidentsFrom([
      opened(0),
      step(1, 1, 'closed'),
      step(2, 1, 'resolved', 'bob'),
      step(3, 1, 'acknowledged', 'late'),
      step(4, 9, 'acknowledged'),
      { releaseId: RELEASE, type: 'rollback', at: at(5), actor: 'x', detail: { action: 'opened' } },
      { releaseId: RELEASE, type: 'incident', at: at(6), actor: 'x', detail: { action: 'opened' } },
    ]);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ state: 'resolved', resolvedBy: 'bob', acknowledgedBy: null, closedBy: null });
  });
});

describe('dueUpdates', () => {
  const CASES: readonly [string, IncidentEventLike[], number, number][] = [
    ['P1 open, 15 min after the page', [opened(0, 'P1')], 15, 1],
    ['P1 open, 14 min after the page', [opened(0, 'P1')], 14, 0],
    ['P0 open, 15 min after the last update', [opened(0, 'P0'), update(15, 1, 1)], 30, 1],
    ['P0 open, 14 min after the last update', [opened(0, 'P0'), update(15, 1, 1)], 29, 0],
    ['P2 never', [opened(0, 'P2')], 120, 0],
    ['acknowledged: never', [opened(0, 'P0'), step(1, 1, 'acknowledged')], 120, 0],
    ['resolved unacknowledged: never', [opened(0, 'P0'), step(1, 1, 'resolved')], 120, 0],
  ];
  it.each(CASES)('%s', (_name, events, minute, due) => {
    expect(dueUpdates(incidentsFrom(events), new Date(T0 + minute * 60_000), 15)).toHaveLength(due);
  });

  it('property: run every minute, never two updates within an interval, none after the acknowledgement, one per interval before it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 300 }), fc.constantFrom<Incident['severity']>('P0', 'P1'), (every, ackAt, severity) => {
        const events: IncidentEventLike[] = [opened(0, severity)];
        const sentAt: number[] = [];
        for (let m = 1; m <= 300; m++) {
          if (m === ackAt) events.push(step(m, 1, 'acknowledged'));
          const incidents = incidentsFrom(events);
          for (const i of dueUpdates(incidents, new Date(T0 + m * 60_000), every)) {
            events.push(update(m, i.n, i.updates + 1));
            sentAt.push(m);
          }
        }
        for (let j = 1; j < sentAt.length; j++) expect(sentAt[j]! - sentAt[j - 1]!).toBeGreaterThanOrEqual(every);
        if (ackAt > 0) expect(sentAt.every((m) => m < ackAt)).toBe(true);
        const quietUntil = ackAt > 0 ? ackAt : 301;
        expect(sentAt).toHaveLength(Math.floor((quietUntil - 1) / every));
      }),
    );
  });
});

describe('ids and the thread', () => {
  it.each([
    [`INC-${RELEASE}-2`, { kind: 'full', releaseId: RELEASE, n: 2 }],
    ['INC-1a2b3c4d-1', { kind: 'short', hash: '1a2b3c4d', n: 1 }],
    ['1a2b3c4d-3', { kind: 'short', hash: '1a2b3c4d', n: 3 }],
    ['INC-', null],
    [`INC-${RELEASE}-0`, null],
    [RELEASE, null],
    ['INC-a b-1', null],
  ])('parseIncidentRef(%s)', (text, expected) => {
    expect(parseIncidentRef(text)).toEqual(expected);
  });

  it('the subject is the same for every message of an incident and names it', () => {
    const i = incidentIn('open');
    expect(incidentSubject(i)).toBe(`[P1] BuilderBrain incident INC-${RELEASE}-1: BuilderBrain 2.1.0 rolled back`);
    expect(incidentSubject(incidentIn('acknowledged'))).toBe(incidentSubject(i));
  });
});

describe('trackedIncidents: the record keeps a bounded list', () => {
  it('keeps every incident not closed, then the newest closed, at most MAX_TRACKED_INCIDENTS, within the ledger\'s cap of a record field', () => {
    const events: IncidentEventLike[] = [];
    for (let n = 1; n <= 40; n++) {
      events.push(ev(n, { action: 'opened', key: `k${n}`, severity: 'P0', reason: 'x'.repeat(300), title: '✗'.repeat(5000), from: null, to: 'open' }, 'a'.repeat(5000)));
      if (n % 2 === 0) events.push(step(n, n, 'resolved', `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(400)}`), step(n, n, 'closed', 'z'.repeat(900)));
    }
    const all = incidentsFrom(events);
    const kept = trackedIncidents(all);
    // Worst-case sizes (titles of 3-byte characters, long identities): fewer kept, the newest open ones, never a closed one first.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((i) => i.state !== 'closed')).toBe(true);
    expect(kept.map((i) => i.n)).toEqual(all.filter((i) => i.state !== 'closed').slice(-kept.length).map((i) => i.n));
    expect(valueBytes(kept) + utf8Length('incidents')).toBeLessThanOrEqual(MAX_RECORD_FIELD_BYTES);
    // Realistic sizes (ASCII titles, ARNs): all sixteen kept.
    const realistic = trackedIncidents(incidentsFrom(Array.from({ length: 20 }, (_, n) => opened(n, 'P1', `k${n}`))));
    expect(realistic).toHaveLength(MAX_TRACKED_INCIDENTS);
    const few = trackedIncidents(incidentsFrom([opened(0), step(1, 1, 'resolved'), step(2, 1, 'closed'), opened(3)]));
    expect(few.map((i) => i.state)).toEqual(['closed', 'open']);
  });
});
