/**
 * The environment chain end to end in the embedded runtime (issue 13): each environment runs the
 * definitions synthesized for its own stack, on its own endpoint, fleet, bucket and ledger; the
 * hand-over travels as the EventBridge event would and the receiver copies and checks the artifact.
 */
import { describe, expect, it } from 'vitest';
import { handoverLedgerId } from '../../core/app/ids.js';
import { simulateChain, type ChainRun } from '../../local/chain.js';
import { BUILTIN_SCENARIOS, ScenarioSchema, type Scenario } from '../../local/scenario.js';
import { reportInput, simulate } from '../../local/simulate.js';

const builtin = (name: string): Scenario => BUILTIN_SCENARIOS.find((s) => s.name === name)!;
const runs = new Map<string, Promise<ChainRun>>();
const run = (name: string): Promise<ChainRun> => {
  if (!runs.has(name)) runs.set(name, simulateChain({ scenario: builtin(name) }));
  return runs.get(name)!;
};
const runtimeOf = (r: ChainRun, env: string) => r.runtimes.find((x) => x.environment === env)!.runtime;

describe('the default chain: staging → pre-production → production', () => {
  it('is promoted in every environment, one after another, each in its own account', async () => {
    const { summary } = await run('chain');
    expect(summary.outcome).toBe('promoted');
    expect(summary.chain.map((e) => [e.environment, e.account, e.outcome, e.phaseReached, e.handedOverTo])).toEqual([
      ['staging', '111111111111', 'promoted', 100, 'pre-production'],
      ['pre-production', '222222222222', 'promoted', 100, 'production'],
      ['production', '333333333333', 'promoted', 100, null],
    ]);
    // One timeline: each environment starts where the previous one ended.
    expect(summary.chain[1]!.startedAtMinute).toBe(summary.chain[0]!.endedAtMinute);
    expect(summary.chain[2]!.startedAtMinute).toBe(summary.chain[1]!.endedAtMinute);
    expect(summary.simulatedMinutes).toBe(summary.chain[2]!.endedAtMinute);
  });

  it('runs each environment on its own plan: staging 100%, pre-production 50 → 100 %, production 1 → 10 → 50 → 100 % with approvals', async () => {
    const r = await run('chain');
    const weights = (env: string) => r.summary.audit.filter((a) => a.environment === env && a.type === 'phase_started').map((a) => a.weight);
    expect(weights('staging')).toEqual([100]);
    expect(weights('pre-production')).toEqual([50, 100]);
    expect(weights('production')).toEqual([1, 10, 50, 100]);
    expect(r.summary.audit.filter((a) => a.type === 'approved').every((a) => a.environment === 'production')).toBe(true);
  });

  it('runs the hooks of each stage and the rollback drill in pre-production only', async () => {
    const { summary } = await run('chain');
    const [staging, pre, prod] = summary.chain;
    expect(staging!.hooks.map((h) => [h.hook, h.stage, h.passed])).toEqual([
      ['integration-tests', 'before_traffic', true],
      ['compatibility-suite', 'before_traffic', true],
    ]);
    expect(pre!.hooks.map((h) => `${h.hook}@${h.phase}`)).toEqual(['load-test-driver@0', 'stress-report@0', 'load-test-driver@1', 'stress-report@1']);
    expect(pre!.drill).toMatchObject({ passed: true, message: expect.stringMatching(/baseline served all \d+ request\(s\) alone for 4 minute/) });
    expect(staging!.drill).toBeNull();
    expect(prod!.drill).toBeNull();
    const drill = summary.audit.filter((a) => a.type === 'drill');
    expect(drill.map((a) => [a.environment, a.weight])).toEqual([
      ['pre-production', 0],
      ['pre-production', 100],
      ['pre-production', 100],
    ]);
  });

  it('production admits the version from pre-production only, with the digest pre-production promoted, and holds the whole trail', async () => {
    const r = await run('chain');
    const prod = runtimeOf(r, 'production');
    const record = await prod.ledger.getHandover('builderbrain', '2.1.0');
    expect(record).toMatchObject({ from: { environment: 'pre-production', account: '222222222222' }, to: 'production' });
    expect(record!.trail.map((t) => [t.environment, t.outcome])).toEqual([
      ['staging', 'promoted'],
      ['pre-production', 'promoted'],
    ]);
    expect(record!.trail[1]!.drill).toMatchObject({ passed: true });
    // The artifact production verified and served is the one copied into its own bucket.
    const verified = r.summary.audit.find((a) => a.environment === 'production' && a.type === 'artifact_verified')!;
    expect(verified.text).toContain('builderbrain-artifacts-local-production/models/builderbrain/2.1.0/');
    const accepted = await prod.ledger.timeline(handoverLedgerId('builderbrain', '2.1.0'));
    expect(accepted.map((e) => e.type === 'handover' && e.detail.accepted)).toEqual([true]);
  });

  it('the report shows the chain: one row per environment', async () => {
    const rows = reportInput(await run('chain'), null).summaryRows;
    expect(rows.filter(([k]) => k.startsWith('environment '))).toEqual([
      ['environment staging', expect.stringMatching(/^promoted at 100%, minutes 0–\d+; hooks 2\/2 passed; handed over to pre-production$/)],
      ['environment pre-production', expect.stringMatching(/^promoted at 100%, .*hooks 4\/4 passed; rollback drill passed; handed over to production$/)],
      ['environment production', expect.stringMatching(/^promoted at 100%, .*; no hooks$/)],
    ]);
  });

  it('is deterministic: byte-identical summaries', async () => {
    const again = await simulateChain({ scenario: builtin('chain') });
    expect(JSON.stringify(again.summary)).toBe(JSON.stringify((await run('chain')).summary));
  });
});

describe('a failing staging hook', () => {
  it('stops the release in staging before any traffic: rejected (verification_failed, P3), pre-production never reached', async () => {
    const { summary } = await run('chain-staging-hook-fails');
    expect(summary.outcome).toBe('rejected');
    expect(summary.chain.map((e) => [e.environment, e.outcome])).toEqual([
      ['staging', 'rejected'],
      ['pre-production', 'not_reached'],
      ['production', 'not_reached'],
    ]);
    expect(summary.chain[0]!.phaseReached).toBe(0);
    expect(summary.chain[0]!.handedOverTo).toBeNull();
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P3', environment: 'staging', title: expect.stringMatching(/verification hook integration-tests failed before traffic/) })]);
    // The candidate was removed; the endpoint serves the baseline alone.
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
  });
});

describe('a regression only production shows', () => {
  it('rolls production back, and production only', async () => {
    const r = await run('chain-production-regression');
    const { summary } = r;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.chain.map((e) => [e.environment, e.outcome])).toEqual([
      ['staging', 'promoted'],
      ['pre-production', 'promoted'],
      ['production', 'rolled_back'],
    ]);
    expect(summary.rollback).toMatchObject({ reason: 'error_rate_increase', severity: 'P1' });
    expect(summary.incidents.map((i) => i.environment)).toEqual(['production']);
    // Staging and pre-production keep serving the promoted candidate; production is back on its baseline.
    expect(await runtimeOf(r, 'pre-production').router.current('builderbrain')).toEqual({ baseline: 0, candidate: 100 });
    expect(await runtimeOf(r, 'production').router.current('builderbrain')).toEqual({ baseline: 100, candidate: 0 });
  });
});

describe('the receiver checks the digest on arrival', () => {
  it('an artifact that arrives altered is refused (P2), nothing is released in production', async () => {
    const scenario = ScenarioSchema.parse({ ...builtin('chain'), name: 'chain-corrupt', chain: { corruptArtifactIn: 'production' } });
    const { summary } = await simulateChain({ scenario });
    expect(summary.chain.map((e) => [e.environment, e.outcome])).toEqual([
      ['staging', 'promoted'],
      ['pre-production', 'promoted'],
      ['production', 'handover_refused'],
    ]);
    expect(summary.outcome).toBe('rejected');
    expect(summary.chain[2]!.handover?.message).toMatch(/has SHA-256 [0-9a-f]{64}, not the promoted/);
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P2', environment: 'production', title: expect.stringMatching(/hand-over from pre-production to production refused/) })]);
  });

  it('simulate() runs a chain scenario through the chain', async () => {
    const r = await simulate({ scenario: builtin('chain-staging-hook-fails') });
    expect((r.summary as ChainRun['summary']).chain).toHaveLength(3);
  });
});
