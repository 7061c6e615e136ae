/**
 * `builderbrain audit verify` on a local simulation's state (`--local`): a release's events as the
 * simulation stored them are intact; one event edited in state.json is named as the first broken
 * link (exit 3); a release that is not there, or a bad argument, is said so.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHAIN_BROKEN_EXIT } from '../../cli/commands/audit.js';
import { LocalStateDir, STATE_FILE } from '../../local/state-dir.js';
import { RELEASE_ID, STACK_LINE, cli, event, waitingRecord } from '../ops/helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-verify-'));
  const state = await LocalStateDir.open(dir, { scenario: 'healthy' });
  await state.ledger.createRelease(waitingRecord);
  for (let i = 0; i < 5; i++) {
    await state.ledger.append(event('analysis', `2026-01-05T10:0${i}:00.000Z`, { eventId: `analysis:1:000${i}`, phase: 1, weight: 10, actor: 'step:AnalyzeCanary', detail: { iteration: i, verdict: 'continue', summary: `look ${i}` } }));
  }
  await state.ledger.finish();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const verify = (ref: string, ...flags: string[]) => cli(['audit', 'verify', ref, ...flags, '--local', '--state-dir', dir]);

describe('builderbrain audit verify --local', () => {
  it('the events as the simulation stored them are intact (exit 0), by id or by model@version', async () => {
    const r = await verify(RELEASE_ID);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${RELEASE_ID}: intact, 5 events, head #5 [0-9a-f]{64}`));
    expect((await verify('builderbrain@2.1.0')).code).toBe(0);
  });

  it('one event edited in state.json: exit 3, the event named', async () => {
    const file = join(dir, STATE_FILE);
    const state = JSON.parse(await readFile(file, 'utf8')) as { events: Record<string, Record<string, unknown>[]> };
    const third = state.events[RELEASE_ID]![2]!;
    third['detailJson'] = (third['detailJson'] as string).replace('look 2', 'look 2 (all fine)');
    await writeFile(file, JSON.stringify(state));
    const r = await verify(RELEASE_ID);
    expect(r.code).toBe(CHAIN_BROKEN_EXIT);
    expect(r.stdout).toMatch(/BROKEN at event #3 \(2 events before it verified\): event #3 \(analysis analysis:1:0002\) was changed after it was written/);
    expect(r.stderr).not.toMatch(STACK_LINE);
    const j = JSON.parse((await verify(RELEASE_ID, '--json')).stdout) as { intact: boolean; broken: { seq: number; problem: string } };
    expect(j).toMatchObject({ intact: false, broken: { seq: 3, problem: 'content' } });
  });

  it('an event removed from state.json: the gap is named', async () => {
    const file = join(dir, STATE_FILE);
    const state = JSON.parse(await readFile(file, 'utf8')) as { events: Record<string, Record<string, unknown>[]> };
    state.events[RELEASE_ID]!.splice(1, 1);
    await writeFile(file, JSON.stringify(state));
    const r = await verify(RELEASE_ID);
    expect(r.code).toBe(CHAIN_BROKEN_EXIT);
    expect(r.stdout).toMatch(/event #2 is missing: #1 is followed by #3/);
  });

  it('a release not in the ledger: exit 1; not a release reference: exit 2', async () => {
    const missing = await verify('builderbrain-9_9_9-00000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the audit ledger/);
    const bad = await verify('not a release!');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/names no release/);
  });
});
