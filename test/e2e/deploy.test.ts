/**
 * The pipeline deploys what was uploaded (issue 9), end to end on the embedded runtime: the
 * synthesized state machines and the real handlers drive a simulated SageMaker endpoint (models,
 * endpoint configs, variants, provisioning in virtual minutes). What the endpoint serves at the end
 * of each kind of release, two releases in a row with nothing done by hand, and the first release.
 */
import { describe, expect, it } from 'vitest';
import { sageMakerNames } from '../../core/deployment.js';
import { defaultManifest } from '../../local/scenario.js';
import { EmbeddedRuntime, loadDefinitions } from '../../local/runtime.js';
import { simulate, simulationConfig } from '../../local/simulate.js';
import { builtin, customScenario, defaultRun } from './helpers.js';

const INITIAL_MODEL = 'builderbrain-baseline-model';

async function releaseOf(run: Awaited<ReturnType<typeof simulate>>) {
  const record = await run.runtime.ledger.getRelease(run.releaseId!);
  return record!;
}

describe('what the endpoint serves at the end', () => {
  it('promoted: the new model alone, in the baseline variant, on the converged config; the old Model and config are kept', async () => {
    const run = await defaultRun('healthy');
    const record = await releaseOf(run);
    const names = sageMakerNames('builderbrain', record.releaseId, '2.1.0');
    expect(record.deployment?.candidate.model).toBe(names.model);
    expect(run.runtime.router.serving).toEqual([{ name: 'baseline', model: names.model, weight: 1, instanceCount: 2 }]);
    expect(run.runtime.router.endpointConfig).toBe(names.convergedConfig);
    // rollback readiness: the previous model and the config it served from are still there
    expect(run.runtime.router.models.has(INITIAL_MODEL)).toBe(true);
    expect(run.runtime.router.configs.has(record.deployment!.baseline!.config!)).toBe(true);
    // the ledger records what served when: deployed, then converged
    const serving = (await run.runtime.ledger.timeline(record.releaseId)).filter((e) => e.type === 'serving' && e.detail['state'] === 'done');
    expect(serving.map((e) => e.detail['goal'])).toEqual(['candidate_deployed', 'converged']);
    expect(serving[1]!.detail['serving']).toMatchObject({ model: names.model, config: names.convergedConfig, slots: ['baseline'] });
  });

  it.each(['error-spike-at-10pct', 'safety-violation', 'failed-smoke-test', 'failed-deploy'])('%s: the baseline alone, no candidate variant left (its instances released)', async (name) => {
    const run = await defaultRun(name);
    expect(run.runtime.router.serving).toEqual([{ name: 'baseline', model: INITIAL_MODEL, weight: 1, instanceCount: 1 }]);
    expect(run.summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    const removed = (await run.runtime.ledger.timeline(run.releaseId!)).filter((e) => e.type === 'serving' && e.detail['goal'] === 'candidate_removed');
    expect(removed.map((e) => e.detail['state'])).toEqual(['applied', 'done']);
  });

  it('failed-deploy: rejected P2 with SageMaker\'s own failure reason, before any user traffic', async () => {
    const run = await defaultRun('failed-deploy');
    expect(run.summary.outcome).toBe('rejected');
    expect(run.summary.phaseReached).toBe(0);
    const incident = run.runtime.incidents[0]!;
    expect(incident.severity).toBe('P2');
    expect(incident.text).toContain('did not pass the ping health check');
    const record = await releaseOf(run);
    expect(record.outcome).toMatchObject({ status: 'rejected', reason: 'deploy_failed', severity: 'P2' });
    // no minute ever carried candidate traffic
    expect(run.runtime.fleet.minutes.every((m) => m.weight === 0)).toBe(true);
  });

  it('artifact-mismatch: rejected P3, nothing deployed (no Model created, the endpoint untouched)', async () => {
    const run = await defaultRun('artifact-mismatch');
    expect(run.summary.outcome).toBe('rejected');
    expect([...run.runtime.router.models.keys()]).toEqual([INITIAL_MODEL]);
    expect(run.runtime.router.changes).toEqual([]);
    expect(run.runtime.incidents[0]).toMatchObject({ severity: 'P3' });
    expect(run.runtime.incidents[0]!.text).toContain('the manifest says');
    const record = await releaseOf(run);
    expect(record.deployment ?? null).toBeNull();
  });

  it('a missing artifact is rejected the same way (P3, nothing deployed)', async () => {
    const run = await simulate({ scenario: { ...builtin('healthy'), name: 'artifact-missing', deployment: { ...builtin('healthy').deployment, artifact: 'missing' } } });
    expect(run.summary.outcome).toBe('rejected');
    expect(run.runtime.incidents[0]!.text).toContain('does not exist');
    expect([...run.runtime.router.models.keys()]).toEqual([INITIAL_MODEL]);
  });

  it('an artifact outside the release folder is rejected (P3) before anything is read or deployed', async () => {
    const manifest = { ...defaultManifest(), artifact: { ...defaultManifest().artifact, uri: 's3://someone-elses-bucket/models/builderbrain/2.1.0/model.tar.gz' } };
    const run = await simulate({ scenario: { ...builtin('healthy'), name: 'artifact-elsewhere', manifest } });
    expect(run.summary.outcome).toBe('rejected');
    expect(run.runtime.incidents[0]!.text).toContain('deploys only from its own bucket');
  });
});

describe('two releases in a row', () => {
  it('the second plans from the converged endpoint and is promoted with nothing done by hand', async () => {
    const config = simulationConfig({});
    await loadDefinitions(config);
    const runtime = new EmbeddedRuntime({ config, scenario: builtin('healthy') });
    const first = defaultManifest();
    const second = defaultManifest({ version: '2.2.0', previousVersion: '2.1.0' });
    await runtime.upload(JSON.stringify(first), { version: first.version, versionId: 'v1' });
    await runtime.settle();
    await runtime.upload(JSON.stringify(second), { version: second.version, versionId: 'v2' });
    await runtime.settle();
    const releases = await runtime.ledger.listReleases(10);
    expect(releases.map((r) => [r.version, r.status])).toEqual([
      ['2.2.0', 'released'],
      ['2.1.0', 'released'],
    ]);
    const [r2, r1] = releases;
    // the second's baseline is what the first left serving
    expect(r2!.deployment!.baseline).toMatchObject({ slot: 'baseline', model: r1!.deployment!.candidate.model, config: sageMakerNames('builderbrain', r1!.releaseId, '2.1.0').convergedConfig, alone: true });
    expect(runtime.router.serving).toEqual([{ name: 'baseline', model: r2!.deployment!.candidate.model, weight: 1, instanceCount: 2 }]);
    expect(runtime.incidents).toEqual([]);
  });
});

describe('a first release (no endpoint yet)', () => {
  it('creates the endpoint, runs only the 100% phase on the absolute rules, converges into the baseline variant', async () => {
    const run = await defaultRun('first-release');
    expect(run.summary.outcome).toBe('promoted');
    const record = await releaseOf(run);
    expect(record.deployment!.baseline).toBeNull();
    const started = (await run.runtime.ledger.timeline(record.releaseId)).filter((e) => e.type === 'phase_started');
    expect(started.map((e) => e.weight)).toEqual([100]);
    expect(started[0]!.detail['firstRelease']).toBe(true);
    expect(run.runtime.router.serving).toEqual([{ name: 'baseline', model: record.deployment!.candidate.model, weight: 1, instanceCount: 2 }]);
  });

  it('rolled back: the endpoint it created is deleted (nothing else could serve, nothing is left billing)', async () => {
    const base = builtin('first-release');
    const scenario = customScenario('first-release-rolled-back', [{ whenWeight: 100, afterMinutes: 5, set: { safetyIncidentsPerMinute: 1 } }], {
      manifest: base.manifest,
      deployment: base.deployment,
    });
    const run = await simulate({ scenario });
    expect(run.summary.outcome).toBe('rolled_back');
    expect(run.summary.rollback).toMatchObject({ severity: 'P0' });
    expect(run.runtime.router.endpointExists).toBe(false);
  });
});
