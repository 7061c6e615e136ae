/**
 * Every built-in scenario through the whole local pipeline (simulate(): the synthesized state
 * machines, the real handlers, the simulated fleet, 60-minute phases), checked against what the
 * pipeline does for the scenario's seed: outcome, phase reached, rollback, incidents, traffic,
 * the audit timeline and determinism.
 */
import { describe, expect, it } from 'vitest';
import type { FleetMinute } from '../../local/fleet.js';
import { BUILTIN_SCENARIOS, ScenarioSchema } from '../../local/scenario.js';
import { simulate, type SimulationRun, type SimulationSummary } from '../../local/simulate.js';
import { defaultRun, minuteOf, runsOf, timed, builtin } from './helpers.js';

const WEIGHTS = [1, 10, 50, 100];
const PHASE_MINUTES = 60;
/** Virtual minutes the simulated endpoint takes to provision (scenario `deployment.provisionMinutes` default). */
const PROVISION = 6;
/** The simulation's bake period before converging (local/simulate.ts simulationConfig). */
const BAKE = 30;
/** After a rollback the restored version's recovery is checked: its settle and recovery minutes (the simulation's defaults, 2 + 15). */
const RECOVERY = 17;
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
  /** `rule`: the canary rule that decided — the loop's failing rule, or the one the alarm watched (issue 16). */
  readonly rollback: { reason: string; severity: string; atMinute: number; regressionStartedAtMinute: number; rule: string | null } | null;
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
    // 13 minutes: the count test is tempered by the dispersion it measures on the minutes before
    // (README "On a real fleet"): slower on a clean fleet, honest on a heterogeneous one.
    rollback: { reason: 'error_rate_increase', severity: 'P1', atMinute: 93, regressionStartedAtMinute: 80, rule: 'error_rate' },
    detectedBy: 'loop',
  },
  'latency-regression': {
    outcome: 'rolled_back',
    phaseReached: 10,
    // p99 +31% against the baseline: the per-request test (requests above the baseline's p99 and
    // p99.9) is significant within the first regressed minute, long before the p99 alarm's 5 of 5.
    rollback: { reason: 'performance_degradation', severity: 'P1', atMinute: 71, regressionStartedAtMinute: 70, rule: 'latency_p95' },
    detectedBy: 'loop',
  },
  'safety-violation': {
    outcome: 'rolled_back',
    phaseReached: 1,
    // The safety-incident alarm fires on the first incident (0.5 a minute: here the regression's
    // fourth minute); its severity is the safety reason's, P0.
    rollback: { reason: 'alarm', severity: 'P0', atMinute: 19, regressionStartedAtMinute: 15, rule: 'safety_incidents' },
    detectedBy: 'alarm',
  },
  'constraint-surge': {
    outcome: 'rolled_back',
    phaseReached: 10,
    rollback: { reason: 'constraint_violations', severity: 'P1', atMinute: 66, regressionStartedAtMinute: 65, rule: 'constraint_violations' },
    detectedBy: 'loop',
  },
  'regression-under-load-at-50pct': {
    outcome: 'rolled_back',
    phaseReached: 50,
    rollback: { reason: 'error_rate_increase', severity: 'P1', atMinute: 131, regressionStartedAtMinute: 130, rule: 'error_rate' },
    detectedBy: 'loop',
  },
  'risk-energy-drift': {
    outcome: 'rolled_back',
    phaseReached: 10,
    // +12% mean risk energy from the phase's first minute: for this seed the risk-energy alarm (5
    // breaching minutes in a row) is first; the loop's rank test would follow (P0 either way).
    rollback: { reason: 'alarm', severity: 'P0', atMinute: 75, regressionStartedAtMinute: 60, rule: 'risk_energy' },
    detectedBy: 'alarm',
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

/**
 * Healthy candidates under the fleet's stresses (issue 10 §4). Their outcome is not pinned — the
 * analysis may roll them back, the stress is to blame — but the stress must show in what the fleet
 * emitted, against the same scenario without its `fleet` section ("calm"). Minutes are the canary's.
 */
const STRESSED: Record<string, (run: Emitted, calm: Emitted) => void> = {
  'healthy-heterogeneous-instances': (run, calm) => {
    // The candidate errs exactly as the baseline does; the canary's few instances do not.
    const gap = (e: Emitted) => Math.max(...[1, 10, 50].map((w) => Math.abs(Math.log(rateOf(e, (m) => m.weight === w, 'canary', 'errors') / rateOf(e, (m) => m.weight === w, 'baseline', 'errors') || 1))));
    expect(gap(run)).toBeGreaterThan(Math.log(2));
    expect(gap(calm)).toBeLessThan(Math.log(1.5));
  },
  'healthy-warm-up': (run, calm) => {
    // Fresh instances after each shift: the canary's first minutes of a phase are slower than later.
    const early = (e: Emitted, v: Variant) => medianOf(e, (m) => m.phaseMinute! < 3, v, 'latencyP50');
    const settled = (e: Emitted, v: Variant) => medianOf(e, (m) => m.weight === 1 && m.phaseMinute! >= 20, v, 'latencyP50');
    expect(early(run, 'canary') / settled(run, 'canary')).toBeGreaterThan(1.15);
    expect(early(run, 'baseline') / settled(run, 'baseline')).toBeLessThan(1.05);
    expect(early(calm, 'canary') / settled(calm, 'canary')).toBeLessThan(1.1);
  },
  'healthy-fleet-wide-violation-surge': (run) => {
    // 15–25 minutes into the 10% phase both variants violate constraints far more often.
    const during = (m: FleetMinute) => m.weight === 10 && m.phaseMinute! >= 15 && m.phaseMinute! < 25;
    const before = (m: FleetMinute) => m.weight === 10 && m.phaseMinute! < 15;
    for (const v of ['canary', 'baseline'] as const) {
      expect(rateOf(run, during, v, 'constraintViolations')).toBeGreaterThan(3 * rateOf(run, before, v, 'constraintViolations'));
    }
  },
  'healthy-zone-incident': (run) => {
    // Zone a (half the canary's instances at 10%, a third of the baseline's) errs ×10 for 15 minutes.
    const during = (m: FleetMinute) => m.weight === 10 && m.phaseMinute! >= 10 && m.phaseMinute! < 25;
    const before = (m: FleetMinute) => m.weight === 10 && m.phaseMinute! < 10;
    for (const v of ['canary', 'baseline'] as const) expect(rateOf(run, during, v, 'errors')).toBeGreaterThan(3 * rateOf(run, before, v, 'errors'));
  },
  'healthy-sticky-users': (run, calm) => {
    // Heavy users pinned to the canary: more than its 1% of the requests, and heavier ones.
    const share = (e: Emitted) => sumOf(e, (m) => m.weight === 1, 'canary', 'requests') / (sumOf(e, (m) => m.weight === 1, 'canary', 'requests') + sumOf(e, (m) => m.weight === 1, 'baseline', 'requests'));
    // 0.2% of all traffic pinned to the canary: at 1% it is about a sixth of the canary's requests
    expect(share(run)).toBeGreaterThan(0.0113);
    expect(share(calm)).toBeLessThan(0.0107);
    const risk = (v: Variant) => medianOf(run, (m) => m.weight === 1, v, 'riskEnergy');
    expect(risk('canary') / risk('baseline')).toBeGreaterThan(1.01);
  },
  'healthy-realistic-mix': (run, calm) => {
    // Minutes a variant did not emit, and the diurnal peak's extra traffic.
    const phases = run.filter((m) => m.weight > 0 && m.weight < 100);
    expect(phases.filter((m) => m.emitted.canary === null || m.emitted.baseline === null).length).toBeGreaterThan(3);
    const perMinute = (e: Emitted) => {
      const full = e.filter((m) => m.weight > 0 && m.weight < 100 && m.emitted.canary !== null && m.emitted.baseline !== null);
      return full.reduce((n, m) => n + m.emitted.canary!.requests + m.emitted.baseline!.requests, 0) / full.length;
    };
    expect(perMinute(run) / perMinute(calm)).toBeGreaterThan(1.15);
  },
};

type Variant = 'canary' | 'baseline';
/** The canary minutes of a run (minutes with canary traffic). */
type Emitted = readonly FleetMinute[];
const emittedOf = (run: SimulationRun): Emitted => run.runtime.fleet.minutes.filter((m) => m.phaseMinute !== null);
const sumOf = (e: Emitted, pick: (m: FleetMinute) => boolean, v: Variant, field: 'requests' | 'errors' | 'constraintViolations') =>
  e.filter(pick).reduce((n, m) => n + (m.emitted[v]?.[field] ?? 0), 0);
const rateOf = (e: Emitted, pick: (m: FleetMinute) => boolean, v: Variant, field: 'errors' | 'constraintViolations') => sumOf(e, pick, v, field) / sumOf(e, pick, v, 'requests');
const medianOf = (e: Emitted, pick: (m: FleetMinute) => boolean, v: Variant, field: 'latencyP50' | 'riskEnergy') => {
  const xs = e.filter(pick).map((m) => m.datapoint[v][field]).filter((x): x is number => x !== null).sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
};

/** The chain scenarios: test/e2e/chain.test.ts has their expectations (one release through three environments). */
const CHAIN = BUILTIN_SCENARIOS.filter((s) => s.chain !== undefined).map((s) => s.name);
/** After promotion: test/e2e/post-release.test.ts has their expectations (a bake, a recovery that fails). */
const POST_RELEASE = ['bake-regression', 'recovery-fails', 'emergency-rollback-released'];
/** A hotfix (its own plan, a second approver): test/e2e/hotfix.test.ts has its expectations; the freeze: test/e2e/freeze.test.ts. */
const HOTFIX = ['hotfix', 'freeze-holds'];
const NAMES = BUILTIN_SCENARIOS.map((s) => s.name).filter((n) => !(n in STRESSED) && !CHAIN.includes(n) && !POST_RELEASE.includes(n) && !HOTFIX.includes(n));

describe('built-in scenarios', () => {
  it('the expectations cover every built-in scenario, and only those', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...NAMES].sort());
    expect([...Object.keys(EXPECTED), ...Object.keys(STRESSED), ...CHAIN, ...POST_RELEASE, ...HOTFIX].sort()).toEqual(BUILTIN_SCENARIOS.map((s) => s.name).sort());
    expect(CHAIN.sort()).toEqual(['chain', 'chain-production-regression', 'chain-staging-hook-fails']);
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
        // …then the restored version's recovery is checked before the lock goes.
        expect(summary.simulatedMinutes).toBe(got.atMinute + Math.max(PROVISION, RECOVERY));
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
        // (a rollback opens its incident as it pages: core/app/incidents.ts)
        if (expected.outcome === 'promoted') expectedRuns.push(['promoted', 1], ['serving', 2]);
        else expectedRuns.push(['incident', 1], ['rollback', 1], ['serving', 2]);
        // after a rollback, the recovery check of the restored version; the incident's first status
        // update comes before it when the reminder rule (every 5 minutes) runs 15+ minutes after the page and before the check
        if (expected.outcome !== 'promoted') {
          const rolledBackAt = summary.rollback!.atMinute;
          if (Math.ceil((rolledBackAt + 15) / 5) * 5 <= rolledBackAt + RECOVERY) expectedRuns.push(['incident', 1]);
          expectedRuns.push(['recovery', 1]);
        }
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

describe.each(Object.keys(STRESSED))('stressed fleet: %s', (name) => {
  it('runs to an outcome, and the stress shows in what the fleet emitted', async () => {
    const run = await defaultRun(name);
    expect(['promoted', 'rolled_back']).toContain(run.summary.outcome);
    expect(run.summary.phaseReached).toBeGreaterThan(0);
    // a healthy candidate: no scenario event, whatever the stress did
    expect(run.summary.rollback?.regressionStartedAtMinute ?? null).toBeNull();
    const calm = await simulate({ scenario: ScenarioSchema.parse({ ...builtin(name), fleet: {} }) });
    STRESSED[name]!(emittedOf(run), emittedOf(calm));
  });
});

describe('determinism with every stress', () => {
  it('healthy-realistic-mix gives byte-identical JSON', async () => {
    const first = await defaultRun('healthy-realistic-mix');
    const again = await simulate({ scenario: builtin('healthy-realistic-mix') });
    expect(JSON.stringify(again.summary)).toBe(JSON.stringify(first.summary));
    expect(JSON.stringify(again.runtime.fleet.minutes)).toBe(JSON.stringify(first.runtime.fleet.minutes));
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
