import { describe, expect, it } from 'vitest';
import { incidentOfNotification, sendDueUpdates, transitionIncident } from '../../core/app/incidents.js';
import { rollback } from '../../core/app/rollback.js';
import { describeEvent } from '../../core/audit.js';
import { DEFAULT_INCIDENT_POLICY } from '../../core/incidents.js';
import type { Notification } from '../../core/ports.js';
import { MemoryNotifier } from '../../local/memory.js';
import { MODEL, releaseInCanary, world } from './helpers.js';

const ERROR_SPIKE = { kind: 'alarm', alarmName: 'bb-builderbrain-canary-error-rate', watches: 'error_rate_increase', detail: 'Threshold Crossed' } as const;

/** A release rolled back by its error-rate alarm (P1): one incident open. */
async function rolledBack() {
  const w = world();
  const { releaseId } = await releaseInCanary(w);
  await rollback({ releaseId, model: MODEL, trigger: ERROR_SPIKE, stopExecution: true }, w);
  const deps = { ...w, incidents: DEFAULT_INCIDENT_POLICY };
  return { w, deps, releaseId, id: `INC-${releaseId}-1` };
}

const thread = (ns: readonly Notification[]) => ns.map((n) => incidentOfNotification(n)?.event ?? null);

describe('incidents: opened where the page goes out', () => {
  it('a rollback opens one incident in its own thread, audited, kept on the record', async () => {
    const { w, releaseId, id } = await rolledBack();
    expect(w.notifier.notifications).toHaveLength(1);
    expect(incidentOfNotification(w.notifier.notifications[0]!)).toEqual({ id, event: 'opened' });
    const record = await w.ledger.getRelease(releaseId);
    expect(record?.incidents).toEqual([expect.objectContaining({ id, severity: 'P1', reason: 'alarm', state: 'open', updates: 0 })]);
    const opened = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'incident');
    expect(opened.map((e) => describeEvent(e))).toEqual([expect.stringMatching(/^incident opened P1 \(alarm\): \[P1\] BuilderBrain 2\.1\.0 rolled back/)]);
  });

  it('a page retried after a failed publish reopens the same incident, not a second one', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    let fail = true;
    const flaky = new MemoryNotifier(() => {
      if (fail) throw new Error('SNS down');
    });
    await expect(rollback({ releaseId, model: MODEL, trigger: ERROR_SPIKE, stopExecution: true }, { ...w, notifier: flaky })).rejects.toThrow('SNS down');
    fail = false;
    await rollback({ releaseId, model: MODEL, trigger: ERROR_SPIKE, stopExecution: true }, { ...w, notifier: flaky });
    expect((await w.ledger.getRelease(releaseId))?.incidents?.map((i) => i.id)).toEqual([`INC-${releaseId}-1`]);
    expect(thread(flaky.notifications)).toEqual(['opened']);
  });
});

describe('sendDueUpdates: a status update every 15 minutes while unacknowledged', () => {
  it('sends at 15 and 30 minutes, once per interval however often it runs, audited, in the thread', async () => {
    const { w, deps, releaseId, id } = await rolledBack();
    w.clock.advanceMinutes(14);
    expect((await sendDueUpdates(deps)).sent).toEqual([]);
    w.clock.advanceMinutes(1);
    expect((await sendDueUpdates(deps)).sent).toEqual([{ incident: id, update: 1 }]);
    expect((await sendDueUpdates(deps)).sent).toEqual([]);
    w.clock.advanceMinutes(15);
    const [a, b] = await Promise.all([sendDueUpdates(deps), sendDueUpdates(deps)]);
    expect([...a.sent, ...b.sent]).toEqual([{ incident: id, update: 2 }]);
    expect(thread(w.notifier.notifications)).toEqual(['opened', 'update', 'update']);
    const last = w.notifier.notifications.at(-1)!;
    expect(last.text).toContain(`Status update 2 of ${id}`);
    expect(last.text).toContain(`builderbrain incident ack ${id}`);
    expect(last.title).toBe(w.notifier.notifications[0]!.title);
    expect((await w.ledger.getRelease(releaseId))?.incidents?.[0]).toMatchObject({ updates: 2, state: 'open' });
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'incident').map((e) => e.actor)).toEqual(['step:Rollback', 'schedule:IncidentUpdates', 'schedule:IncidentUpdates']);
  });

  it('stops once acknowledged; honours a configured interval', async () => {
    const { w, deps, id } = await rolledBack();
    await transitionIncident({ command: 'acknowledge', incidentId: id, identity: 'alice', note: 'looking' }, w);
    w.clock.advanceMinutes(120);
    expect((await sendDueUpdates(deps)).sent).toEqual([]);
    const other = await rolledBack();
    other.w.clock.advanceMinutes(5);
    expect((await sendDueUpdates({ ...other.deps, incidents: { updateEveryMinutes: 5, checkEveryMinutes: 1 } })).sent).toHaveLength(1);
  });
});

describe('transitionIncident: an operator acknowledges, resolves, closes', () => {
  it('walks the life cycle, each step audited with who and the note, told in the thread', async () => {
    const { w, releaseId, id } = await rolledBack();
    const ack = await transitionIncident({ command: 'acknowledge', incidentId: id, identity: 'alice', note: 'on it' }, w);
    expect(ack).toMatchObject({ outcome: 'changed', incident: { state: 'acknowledged', acknowledgedBy: 'alice' } });
    const again = await transitionIncident({ command: 'acknowledge', incidentId: id, identity: 'bob', note: null }, w);
    expect(again).toMatchObject({ outcome: 'unchanged', message: expect.stringContaining('already acknowledged (by alice') });
    const early = await transitionIncident({ command: 'close', incidentId: id, identity: 'bob', note: null }, w);
    expect(early).toMatchObject({ outcome: 'refused', message: expect.stringContaining('resolve it first') });
    expect(await transitionIncident({ command: 'resolve', incidentId: id, identity: 'bob', note: 'baseline healthy' }, w)).toMatchObject({ outcome: 'changed' });
    expect(await transitionIncident({ command: 'close', incidentId: id, identity: 'bob', note: null }, w)).toMatchObject({ outcome: 'changed', incident: { state: 'closed', closedBy: 'bob' } });
    expect(thread(w.notifier.notifications)).toEqual(['opened', 'acknowledged', 'resolved', 'closed']);
    const steps = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'incident').map((e) => describeEvent(e));
    expect(steps.slice(1)).toEqual([`${id} acknowledged by alice: on it`, `${id} resolved by bob: baseline healthy`, `${id} closed by bob`]);
    expect((await w.ledger.getRelease(releaseId))?.incidents?.[0]).toMatchObject({ state: 'closed' });
  });

  it('finds an incident by its short id; an unknown one is not found', async () => {
    const { w, releaseId } = await rolledBack();
    const short = `INC-${releaseId.slice(-8)}-1`;
    expect(await transitionIncident({ command: 'acknowledge', incidentId: short, identity: 'alice', note: null }, w)).toMatchObject({ outcome: 'changed' });
    expect(await transitionIncident({ command: 'acknowledge', incidentId: `INC-${releaseId}-2`, identity: 'alice', note: null }, w)).toMatchObject({ outcome: 'not_found', incident: null });
    expect(await transitionIncident({ command: 'acknowledge', incidentId: 'INC-nope-2_1_0-00000000-1', identity: 'alice', note: null }, w)).toMatchObject({ outcome: 'not_found' });
  });
});
