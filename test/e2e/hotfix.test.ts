/**
 * The `hotfix` scenario through the whole local pipeline (simulate(): the synthesized state machines,
 * the real handlers, the simulated fleet): the expedited plan, every gate as usual, the emergency
 * review by a second identity — and its requester refused.
 */
import { describe, expect, it } from 'vitest';
import { ApprovalRefusedError } from '../../core/app/errors.js';
import type { EmbeddedRuntime } from '../../local/runtime.js';
import type { ProgressEvent } from '../../local/progress.js';
import { HOTFIX_SCENARIO, ScenarioSchema, defaultManifest } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';
import { builtin, defaultRun, runsOf } from './helpers.js';

/** Minutes: deploying (provisioning), the two 15-minute phases, the bake period, converging. */
const PROVISION = 6;
const BAKE = 30;

describe('the hotfix scenario', () => {
  it('runs the expedited plan (10% → 100%, 15 minutes each), approved by a second identity, and is promoted', async () => {
    const { summary } = await defaultRun('hotfix');
    expect(summary).toMatchObject({ outcome: 'promoted', phaseReached: 100, release: { model: 'builderbrain', version: '2.0.4' }, rollback: null, finalTraffic: { baseline: 0, candidate: 100 } });
    expect(summary.audit.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([10, 100]);
    expect(summary.simulatedMinutes).toBe(PROVISION + 15 + 15 + BAKE + PROVISION);
    expect(summary.hotfix).toEqual({
      incident: 'INC-2041',
      reason: HOTFIX_SCENARIO.reason,
      requestedBy: 'alice@example.com',
      plan: [
        { weight: 10, monitorMinutes: 15, requiresApproval: true },
        { weight: 100, monitorMinutes: 15, requiresApproval: false },
      ],
      approvedBy: ['local-operator'],
    });
    // Announced once, P3, naming who may not approve it.
    expect(summary.incidents).toEqual([{ severity: 'P3', reason: 'hotfix', title: '[P3] BuilderBrain 2.0.4: HOTFIX for INC-2041 requested by alice@example.com; needs approval by another identity' }]);
  });

  it('goes through every gate, the digest check and the smoke test as any release does; the hotfix is on the timeline', async () => {
    const { summary } = await defaultRun('hotfix');
    expect(summary.gate).toMatchObject({ passed: true });
    expect(summary.gate!.checks.map((c) => c.name)).toEqual(['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility']);
    expect(runsOf(summary.audit).map(([t]) => t)).toEqual([
      'received', 'validated', 'hotfix', 'lock_acquired', 'gate_check', 'artifact_verified', 'serving', 'smoke_test',
      'phase_started', 'analysis', 'approval_requested', 'approved', 'phase_started', 'analysis', 'promoted', 'serving', 'lock_released',
    ]);
    const approved = summary.audit.find((e) => e.type === 'approved')!;
    expect(approved).toMatchObject({ actor: 'local-operator', weight: 10 });
  });

  it('its requester cannot approve it: refused, nothing changes; the second identity then approves', async () => {
    const refusals: unknown[] = [];
    const { summary } = await simulate({
      scenario: builtin('hotfix'),
      approvals: async (request, runtime) => {
        // As `builderbrain approve` by alice would: through the same use case, refused by the core.
        await (runtime as EmbeddedRuntime).answer(request.releaseId, 'approve', 'alice@example.com').catch((err: unknown) => refusals.push(err));
        return 'approve';
      },
    });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toBeInstanceOf(ApprovalRefusedError);
    expect((refusals[0] as Error).message).toContain('alice@example.com requested hotfix INC-2041 and cannot also approve it: a second identity must');
    expect(summary.outcome).toBe('promoted');
    expect(summary.hotfix?.approvedBy).toEqual(['local-operator']);
    expect(summary.audit.filter((e) => e.type === 'approved').map((e) => e.actor)).toEqual(['local-operator']);
  });

  it('requested by the simulation\'s own approver: its approval is refused, waits and times out — rolled back, never promoted', async () => {
    const progress: ProgressEvent[] = [];
    const scenario = ScenarioSchema.parse({ ...builtin('hotfix'), name: 'hotfix-self-approved', manifest: { ...builtin('hotfix').manifest, hotfix: { ...HOTFIX_SCENARIO, requestedBy: 'local-operator' } } });
    const { summary } = await simulate({ scenario, config: { approvalTimeoutMinutes: 10 }, onProgress: (e) => progress.push(e) });
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.phaseReached).toBe(10);
    expect(summary.audit.some((e) => e.type === 'approved')).toBe(false);
    // Said once, not every minute it waited.
    expect(progress.filter((e) => e.text.includes('refused'))).toEqual([
      expect.objectContaining({ kind: 'approval', text: 'phase 1 approval by local-operator refused: local-operator requested hotfix INC-2041 and cannot also approve it: a second identity must' }),
    ]);
  });

  it('a hotfix that fails a gate is rejected: no traffic moves', async () => {
    const manifest = defaultManifest({ version: '2.0.4', releaseType: 'patch', hotfix: HOTFIX_SCENARIO, shadowEvaluation: { ...defaultManifest().shadowEvaluation, riskEnergy: { candidate: 0.47, baseline: 0.43 } } });
    const scenario = ScenarioSchema.parse({ ...builtin('hotfix'), name: 'hotfix-unsafe', manifest });
    const { summary } = await simulate({ scenario });
    expect(summary).toMatchObject({ outcome: 'rejected', phaseReached: 0, finalTraffic: { baseline: 100, candidate: 0 } });
    expect(summary.gate!.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['safety']);
    expect(summary.audit.map((e) => e.type)).toEqual(expect.arrayContaining(['hotfix', 'rejected']));
    expect(summary.audit.some((e) => e.type === 'phase_started')).toBe(false);
  });
});
