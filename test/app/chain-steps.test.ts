/**
 * The environment chain's use cases on in-memory ports: verification hooks, the rollback drill,
 * the hand-over (sender and receiver) and the receiver's admission of an uploaded manifest.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptHandover } from '../../core/app/accept-handover.js';
import { drill } from '../../core/app/drill.js';
import { handOver } from '../../core/app/hand-over.js';
import { handoverLedgerId } from '../../core/app/ids.js';
import { promote } from '../../core/app/promote.js';
import { runHooks } from '../../core/app/run-hooks.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { EnvironmentsSchema, HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE, HookSchema, type EnvironmentSettings } from '../../core/environments.js';
import { admitHandover, handoverEntry, MAX_EVENT_ENTRY_BYTES, type HandoverDetail, type HandoverEvent } from '../../core/handover.js';
import { parseManifestText } from '../../core/manifest.js';
import type { HandoverEntry, HookInvoker } from '../../core/ports.js';
import { judgeDrill, judgeHookCall, type HookCall } from '../../core/verification.js';
import { LocalHandoverBus, LocalHookInvoker, LocalUpstreamArtifacts } from '../../local/chain-ports.js';
import { MemoryArtifactStore } from '../../local/memory.js';
import { MANIFEST_TEXT, MODEL, minute, releaseInCanary, upload, world } from './helpers.js';

const ACCOUNTS = { staging: '111111111111', pre: '222222222222', prod: '333333333333' } as const;
const hook = (name: string, stage: 'before_traffic' | 'during_phase' | 'after_phase', extra: Record<string, unknown> = {}) =>
  HookSchema.parse({ name, stage, functionArn: `arn:aws:lambda:eu-west-1:${ACCOUNTS.staging}:function:${name}`, timeoutSeconds: 60, ...extra });

function env(over: Partial<EnvironmentSettings> = {}): EnvironmentSettings {
  return { name: 'staging', index: 0, of: 3, previous: null, next: null, endpoint: 'sagemaker:bb-staging', hooks: [], drillMinutes: null, ...over };
}
const PRE: EnvironmentSettings = env({ name: 'pre-production', index: 1, previous: { name: 'staging', account: ACCOUNTS.staging }, next: { name: 'production', eventBusArn: `arn:aws:events:eu-west-1:${ACCOUNTS.prod}:event-bus/bb-handover` } });
const PROD: EnvironmentSettings = env({ name: 'production', index: 2, previous: { name: 'pre-production', account: ACCOUNTS.pre }, next: null });
const MANIFEST = (() => {
  const m = parseManifestText(MANIFEST_TEXT);
  if (!m.ok) throw new Error('fixture');
  return m.value;
})();

describe('verification hooks', () => {
  it('a stage without hooks passes with nothing invoked', async () => {
    const w = world();
    const out = await runHooks({ releaseId: 'r1', model: MODEL, version: '2.1.0', stage: 'before_traffic' }, { ...w, hooks: new LocalHookInvoker(), environment: env() });
    expect(out).toEqual({ passed: true, stage: 'before_traffic', results: [], failure: null, severity: null });
  });

  it('runs the stage hooks in order, audits each answer, stops at the first failure (P3 before traffic)', async () => {
    const w = world();
    const invoker = new LocalHookInvoker({ compat: 'fail' });
    const e = env({ hooks: [hook('integration', 'before_traffic'), hook('compat', 'before_traffic'), hook('never-run', 'before_traffic'), hook('load', 'during_phase')] });
    const out = await runHooks({ releaseId: 'r1', model: MODEL, version: '2.1.0', stage: 'before_traffic' }, { ...w, hooks: invoker, environment: e });
    expect(out.passed).toBe(false);
    expect(out.severity).toBe('P3');
    expect(out.failure?.hook).toBe('compat');
    expect(invoker.calls.map((c) => c.hook)).toEqual(['integration', 'compat']);
    const events = (await w.ledger.timeline('r1')).filter((x) => x.type === 'hook');
    expect(events.map((x) => [x.actor, x.type === 'hook' && x.detail.passed])).toEqual([
      ['hook:integration', true],
      ['hook:compat', false],
    ]);
  });

  it('a during-phase hook runs only in the phases it names; its timeout fails the phase as P1', async () => {
    const w = world();
    const e = env({ hooks: [hook('load', 'during_phase', { phases: [50] })] });
    const deps = { ...w, hooks: new LocalHookInvoker({ load: 'timeout' }), environment: e };
    const at10 = await runHooks({ releaseId: 'r1', model: MODEL, version: '2.1.0', stage: 'during_phase', phase: { index: 1, weight: 10 } }, deps);
    expect(at10.results).toEqual([]);
    const at50 = await runHooks({ releaseId: 'r1', model: MODEL, version: '2.1.0', stage: 'during_phase', phase: { index: 2, weight: 50 } }, deps);
    expect(at50).toMatchObject({ passed: false, severity: 'P1', failure: { hook: 'load', message: 'no answer within 60 s' } });
  });

  it('fails closed: no answer shape other than {status: "passed"} passes', () => {
    const h = hook('x', 'after_phase');
    fc.assert(
      fc.property(fc.anything(), (payload) => {
        const r = judgeHookCall(h, { kind: 'answered', payload, durationMs: 1 });
        const passes = typeof payload === 'object' && payload !== null && (payload as { status?: unknown }).status === 'passed';
        return r.passed ? passes : true;
      }),
    );
    expect(judgeHookCall(h, { kind: 'answered', payload: { status: 'PASSED' }, durationMs: 1 }).passed).toBe(false);
    expect(judgeHookCall(h, { kind: 'error', message: 'AccessDeniedException: not authorized', durationMs: 1 })).toMatchObject({ passed: false, message: 'the hook failed: AccessDeniedException: not authorized' });
  });

  it('asks the hook with the release, the environment, the endpoint and the stage', async () => {
    const w = world();
    const seen: unknown[] = [];
    const invoker: HookInvoker = { invoke: async (arn, request, timeoutMs): Promise<HookCall> => (seen.push({ arn, request, timeoutMs }), { kind: 'answered', payload: { status: 'passed' }, durationMs: 5 }) };
    await runHooks({ releaseId: 'r1', model: MODEL, version: '2.1.0', stage: 'after_phase', phase: { index: 0, weight: 100 } }, { ...w, hooks: invoker, environment: env({ hooks: [hook('kpi', 'after_phase')] }) });
    expect(seen).toEqual([
      {
        arn: `arn:aws:lambda:eu-west-1:${ACCOUNTS.staging}:function:kpi`,
        request: { releaseId: 'r1', model: MODEL, version: '2.1.0', environment: 'staging', endpoint: 'sagemaker:bb-staging', stage: 'after_phase', hook: 'kpi', phase: 0, weight: 100 },
        timeoutMs: 60_000,
      },
    ]);
  });
});

describe('the rollback drill', () => {
  const input = { releaseId: 'r1', model: MODEL, version: '2.1.0', phase: { index: 1, weight: 100 } };

  it('rolls the candidate back to 0%, judges the baseline alone after the drill minutes, restores the phase weight', async () => {
    const w = world();
    const deps = { ...w, environment: env({ drillMinutes: 5 }) };
    await w.router.setCandidateWeight(MODEL, 100);
    const started = await drill({ action: 'rollback', ...input }, deps);
    expect(started).toMatchObject({ action: 'rollback', waitSeconds: 300, passed: true });
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    for (let i = 0; i < 5; i++) {
      // The first minute still drains candidate requests; the drill judges the minutes after it.
      w.metrics.put(MODEL, w.clock.now(), { canary: minute(i === 0 ? 300 : 0, i), baseline: minute(6000, i) });
      w.clock.advanceMinutes(1);
    }
    const verdict = await drill({ action: 'verify', ...input, drill: { startedAt: started.startedAt } }, deps);
    expect(verdict).toMatchObject({ action: 'verify', passed: true });
    expect(verdict.message).toMatch(/baseline served all 24000 request\(s\) alone for 4 minute/);
    await drill({ action: 'restore', ...input }, deps);
    expect(await w.router.current(MODEL)).toEqual({ baseline: 0, candidate: 100 });
    expect((await w.ledger.timeline('r1')).map((e) => e.type === 'drill' && e.detail.action)).toEqual(['rollback', 'verify', 'restore']);
  });

  it('fails when the router still sends traffic, when the baseline serves nothing, or with no data', () => {
    const m = (c: number, b: number, i: number) => ({ minute: i, canary: minute(c, i), baseline: minute(b, i) });
    expect(judgeDrill({ baseline: 90, candidate: 10 }, [m(0, 6000, 0), m(0, 6000, 1)], 0.05)).toMatchObject({ passed: false, message: expect.stringMatching(/still sends 10%/) });
    expect(judgeDrill({ baseline: 100, candidate: 0 }, [m(0, 6000, 0), m(0, 0, 1)], 0.05)).toMatchObject({ passed: false, message: expect.stringMatching(/served no request in 1 of 1/) });
    expect(judgeDrill({ baseline: 100, candidate: 0 }, [m(0, 6000, 0)], 0.05)).toMatchObject({ passed: false, message: expect.stringMatching(/no minute/) });
    expect(judgeDrill({ baseline: 100, candidate: 0 }, [m(0, 6000, 0), m(40, 6000, 1)], 0.05)).toMatchObject({ passed: false, message: expect.stringMatching(/candidate still served 40/) });
    const broken = { minute: 1, canary: minute(0, 1), baseline: minute(6000, 1, { errors: 600 }) };
    expect(judgeDrill({ baseline: 100, candidate: 0 }, [m(0, 6000, 0), broken], 0.05)).toMatchObject({ passed: false, message: expect.stringMatching(/error rate of 10.00%/) });
  });
});

/** A release of MODEL promoted in `w` (through the real use cases). */
async function promoted(w: ReturnType<typeof world>) {
  const { releaseId, phase } = await releaseInCanary(w);
  await w.ledger.append({ releaseId, eventId: 'approved:0', at: w.clock.now().toISOString(), type: 'approved', actor: 'alice@example.com', phase: 0, weight: 1, detail: {} });
  await promote({ releaseId, model: MODEL, version: '2.1.0', phase: { index: phase.index, weight: phase.weight } }, w);
  return releaseId;
}

describe('hand-over: the sender', () => {
  it('the last environment hands over nothing', async () => {
    const w = world();
    const out = await handOver({ releaseId: 'r1', model: MODEL, version: '2.1.0' }, { ...w, bus: new LocalHandoverBus(), environment: PROD });
    expect(out).toEqual({ sent: false, to: null, bytes: 0 });
  });

  it('sends one event to the next bus with the manifest, the digest and the trail; a retry sends nothing more', async () => {
    const w = world();
    const releaseId = await promoted(w);
    const bus = new LocalHandoverBus();
    const out = await handOver({ releaseId, model: MODEL, version: '2.1.0' }, { ...w, bus, environment: PRE });
    expect(out).toMatchObject({ sent: true, to: 'production' });
    expect(bus.sent).toHaveLength(1);
    const entry = bus.sent[0]!;
    expect(entry).toMatchObject({ Source: HANDOVER_SOURCE, DetailType: HANDOVER_DETAIL_TYPE, EventBusName: PRE.next!.eventBusArn });
    const detail = JSON.parse(entry.Detail) as HandoverDetail;
    expect(detail).toMatchObject({ model: MODEL, version: '2.1.0', from: { environment: 'pre-production', releaseId }, to: 'production', artifact: { sha256: MANIFEST.artifact.sha256 } });
    expect(detail.trail).toEqual([expect.objectContaining({ environment: 'pre-production', outcome: 'promoted', approvals: [expect.objectContaining({ by: 'alice@example.com' })] })]);
    await handOver({ releaseId, model: MODEL, version: '2.1.0' }, { ...w, bus, environment: PRE });
    expect(bus.sent).toHaveLength(1);
  });

  it('refuses to hand over a release that is not released', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await expect(handOver({ releaseId, model: MODEL, version: '2.1.0' }, { ...w, bus: new LocalHandoverBus(), environment: PRE })).rejects.toThrow(/not released/);
  });

  it('checks the event size in bytes before the call', () => {
    const detail = { model: MODEL, version: '2.1.0', from: { environment: 'pre-production', releaseId: 'r1' }, to: 'production', artifact: { bucket: 'b', key: 'models/x', sha256: MANIFEST.artifact.sha256 }, manifest: MANIFEST, promotedAt: 'now', trail: [] as HandoverDetail['trail'] };
    const big = { ...detail, trail: [{ environment: 'staging', account: null, releaseId: 'é'.repeat(MAX_EVENT_ENTRY_BYTES / 2), outcome: 'promoted' as const, startedAt: '', endedAt: null, phases: [], approvals: [], hooks: [], drill: null }] };
    expect(() => handoverEntry(big, 'arn:bus')).toThrow(/over EventBridge's 262144/);
    expect(handoverEntry(detail, 'arn:bus').EventBusName).toBe('arn:bus');
  });
});

/** The event EventBridge delivers to the receiver for `entry`, sent from `account`. */
const delivered = (entry: HandoverEntry, account: string): HandoverEvent => ({ source: HANDOVER_SOURCE, 'detail-type': HANDOVER_DETAIL_TYPE, account, detail: JSON.parse(entry.Detail) as unknown });

describe('hand-over: the receiver', () => {
  async function sent() {
    const w = world();
    const releaseId = await promoted(w);
    // The artifact the pre-production bucket holds (the team's upload, verified there).
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(MANIFEST.artifact.uri)!;
    w.artifacts.putArtifact(m[1]!, m[2]!, { size: 1000, sha256: MANIFEST.artifact.sha256 });
    const bus = new LocalHandoverBus();
    await handOver({ releaseId, model: MODEL, version: '2.1.0' }, { ...w, bus, environment: PRE });
    return { upstreamStore: w.artifacts, entry: bus.sent[0]!, releaseId };
  }

  function receiver(upstreamStore: MemoryArtifactStore, corrupt = false) {
    const r = world();
    const own = new MemoryArtifactStore();
    const upstream = new LocalUpstreamArtifacts(upstreamStore, own, corrupt);
    return { r, own, upstream, deps: { ...r, artifacts: own, upstream, model: MODEL, environment: PROD, bucket: 'prod-bucket' } };
  }

  it('admits the previous environment, copies the artifact checking its digest, records the hand-over, writes release.json', async () => {
    const { upstreamStore, entry, releaseId } = await sent();
    const { r, upstream, deps } = receiver(upstreamStore);
    const out = await acceptHandover(delivered(entry, ACCOUNTS.pre), deps);
    expect(out).toMatchObject({ outcome: 'accepted', manifestKey: `models/${MODEL}/2.1.0/release.json` });
    const record = await r.ledger.getHandover(MODEL, '2.1.0');
    expect(record).toMatchObject({ sha256: MANIFEST.artifact.sha256, from: { environment: 'pre-production', account: ACCOUNTS.pre, releaseId } });
    const written = JSON.parse(upstream.manifests[0]!.text) as { artifact: { uri: string; sha256: string } };
    expect(written.artifact).toEqual({ uri: expect.stringMatching(/^s3:\/\/prod-bucket\/models\//), sha256: MANIFEST.artifact.sha256 });
    // The same event again (EventBridge delivers at least once): nothing new.
    expect(await acceptHandover(delivered(entry, ACCOUNTS.pre), deps)).toMatchObject({ outcome: 'duplicate' });
    expect(upstream.manifests).toHaveLength(1);
  });

  it.each([
    ['another account', ACCOUNTS.staging, (d: HandoverDetail) => d, /sent from account 111111111111; pre-production is account 222222222222/],
    ['another environment', ACCOUNTS.pre, (d: HandoverDetail) => ({ ...d, from: { ...d.from, environment: 'staging' } }), /accepts only pre-production's promotions/],
    ['another model', ACCOUNTS.pre, (d: HandoverDetail) => ({ ...d, model: 'other-model' }), /this pipeline releases builderbrain/],
    ['a digest not the manifest\'s', ACCOUNTS.pre, (d: HandoverDetail) => ({ ...d, artifact: { ...d.artifact, sha256: 'f'.repeat(64) } }), /is not the manifest's/],
    ['an artifact outside the version', ACCOUNTS.pre, (d: HandoverDetail) => ({ ...d, artifact: { ...d.artifact, key: 'models/builderbrain/9.9.9/x.tar.gz' } }), /not under models\/builderbrain\/2.1.0/],
    ['a malformed detail', ACCOUNTS.pre, () => ({ hello: 'world' }) as unknown as HandoverDetail, /malformed/],
  ])('refuses %s: audited, paged P2, nothing written', async (_what, account, edit, reason) => {
    const { upstreamStore, entry } = await sent();
    const { r, upstream, deps } = receiver(upstreamStore);
    const detail = edit(JSON.parse(entry.Detail) as HandoverDetail);
    const out = await acceptHandover({ ...delivered(entry, account), detail }, deps);
    expect(out).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(reason) });
    expect(upstream.manifests).toEqual([]);
    expect(await r.ledger.getHandover(MODEL, '2.1.0')).toBeNull();
    expect(r.notifier.notifications).toEqual([expect.objectContaining({ severity: 'P2', title: expect.stringMatching(/hand-over from .* to production refused/) })]);
  });

  it('refuses an artifact whose copied bytes are not the promoted digest', async () => {
    const { upstreamStore, entry } = await sent();
    const { r, upstream, deps } = receiver(upstreamStore, true);
    const out = await acceptHandover(delivered(entry, ACCOUNTS.pre), deps);
    expect(out).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/has SHA-256 [0-9a-f]{64}, not the promoted/) });
    expect(upstream.manifests).toEqual([]);
    const audit = await r.ledger.timeline(handoverLedgerId(MODEL, '2.1.0'));
    expect(audit).toEqual([expect.objectContaining({ type: 'handover', detail: expect.objectContaining({ accepted: false }) })]);
  });

  it('admitHandover: the first environment accepts no hand-over', () => {
    const event: HandoverEvent = { source: HANDOVER_SOURCE, 'detail-type': HANDOVER_DETAIL_TYPE, account: ACCOUNTS.staging, detail: {} };
    expect(admitHandover(event, env(), MODEL, null)).toMatchObject({ admitted: false });
  });
});

describe('a receiving environment releases only what the previous one promoted', () => {
  it('rejects an upload with no hand-over, or with another digest; admits the handed-over one', async () => {
    const w = world();
    const first = await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'a' }), { ...w, environment: PROD });
    expect(first.valid).toBe(false);
    expect(first.issues).toEqual([{ path: 'handover', message: expect.stringMatching(/production releases only versions pre-production promoted/) }]);
    await w.ledger.putHandover({ model: MODEL, version: '2.1.0', sha256: 'e'.repeat(64), from: { environment: 'pre-production', account: ACCOUNTS.pre, releaseId: 'x' }, to: 'production', acceptedAt: 'now', trail: [] });
    const other = await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'b' }), { ...w, environment: PROD });
    expect(other.issues[0]?.message).toMatch(/with artifact SHA-256 eeee/);
    await w.ledger.putHandover({ model: MODEL, version: '2.1.0', sha256: MANIFEST.artifact.sha256, from: { environment: 'pre-production', account: ACCOUNTS.pre, releaseId: 'x' }, to: 'production', acceptedAt: 'now', trail: [] });
    expect((await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'c' }), { ...w, environment: PROD })).valid).toBe(true);
    // The first environment takes any upload.
    expect((await validateManifest(upload(w, MANIFEST_TEXT, { versionId: 'd' }), { ...w, environment: env() })).valid).toBe(true);
  });
});

describe('the chain config', () => {
  it('names every unworkable field', () => {
    const r = EnvironmentsSchema.safeParse([
      { name: 'staging', account: '111111111111' },
      { name: 'staging' },
      { name: 'prod', account: '3333', hooks: [{ name: 'h', stage: 'before_traffic', functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:h', phases: [10] }] },
    ]);
    expect(r.success).toBe(false);
    const issues = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^1\.name: "staging" is already environment 0's name/),
        expect.stringMatching(/^1\.account: required/),
        expect.stringMatching(/^2\.account: must be a 12-digit/),
        expect.stringMatching(/^2\.hooks\.0\.phases: a before_traffic hook runs once/),
      ]),
    );
  });
});

describe('the machines make room for the verification', () => {
  it('counts every hook at its timeout in every phase it runs in, and the drill', async () => {
    const { verificationMinutes } = await import('../../core/environments.js');
    const { canaryTimeoutMinutes, promotionTimeoutMinutes } = await import('../../core/budgets.js');
    const e = {
      hooks: [hook('it', 'before_traffic', { timeoutSeconds: 600 }), hook('load', 'during_phase', { timeoutSeconds: 90, phases: [50] }), hook('report', 'after_phase', { timeoutSeconds: 300 })],
      rollbackDrill: true,
      drillMinutes: 5,
    };
    const phases = [
      { weight: 50, monitorMinutes: 30, requiresApproval: false },
      { weight: 100, monitorMinutes: 30, requiresApproval: false },
    ];
    const v = verificationMinutes(e, phases);
    expect(v).toEqual({ beforeTraffic: 10, inPhases: 2 + 5 + 5, drill: 6 });
    const plan = { phases, approvalTimeoutMinutes: 60 };
    expect(canaryTimeoutMinutes({ ...plan, verification: v }) - canaryTimeoutMinutes(plan)).toBe(18);
    const serving = { timeoutMinutes: 60, pollSeconds: 30, bakeMinutes: 60 };
    expect(promotionTimeoutMinutes({ ...plan, verification: v }, serving) - promotionTimeoutMinutes(plan, serving)).toBe(28);
  });
});
