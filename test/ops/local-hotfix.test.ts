/**
 * A hotfix's two-person rule with `--local`: `builderbrain simulate --manual` runs a hotfix requested
 * by the local operator; `approve --local` by that same identity is refused (nothing changes, the
 * release keeps waiting), `reject --local` by it is not.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localIdentity } from '../../cli/ops.js';
import { BUILTIN_SCENARIOS, HOTFIX_SCENARIO } from '../../local/scenario.js';
import type { SimulationSummary } from '../../local/simulate.js';
import { readSnapshot } from '../../local/state-dir.js';
import { cli } from './helpers.js';
import { localSimulationDir } from './local-sim.js';

const IDENTITY = localIdentity();
const state = localSimulationDir('bb-hotfix-');
const { local, until } = state;

describe('simulate --manual: a hotfix requested by the local operator', () => {
  it('approve --local by the requester is refused and changes nothing; reject --local by the requester rolls back', async () => {
    const hotfix = BUILTIN_SCENARIOS.find((s) => s.name === 'hotfix')!;
    const file = join(state.dir(), 'self-hotfix.json');
    await writeFile(file, JSON.stringify({ ...hotfix, name: 'self-hotfix', manifest: { ...hotfix.manifest, hotfix: { ...HOTFIX_SCENARIO, requestedBy: IDENTITY } } }));
    const simulation = cli(['simulate', '--manual', '--state-dir', state.dir(), '--scenario', file, '--json']);
    const waiting = await until((s) => s.releases.some((r) => r.status === 'awaiting_approval' && r.phase === 0), 'the approval of the 10% phase');
    const releaseId = waiting.releases[0]!.releaseId;

    const status = await local(['status', releaseId]);
    expect(status.stdout).toMatch(new RegExp(`hotfix\\s+HOTFIX for INC-2041, requested by ${IDENTITY}`));

    const refused = await local(['approve', releaseId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: release ${releaseId}: the approval is refused: ${IDENTITY} requested hotfix INC-2041 and cannot also approve it: a second identity must\n`);
    const after = await readSnapshot(state.dir());
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
