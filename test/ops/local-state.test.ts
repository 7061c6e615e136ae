/**
 * The state directory of a local simulation (local/state-dir.ts) and the `--local` commands on it,
 * without a running simulation: the persisted ledger, the request inbox, and every answer that
 * needs no simulation (not found, nothing waiting, ended releases, a simulation that is gone).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseRecord } from '../../core/ports.js';
import { MemoryArtifactStore, MemoryExecutions, ManualClock, MemoryLedger, MemoryNotifier } from '../../local/memory.js';
import {
  LocalStateDir,
  PersistedLedger,
  StateDirBusyError,
  applyRequest,
  readSnapshot,
  submitRequest,
  type AnswerRequest,
  type LocalPipeline,
} from '../../local/state-dir.js';
import { RELEASE_ID, STACK_LINE, cli, event, waitingRecord } from './helpers.js';

const TOKEN = 'local-task-token-SECRET-0042';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A state directory holding `record` (waiting at phase 2 with its token by default), written as a simulation would. */
async function stateWith(record: ReleaseRecord, options: { running?: boolean; token?: boolean } = {}): Promise<PersistedLedger> {
  const state = await LocalStateDir.open(dir, { scenario: 'healthy' });
  const ledger = state.ledger;
  await ledger.createRelease(record);
  await ledger.append(event('phase_started', '2026-01-05T09:53:00.000Z', { phase: 1, weight: 10, actor: 'step:StartPhase', detail: { monitorMinutes: 60, looks: 12, requiresApproval: true } }));
  await ledger.append(event('approval_requested', '2026-01-05T10:03:00.000Z', { phase: 1, weight: 10, actor: 'step:RequestApproval', detail: { verdict: 'pass' } }));
  if (options.token ?? record.status === 'awaiting_approval') await ledger.putTaskToken(record.releaseId, 1, TOKEN);
  if (options.running === false) await ledger.finish();
  else await ledger.flush();
  return ledger;
}

const local = (argv: string[], wait = { timeoutMs: 400, pollMs: 20 }) => cli([...argv, '--local', '--state-dir', dir], { localWait: wait });

async function requestFiles(): Promise<string[]> {
  return readdir(join(dir, 'answers')).catch(() => []);
}

describe('the persisted ledger', () => {
  it('writes state.json after each change: records, timelines, task tokens, whether the simulation runs', async () => {
    const ledger = await stateWith(waitingRecord);
    const snap = await readSnapshot(dir);
    expect(snap.simulation).toMatchObject({ pid: process.pid, running: true, scenario: 'healthy' });
    expect(snap.releases).toEqual([waitingRecord]);
    expect(snap.events[RELEASE_ID]!.map((e) => e.type)).toEqual(['phase_started', 'approval_requested']);
    expect(snap.taskTokens).toEqual([{ releaseId: RELEASE_ID, phase: 1, token: TOKEN }]);
    await ledger.transition(RELEASE_ID, ['awaiting_approval'], 'canary');
    await ledger.deleteTaskToken(RELEASE_ID, 1);
    await ledger.finish();
    const after = await readSnapshot(dir);
    expect(after.releases[0]!.status).toBe('canary');
    expect(after.taskTokens).toEqual([]);
    expect(after.simulation.running).toBe(false);
  });

  it('coalesces bursts of changes into few writes, and the file is always whole JSON', async () => {
    const ledger = new PersistedLedger(dir);
    await ledger.createRelease(waitingRecord);
    const appends = Array.from({ length: 300 }, (_, i) => ledger.append(event('analysis', `2026-01-05T09:${String(i % 60).padStart(2, '0')}:00.000Z`, { eventId: `analysis:${i}` })));
    const reads = Array.from({ length: 20 }, () => readFile(join(dir, 'state.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => null));
    await Promise.all([...appends, ...reads]);
    await ledger.flush();
    expect((await readSnapshot(dir)).events[RELEASE_ID]).toHaveLength(300);
  });

  it('refuses a state directory another live simulation uses', async () => {
    const other = new PersistedLedger(dir);
    await other.flush();
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { simulation: { pid: number } };
    state.simulation.pid = process.ppid; // alive, and not us
    await writeFile(join(dir, 'state.json'), JSON.stringify(state));
    await expect(LocalStateDir.open(dir)).rejects.toBeInstanceOf(StateDirBusyError);
  });

  it('drops requests left by an earlier simulation', async () => {
    await submitRequest(dir, { action: 'approve', releaseId: RELEASE_ID, identity: 'local:old' });
    await LocalStateDir.open(dir);
    expect(await requestFiles()).toEqual([]);
  });
});

describe('status and history --local', () => {
  it('read what the simulation wrote; the token is never shown', async () => {
    await stateWith(waitingRecord);
    const list = await local(['status']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`Releases in flight in the local simulation in ${dir}`);
    expect(list.stdout).toMatch(new RegExp(`${RELEASE_ID}\\s+2\\.1\\.0\\s+awaiting_approval\\s+2\\s+10%`));
    expect(list.stdout).toContain(`builderbrain approve ${RELEASE_ID} --local --state-dir ${dir}`);
    const one = await local(['status', RELEASE_ID, '--json']);
    expect(JSON.parse(one.stdout)).toEqual({ release: waitingRecord });
    const history = await local(['history', RELEASE_ID]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/approval_requested\s+step:RequestApproval\s+2\s+10%\s+waiting for approval \(verdict pass\)/);
    for (const r of [list, one, history]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('not found: exit 1', async () => {
    await stateWith(waitingRecord);
    const r = await local(['history', 'builderbrain-9_9_9-00000000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not in the audit ledger of the local simulation in/);
  });

  it('no simulation state, or not one: exit 1 with how to start one', async () => {
    const none = await local(['status']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      `error: there is no local simulation in ${dir} (no state.json). Start one in another terminal with \`builderbrain simulate --manual --state-dir ${dir}\`, or pass its --state-dir.\n`,
    );
    await writeFile(join(dir, 'state.json'), '{"format": "something else"}');
    const bad = await local(['status']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not a builderbrain simulation state .* Start the simulation again/);
    expect(bad.stderr).not.toMatch(STACK_LINE);
  });
});

describe('approve, reject and rollback --local without a simulation to answer', () => {
  it.each(['canary', 'rolled_back', 'promoted'] as const)('nothing waiting (%s): exit 1, no request written', async (status) => {
    await stateWith({ ...waitingRecord, status }, { token: false });
    const r = await local(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`no approval is waiting \\(the release is ${status}\\); nothing was changed`));
    expect(await local(['reject', RELEASE_ID, '--reason', 'x']).then((x) => x.code)).toBe(1);
    expect(await requestFiles()).toEqual([]);
  });

  it('not found: exit 1', async () => {
    await stateWith(waitingRecord);
    expect((await local(['approve', 'builderbrain-9_9_9-00000000'])).code).toBe(1);
    expect((await local(['rollback', 'builderbrain-9_9_9-00000000', '--reason', 'x'])).code).toBe(1);
  });

  it('the simulation has ended: exit 1, nothing sent', async () => {
    await stateWith(waitingRecord, { running: false });
    const r = await local(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not running any more, so nothing can act on the release; nothing was changed/);
    expect(await requestFiles()).toEqual([]);
  });

  it('a simulation that does not answer in time: the request is taken back, exit 1', async () => {
    await stateWith(waitingRecord); // "running" in this very process, but nobody drains the inbox
    const r = await local(['approve', RELEASE_ID], { timeoutMs: 200, pollMs: 20 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not answer within 0\.2 s; the request was taken back and nothing was changed/);
    expect(await requestFiles()).toEqual([]);
  });

  it('rollback of a release that has ended answers from its record, through the rollback use case (exit 0)', async () => {
    const outcome = { status: 'rolled_back' as const, reason: 'alarm', severity: 'P1' as const, at: '2026-01-05T10:30:00.000Z' };
    await stateWith({ ...waitingRecord, status: 'rolled_back', outcome }, { running: false, token: false });
    const r = await local(['rollback', RELEASE_ID, '--reason', 'drill']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `release ${RELEASE_ID} was already rolled back (alarm, P1) at 2026-01-05T10:30:00.000Z; nothing changed\nHistory: builderbrain history ${RELEASE_ID} --local --state-dir ${dir}\n`,
    );
  });
});

describe('the inbox, as the simulation applies it', () => {
  it('an approval goes through answerApproval: the stored token, SendTaskSuccess, the approver in the ledger', async () => {
    const ledger = new MemoryLedger();
    await ledger.createRelease(waitingRecord);
    await ledger.putTaskToken(RELEASE_ID, 1, TOKEN);
    const executions = new MemoryExecutions();
    const rollbacks: unknown[] = [];
    const pipeline: LocalPipeline = { ledger, executions, clock: new ManualClock('2026-01-05T10:10:00.000Z'), rollback: async (i) => rollbacks.push(i), artifacts: new MemoryArtifactStore(), notifier: new MemoryNotifier(), upload: async () => [] };
    const req = (over: Partial<AnswerRequest>): AnswerRequest =>
      ({ id: '0000000000001-00000000', action: 'approve', releaseId: RELEASE_ID, identity: 'local:alice', requestedAt: '2026-01-05T10:10:00.000Z', ...over }) as AnswerRequest;
    expect(await applyRequest(req({}), pipeline)).toEqual({ id: '0000000000001-00000000', ok: true, value: { releaseId: RELEASE_ID, phase: 1, decision: 'approved' } });
    expect(executions.answers).toEqual([{ token: TOKEN, kind: 'success', output: { approvedBy: 'local:alice', at: '2026-01-05T10:10:00.000Z' } }]);
    expect((await ledger.getRelease(RELEASE_ID))!.approvers.at(-1)).toMatchObject({ phase: 1, identity: 'local:alice', decision: 'approved' });
    // Twice: nothing waiting, nothing sent.
    expect(await applyRequest(req({}), pipeline)).toMatchObject({ ok: false, error: { name: 'NothingWaitingError' } });
    expect(executions.answers).toHaveLength(1);
    // A rollback goes to the rollback handler with a manual trigger.
    expect(await applyRequest(req({ action: 'rollback', reason: 'drill' } as Partial<AnswerRequest>), pipeline)).toMatchObject({ ok: true });
    expect(rollbacks).toEqual([{ releaseId: RELEASE_ID, model: 'builderbrain', trigger: { kind: 'manual', actor: 'local:alice', note: 'drill' }, stopExecution: true }]);
  });
});
