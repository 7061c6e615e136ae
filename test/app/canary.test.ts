import { describe, expect, it } from 'vitest';
import { analyzeCanaryStep } from '../../core/app/analyze-canary.js';
import { answerApproval } from '../../core/app/answer-approval.js';
import { NothingWaitingError, ReleaseNotActiveError } from '../../core/app/errors.js';
import { promote } from '../../core/app/promote.js';
import { requestApproval } from '../../core/app/request-approval.js';
import { rollback } from '../../core/app/rollback.js';
import { runGates } from '../../core/app/run-gates.js';
import { startPhase } from '../../core/app/start-phase.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { APPROVAL_REJECTED_ERROR, PhaseStateSchema, type PhaseState } from '../../core/contracts.js';
import { sageMakerNames, type Deployment } from '../../core/deployment.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import type { MemoryPorts } from '../../local/memory.js';
import { EXECUTION_ARN, MODEL, canaryInput, minute, releaseInCanary, traffic, upload, world } from './helpers.js';

const canaryPolicy = DEFAULT_POLICY.canary;
const TOKEN = 'AQB8AAAAKgAAAAMAAAAAAAAAAcSECRET-TASK-TOKEN-1234567890';

async function look(w: MemoryPorts, releaseId: string, phase: PhaseState) {
  return analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, canaryPolicy });
}

describe('startPhase', () => {
  it('sets the weight, records the canary on the release and opens the bounded loop', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    expect(PhaseStateSchema.parse(phase)).toEqual(phase);
    expect(phase).toEqual({
      index: 0,
      weight: 1,
      monitorMinutes: 60,
      requiresApproval: true,
      lookEveryMinutes: 1,
      lookEverySeconds: 60,
      looks: 60,
      iteration: 0,
      startedAt: '2025-03-01T10:00:00.000Z',
      isLast: false,
      nextIndex: 1,
      action: null,
      verdict: null,
      noDataLooks: 0,
    });
    expect(await w.router.current(MODEL)).toEqual({ baseline: 99, candidate: 1 });
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'canary', phase: 0, weight: 1, canaryExecutionArn: EXECUTION_ARN });
    const started = (await w.ledger.timeline(releaseId)).find((e) => e.type === 'phase_started');
    expect(started).toMatchObject({ weight: 1, phase: 0, eventId: 'phase_started:0' });
  });

  it('long phases look less often (planLooks) and the last phase says so', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const phases = [{ weight: 10, monitorMinutes: 1440, requiresApproval: false }, { weight: 100, monitorMinutes: 60, requiresApproval: false }];
    const p = await startPhase({ ...canaryInput(releaseId, phases), phaseIndex: 1, executionArn: EXECUTION_ARN }, w);
    expect(p).toMatchObject({ index: 1, weight: 100, isLast: true, nextIndex: 2 });
    const p0 = await startPhase({ ...canaryInput(releaseId, phases), phaseIndex: 0, executionArn: EXECUTION_ARN }, w);
    expect(p0).toMatchObject({ lookEveryMinutes: 12, lookEverySeconds: 720, looks: 120 });
  });

  it('never gives traffic to a release rolled back meanwhile', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'stop' }, stopExecution: false }, w);
    await expect(startPhase({ ...canaryInput(releaseId), phaseIndex: 1, executionArn: EXECUTION_ARN }, w)).rejects.toBeInstanceOf(ReleaseNotActiveError);
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
  });

  describe('a first release (the recorded deployment has no baseline)', () => {
    /** A gated release whose DeployCandidate recorded `baseline` (null: no endpoint before it). */
    async function gatedWith(w: MemoryPorts, baseline: Deployment['baseline']): Promise<string> {
      const input = upload(w);
      const v = await validateManifest(input, w);
      await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy: DEFAULT_POLICY.gates });
      const names = sageMakerNames('bb-endpoint', input.releaseId, '2.1.0');
      const deployment: Deployment = {
        target: 'sagemaker',
        resource: 'bb-endpoint',
        releaseId: input.releaseId,
        version: '2.1.0',
        artifact: v.manifest!.artifact,
        baseline,
        candidate: { slot: 'canary', model: names.model, version: '2.1.0', instanceType: 'ml.g5.xlarge', instanceCount: 1 },
        configs: { candidate: names.candidateConfig, converged: names.convergedConfig, restore: names.restoreConfig },
      };
      await w.ledger.update(input.releaseId, { deployment });
      return input.releaseId;
    }

    it('starts the last phase (100%) whatever phase is asked for, and audits firstRelease', async () => {
      const w = world();
      const releaseId = await gatedWith(w, null);
      const p = await startPhase({ ...canaryInput(releaseId), phaseIndex: 0, executionArn: EXECUTION_ARN }, w);
      expect(p).toMatchObject({ index: 3, weight: 100, requiresApproval: false, isLast: true, nextIndex: 4, monitorMinutes: 60 });
      expect(await w.router.current(MODEL)).toEqual({ baseline: 0, candidate: 100 });
      expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'canary', phase: 3, weight: 100 });
      const started = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'phase_started');
      expect(started).toHaveLength(1);
      expect(started[0]).toMatchObject({ eventId: 'phase_started:3', phase: 3, weight: 100 });
      expect(started[0]!.detail).toMatchObject({
        firstRelease: true,
        judgedOn: 'no baseline to compare with: the absolute rules (safety incidents, the constraint-violation ceiling) and the smoke tests',
      });
    });

    it('a release with a baseline (or none recorded) runs the phase asked for, without firstRelease', async () => {
      const withBaseline = world();
      const a = await gatedWith(withBaseline, { slot: 'baseline', model: 'bb-model-2-0-3', config: 'bb-endpoint-initial-config', instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true });
      const noneRecorded = world();
      const b = upload(noneRecorded);
      const v = await validateManifest(b, noneRecorded);
      await runGates({ releaseId: b.releaseId, manifest: v.manifest! }, { ...noneRecorded, gatePolicy: DEFAULT_POLICY.gates });
      for (const [w, releaseId] of [[withBaseline, a], [noneRecorded, b.releaseId]] as const) {
        const p = await startPhase({ ...canaryInput(releaseId), phaseIndex: 0, executionArn: EXECUTION_ARN }, w);
        expect(p).toMatchObject({ index: 0, weight: 1 });
        const started = (await w.ledger.timeline(releaseId)).find((e) => e.type === 'phase_started');
        expect(started?.detail).not.toHaveProperty('firstRelease');
      }
    });
  });

  it('names a phase index past the plan', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await expect(startPhase({ ...canaryInput(releaseId), phaseIndex: 4, executionArn: EXECUTION_ARN }, w)).rejects.toThrow(/phaseIndex: 4 is past the last phase \(3\)/);
  });
});

describe('analyzeCanary', () => {
  it('healthy traffic: pass, keep watching; the look is audited once and kept as the last verdict', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 10);
    const next = await look(w, releaseId, phase);
    expect(next).toMatchObject({ iteration: 1, action: 'continue', verdict: { verdict: 'pass' } });
    expect(next.verdict.sample.minutes).toBe(10);
    const events = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'analysis');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ eventId: 'analysis:0:0001', phase: 0, weight: 1, detail: { verdict: 'pass', action: 'continue', iteration: 1 } });
    expect((await w.ledger.getRelease(releaseId))?.lastVerdict).toMatchObject({ verdict: 'pass', at: '2025-03-01T10:10:00.000Z' });
    // A retried look (same iteration) is not audited twice.
    await look(w, releaseId, phase);
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'analysis')).toHaveLength(1);
  });

  it('too little evidence is inconclusive; at the last look a person decides', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 1);
    expect(await look(w, releaseId, phase)).toMatchObject({ verdict: { verdict: 'inconclusive' }, action: 'continue' });
    expect(await look(w, releaseId, { ...phase, iteration: phase.looks - 1 })).toMatchObject({ verdict: { verdict: 'inconclusive' }, action: 'await_approval' });
  });

  it('a safety incident on the canary fails at once: rollback', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 5, (i) => (i === 3 ? { safetyIncidents: 1 } : {}));
    const next = await look(w, releaseId, phase);
    expect(next).toMatchObject({ action: 'rollback', verdict: { verdict: 'fail', reason: 'safety_violation', severity: 'P0' } });
  });

  it('a healthy phase at its last look advances (no approval) or waits for approval', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 10);
    const last = { ...phase, iteration: phase.looks - 1 };
    expect((await look(w, releaseId, last)).action).toBe('await_approval');
    expect((await look(w, releaseId, { ...last, requiresApproval: false })).action).toBe('advance');
  });
});

describe('requestApproval and the answer', () => {
  async function awaiting(w: MemoryPorts, minutes = 10) {
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, minutes);
    const analysed = await look(w, releaseId, { ...phase, iteration: phase.looks - 1 });
    await requestApproval({ taskToken: TOKEN, releaseId, model: MODEL, version: '2.1.0', phase: analysed }, w);
    return { releaseId, analysed };
  }

  it('stores the token, asks the approvers with evidence and the exact commands, never the token', async () => {
    const w = world();
    const { releaseId, analysed } = await awaiting(w);
    expect(await w.ledger.getTaskToken(releaseId, 0)).toBe(TOKEN);
    expect((await w.ledger.getRelease(releaseId))?.status).toBe('awaiting_approval');
    const [n] = w.notifier.of('approval');
    expect(n).toMatchObject({ channel: 'approval', severity: null, reason: 'approval_requested', releaseId });
    expect(n!.text).toContain(`builderbrain approve ${releaseId}`);
    expect(n!.text).toContain(`builderbrain reject ${releaseId} --reason "…"`);
    expect(n!.text).toContain('Phase 1 at 1% canary traffic');
    for (const e of analysed.verdict.evidence) expect(n!.text).toContain(e.message);
    expect(JSON.stringify(w.notifier.notifications)).not.toContain(TOKEN);
    expect(JSON.stringify(await w.ledger.timeline(releaseId))).not.toContain(TOKEN);
  });

  it('says when the evidence was insufficient', async () => {
    const w = world();
    await awaiting(w, 1);
    expect(w.notifier.of('approval')[0]!.text).toContain('evidence was insufficient');
  });

  it('approve: the token answers the task once, the approver is recorded', async () => {
    const w = world();
    const { releaseId } = await awaiting(w);
    expect(await answerApproval(releaseId, { decision: 'approved', identity: 'alice' }, w)).toEqual({ releaseId, phase: 0, decision: 'approved' });
    expect(w.executions.answers).toEqual([{ token: TOKEN, kind: 'success', output: { approvedBy: 'alice', at: '2025-03-01T10:10:00.000Z' } }]);
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'canary', approvers: [{ phase: 0, identity: 'alice', decision: 'approved' }] });
    expect(await w.ledger.getTaskToken(releaseId, 0)).toBeNull();
    await expect(answerApproval(releaseId, { decision: 'approved', identity: 'alice' }, w)).rejects.toBeInstanceOf(NothingWaitingError);
  });

  it('reject: SendTaskFailure with the Rejected error and a JSON cause for the manual rollback', async () => {
    const w = world();
    const { releaseId } = await awaiting(w);
    await answerApproval(releaseId, { decision: 'rejected', identity: 'bob', reason: 'latency looks off' }, w);
    expect(w.executions.answers).toEqual([{ token: TOKEN, kind: 'failure', error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify({ actor: 'bob', note: 'latency looks off' }) }]);
    expect((await w.ledger.timeline(releaseId)).find((e) => e.type === 'approval_rejected')).toMatchObject({ actor: 'bob', detail: { reason: 'latency looks off' } });
  });
});

describe('promote', () => {
  it('the candidate becomes the baseline; audited, announced; a retry changes nothing', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    const input = { releaseId, model: MODEL, version: '2.1.0', phase };
    expect(await promote(input, w)).toEqual({ outcome: 'promoted', releaseId, model: MODEL, version: '2.1.0' });
    expect(w.router.log.at(-1)).toEqual({ op: 'promoteCandidate', model: MODEL });
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'promoted', weight: 100, outcome: { status: 'promoted' } });
    expect((await w.ledger.timeline(releaseId)).at(-1)).toMatchObject({ type: 'promoted', eventId: 'promoted' });
    expect(w.notifier.of('info')).toHaveLength(1);
    expect(w.notifier.of('info')[0]!.title).toBe('BuilderBrain 2.1.0 promoted: now the baseline at 100%');
    expect((await promote(input, w)).outcome).toBe('already_promoted');
    expect(w.notifier.notifications).toHaveLength(1);
  });

  it('refuses to promote a rolled-back release and leaves traffic alone', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'no' }, stopExecution: false }, w);
    await expect(promote({ releaseId, model: MODEL, version: '2.1.0', phase }, w)).rejects.toBeInstanceOf(ReleaseNotActiveError);
    expect(w.router.log.some((l) => l.op === 'promoteCandidate')).toBe(false);
  });
});

describe('analyzeCanaryStep: holds, not rollbacks, when the evidence is about the fleet', () => {
  it('metrics that cannot be read: inconclusive, then a hold paged once (P1), never a failed step or a rollback', async () => {
    const w = world();
    const start = await releaseInCanary(w);
    const releaseId = start.releaseId;
    let phase: PhaseState = start.phase;
    traffic(w, 10);
    const failing = { window: async () => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) };
    const verdicts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const out = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, metrics: failing, canaryPolicy });
      verdicts.push(`${out.verdict.verdict}:${out.action}`);
      phase = PhaseStateSchema.parse(out);
    }
    expect(verdicts).toEqual(['inconclusive:continue', 'inconclusive:continue', 'hold:continue', 'hold:continue', 'hold:continue']);
    expect(phase.noDataLooks).toBe(5);
    const pages = w.notifier.of('incident');
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ severity: 'P1', reason: 'hold' });
    expect(pages[0]!.title).toContain('canary metrics unavailable');
    expect(pages[0]!.text).toContain('ThrottlingException');
    // metrics back: the count resets and the phase is judged again
    const back = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, canaryPolicy });
    expect(back.noDataLooks).toBe(0);
    expect(back.verdict.verdict).not.toBe('hold');
  });

  it('a fleet-wide violation surge on both variants: hold and one P1 page, no rollback', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    for (let i = 0; i < 30; i++) {
      const surge = i >= 20;
      w.metrics.put(MODEL, w.clock.now(), {
        canary: minute(600, i, surge ? { constraintViolations: 48 } : {}),
        baseline: minute(5400, i + 3, surge ? { constraintViolations: 432 } : {}),
      });
      w.clock.advanceMinutes(1);
    }
    const first = await look(w, releaseId, phase);
    const again = await look(w, releaseId, PhaseStateSchema.parse(first));
    expect(first.verdict).toMatchObject({ verdict: 'hold', hold: { reason: 'fleet_wide' } });
    expect(first.action).toBe('continue');
    expect(again.verdict.verdict).toBe('hold');
    expect(w.notifier.of('incident')).toHaveLength(1);
    expect(w.notifier.of('incident')[0]!.title).toContain('fleet-wide incident');
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'hold')).toHaveLength(1);
    expect((await w.ledger.getRelease(releaseId))!.status).toBe('canary');
  });
});

describe('analyzeCanaryStep: latency thresholds fixed once per phase', () => {
  it('before the warm-up is over: no thresholds; then fixed from the baseline, counted per request, and kept in the phase state', async () => {
    const w = world();
    const start = await releaseInCanary(w);
    const queries: (object | null | undefined)[] = [];
    const spy = { window: async (q: Parameters<MemoryPorts['metrics']['window']>[0]) => (queries.push(q.latencyThresholdsMs), w.metrics.window(q)) };
    const put = (i: number) => {
      w.metrics.put(MODEL, w.clock.now(), { canary: minute(600, i), baseline: minute(5400, i + 3, { latencyP99: 640 + i }) });
      w.clock.advanceMinutes(1);
    };
    for (let i = 0; i < 3; i++) put(i);
    const early = await analyzeCanaryStep({ releaseId: start.releaseId, model: MODEL, version: '2.1.0', phase: start.phase }, { ...w, metrics: spy, canaryPolicy });
    expect(early.latencyThresholdsMs).toBeNull();
    expect(queries).toEqual([null]);
    for (let i = 3; i < 7; i++) put(i);
    const fixed = await analyzeCanaryStep({ releaseId: start.releaseId, model: MODEL, version: '2.1.0', phase: PhaseStateSchema.parse(early) }, { ...w, metrics: spy, canaryPolicy });
    // the baseline's p99 over minutes 0–4 (640 + i): median 642
    expect(fixed.latencyThresholdsMs).toMatchObject({ p99: 642 });
    expect(queries.slice(1)).toEqual([null, fixed.latencyThresholdsMs]);
    put(7);
    const next = await analyzeCanaryStep({ releaseId: start.releaseId, model: MODEL, version: '2.1.0', phase: PhaseStateSchema.parse(fixed) }, { ...w, metrics: spy, canaryPolicy });
    expect(next.latencyThresholdsMs).toEqual(fixed.latencyThresholdsMs);
    expect(queries.slice(3)).toEqual([fixed.latencyThresholdsMs]);
  });
});
