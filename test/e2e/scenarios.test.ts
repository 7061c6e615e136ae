/**
 * Every built-in scenario through the whole local pipeline (simulate(): the synthesized state
 * machines, the real handlers, the simulated fleet, 60-minute phases), checked against what the
 * pipeline does for the scenario's seed: outcome, phase reached, rollback, incidents, traffic,
 * the audit timeline and determinism.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate, type SimulationSummary } from '../../local/simulate.js';
import { defaultRun, minuteOf, runsOf, timed, builtin } from './helpers.js';

const WEIGHTS = [1, 10, 50, 100];
const PHASE_MINUTES = 60;
/** Virtual minutes the simulated endpoint takes to provision (scenario `deployment.provisionMinutes` default). */
const PROVISION = 6;
/** The simulation's bake period before converging (local/simulate.ts simulationConfig). */
const BAKE = 30;
const GATE_CHECKS = ['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility'];

interface Expected {
  readonly outcome: SimulationSummary['outcome'];
  /** Where a rejection happened (default: the gate). */
  readonly rejectedAt?: 'gate' | 'artifact' | 'deploy' | 'smoke';
  /** Severity of the rejection's incident. */
  readonly rejectionSeverity?: 'P2' | 'P3';
  /** Minutes until the canary's first phase (the deployment and smoke test). */
  readonly deployMinutes?: number;
  /** Phases run (default: every weight up to phaseReached); a first release runs only the last. */
  readonly weights?: readonly number[];
  readonly phaseReached: number;
  /** reason, severity, minute of the rollback and first minute of the regression, counted from the canary's start; null: not rolled back. */
  readonly rollback: { reason: string; severity: string; atMinute: number; regressionStartedAtMinute: number } | null;
  /** Who rolled back: the monitor loop's verdict or a CloudWatch alarm (the fast path). */
  readonly detectedBy?: 'loop' | 'alarm';
  readonly failedGateChecks?: readonly string[];
}

/**
 * What the pipeline does, deterministically, for each built-in scenario's seed. A new built-in
 * scenario must be added here (the first test checks that every one is).
 */
const EXPECTED: Record<string, Expected> = {
  healthy: { outcome: 'promoted', phaseReached: 100, rollback: null },
  'rejected-at-gate': { outcome: 'rejected', phaseReached: 0, rollback: null, failedGateChecks: ['safety'] },
  'error-spike-at-10pct': {
    outcome: 'rolled_back',
    phaseReached: 10,
    rollback: { reason: 'error_rate_increase', severity: 'P1', atMinute: 86, regressionStartedAtMinute: 80 },
    detectedBy: 'loop',
  },
  'latency-regression': {
    outcome: 'rolled_back',
    phaseReached: 10,
    // p99 +31% against the baseline: the p99 alarm (5 of 5 minutes above 1.2×) fires before the loop's verdict.
    rollback: { reason: 'alarm', severity: 'P1', atMinute: 83, regressionStartedAtMinute: 70 },
    detectedBy: 'alarm',
  },
  'safety-violation': {
    outcome: 'rolled_back',
    phaseReached: 1,
    // The safety-incident alarm fires on the first incident; its severity is the safety reason's, P0.
    rollback: { reason: 'alarm', severity: 'P0', atMinute: 16, regressionStartedAtMinute: 15 },
    detectedBy: 'alarm',
  },
  'constraint-surge': {
    outcome: 'rolled_back',
    phaseReached: 10,
    rollback: { reason: 'constraint_violations', severity: 'P1', atMinute: 66, regressionStartedAtMinute: 65 },
    detectedBy: 'loop',
  },
  'regression-under-load-at-50pct': {
    outcome: 'rolled_back',
    phaseReached: 50,
    rollback: { reason: 'error_rate_increase', severity: 'P1', atMinute: 131, regressionStartedAtMinute: 130 },
    detectedBy: 'loop',
  },
  'risk-energy-drift': {
    outcome: 'rolled_back',
    phaseReached: 10,
    // +12% mean risk energy: the loop's test flags it before the risk-energy alarm sees 5 breaching minutes in a row.
    rollback: { reason: 'safety_violation', severity: 'P0', atMinute: 77, regressionStartedAtMinute: 60 },
    detectedBy: 'loop',
  },
  // SageMaker rolls the endpoint back to the baseline alone: rejected at minute 8 (provisioning), nothing left to remove.
  'failed-deploy': { outcome: 'rejected', phaseReached: 0, rollback: null, rejectedAt: 'deploy', rejectionSeverity: 'P2', deployMinutes: 8 },
  'failed-smoke-test': { outcome: 'rejected', phaseReached: 0, rollback: null, rejectedAt: 'smoke', rejectionSeverity: 'P2' },
  'artifact-mismatch': { outcome: 'rejected', phaseReached: 0, rollback: null, rejectedAt: 'artifact', rejectionSeverity: 'P3', deployMinutes: 0 },
  'first-release': { outcome: 'promoted', phaseReached: 100, rollback: null, weights: [100] },
};

/** The minute the canary started (its first phase); the deployment's minutes otherwise. */
const canaryStart = (summary: SimulationSummary, expected: Expected): number => {
  const first = summary.audit.find((e) => e.type === 'phase_started');
  return first === undefined ? (expected.deployMinutes ?? PROVISION) : minuteOf(first.at);
};

const NAMES = BUILTIN_SCENARIOS.map((s) => s.name);

describe('built-in scenarios', () => {
  it('the expectations cover every built-in scenario, and only those', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...NAMES].sort());
    // scenario.md: at least these kinds of scenario ship with the project
    expect(NAMES.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(NAMES)('%s', (name) => {
    const expected = EXPECTED[name]!;

    it('reaches the expected outcome, phase and rollback', async () => {
      const { summary } = await defaultRun(name);
      expect(summary.scenario).toBe(name);
      expect(summary.outcome).toBe(expected.outcome);
      expect(summary.phaseReached).toBe(expected.phaseReached);
      expect(summary.release).toEqual({ model: 'builderbrain', version: name === 'first-release' ? '1.0.0' : '2.1.0' });
      const t0 = canaryStart(summary, expected);
      if (expected.outcome !== 'rejected') expect(t0).toBe(expected.deployMinutes ?? PROVISION);
      if (expected.rollback === null) {
        expect(summary.rollback).toBeNull();
      } else {
        const r = expected.rollback;
        const got = summary.rollback!;
        expect({ ...got, atMinute: got.atMinute - t0, regressionStartedAtMinute: got.regressionStartedAtMinute! - t0 }).toEqual({
          ...r,
          detectionMinutes: r.atMinute - r.regressionStartedAtMinute,
        });
        // scenario.md: detectionMinutes = atMinute − regressionStartedAtMinute; the release stops there,
        // and the candidate variant is removed (its instances released) while the lock is held.
        expect(got.detectionMinutes).toBe(got.atMinute - got.regressionStartedAtMinute!);
        expect(summary.simulatedMinutes).toBe(got.atMinute + PROVISION);
      }
      const phases = expected.weights ?? WEIGHTS;
      // promoted: the bake period, then the endpoint converges on the new model alone
      if (expected.outcome === 'promoted') expect(summary.simulatedMinutes).toBe(t0 + phases.length * PHASE_MINUTES + BAKE + PROVISION);
      if (expected.outcome === 'rejected') {
        const at = expected.rejectedAt ?? 'gate';
        const deploy = expected.deployMinutes ?? PROVISION;
        // smoke failure: deployed, then removed again; a failed deployment is rolled back by SageMaker itself
        expect(summary.simulatedMinutes).toBe(at === 'smoke' ? deploy + PROVISION : at === 'deploy' ? deploy : 0);
      }
    });

    it('runs the six promotion gates', async () => {
      const { summary } = await defaultRun(name);
      expect(summary.gate).not.toBeNull();
      expect(summary.gate!.checks.map((c) => c.name)).toEqual(GATE_CHECKS);
      const failed = summary.gate!.checks.filter((c) => !c.passed).map((c) => c.name);
      expect(failed).toEqual(expected.failedGateChecks ?? []);
      expect(summary.gate!.passed).toBe(failed.length === 0);
    });

    it('publishes one incident per rolled-back release, none when promoted, P3 when rejected', async () => {
      const { summary, runtime } = await defaultRun(name);
      if (expected.outcome === 'promoted') {
        expect(summary.incidents).toEqual([]);
      } else if (expected.outcome === 'rejected') {
        expect(summary.incidents).toHaveLength(1);
        expect(summary.incidents[0]).toMatchObject({ severity: expected.rejectionSeverity ?? 'P3', reason: 'rejected' });
      } else {
        expect(summary.incidents).toHaveLength(1);
        expect(summary.incidents[0]).toMatchObject({ severity: expected.rollback!.severity, reason: expected.rollback!.reason });
        expect(summary.incidents[0]!.title).toContain(`[${expected.rollback!.severity}]`);
      }
      // the SNS message attribute on-call filters on is set on every incident
      for (const n of runtime.incidents) expect(n.severity).toMatch(/^P[0-3]$/);
    });

    it('leaves traffic where the outcome says', async () => {
      const { summary } = await defaultRun(name);
      // Promotion leaves the candidate serving everything (it is the new baseline); a rollback or a
      // rejection leaves (or keeps) 100% on the baseline.
      expect(summary.finalTraffic).toEqual(expected.outcome === 'promoted' ? { baseline: 0, candidate: 100 } : { baseline: 100, candidate: 0 });
    });

    it('records a complete audit timeline, in order', async () => {
      const { summary } = await defaultRun(name);
      const audit = summary.audit;
      // ordered by `at`
      for (let i = 1; i < audit.length; i++) expect(Date.parse(audit[i]!.at)).toBeGreaterThanOrEqual(Date.parse(audit[i - 1]!.at));

      const phases = (expected.weights ?? WEIGHTS).filter((w) => w <= expected.phaseReached);
      const t0 = canaryStart(summary, expected);
      const expectedRuns: [string, number][] = [['received', 1], ['validated', 1], ['lock_acquired', 1], ['gate_check', 6]];
      const at = expected.rejectedAt ?? 'gate';
      if (expected.outcome === 'rejected' && at === 'gate') {
        expectedRuns.push(['rejected', 1]);
      } else if (expected.outcome === 'rejected' && at === 'artifact') {
        expectedRuns.push(['artifact_verified', 1], ['rejected', 1]);
      } else if (expected.outcome === 'rejected' && at === 'deploy') {
        // planned, applied, failed; then the removal finds the baseline alone (reached at once: applied, done)
        expectedRuns.push(['artifact_verified', 1], ['serving', 3], ['rejected', 1], ['serving', 2]);
      } else if (expected.outcome === 'rejected') {
        expectedRuns.push(['artifact_verified', 1], ['serving', 3], ['smoke_test', 1], ['rejected', 1], ['serving', 2]);
      } else {
        // verified, planned → applied → deployed, smoke-tested before any user traffic
        expectedRuns.push(['artifact_verified', 1], ['serving', 3], ['smoke_test', 1]);
        phases.forEach((weight, i) => {
          const start = t0 + i * PHASE_MINUTES;
          const last = i === phases.length - 1;
          let looks = PHASE_MINUTES;
          if (last && expected.rollback !== null) {
            // The loop's rollback look is at the rollback minute; an alarm fires at the end of a
            // minute and stops the canary execution before the look of that minute.
            looks = t0 + expected.rollback.atMinute - start - (expected.detectedBy === 'alarm' ? 1 : 0);
          }
          expectedRuns.push(['phase_started', 1]);
          if (looks > 0) expectedRuns.push(['analysis', looks]);
          if (!last) expectedRuns.push(['approval_requested', 1], ['approved', 1]);
        });
        // then the endpoint converges on the candidate alone, or the candidate is removed: applied, done
        expectedRuns.push([expected.outcome === 'promoted' ? 'promoted' : 'rollback', 1], ['serving', 2]);
      }
      expectedRuns.push(['lock_released', 1]);
      expect(runsOf(audit)).toEqual(expectedRuns);

      // each gate check is audited under its own name
      expect(audit.filter((e) => e.type === 'gate_check').map((e) => e.text.split(':')[0])).toEqual(GATE_CHECKS);

      // phases start one after another at the weights of the plan, each monitored minute by minute
      const started = audit.filter((e) => e.type === 'phase_started');
      expect(started.map((e) => e.weight)).toEqual(phases);
      const offset = WEIGHTS.length - (expected.weights ?? WEIGHTS).length;
      expect(started.map((e) => e.phase)).toEqual(phases.map((_, i) => i + offset));
      expect(started.map((e) => minuteOf(e.at))).toEqual(phases.map((_, i) => t0 + i * PHASE_MINUTES));
      for (const [i, weight] of phases.entries()) {
        const looks = audit.filter((e) => e.type === 'analysis' && e.phase === i + offset);
        expect(looks.every((e) => e.weight === weight)).toBe(true);
        expect(looks.map((e) => minuteOf(e.at))).toEqual(looks.map((_, j) => t0 + i * PHASE_MINUTES + j + 1));
      }
      for (const e of audit.filter((x) => x.type === 'approved')) expect(e.actor).toBe('local-operator');

      if (expected.rollback !== null) {
        const rollback = audit.find((e) => e.type === 'rollback')!;
        expect(minuteOf(rollback.at)).toBe(t0 + expected.rollback.atMinute);
        expect(rollback.weight).toBe(expected.phaseReached);
        expect(rollback.text).toContain(`${expected.rollback.reason} ${expected.rollback.severity}`);
        if (expected.detectedBy === 'alarm') {
          expect(rollback.actor).toMatch(/^alarm:/);
        } else {
          expect(rollback.actor).toBe('step:AnalyzeCanary');
          const lastLook = audit.filter((e) => e.type === 'analysis').at(-1)!;
          expect(lastLook.text).toContain('fail → rollback');
          expect(lastLook.at).toBe(rollback.at);
        }
      }
      // the lock is released last, when the outcome is known
      expect(audit.at(-1)!.type).toBe('lock_released');
      expect(minuteOf(audit.at(-1)!.at)).toBe(summary.simulatedMinutes);
    });

    it('is deterministic: the same scenario gives byte-identical JSON', async () => {
      const first = await defaultRun(name);
      const again = await simulate({ scenario: builtin(name) });
      expect(JSON.stringify(again.summary)).toBe(JSON.stringify(first.summary));
    });
  });
});

describe('speed', () => {
  it('a four-phase release of 60-minute phases runs in seconds of wall time', async () => {
    const { run, ms } = await timed({ scenario: builtin('healthy') });
    expect(run.summary.outcome).toBe('promoted');
    expect(run.summary.simulatedMinutes).toBe(PROVISION + 240 + BAKE + PROVISION);
    console.log(`healthy release, 4 × 60 simulated minutes: ${(ms / 1000).toFixed(2)} s wall, ${run.summary.stateTransitions} state transitions`);
    expect(ms).toBeLessThan(60_000); // a loose sanity bound, not a benchmark (bench/simulate.bench.ts measures)
  });
});
