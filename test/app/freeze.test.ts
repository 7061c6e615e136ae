/**
 * The emergency freeze through the use cases, on the in-memory ports: set and lifted (audited on the
 * control log and the releases in flight, idempotent), a new release rejected while frozen, a phase
 * held at its end instead of moving on, an approval refused — and each let through again once
 * unfrozen, or for a hotfix overriding the freeze.
 */
import { describe, expect, it } from 'vitest';
import { analyzeCanaryStep } from '../../core/app/analyze-canary.js';
import { answerApproval } from '../../core/app/answer-approval.js';
import { ApprovalRefusedError } from '../../core/app/errors.js';
import { setFreezeState } from '../../core/app/freeze.js';
import { CONTROL_LOG } from '../../core/freeze.js';
import { requestApproval } from '../../core/app/request-approval.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import type { PhaseState } from '../../core/contracts.js';
import { verifyChain } from '../../core/ledger-chain.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import type { MemoryPorts } from '../../local/memory.js';
import { MANIFEST_TEXT, MODEL, releaseInCanary, traffic, upload, world } from './helpers.js';

const IC = 'arn:aws:sts::123456789012:assumed-role/IncidentCommander/carol';
const freeze = (w: MemoryPorts, reason = 'SEV-1 in the serving fleet') => setFreezeState({ action: 'freeze', reason, identity: IC }, w);
const unfreeze = (w: MemoryPorts) => setFreezeState({ action: 'unfreeze', reason: 'SEV-1 resolved', identity: IC }, w);

/** Looks until the phase's decision point (its last planned look), returning that look's result. */
async function lookToPhaseEnd(w: MemoryPorts, releaseId: string, phase: PhaseState) {
  traffic(w, phase.monitorMinutes + 1);
  let p = phase;
  for (let i = 0; i < phase.looks; i++) p = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase: p }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
  return p;
}

describe('setFreezeState', () => {
  it('freezes once, audited on the control log and on every release in flight; a second freeze changes nothing', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const out = await freeze(w);
    expect(out).toMatchObject({ changed: true, freeze: { reason: 'SEV-1 in the serving fleet', by: IC, at: '2025-03-01T10:00:00.000Z' }, previous: null, releases: [releaseId] });
    expect(await w.ledger.getFreeze()).toEqual(out.freeze);
    for (const id of [CONTROL_LOG, releaseId]) {
      expect((await w.ledger.timeline(id)).filter((e) => e.type === 'freeze')).toEqual([
        expect.objectContaining({ actor: IC, detail: { state: 'frozen', reason: 'SEV-1 in the serving fleet', since: null, frozenBy: null } }),
      ]);
      expect(verifyChain(id, await w.ledger.chainItems(id)).intact).toBe(true);
    }
    w.clock.advanceMinutes(5);
    expect(await freeze(w, 'again')).toMatchObject({ changed: false, freeze: { reason: 'SEV-1 in the serving fleet' }, releases: [] });
    expect((await w.ledger.timeline(CONTROL_LOG))).toHaveLength(1);
  });

  it('unfreezes once, saying since when and by whom it was frozen; unfreezing a pipeline not frozen changes nothing', async () => {
    const w = world();
    await freeze(w);
    w.clock.advanceMinutes(90);
    expect(await unfreeze(w)).toMatchObject({ changed: true, freeze: null, previous: { by: IC, at: '2025-03-01T10:00:00.000Z' } });
    expect(await w.ledger.getFreeze()).toBeNull();
    expect((await w.ledger.timeline(CONTROL_LOG)).at(-1)).toMatchObject({ type: 'freeze', detail: { state: 'unfrozen', since: '2025-03-01T10:00:00.000Z', frozenBy: IC } });
    expect(await unfreeze(w)).toMatchObject({ changed: false, freeze: null });
  });
});

describe('while frozen', () => {
  it('a new release is rejected, the freeze and who set it named; once unfrozen the same upload is valid', async () => {
    const w = world();
    await freeze(w);
    const frozen = await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'v1' }), w);
    expect(frozen.valid).toBe(false);
    expect(frozen.issues).toEqual([{ path: 'freeze', message: expect.stringContaining(`releases are frozen since 2025-03-01T10:00:00.000Z by ${IC}: SEV-1 in the serving fleet`) }]);
    await unfreeze(w);
    expect((await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'v2' }), w)).valid).toBe(true);
  });

  it('a hotfix that overrides the freeze is admitted', async () => {
    const w = world();
    await freeze(w);
    const hotfix = { ...JSON.parse(MANIFEST_TEXT), hotfix: { reason: 'PII leak in answers', incident: 'INC-2041', requestedBy: 'alice', overrideFreeze: true } };
    expect((await validateManifest(upload(w, JSON.stringify(hotfix)), w)).issues).toEqual([]);
  });

  it('a phase holds at its end — another look at the same weight, audited with the freeze — and moves on at the first look after the unfreeze', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await freeze(w);
    const held = await lookToPhaseEnd(w, releaseId, phase);
    expect(held).toMatchObject({ iteration: phase.looks, action: 'continue' });
    const last = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'analysis').at(-1)!;
    expect(last.detail).toMatchObject({ verdict: 'pass', action: 'continue', heldBy: { by: IC, reason: 'SEV-1 in the serving fleet' } });
    // Still watched past the plan: a look 10 minutes later is judged over every minute watched.
    traffic(w, 10);
    const again = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase: held }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    expect(again).toMatchObject({ iteration: phase.looks + 1, action: 'continue' });
    await unfreeze(w);
    traffic(w, 1);
    const moved = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase: again }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    expect(moved.action).toBe('await_approval');
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'analysis').at(-1)!.detail).not.toHaveProperty('heldBy');
  });

  it('a regression during the hold still rolls back', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await freeze(w);
    const held = await lookToPhaseEnd(w, releaseId, phase);
    traffic(w, 30, () => ({ errors: 30 }));
    const r = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase: held }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    expect(r.action).toBe('rollback');
  });

  it('an approval already waiting is refused (nothing sent, nothing recorded); a rejection still goes through', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await requestApproval({ releaseId, model: MODEL, version: '2.1.0', phase: { ...phase, action: 'await_approval', verdict: null }, taskToken: 'TOKEN-1' }, w);
    await freeze(w);
    await expect(answerApproval(releaseId, { decision: 'approved', identity: 'bob' }, w)).rejects.toThrow(ApprovalRefusedError);
    await expect(answerApproval(releaseId, { decision: 'approved', identity: 'bob' }, w)).rejects.toThrow(/releases are frozen since .* approvals wait until `builderbrain unfreeze`/);
    expect(w.executions.answers).toEqual([]);
    expect((await w.ledger.getRelease(releaseId))!.approvers).toEqual([]);
    await answerApproval(releaseId, { decision: 'rejected', identity: 'bob', reason: 'not during the SEV-1' }, w);
    expect(w.executions.answers).toHaveLength(1);
  });
});
