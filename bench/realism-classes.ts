/**
 * What the fleet-as-it-is benchmarks share (bench/realism.bench.ts for this project's rule,
 * bench/realism-peers.bench.ts for the peers'): the healthy conditions, the regression classes and
 * the phase plan, so that every rule is measured on the very same traffic.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUILTIN_SCENARIOS, type Scenario, type ScenarioInput } from '../local/scenario.js';

export const PHASE_MINUTES = 60;
export const WEIGHTS = [1, 10, 50] as const;
/** Minute of the phase at which a regression starts. */
export const ONSET = 20;

/**
 * A built-in scenario with its candidate made identical to its baseline (the built-ins' candidate is
 * slightly better: 176/415/640 ms and risk 0.29 against 180/420/650 ms and 0.30): a healthy
 * candidate here serves exactly as the baseline, and a regression is measured against the baseline.
 */
export const builtin = (name: string): Scenario => {
  const s = BUILTIN_SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no built-in scenario ${name}`);
  return { ...s, candidate: { ...s.baseline, events: s.candidate.events } };
};

/** The plain healthy release, then every built-in stress scenario (`healthy-*`). */
export const CONDITIONS: readonly string[] = ['healthy', ...BUILTIN_SCENARIOS.filter((s) => s.name.startsWith('healthy-')).map((s) => s.name)];

/** The seed of phase `i` of healthy release `release` of a condition. */
export const healthySeed = (scenario: Scenario, release: number, i: number): number => (scenario.seed * 1_000_003 + release * 7 + i) >>> 0;
/** The seed of regression phase `seed`. */
export const regressionSeed = (seed: number): number => (seed * 7919 + 13) >>> 0;

export interface RegressionClass {
  readonly name: string;
  readonly weight: number;
  readonly set: NonNullable<ScenarioInput['candidate']['events']>[number]['set'];
  /** Reasons (or `alarm:<suffix>`) that name the regression rightly. */
  readonly reasons: readonly string[];
  readonly severity?: string;
  /** The goal of issue 10: caught in at least this share of phases, median minutes from the onset at most. */
  readonly goal: { readonly rate: number; readonly medianMinutes: number };
}

/** The regressions are set on the realistic mix, relative to its baseline: errors 0.4%, p50/p95/p99 180/420/650 ms, risk energy 0.30. */
export const BASE = builtin('healthy-realistic-mix');
const b = BASE.baseline;
const times = (f: number) => ({ p50: b.latencyMs.p50 * f, p95: b.latencyMs.p95 * f, p99: b.latencyMs.p99 * f });

export const REGRESSIONS: readonly RegressionClass[] = [
  { name: 'errors ×2', weight: 10, set: { errorRate: b.errorRate * 2 }, reasons: ['error_rate_increase', 'alarm:error-rate'], goal: { rate: 0.95, medianMinutes: 8 } },
  { name: 'p99 +25% (tail only)', weight: 10, set: { latencyMs: { p99: b.latencyMs.p99 * 1.25 } }, reasons: ['performance_degradation', 'alarm:latency-p99'], severity: 'P1', goal: { rate: 0.95, medianMinutes: 5 } },
  { name: 'all percentiles +12%', weight: 10, set: { latencyMs: times(1.12) }, reasons: ['performance_degradation', 'alarm:latency-p99'], goal: { rate: 0.9, medianMinutes: 10 } },
  { name: 'all percentiles +25%', weight: 1, set: { latencyMs: times(1.25) }, reasons: ['performance_degradation', 'alarm:latency-p99'], severity: 'P1', goal: { rate: 0.95, medianMinutes: 10 } },
  { name: 'risk energy +5%', weight: 10, set: { riskEnergy: b.riskEnergy * 1.05 }, reasons: ['safety_violation', 'alarm:risk-energy'], severity: 'P0', goal: { rate: 0.85, medianMinutes: 15 } },
  { name: 'constraint violations 6% (canary only)', weight: 10, set: { constraintViolationRate: 0.06 }, reasons: ['constraint_violations', 'alarm:constraint-violations'], goal: { rate: 0.95, medianMinutes: 10 } },
  { name: 'errors ×4', weight: 1, set: { errorRate: b.errorRate * 4 }, reasons: ['error_rate_increase', 'alarm:error-rate'], goal: { rate: 0.9, medianMinutes: 15 } },
  { name: 'safety incidents', weight: 10, set: { safetyIncidentsPerMinute: 2 }, reasons: ['safety_violation', 'alarm:safety-incidents'], severity: 'P0', goal: { rate: 1, medianMinutes: 1 } },
];

/** The realistic mix with the regression of `r` starting at {@link ONSET} of the phase at its weight. */
export function regressionScenario(r: RegressionClass): ScenarioInput {
  return { ...BASE, name: 'bench-regression', candidate: { ...BASE.candidate, events: [{ whenWeight: r.weight, afterMinutes: ONSET, set: r.set }] } };
}

/** Clopper–Pearson upper 95% (two-sided) bound of a binomial proportion, by bisection on the CDF. */
export function upper95(x: number, n: number): number {
  if (x >= n) return 1;
  const logChoose = (k: number): number => lgammaInt(n + 1) - lgammaInt(k + 1) - lgammaInt(n - k + 1);
  const cdf = (p: number): number => {
    let s = 0;
    for (let k = 0; k <= x; k++) s += Math.exp(logChoose(k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
    return s;
  };
  let lo = x / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.025) lo = mid;
    else hi = mid;
  }
  return hi;
}
const lgammaCache: number[] = [0, 0];
function lgammaInt(k: number): number {
  // log((k-1)!) for integers k ≥ 1
  for (let i = lgammaCache.length; i <= k; i++) lgammaCache[i] = lgammaCache[i - 1]! + Math.log(i - 1);
  return lgammaCache[k]!;
}

/** The generator's sources: a change to any of them changes the traffic. */
const GENERATOR_SOURCES = ['../local/fleet.ts', '../local/traffic.ts', '../local/cloudwatch.ts', '../local/scenario.ts'];

/**
 * A fingerprint of the traffic every rule is measured on (the conditions, the regressions, the
 * phase plan and the generator's sources): both benchmarks record it, so results measured on
 * different traffic are never put side by side unnoticed.
 */
export function trafficFingerprint(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ PHASE_MINUTES, WEIGHTS, ONSET, conditions: CONDITIONS.map(builtin), regressions: REGRESSIONS }));
  for (const f of GENERATOR_SOURCES) h.update(readFileSync(fileURLToPath(new URL(f, import.meta.url))));
  return h.digest('hex').slice(0, 16);
}
