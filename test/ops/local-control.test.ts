/**
 * `--local`: the requests a running simulation applies for `freeze`/`unfreeze` and `incident
 * ack|resolve|close` (local/state-dir.ts applyRequest), through the same use cases as on AWS; and
 * the freeze carried in state.json for the commands that read it (`status --local`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTROL_LOG } from '../../core/freeze.js';
import { rollback } from '../../core/app/rollback.js';
import { applyRequest, LocalStateDir, readSnapshot, type LocalPipeline } from '../../local/state-dir.js';
import { MODEL, releaseInCanary, world } from '../app/helpers.js';
import { cli } from './helpers.js';

const pipelineOf = (w: ReturnType<typeof world>): LocalPipeline => ({ ...w, rollback: (input) => rollback(input, w), upload: async () => [] });
const at = '2026-01-05T10:10:00.000Z';
let dir: string | null = null;
afterEach(async () => {
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('the simulation applies freeze, unfreeze and incident requests', () => {
  it('freeze then unfreeze, as local:<user>, audited on the control log', async () => {
    const w = world();
    const p = pipelineOf(w);
    const frozen = await applyRequest({ id: '0000000000001-00000001', action: 'freeze', identity: 'local:carol', reason: 'SEV-1', requestedAt: at }, p);
    expect(frozen).toMatchObject({ ok: true, value: { changed: true, freeze: { by: 'local:carol', reason: 'SEV-1' } } });
    const un = await applyRequest({ id: '0000000000001-00000002', action: 'unfreeze', identity: 'local:carol', reason: 'resolved', requestedAt: at }, p);
    expect(un).toMatchObject({ ok: true, value: { changed: true, freeze: null } });
    expect((await w.ledger.timeline(CONTROL_LOG)).map((e) => e.detail)).toEqual([expect.objectContaining({ state: 'frozen' }), expect.objectContaining({ state: 'unfrozen' })]);
  });

  it('an incident acknowledged and resolved through the simulation; closing twice is unchanged', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'bad outputs', emergency: true }, stopExecution: true }, w);
    const p = pipelineOf(w);
    const id = `INC-${releaseId}-1`;
    const req = (n: number, command: 'acknowledge' | 'resolve' | 'close') => applyRequest({ id: `000000000000${n}-00000001`, action: 'incident', command, incidentId: id, identity: 'local:bob', note: null, requestedAt: at }, p);
    expect(await req(1, 'close')).toMatchObject({ ok: true, value: { outcome: 'refused' } });
    expect(await req(2, 'acknowledge')).toMatchObject({ ok: true, value: { outcome: 'changed', incident: { state: 'acknowledged', acknowledgedBy: 'local:bob' } } });
    expect(await req(3, 'resolve')).toMatchObject({ ok: true, value: { outcome: 'changed', incident: { state: 'resolved' } } });
    expect(await req(4, 'close')).toMatchObject({ ok: true, value: { outcome: 'changed', incident: { state: 'closed' } } });
    expect(await req(5, 'close')).toMatchObject({ ok: true, value: { outcome: 'unchanged' } });
  });

  it('state.json carries the freeze; status --local shows it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bb-control-'));
    const state = await LocalStateDir.open(dir, { scenario: 'healthy' });
    await state.ledger.setFreeze({ reason: 'SEV-1', by: 'local:carol', at });
    await state.ledger.finish();
    expect((await readSnapshot(dir)).freeze).toEqual({ reason: 'SEV-1', by: 'local:carol', at });
    const r = await cli(['status', '--local', '--state-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^FROZEN: releases are frozen since 2026-01-05T10:10:00.000Z by local:carol: SEV-1/);
  });
});
