/** The post-rollback analysis use case: written after the recovery check, never in the rollback's way. */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeAfterRollback, computePostRollbackReport } from '../../core/app/post-rollback-analysis.js';
import { recoveryStep } from '../../core/app/recovery.js';
import { analysisKey } from '../../core/post-rollback.js';
import type { ArtifactStore } from '../../core/ports.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate, type SimulationRun } from '../../local/simulate.js';

let run: SimulationRun;
beforeAll(async () => {
  run = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'error-spike-at-10pct')! });
}, 60_000);

const failingStore = (rt: SimulationRun['runtime'], err: Error): ArtifactStore => ({
  getObjectText: (s, m) => rt.artifacts.getObjectText(s, m),
  describeArtifact: (l) => rt.artifacts.describeArtifact(l),
  putReport: async () => Promise.reject(err),
});

describe('analyzeAfterRollback', () => {
  it('the pipeline wrote the report at analysis/<releaseId>.json; the same sources compute the same report', async () => {
    const { runtime, releaseId } = run;
    const stored = JSON.parse((await runtime.artifacts.getObjectText({ bucket: runtime.bucket, key: analysisKey(releaseId!), versionId: null }, 1e6)).text);
    const again = await computePostRollbackReport(releaseId!, { ledger: runtime.ledger, metrics: runtime.metrics, artifacts: runtime.artifacts, clock: { now: () => new Date(stored.generatedAt) } });
    // Only the timeline has grown since (nothing after the recovery check but the lock's release).
    expect({ ...again, timeline: [], omittedEvents: 0 }).toEqual({ ...stored, timeline: [], omittedEvents: 0 });
    expect(stored.candidateCauses.length).toBeGreaterThan(0);
  });

  it('a write that fails is audited and answered, never thrown', async () => {
    const { runtime, releaseId } = run;
    const out = await analyzeAfterRollback({ releaseId: releaseId! }, { ledger: runtime.ledger, metrics: runtime.metrics, artifacts: failingStore(runtime, new Error('AccessDenied: no')), bucket: runtime.bucket, clock: runtime.clock });
    expect(out).toEqual({ written: false, reason: 'the analysis failed (write): Error: AccessDenied: no' });
    const failed = (await runtime.ledger.timeline(releaseId!)).filter((e) => e.type === 'post_rollback_analysis_failed');
    expect(failed.at(-1)).toMatchObject({ actor: 'step:VerifyRecovery', detail: { stage: 'write', key: analysisKey(releaseId!), error: 'Error: AccessDenied: no' } });
  });

  it('the recovery check answers as before when the analysis fails, and a metrics outage is only a note', async () => {
    const { runtime, releaseId, config } = run;
    const metrics = { window: async () => Promise.reject(new Error('Throttling')) };
    const input = { action: 'verify' as const, releaseId: releaseId!, model: 'builderbrain', recovery: { rolledBackAt: null, checkAt: runtime.clock.now().toISOString(), recovered: null, message: '' } };
    const out = await recoveryStep(input, { metrics, router: runtime.router, ledger: runtime.ledger, notifier: runtime.notifier, clock: runtime.clock, recovery: config.recovery, artifacts: failingStore(runtime, new Error('boom')), bucket: runtime.bucket });
    expect(out).toMatchObject({ recovered: null, message: 'nothing rolled back: no recovery to check' });
    const report = await computePostRollbackReport(releaseId!, { ledger: runtime.ledger, metrics, artifacts: null, clock: runtime.clock });
    expect(report!.onset).toBeNull();
    expect(report!.notes).toContain('the metrics could not be read (Error: Throttling)');
  });

  it('a release not rolled back: nothing written, nothing audited', async () => {
    const healthy = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!, phaseMinutes: 10 });
    const { runtime, releaseId } = healthy;
    const out = await analyzeAfterRollback({ releaseId: releaseId! }, { ledger: runtime.ledger, metrics: runtime.metrics, artifacts: runtime.artifacts, bucket: runtime.bucket, clock: runtime.clock });
    expect(out).toEqual({ written: false, reason: `the release is ${(await runtime.ledger.getRelease(releaseId!))!.status}: nothing to analyse` });
    expect(['promoted', 'released']).toContain((await runtime.ledger.getRelease(releaseId!))!.status);
    await expect(runtime.artifacts.getObjectText({ bucket: runtime.bucket, key: analysisKey(releaseId!), versionId: null }, 1e6)).rejects.toThrow(/NoSuchKey/);
  }, 60_000);
});
