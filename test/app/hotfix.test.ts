/** The hotfix path through the use cases on in-memory ports: plan, record, audit, announcement, the gates, the two-person rule. */
import { describe, expect, it } from 'vitest';
import { analyzeCanaryStep } from '../../core/app/analyze-canary.js';
import { answerApproval } from '../../core/app/answer-approval.js';
import { ApprovalRefusedError } from '../../core/app/errors.js';
import { acquireReleaseLock } from '../../core/app/release-lock.js';
import { requestApproval } from '../../core/app/request-approval.js';
import { runGates } from '../../core/app/run-gates.js';
import { startPhase } from '../../core/app/start-phase.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { APPROVAL_REJECTED_ERROR } from '../../core/contracts.js';
import { DEFAULT_HOTFIX_PHASES } from '../../core/hotfix.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import type { MemoryPorts } from '../../local/memory.js';
import { EXECUTION_ARN, MANIFEST_TEXT, MODEL, canaryInput, exampleText, releaseInCanary, traffic, upload, world } from './helpers.js';

const HOTFIX = { reason: 'plans skip the foundation step', incident: 'INC-2041', requestedBy: 'alice', overrideFreeze: false };
const TOKEN = 'AQB8AAAAKgAAAAMAAAAAAAAAAcSECRET-TASK-TOKEN-HOTFIX';

/** A manifest text with `hotfix` added. */
const asHotfix = (text: string, hotfix: Record<string, unknown> = HOTFIX): string => JSON.stringify({ ...(JSON.parse(text) as object), hotfix });
const plans = { phases: DEFAULT_PHASES, hotfixPhases: DEFAULT_HOTFIX_PHASES };

describe('validateManifest: a hotfix', () => {
  it('gets the hotfix plan, is recorded on the release, audited and announced (P3) once', async () => {
    const w = world();
    const input = upload(w, asHotfix(MANIFEST_TEXT));
    const out = await validateManifest({ ...input, ...plans }, w);
    expect(out).toMatchObject({ valid: true, plan: DEFAULT_HOTFIX_PHASES });
    expect((await w.ledger.getRelease(input.releaseId))?.hotfix).toEqual(HOTFIX);
    const timeline = await w.ledger.timeline(input.releaseId);
    expect(timeline.map((e) => e.type)).toEqual(['received', 'validated', 'hotfix']);
    expect(timeline[2]).toMatchObject({ actor: 'step:ValidateManifest', detail: { ...HOTFIX, plan: DEFAULT_HOTFIX_PHASES } });

    const [n, ...more] = w.notifier.of('incident');
    expect(more).toEqual([]);
    expect(n).toMatchObject({ severity: 'P3', reason: 'hotfix', releaseId: input.releaseId, title: '[P3] BuilderBrain 2.1.0: HOTFIX for INC-2041 requested by alice; needs approval by another identity' });
    expect(n!.text).toContain('a hotfix for INC-2041, requested by alice: plans skip the foundation step.');
    expect(n!.text).toContain('Plan: 10% for 15 min (approval) → 100% for 15 min instead of 1% for 60 min (approval) → 10% for 60 min (approval) → 50% for 60 min (approval) → 100% for 60 min.');
    expect(n!.text).toContain('Every promotion gate');
    expect(n!.text).toContain(`every approval needs an identity other than alice (builderbrain approve ${input.releaseId})`);

    // A retried step records and announces nothing twice.
    await validateManifest({ ...input, ...plans }, w);
    expect((await w.ledger.timeline(input.releaseId)).map((e) => e.type)).toEqual(['received', 'validated', 'hotfix']);
    expect(w.notifier.of('incident')).toHaveLength(1);
  });

  it('a release that is not a hotfix runs `phases`, with no hotfix on its record and nothing announced', async () => {
    const w = world();
    const input = upload(w);
    const out = await validateManifest({ ...input, ...plans }, w);
    expect(out.plan).toEqual(DEFAULT_PHASES);
    expect((await w.ledger.getRelease(input.releaseId))?.hotfix).toBeUndefined();
    expect((await w.ledger.timeline(input.releaseId)).map((e) => e.type)).toEqual(['received', 'validated']);
    expect(w.notifier.notifications).toEqual([]);
  });

  it('without a hotfix plan (an environment that runs its own plan for hotfixes) a hotfix runs `phases`, still recorded', async () => {
    const w = world();
    const input = upload(w, asHotfix(MANIFEST_TEXT));
    const out = await validateManifest({ ...input, phases: DEFAULT_PHASES }, w);
    expect(out.plan).toEqual(DEFAULT_PHASES);
    expect((await w.ledger.getRelease(input.releaseId))?.hotfix).toEqual(HOTFIX);
    expect(w.notifier.of('incident')[0]!.text).toContain('Plan: 1% for 60 min (approval) → 10%');
  });

  it('an invalid hotfix field makes the manifest invalid, naming it; nothing is recorded as a hotfix', async () => {
    const w = world();
    const input = upload(w, asHotfix(MANIFEST_TEXT, { reason: ' ', incident: 'INC-1' }));
    const out = await validateManifest({ ...input, ...plans }, w);
    expect(out.valid).toBe(false);
    expect(out.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['hotfix.reason', 'hotfix.requestedBy']));
    expect((await w.ledger.getRelease(input.releaseId))?.hotfix).toBeUndefined();
    expect((await w.ledger.timeline(input.releaseId)).some((e) => e.type === 'hotfix')).toBe(false);
  });

  it('every gate still applies: a hotfix whose risk energy increases is rejected at the gate', async () => {
    const w = world();
    const input = upload(w, asHotfix(exampleText('fail-safety.json')));
    const v = await validateManifest({ ...input, ...plans }, w);
    expect(v.valid).toBe(true);
    const gates = await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy: DEFAULT_POLICY.gates });
    expect(gates.passed).toBe(false);
    expect(gates.checks.find((c) => c.name === 'safety')?.passed).toBe(false);
  });
});

describe('answerApproval: the two-person rule of a hotfix', () => {
  /** A hotfix validated, locked, gated, in its first (10%) phase and waiting for approval. */
  async function awaitingHotfix(w: MemoryPorts): Promise<string> {
    const input = upload(w, asHotfix(MANIFEST_TEXT));
    const v = await validateManifest({ ...input, ...plans }, w);
    await acquireReleaseLock({ releaseId: input.releaseId, model: MODEL }, w);
    await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy: DEFAULT_POLICY.gates });
    const phase = await startPhase({ ...canaryInput(input.releaseId, v.plan!), phaseIndex: 0, executionArn: EXECUTION_ARN }, w);
    traffic(w, 15, () => ({}), 10);
    const analysed = await analyzeCanaryStep({ releaseId: input.releaseId, model: MODEL, version: '2.1.0', phase: { ...phase, iteration: phase.looks - 1 } }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    await requestApproval({ taskToken: TOKEN, releaseId: input.releaseId, model: MODEL, version: '2.1.0', phase: analysed }, w);
    return input.releaseId;
  }

  it.each([
    ['the same identity', 'alice'],
    ['the same person behind an assumed role', 'arn:aws:sts::111111111111:assumed-role/ReleaseApprover/alice'],
    ['the same person locally', 'local:Alice'],
  ])('%s is refused, with a clear message, and nothing changes', async (_, identity) => {
    const w = world();
    const releaseId = await awaitingHotfix(w);
    const before = await w.ledger.getRelease(releaseId);
    expect(before?.status).toBe('awaiting_approval');
    const refused = answerApproval(releaseId, { decision: 'approved', identity }, w);
    await expect(refused).rejects.toBeInstanceOf(ApprovalRefusedError);
    await expect(refused).rejects.toThrow(`${identity}${identity === 'alice' ? '' : ' (alice)'} requested hotfix INC-2041 and cannot also approve it: a second identity must`);
    expect(w.executions.answers).toEqual([]);
    expect(await w.ledger.getTaskToken(releaseId, 0)).toBe(TOKEN);
    expect(await w.ledger.getRelease(releaseId)).toEqual(before);
    expect((await w.ledger.timeline(releaseId)).some((e) => e.type === 'approved')).toBe(false);
  });

  it('a second identity approves it', async () => {
    const w = world();
    const releaseId = await awaitingHotfix(w);
    expect(await answerApproval(releaseId, { decision: 'approved', identity: 'bob' }, w)).toEqual({ releaseId, phase: 0, decision: 'approved' });
    expect(w.executions.answers).toEqual([expect.objectContaining({ token: TOKEN, kind: 'success' })]);
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'canary', approvers: [{ phase: 0, identity: 'bob', decision: 'approved' }] });
  });

  it('its requester may still reject it', async () => {
    const w = world();
    const releaseId = await awaitingHotfix(w);
    await answerApproval(releaseId, { decision: 'rejected', identity: 'alice', reason: 'the fix is incomplete' }, w);
    expect(w.executions.answers).toEqual([{ token: TOKEN, kind: 'failure', error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify({ actor: 'alice', note: 'the fix is incomplete' }) }]);
  });

  it('a release that is not a hotfix has no such rule', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await requestApproval({ taskToken: TOKEN, releaseId, model: MODEL, version: '2.1.0', phase }, w);
    expect((await answerApproval(releaseId, { decision: 'approved', identity: 'alice' }, w)).decision).toBe('approved');
  });
});
