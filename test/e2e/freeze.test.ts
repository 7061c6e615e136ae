/**
 * The emergency freeze end to end in the embedded runtime (issue 15, RELEASE.md §11): a healthy
 * release frozen during its first phase holds at 1% — watched, never moved on — until the unfreeze,
 * then is promoted; an upload while frozen is rejected (P3, the freeze and who set it named).
 */
import { describe, expect, it } from 'vitest';
import { setFreezeState } from '../../core/app/freeze.js';
import { ManualClock, MemoryLedger } from '../../local/memory.js';
import { BUILTIN_SCENARIOS, type Scenario } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';

const builtin = (name: string): Scenario => BUILTIN_SCENARIOS.find((s) => s.name === name)!;
const minuteOf = (iso: string, start: string) => (Date.parse(iso) - Date.parse(start)) / 60_000;

describe('builderbrain simulate --scenario freeze-holds', () => {
  it('holds at the end of phase 1 until the unfreeze (minute 150), every held look audited with the freeze; then promoted', async () => {
    const r = await simulate({ scenario: builtin('freeze-holds') });
    expect(r.summary.outcome).toBe('promoted');
    const timeline = await r.runtime.ledger.timeline(r.releaseId!);
    const start = timeline[0]!.at;
    const frozenAt = timeline.find((e) => e.type === 'freeze' && e.detail.state === 'frozen')!;
    const unfrozenAt = timeline.find((e) => e.type === 'freeze' && e.detail.state === 'unfrozen')!;
    expect(minuteOf(frozenAt.at, start)).toBe(30);
    expect(minuteOf(unfrozenAt.at, start)).toBe(150);
    const held = timeline.filter((e) => e.type === 'analysis' && e.detail.heldBy !== undefined);
    expect(held.length).toBeGreaterThan(60);
    expect(held.every((e) => e.phase === 0 && e.weight === 1 && e.detail.action === 'continue')).toBe(true);
    expect(held[0]!.detail.heldBy).toEqual({ by: 'local:incident-commander', reason: 'SEV-1 in the serving fleet: no changes until resolved', since: frozenAt.at });
    // Nothing moved on while frozen: the approval and phase 2 come after the unfreeze.
    const asked = timeline.find((e) => e.type === 'approval_requested')!;
    const phase2 = timeline.find((e) => e.type === 'phase_started' && e.phase === 1)!;
    expect(Date.parse(asked.at)).toBeGreaterThanOrEqual(Date.parse(unfrozenAt.at));
    expect(Date.parse(phase2.at)).toBeGreaterThanOrEqual(Date.parse(unfrozenAt.at));
    expect(r.summary.audit.find((a) => a.type === 'freeze')!.text).toMatch(/^releases frozen by local:incident-commander: SEV-1/);
  });

  it('an upload while frozen is rejected before any traffic, P3, naming the freeze and who set it', async () => {
    const ledger = new MemoryLedger();
    await setFreezeState({ action: 'freeze', reason: 'quarter-end change freeze', identity: 'local:carol' }, { ledger, clock: new ManualClock() });
    const r = await simulate({ scenario: builtin('healthy'), ledger });
    expect(r.summary.outcome).toBe('rejected');
    expect(r.summary.incidents).toEqual([expect.objectContaining({ severity: 'P3', title: expect.stringContaining('rejected') })]);
    const page = r.runtime.notifier.notifications.find((n) => n.severity === 'P3')!;
    expect(page.text).toMatch(/freeze: releases are frozen since .* by local:carol: quarter-end change freeze/);
    expect(r.summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
  });
});
