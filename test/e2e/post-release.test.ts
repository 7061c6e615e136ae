/**
 * After promotion, end to end in the embedded runtime (issue 14): the bake against the previous
 * version's own minutes a day before, a regression during it rolling back to the warm previous
 * version, and the recovery check after a rollback — passing, and failing into a P0.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS, ScenarioSchema, type Scenario } from '../../local/scenario.js';
import { reportInput, simulate, type SimulationRun } from '../../local/simulate.js';

const builtin = (name: string): Scenario => BUILTIN_SCENARIOS.find((s) => s.name === name)!;
const runs = new Map<string, Promise<SimulationRun>>();
const run = (name: string, scenario: Scenario = builtin(name)): Promise<SimulationRun> => {
  if (!runs.has(name)) runs.set(name, simulate({ scenario }));
  return runs.get(name)!;
};
const HEALTHY_BAKE = ScenarioSchema.parse({ ...builtin('healthy'), name: 'healthy-bake', bake: { minutes: 180 } });

describe('the bake', () => {
  it('a healthy release bakes against the previous version a day before and ends released; the previous version is removed only then', async () => {
    const r = await run('healthy-bake', HEALTHY_BAKE);
    const record = await r.runtime.ledger.getRelease(r.releaseId!);
    expect(record?.status).toBe('released');
    expect(r.summary.outcome).toBe('promoted');
    expect(r.summary.bake).toEqual({ minutes: 180, watchedMinutes: 180, reference: 'day', outcome: 'released' });
    const bake = r.summary.audit.filter((a) => a.type === 'bake');
    expect(bake[0]!.text).toMatch(/^bake started/);
    expect(bake.at(-1)!.text).toMatch(/^bake released \(180\/180 min, against the previous version a day before\)/);
    expect(bake.filter((a) => a.text.startsWith('bake look'))).toHaveLength(17);
    // Converging (removing the previous version) comes after the bake, never before.
    const lastBake = r.summary.audit.indexOf(bake.at(-1)!);
    const converge = r.summary.audit.findIndex((a) => a.type === 'serving' && a.text.startsWith('converge'));
    expect(converge).toBeGreaterThan(lastBake);
    // The approvers are told, with what serves now.
    const told = r.runtime.notifier.notifications.find((n) => n.title.includes('released after a clean 180-minute bake'))!;
    expect(told.text).toMatch(/serves 100% of traffic; the previous version is removed now/);
    expect(r.summary.incidents).toEqual([]);
  });

  it('a regression during the bake rolls back to the previous version, kept warm for it (P1), and the recovery is verified', async () => {
    const r = await run('bake-regression');
    expect(r.summary.outcome).toBe('rolled_back');
    expect(r.summary.bake).toMatchObject({ minutes: 240, reference: 'day', outcome: 'regressed' });
    expect(r.summary.bake!.watchedMinutes).toBeGreaterThanOrEqual(30);
    expect(r.summary.bake!.watchedMinutes).toBeLessThanOrEqual(60);
    expect(r.summary.rollback).toMatchObject({ reason: 'error_rate_increase', severity: 'P1' });
    expect(r.summary.incidents).toEqual([expect.objectContaining({ severity: 'P1', title: expect.stringMatching(/rolled back during its bake: error_rate_increase/) })]);
    const incident = r.runtime.incidents[0]!;
    expect(incident.text).toMatch(/Decided by: step:WatchBake\./);
    expect(incident.text).toMatch(/Endpoint now: 100% of traffic on the previous version/);
    expect(r.summary.recovery).toMatchObject({ recovered: true });
    expect(r.summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    const record = await r.runtime.ledger.getRelease(r.releaseId!);
    expect(record).toMatchObject({ status: 'rolled_back', recovery: { recovered: true } });
    // The report shows the bake window: where it started and where it regressed, and its row.
    const report = reportInput(r, null);
    expect(report.summaryRows).toContainEqual(['bake', expect.stringMatching(/^regressed: \d+\/240 min watched at 100% against the previous version a day before$/)]);
    const labels = report.markers.map((m) => m.label);
    expect(labels).toContainEqual(expect.stringMatching(/^bake: watching the released version for 240 min/));
    expect(labels).toContainEqual(expect.stringMatching(/^bake regressed: error_rate_increase/));
  });
});

describe('verified recovery', () => {
  it('after a canary rollback the restored version is checked and found healthy', async () => {
    const r = await run('error-spike-at-10pct');
    expect(r.summary.recovery).toMatchObject({ recovered: true, message: expect.stringMatching(/healthy again over \d+ minute/) });
    const recovery = r.summary.audit.find((a) => a.type === 'recovery')!;
    expect(recovery.text).toMatch(/^recovered:/);
    // The check comes after the candidate is removed and before the lock goes.
    const types = r.summary.audit.map((a) => a.type);
    expect(types.indexOf('recovery')).toBeGreaterThan(types.lastIndexOf('serving'));
    expect(types.at(-1)).toBe('lock_released');
  });

  it('a restored version that stays unhealthy escalates P0: "rollback did not restore health"', async () => {
    const r = await run('recovery-fails');
    expect(r.summary.outcome).toBe('rolled_back');
    expect(r.summary.recovery).toMatchObject({ recovered: false, message: expect.stringMatching(/not healthy again: error rate/) });
    expect(r.summary.incidents.map((i) => i.severity)).toEqual(['P1', 'P0']);
    const p0 = r.runtime.incidents.find((n) => n.severity === 'P0')!;
    expect(p0.title).toMatch(/rollback did not restore health/);
    expect(p0.text).toMatch(/Decided by: the pipeline \(recovery check\)/);
  });
});

describe('an emergency rollback of a released version, simulated', () => {
  it('the version before is released again through the pipeline, 100% at once, P0 paged; the endpoint serves it', async () => {
    const r = await run('emergency-rollback-released');
    expect(r.summary.outcome).toBe('promoted');
    expect(r.summary.rolledBackBy).toMatchObject({ version: '2.0.3', emergency: true, outcome: 'released' });
    expect(r.summary.incidents).toEqual([expect.objectContaining({ severity: 'P0', title: expect.stringMatching(/EMERGENCY rollback of released 2.1.0 to 2.0.3/) })]);
    const back = await r.runtime.ledger.getRelease(r.summary.rolledBackBy!.releaseId!);
    expect(back).toMatchObject({ version: '2.0.3', status: 'released' });
    const timeline = await r.runtime.ledger.timeline(back!.releaseId);
    expect(timeline.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([100]);
    expect(timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['rollback_release', 'artifact_verified', 'smoke_test', 'promoted']));
    expect(back!.deployment!.candidate.model).toMatch(/2-0-3/);
  });
});
