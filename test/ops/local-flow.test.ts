/**
 * The operator flow end to end without AWS: `builderbrain simulate --manual` runs (in this process,
 * as in its own terminal) and waits at each approval; the operator commands with `--local` act on
 * it through its state directory — the same code paths as on a deployed stack (answerApproval with
 * the stored token, the rollback handler with a manual trigger).
 */
import { describe, expect, it } from 'vitest';
import { localIdentity } from '../../cli/ops.js';
import type { SimulationSummary } from '../../local/simulate.js';
import { readSnapshot, type LocalSnapshot } from '../../local/state-dir.js';
import { cli, type Captured } from './helpers.js';
import { localSimulationDir } from './local-sim.js';

const IDENTITY = localIdentity();
const state = localSimulationDir('bb-flow-');
const { local, until } = state;

const waitingAt = (phase: number) => (s: LocalSnapshot) => s.releases.some((r) => r.status === 'awaiting_approval' && r.phase === phase);

/** `builderbrain simulate --manual` in "another terminal": no TTY, so only the state directory answers. */
function startSimulation(): Promise<Captured> {
  return cli(['simulate', '--manual', '--state-dir', state.dir(), '--phase-minutes', '10', '--json']);
}

describe('simulate --manual with the operator commands --local', () => {
  it('approve phase 1, reject phase 2: the rollback is manual P2, traffic back to 100% baseline, the audit trail names the operator', async () => {
    const simulation = startSimulation();
    const first = await until(waitingAt(0), 'the approval of phase 1');
    const releaseId = first.releases[0]!.releaseId;

    const status = await local(['status']);
    expect(status.stdout).toMatch(new RegExp(`${releaseId}\\s+2\\.1\\.0\\s+awaiting_approval\\s+1\\s+1%`));

    const approved = await local(['approve', releaseId]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Approved phase 1 of ${releaseId} as ${IDENTITY}.`);

    await until(waitingAt(1), 'the approval of phase 2');
    const rejected = await local(['reject', releaseId, '--reason', 'answers too long at 10%']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain(`Rejected phase 2 of ${releaseId} as ${IDENTITY}: answers too long at 10%`);

    const sim = await simulation;
    expect(sim.code, sim.stderr).toBe(0);
    const summary = JSON.parse(sim.stdout) as SimulationSummary;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.rollback).toMatchObject({ reason: 'manual', severity: 'P2' });
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P2', reason: 'manual' })]);
    const trail = summary.audit.filter((e) => ['approved', 'approval_rejected', 'rollback'].includes(e.type));
    expect(trail).toEqual([
      expect.objectContaining({ type: 'approved', actor: IDENTITY, phase: 0, weight: 1 }),
      expect.objectContaining({ type: 'approval_rejected', actor: IDENTITY, phase: 1, weight: 10 }),
      expect.objectContaining({ type: 'rollback', actor: IDENTITY, phase: 1, weight: 10 }),
    ]);
    expect(trail[2]!.text).toMatch(/^manual P2 \(manual\): \[P2\] BuilderBrain 2\.1\.0 rolled back by local:.* in phase 2 at 10% canary traffic/);

    // After the simulation: the ledger it left, and operators acting on an ended release.
    const final = await readSnapshot(state.dir());
    expect(final.simulation.running).toBe(false);
    expect(final.releases[0]).toMatchObject({ status: 'rolled_back', approvers: [{ phase: 0, identity: IDENTITY, decision: 'approved' }, { phase: 1, identity: IDENTITY, decision: 'rejected' }] });
    const history = await local(['history', releaseId]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/approved\s+local:\S+\s+1\s+1%\s+approved by local:/);
    expect(history.stdout).toMatch(/approval_rejected\s+local:\S+\s+2\s+10%\s+rejected by local:\S+: answers too long at 10%/);
    expect(history.stdout).toMatch(/rollback\s+local:\S+\s+2\s+10%\s+manual P2 \(manual\)/);
    const again = await local(['approve', releaseId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no approval is waiting \(the release is rolled_back\); nothing was changed/);
    const rollback = await local(['rollback', releaseId, '--reason', 'again']);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(/was already rolled back \(manual, P2\)/);
  });

  it('rollback while an approval waits: the rollback handler with a manual trigger stops the canary; a second rollback says so', async () => {
    const simulation = startSimulation();
    const first = await until(waitingAt(0), 'the approval of phase 1');
    const releaseId = first.releases[0]!.releaseId;

    const r = await local(['rollback', releaseId, '--reason', 'customer reports']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Rolled back ${releaseId}: \\[P2\\] BuilderBrain 2\\.1\\.0 rolled back by local:\\S+ in phase 1 at 1% canary traffic\\. Traffic is 100% on the baseline\\.`));
    const twice = await local(['rollback', releaseId, '--reason', 'customer reports']);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toMatch(/already rolled back \(manual, P2\)/);

    const sim = await simulation;
    expect(sim.code, sim.stderr).toBe(0);
    const summary = JSON.parse(sim.stdout) as SimulationSummary;
    expect(summary).toMatchObject({ outcome: 'rolled_back', rollback: { reason: 'manual', severity: 'P2' }, finalTraffic: { baseline: 100, candidate: 0 } });
    expect(summary.incidents).toHaveLength(1);
    expect(summary.audit.filter((e) => e.type === 'rollback')).toEqual([expect.objectContaining({ actor: IDENTITY, phase: 0 })]);
  });
});
