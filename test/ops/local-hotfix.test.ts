/**
 * A hotfix's two-person rule with `--local`: `builderbrain simulate --manual` runs a hotfix requested
 * by the local operator; `approve --local` by that same identity is refused (nothing changes, the
 * release keeps waiting), `reject --local` by it is not.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localIdentity } from '../../cli/ops.js';
import { BUILTIN_SCENARIOS, HOTFIX_SCENARIO } from '../../local/scenario.js';
import type { SimulationSummary } from '../../local/simulate.js';
import { readSnapshot, type LocalSnapshot } from '../../local/state-dir.js';
import { STACK_LINE, cli, type Captured } from './helpers.js';

let dir: string;
const IDENTITY = localIdentity();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-hotfix-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const local = async (argv: string[]): Promise<Captured> => {
  const r = await cli([...argv, '--local', '--state-dir', dir]);
  expect(r.stderr).not.toMatch(STACK_LINE);
  return r;
};

async function until(ready: (s: LocalSnapshot) => boolean, what: string, timeoutMs = 45_000): Promise<LocalSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snap = await readSnapshot(dir).catch(() => null);
    if (snap !== null && ready(snap)) return snap;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('simulate --manual: a hotfix requested by the local operator', () => {
  it('approve --local by the requester is refused and changes nothing; reject --local by the requester rolls back', async () => {
    const hotfix = BUILTIN_SCENARIOS.find((s) => s.name === 'hotfix')!;
    const file = join(dir, 'self-hotfix.json');
    await writeFile(file, JSON.stringify({ ...hotfix, name: 'self-hotfix', manifest: { ...hotfix.manifest, hotfix: { ...HOTFIX_SCENARIO, requestedBy: IDENTITY } } }));
    const simulation = cli(['simulate', '--manual', '--state-dir', dir, '--scenario', file, '--json']);
    const waiting = await until((s) => s.releases.some((r) => r.status === 'awaiting_approval' && r.phase === 0), 'the approval of the 10% phase');
    const releaseId = waiting.releases[0]!.releaseId;

    const status = await local(['status', releaseId]);
    expect(status.stdout).toMatch(new RegExp(`hotfix\\s+HOTFIX for INC-2041, requested by ${IDENTITY}`));

    const refused = await local(['approve', releaseId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: release ${releaseId}: the approval is refused: ${IDENTITY} requested hotfix INC-2041 and cannot also approve it: a second identity must\n`);
    const after = await readSnapshot(dir);
    expect(after.releases.find((r) => r.releaseId === releaseId)).toMatchObject({ status: 'awaiting_approval', phase: 0, approvers: [] });

    const rejected = await local(['reject', releaseId, '--reason', 'the fix is incomplete']);
    expect(rejected.code, rejected.stderr).toBe(0);
    const sim = await simulation;
    expect(sim.code, sim.stderr).toBe(0);
    const summary = JSON.parse(sim.stdout) as SimulationSummary;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.hotfix).toMatchObject({ requestedBy: IDENTITY, approvedBy: [] });
    expect(summary.audit.some((e) => e.type === 'approved')).toBe(false);
  });
});
