/**
 * `builderbrain rollback` of a released version (issue 14 §2), on in-memory ports through the real
 * rollback use case: addressed as <model>@<version>, the target checked against the lineage, an
 * emergency at once (P0), a planned one asked by one identity and approved by another.
 */
import { ledgerBackend } from '../support/backend.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { rollbackCommand } from '../../cli/commands/rollback.js';
import { terminal } from '../support/terminal.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { requestRollback } from '../../core/app/request-rollback.js';
import { rollback } from '../../core/app/rollback.js';
import { ManualClock, MemoryNotifier, memoryPorts, type MemoryPorts } from '../../local/memory.js';
import { baseRecord } from '../local/ledger-fixtures.js';

const PREVIOUS = 'builderbrain-2_0_9-00000000';
const BAKING = 'builderbrain-2_1_0-1a2b3c4d';
let w: MemoryPorts;

beforeEach(async () => {
  w = memoryPorts(new ManualClock('2026-01-06T12:00:00.000Z'));
  await w.ledger.createRelease(baseRecord(PREVIOUS, '2026-01-04T09:00:00.000Z', { version: '2.0.9', status: 'released' }));
  await w.ledger.createRelease(baseRecord(BAKING, '2026-01-05T09:00:00.000Z', { status: 'baking', phase: 3, weight: 100 }));
  await w.router.setCandidateWeight('builderbrain', 100);
  await w.lock.acquire('builderbrain', BAKING);
});

/** The operator backend as `identity` would have it: the real use cases on the shared in-memory ports. */
function backend(identity: string): OperatorBackend {
  return ledgerBackend('the test pipeline', w.ledger, {
    rollback: async (releaseId, reason, options = {}) => ({
      output: await rollback({ releaseId, model: 'builderbrain', trigger: { kind: 'manual', actor: identity, note: reason, ...options }, stopExecution: true }, w),
      identity,
    }),
    // rollbackRelease: test/e2e/released-rollback.test.ts
    requestRollback: async (releaseId, reason, to) => requestRollback({ releaseId, identity, reason, to }, w),
  });
}

const base = { json: false, local: false, stack: 'S', stateDir: '.x' };

describe('rollback of a released version in its bake', () => {
  it('an emergency (security, breach, compliance) rolls back at once, P0, by one identity', async () => {
    const { io, out } = terminal();
    const code = await rollbackCommand(io, backend('arn:aws:sts::1:assumed-role/OnCall/alice'), 'builderbrain@2.1.0', { ...base, reason: 'PII in answers', emergency: true, to: '2.0.9' });
    expect(code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/Rolled back builderbrain-2_1_0-1a2b3c4d/);
    expect(w.notifier.notifications).toEqual([expect.objectContaining({ severity: 'P0', title: expect.stringMatching(/EMERGENCY rollback by .*alice/) })]);
    expect(await w.router.current('builderbrain')).toEqual({ baseline: 100, candidate: 0 });
    expect((await w.ledger.getRelease(BAKING))?.status).toBe('rolled_back');
  });

  it('a planned one is asked by one identity, refused to the same one, run by a second (P2, both named)', async () => {
    const asked = terminal();
    expect(await rollbackCommand(asked.io, backend('alice'), 'builderbrain@2.1.0', { ...base, reason: 'plans too long since 2.1.0' })).toBe(0);
    expect(asked.out.stdout).toMatch(/Requested a planned rollback .* as alice; nothing moved yet/);
    expect(asked.out.stdout).toContain('builderbrain rollback builderbrain@2.1.0 --approve');
    expect(await w.router.current('builderbrain')).toEqual({ baseline: 0, candidate: 100 });
    expect((await w.ledger.timeline(BAKING)).map((e) => e.type)).toEqual(['rollback_requested']);

    await expect(rollbackCommand(terminal().io, backend('alice'), 'builderbrain@2.1.0', { ...base, approve: true })).rejects.toThrow(/alice requested this rollback and cannot also approve it/);
    expect(await w.router.current('builderbrain')).toEqual({ baseline: 0, candidate: 100 });

    const approved = terminal();
    expect(await rollbackCommand(approved.io, backend('bob'), 'builderbrain', { ...base, approve: true })).toBe(0);
    expect(approved.out.stdout).toMatch(/by bob \(requested by alice\)/);
    expect(w.notifier.notifications).toEqual([expect.objectContaining({ severity: 'P2', text: expect.stringMatching(/requested by alice, approved by bob/) })]);
    expect(await w.router.current('builderbrain')).toEqual({ baseline: 100, candidate: 0 });
  });

  it('the rollback use case itself refuses a planned rollback of a baking release without a second identity', async () => {
    await expect(rollback({ releaseId: BAKING, model: 'builderbrain', trigger: { kind: 'manual', actor: 'alice', note: 'x' }, stopExecution: true }, w)).rejects.toThrow(/needs a second identity/);
  });

  it('--approve with nothing requested changes nothing (exit 1)', async () => {
    const { io, out } = terminal();
    expect(await rollbackCommand(io, backend('bob'), 'builderbrain@2.1.0', { ...base, approve: true })).toBe(1);
    expect(out.stderr).toMatch(/no rollback of builderbrain-2_1_0-1a2b3c4d is waiting for approval/);
  });

  it('--to must be what served before (the lineage)', async () => {
    const { io, out } = terminal();
    expect(await rollbackCommand(io, backend('alice'), 'builderbrain@2.1.0', { ...base, reason: 'x', emergency: true, to: '2.0.5' })).toBe(2);
    expect(out.stderr).toMatch(/--to 2.0.5: builderbrain 2.1.0 goes back to what served before it, and it replaced 2.0.9 \(release builderbrain-2_0_9-00000000\)/);
    expect(w.notifier.notifications).toEqual([]);
  });

  it('a name that matches nothing, or several releases in flight, lists the candidates', async () => {
    const none = terminal();
    expect(await rollbackCommand(none.io, backend('alice'), 'builderbrain@9.9.9', { ...base, reason: 'x' })).toBe(2);
    expect(none.out.stderr).toMatch(/no release of builderbrain@9.9.9 in the ledger; builderbrain's recent releases are listed:\n {2}builderbrain-2_1_0-1a2b3c4d/);
    await w.ledger.createRelease(baseRecord('builderbrain-2_2_0-ffffffff', '2026-01-06T09:00:00.000Z', { version: '2.2.0', status: 'canary' }));
    const two = terminal();
    expect(await rollbackCommand(two.io, backend('alice'), 'builderbrain', { ...base, reason: 'x' })).toBe(2);
    expect(two.out.stderr).toMatch(/builderbrain has 2 releases in flight/);
  });

  it('a released version with nothing before it in the ledger cannot be rolled back (exit 1, nothing changed)', async () => {
    const { io, out } = terminal();
    expect(await rollbackCommand(io, backend('alice'), 'builderbrain@2.0.9', { ...base, reason: 'x', emergency: true })).toBe(1);
    expect(out.stderr).toMatch(/builderbrain 2.0.9 is released and no earlier release of builderbrain is in the ledger to go back to/);
  });
});

describe('--local: the simulation applies the same requests', () => {
  it('request_rollback records the request; rollback with requestedBy runs it for a second identity', async () => {
    const { applyRequest } = await import('../../local/state-dir.js');
    const pipeline = { ledger: w.ledger, executions: w.executions, clock: w.clock, rollback: (input: Parameters<typeof rollback>[0]) => rollback(input, w), artifacts: w.artifacts, notifier: new MemoryNotifier(), upload: async () => [] };
    const asked = await applyRequest({ id: '1767700000000-00000001', action: 'request_rollback', releaseId: BAKING, identity: 'local:alice', reason: 'plans too long', to: '2.0.9', requestedAt: 'now' }, pipeline);
    expect(asked).toMatchObject({ ok: true, value: { requestedBy: 'local:alice' } });
    const same = await applyRequest({ id: '1767700000000-00000002', action: 'rollback', releaseId: BAKING, identity: 'local:alice', reason: 'plans too long', requestedBy: 'local:alice', requestedAt: 'now' }, pipeline);
    expect(same).toMatchObject({ ok: false, error: { name: 'InvalidInputError', message: expect.stringMatching(/cannot also approve it/) } });
    const done = await applyRequest({ id: '1767700000000-00000003', action: 'rollback', releaseId: BAKING, identity: 'local:bob', reason: 'plans too long', requestedBy: 'local:alice', requestedAt: 'now' }, pipeline);
    expect(done).toMatchObject({ ok: true, value: { outcome: 'rolled_back', severity: 'P2' } });
  });
});
