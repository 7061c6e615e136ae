/**
 * Incidents in the embedded runtime: a rollback opens one, the reminder rule (every 5 simulated
 * minutes, as EventBridge) sends a status update every 15 minutes while nobody acknowledges it,
 * through the on-call follow-up after the release ended; a healthy release has none.
 */
import { describe, expect, it } from 'vitest';
import { incidentOfNotification } from '../../core/app/incidents.js';
import { simulate } from '../../local/simulate.js';
import { builtin, defaultRun, minuteOf } from './helpers.js';

describe('incidents in a simulated release', () => {
  it('a rollback: the incident opens with the page, then a status update every 15 simulated minutes in its thread, audited', async () => {
    const run = await defaultRun('error-spike-at-10pct');
    const { summary, runtime, releaseId } = run;
    expect(summary.outcome).toBe('rolled_back');
    const keys = Object.keys(summary);
    expect(keys.at(-1)).toBe('incidentStates');
    const [state] = summary.incidentStates!;
    expect(state).toMatchObject({ id: `INC-${releaseId}-1`, severity: 'P1', state: 'open', openedAtMinute: summary.rollback!.atMinute });
    const updates = state!.updatesAtMinutes;
    expect(updates.length).toBeGreaterThanOrEqual(4);
    // The first within one schedule period of being due, then exactly every 15 minutes (the rule runs every 5).
    expect(updates[0]! - state!.openedAtMinute).toBeGreaterThanOrEqual(15);
    expect(updates[0]! - state!.openedAtMinute).toBeLessThan(20);
    for (let i = 1; i < updates.length; i++) expect(updates[i]! - updates[i - 1]!).toBe(15);
    // The pages are still one incident; the updates go to the same thread.
    expect(summary.incidents).toHaveLength(1);
    const thread = runtime.notifier.notifications.filter((n) => incidentOfNotification(n)?.id === state!.id);
    expect(thread.map((n) => incidentOfNotification(n)!.event)).toEqual(['opened', ...updates.map(() => 'update')]);
    const audited = (await runtime.ledger.timeline(releaseId!)).filter((e) => e.type === 'incident' && e.detail.action === 'update').map((e) => minuteOf(e.at));
    expect(audited).toEqual(updates);
  });

  it('a healthy release opens no incident and its summary has no incidentStates', async () => {
    const { summary } = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5 });
    expect(summary.outcome).toBe('promoted');
    expect(summary).not.toHaveProperty('incidentStates');
  });
});
