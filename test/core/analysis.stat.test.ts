/**
 * The statistical test of the canary analysis (core/analysis.ts): simulated phases with the seeded
 * traffic generator, analysed after every minute on all datapoints so far, as the monitor loop does.
 *
 * - Healthy canaries must fail a phase with probability < 1% (policy budget 0.8%).
 * - Regressions present from minute 0 must be caught, with the right reason code, in a large
 *   majority of phases at 10% and 50% traffic; at 1% traffic (60 canary requests a minute) the
 *   rates are measured and held to what that little traffic can honestly show.
 *
 * Seeds are 1..N, so every number printed here is reproducible. STAT_SEEDS=N overrides the
 * healthy-phase seed count (and scales the others) for a longer, tighter run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCanary, type CanaryVerdict, type MinuteDatapoint } from '../../core/analysis.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import type { ReasonCode } from '../../core/severity.js';
import { createTrafficGenerator, type VariantProfile } from '../../local/traffic.js';

const REQUESTS_PER_MINUTE = 6000;
const PHASE_MINUTES = 60;
const BASELINE: VariantProfile = {
  latencyMs: { p50: 180, p95: 420, p99: 650 },
  errorRate: 0.004,
  riskEnergy: 0.3,
  constraintViolationRate: 0.01,
};

const HEALTHY_SEEDS = Number(process.env.STAT_SEEDS ?? 400);
const REGRESSION_SEEDS = Math.max(50, Math.round(HEALTHY_SEEDS / 2));

interface PhaseOutcome {
  /** Minutes of data when the phase first failed (1-based), null when it never failed. */
  readonly failedAfter: number | null;
  readonly verdict: CanaryVerdict;
}

/** One simulated phase: analysed after every minute, stopping at the first fail. */
function runPhase(seed: number, weightPct: number, candidate: VariantProfile, baseline: VariantProfile = BASELINE, rpm = REQUESTS_PER_MINUTE): PhaseOutcome {
  const g = createTrafficGenerator(seed);
  const datapoints: MinuteDatapoint[] = [];
  let verdict: CanaryVerdict | null = null;
  for (let minute = 0; minute < PHASE_MINUTES; minute++) {
    const split = g.split(rpm, weightPct);
    datapoints.push({ minute, canary: g.variantMinute(candidate, split.canary), baseline: g.variantMinute(baseline, split.baseline) });
    verdict = analyzeCanary({ datapoints, plannedMinutes: PHASE_MINUTES, lookEveryMinutes: 1 }, DEFAULT_POLICY.canary);
    if (verdict.verdict === 'fail') return { failedAfter: minute + 1, verdict };
  }
  return { failedAfter: null, verdict: verdict! };
}

interface Measured {
  readonly scenario: string;
  readonly weight: number;
  readonly seeds: number;
  /** Phases that failed (any reason). */
  readonly failed: number;
  /** Phases that failed with the expected reason (regressions only). */
  readonly detected: number;
  readonly medianMinute: number | null;
  readonly p90Minute: number | null;
  readonly reasons: Partial<Record<ReasonCode, number>>;
}

const quantile = (sorted: number[], q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

function measure(scenario: string, weight: number, seeds: number, candidate: VariantProfile, expected: ReasonCode | null, baseline = BASELINE): Measured {
  let failed = 0;
  let detected = 0;
  const minutes: number[] = [];
  const reasons: Partial<Record<ReasonCode, number>> = {};
  for (let seed = 1; seed <= seeds; seed++) {
    const { failedAfter, verdict } = runPhase(seed, weight, candidate, baseline);
    if (failedAfter === null) continue;
    failed++;
    reasons[verdict.reason!] = (reasons[verdict.reason!] ?? 0) + 1;
    if (verdict.reason === expected) {
      detected++;
      minutes.push(failedAfter);
    }
  }
  minutes.sort((a, b) => a - b);
  const m: Measured = {
    scenario,
    weight,
    seeds,
    failed,
    detected,
    medianMinute: quantile(minutes, 0.5),
    p90Minute: quantile(minutes, 0.9),
    reasons,
  };
  TABLE.push(m);
  return m;
}

const TABLE: Measured[] = [];
const pct = (x: number, n: number) => `${((100 * x) / n).toFixed(1)}%`;

afterAll(() => {
  const rows = TABLE.map((m) => ({
    scenario: m.scenario,
    weight: `${m.weight}%`,
    seeds: m.seeds,
    'failed phases': `${m.failed} (${pct(m.failed, m.seeds)})`,
    'detected (right reason)': m.scenario.startsWith('healthy') ? '—' : `${m.detected} (${pct(m.detected, m.seeds)})`,
    'median min': m.medianMinute ?? '—',
    'p90 min': m.p90Minute ?? '—',
    reasons: Object.entries(m.reasons)
      .map(([r, n]) => `${r}:${n}`)
      .join(' '),
  }));
  const cols = Object.keys(rows[0] ?? {}) as (keyof (typeof rows)[number])[];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(width[i]!)).join(' | ');
  console.log(
    [
      `canary analysis, ${REQUESTS_PER_MINUTE} req/min, ${PHASE_MINUTES}-minute phases analysed every minute, seeds 1..N`,
      line(cols as string[]),
      line(width.map((w) => '-'.repeat(w))),
      ...rows.map((r) => line(cols.map((c) => String(r[c])))),
    ].join('\n'),
  );
});

describe('healthy canaries: false-failure rate per phase < 1%', () => {
  it.each([1, 10, 50])('at %i%% traffic', (weight) => {
    const m = measure('healthy', weight, HEALTHY_SEEDS, BASELINE, null);
    expect(m.failed / m.seeds).toBeLessThan(0.01);
  });
});

const REGRESSIONS: { name: string; candidate: VariantProfile; reason: ReasonCode }[] = [
  { name: 'errors 3x (0.012)', candidate: { ...BASELINE, errorRate: 0.012 }, reason: 'error_rate_increase' },
  { name: 'p99 +15% (747.5 ms)', candidate: { ...BASELINE, latencyMs: { ...BASELINE.latencyMs, p99: 747.5 } }, reason: 'performance_degradation' },
  { name: 'risk energy +10% (0.33)', candidate: { ...BASELINE, riskEnergy: 0.33 }, reason: 'safety_violation' },
];

describe('regressions from minute 0 are detected with the right reason', () => {
  describe.each([10, 50])('at %i%% traffic: in at least 80% of phases', (weight) => {
    it.each(REGRESSIONS)('$name', ({ name, candidate, reason }) => {
      const m = measure(name, weight, REGRESSION_SEEDS, candidate, reason);
      expect(m.detected / m.seeds).toBeGreaterThanOrEqual(0.8);
    });
  });

  /*
   * At 1% traffic the canary sees 60 requests a minute. At a 0.4% base error rate that is 0.24
   * errors a minute healthy and 0.72 with the 3x regression: a phase holds ~43 canary errors
   * against an expected ~14, detectable but only after tens of minutes. A p99 of 60 requests is
   * their 60th-largest value, i.e. essentially the sample maximum, so its per-minute spread dwarfs a
   * 15% shift; the floors below are what the measurement supports, not a design target.
   */
  describe('at 1% traffic: what 60 canary requests a minute can show', () => {
    it('errors 3x: detected in most phases, typically after half an hour', () => {
      const m = measure(REGRESSIONS[0]!.name, 1, REGRESSION_SEEDS, REGRESSIONS[0]!.candidate, 'error_rate_increase');
      // Measured 66.5%: a regression present from the phase's first minute at 0.24 canary errors a
      // minute partly reads as instance dispersion (the price of not crying wolf on heterogeneous
      // fleets, README); the 10% phase catches it within minutes.
      expect(m.detected / m.seeds).toBeGreaterThanOrEqual(0.6);
      expect(m.medianMinute!).toBeLessThanOrEqual(45);
    });

    it('p99 +15%: rarely detectable within one phase (measured, not a target)', () => {
      const m = measure(REGRESSIONS[1]!.name, 1, REGRESSION_SEEDS, REGRESSIONS[1]!.candidate, 'performance_degradation');
      // Whatever is caught is caught for the right reason: any fail of this phase is this rule.
      expect(m.detected).toBe(m.failed);
      expect(m.detected / m.seeds).toBeGreaterThanOrEqual(0.01);
    });

    it('risk energy +10%: detected in most phases (the mean of 60 requests is informative)', () => {
      const m = measure(REGRESSIONS[2]!.name, 1, REGRESSION_SEEDS, REGRESSIONS[2]!.candidate, 'safety_violation');
      expect(m.detected / m.seeds).toBeGreaterThanOrEqual(0.9);
      expect(m.medianMinute!).toBeLessThanOrEqual(30);
    });
  });

  it('errors 3x at 1% traffic (60 req/min) with a 2% base error rate: caught within minutes', () => {
    const baseline = { ...BASELINE, errorRate: 0.02 };
    const m = measure('errors 3x, base 2% (0.06)', 1, REGRESSION_SEEDS, { ...baseline, errorRate: 0.06 }, 'error_rate_increase', baseline);
    expect(m.detected / m.seeds).toBeGreaterThanOrEqual(0.95);
    // from minute 0 of the phase: the warm-up's minutes are left out before the test starts counting
    expect(m.medianMinute!).toBeLessThanOrEqual(10 + DEFAULT_POLICY.canary.warmupMinutes);
  });

  it('a healthy canary with a 2% base error rate at 1% traffic is not failed (< 1%)', () => {
    const baseline = { ...BASELINE, errorRate: 0.02 };
    const m = measure('healthy, base 2%', 1, REGRESSION_SEEDS, baseline, null, baseline);
    expect(m.failed / m.seeds).toBeLessThan(0.01);
  });
});
