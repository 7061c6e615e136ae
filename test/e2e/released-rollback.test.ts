/**
 * Rollback of a released, converged version (issue 14 §2), end to end in the embedded runtime: the
 * operator's command writes the previous version's manifest again with `rollback`, and the whole
 * pipeline brings it back — its artifact verified, deployed next to the released one, smoke-tested,
 * one 100% phase in an emergency (P0 paged at once), the configured plan for a planned one (two people).
 */
import { ledgerBackend } from '../support/backend.js';
import { describe, expect, it } from 'vitest';
import { rollbackCommand } from '../../cli/commands/rollback.js';
import { terminal } from '../support/terminal.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { prepareRollbackRelease, requestRollback } from '../../core/app/request-rollback.js';
import { EmbeddedRuntime, loadDefinitions } from '../../local/runtime.js';
import { BUILTIN_SCENARIOS, defaultManifest } from '../../local/scenario.js';
import { simulationConfig } from '../../local/simulate.js';

const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;

/** 2.1.0 then 2.2.0, both released and converged: 2.2.0 serves alone. */
async function twoReleased(): Promise<EmbeddedRuntime> {
  const config = simulationConfig({ phaseMinutes: 10 });
  await loadDefinitions(config);
  const runtime = new EmbeddedRuntime({ config, scenario: healthy });
  for (const [m, v] of [[defaultManifest(), 'v1'], [defaultManifest({ version: '2.2.0', previousVersion: '2.1.0' }), 'v2']] as const) {
    await runtime.upload(JSON.stringify(m), { version: m.version, versionId: v });
    await runtime.settle();
  }
  return runtime;
}

/** The operator backend of `identity` on the runtime (the local backend's calls, without a state directory). */
function backend(runtime: EmbeddedRuntime, identity: string): OperatorBackend {
  let n = 0;
  return ledgerBackend('the test runtime', runtime.ledger, {
    requestRollback: async (releaseId, reason, to) => requestRollback({ releaseId, identity, reason, to }, { ledger: runtime.ledger, clock: runtime.clock }),
    rollbackRelease: async (previousReleaseId, r) => {
      const decided = r.requestedBy === null ? { requestedBy: identity, approvedBy: null } : { requestedBy: r.requestedBy, approvedBy: identity };
      const prepared = await prepareRollbackRelease({ previousReleaseId, of: r.of, reason: r.reason, emergency: r.emergency, ...decided }, runtime);
      const started = (await runtime.upload(prepared.text, { version: prepared.version, versionId: `rollback-${++n}` })) as { releaseId?: string }[];
      await runtime.settle();
      return { releaseId: started.find((x) => x.releaseId !== undefined)?.releaseId ?? null, identity };
    },
  });
}

const args = { json: false, local: false, stack: 'S', stateDir: '.x' };

describe('rollback of a released version whose previous version is gone', () => {
  it('an emergency brings the previous version back through the pipeline: P0 at once, one 100% phase, released', async () => {
    const runtime = await twoReleased();
    const { io, out } = terminal();
    const code = await rollbackCommand(io, backend(runtime, 'alice'), 'builderbrain@2.2.0', { ...args, reason: 'PII in answers', emergency: true, to: '2.1.0' });
    expect(code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/Rolling back builderbrain 2.2.0 to 2.1.0: released again through the pipeline as an emergency/);
    const releases = await runtime.ledger.listReleases(10);
    expect(releases.map((r) => [r.version, r.status])).toEqual([
      ['2.1.0', 'released'],
      ['2.2.0', 'released'],
      ['2.1.0', 'released'],
    ]);
    const back = releases[0]!;
    const timeline = await runtime.ledger.timeline(back.releaseId);
    const types = timeline.map((e) => e.type);
    // the artifact verified and the model deployed and smoke-tested before traffic, one 100% phase
    expect(types).toEqual(expect.arrayContaining(['rollback_release', 'artifact_verified', 'smoke_test']));
    expect(timeline.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([100]);
    expect(timeline.find((e) => e.type === 'rollback_release')).toMatchObject({ actor: 'alice', detail: { of: '2.2.0', emergency: true, requestedBy: 'alice', approvedBy: null } });
    const p0 = runtime.incidents.find((n) => n.severity === 'P0')!;
    expect(p0.title).toMatch(/EMERGENCY rollback of released 2.2.0 to 2.1.0 by alice/);
    expect(p0.text).toMatch(/Decided by: alice \(emergency: no second approval\)/);
    // the endpoint serves 2.1.0 alone again (its model deployed anew)
    const deployment = (await runtime.ledger.getRelease(back.releaseId))!.deployment!;
    expect(deployment.candidate.model).toMatch(/2-1-0/);
    expect(await runtime.router.current('builderbrain')).toEqual({ baseline: 0, candidate: 100 });
  });

  it('a planned one is asked by one identity and started only by a second, with the configured plan', async () => {
    const runtime = await twoReleased();
    const asked = terminal();
    expect(await rollbackCommand(asked.io, backend(runtime, 'alice'), 'builderbrain@2.2.0', { ...args, reason: 'plans too long since 2.2.0' })).toBe(0);
    expect(asked.out.stdout).toMatch(/Requested a planned rollback/);
    expect((await runtime.ledger.listReleases(10)).length).toBe(2);
    await expect(rollbackCommand(terminal().io, backend(runtime, 'alice'), 'builderbrain@2.2.0', { ...args, approve: true })).rejects.toThrow(/alice requested this rollback and cannot also approve it/);
    const approved = terminal();
    expect(await rollbackCommand(approved.io, backend(runtime, 'bob'), 'builderbrain@2.2.0', { ...args, approve: true })).toBe(0);
    expect(approved.out.stdout).toMatch(/decided by bob, requested by alice/);
    const back = (await runtime.ledger.listReleases(10))[0]!;
    expect(back).toMatchObject({ version: '2.1.0', status: 'released' });
    const timeline = await runtime.ledger.timeline(back.releaseId);
    expect(timeline.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([1, 10, 50, 100]);
    expect(timeline.find((e) => e.type === 'rollback_release')).toMatchObject({ actor: 'bob', detail: { emergency: false, requestedBy: 'alice', approvedBy: 'bob' } });
    expect(runtime.incidents.filter((n) => n.severity === 'P0')).toEqual([]);
    // Announced, P3, with both people and what serves now.
    const p3 = runtime.incidents.find((n) => n.severity === 'P3')!;
    expect(p3.title).toMatch(/planned rollback of released 2.2.0 to 2.1.0 by bob/);
    expect(p3.text).toMatch(/Decided by: bob, approving alice's request/);
  });
});
