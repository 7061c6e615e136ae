/**
 * The honest benchmark of issue 10: false rollbacks of healthy releases, and detection of mid-phase
 * regressions, on the realistic fleet generator (local/fleet.ts `generatePhase`: per-instance drift,
 * warm-up, fleet-wide and one-zone incidents, sticky users, autocorrelated noise, diurnal traffic,
 * missing minutes), judged exactly as the pipeline judges: the monitor loop's analysis at every
 * minute of every phase (1% → 10% → 50%, 60 minutes each) and the alarm fast path evaluated every
 * minute (an ALARM transition rolls back, except a non-safety alarm within the warm-up plus its
 * evaluation periods, as core/rollback.ts alarmDuringWarmup decides).
 *
 * Run: npx tsx bench/realism.bench.ts [--releases 2000] [--regressions 200] [--out file.json]
 * Writes bench/realism-results.json and prints the tables (docs/benchmarks.md takes them from
 * `npm run bench`). Not part of CI: thousands of releases take minutes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { alarmRules, alarmState } from '../core/alarms.js';
import { analyzeCanary, type CanaryVerdict, type MinuteDatapoint } from '../core/analysis.js';
import { DEFAULT_POLICY } from '../core/policy.js';
import { alarmDuringWarmup, alarmSeverity } from '../core/rollback.js';
import { canaryAlarmName } from '../core/runtime-config.js';
import { DEFAULT_ALARM_POLICY } from '../core/alarms.js';
import { generatePhase, judgedPhase, periodValues } from '../local/fleet.js';
import type { LatencyThresholds } from '../core/analysis.js';
import { ScenarioSchema } from '../local/scenario.js';
import { CONDITIONS, ONSET, PHASE_MINUTES, REGRESSIONS, WEIGHTS, builtin, healthySeed, regressionScenario, regressionSeed, trafficFingerprint, upper95 } from './realism-classes.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RELEASES = arg('--releases', 2000);
const REGRESSION_SEEDS = arg('--regressions', 200);
const POLICY = DEFAULT_POLICY.canary;
const RULES = alarmRules(DEFAULT_ALARM_POLICY);

interface PhaseOutcome {
  readonly rolledBack: boolean;
  readonly atMinute: number | null;
  readonly by: string | null;
  readonly severity: string | null;
  readonly held: boolean;
}

/** One phase as the pipeline runs it: the loop's look every minute, the alarms every minute. */
function runPhase(points: readonly MinuteDatapoint[], thresholds: LatencyThresholds | null, weight: number): PhaseOutcome {
  const history = new Map<string, number[]>();
  const state = new Map<string, 'OK' | 'ALARM'>();
  let held = false;
  const byMinute = new Map(points.map((p) => [p.minute, p]));
  for (let minute = 0; minute < PHASE_MINUTES; minute++) {
    const p = byMinute.get(minute);
    // alarms first: CloudWatch evaluates at the end of the minute, the loop looks right after
    if (p !== undefined) {
      const values = periodValues(p);
      for (const rule of RULES) {
        const h = [...(history.get(rule.suffix) ?? []), rule.evaluate(values)].slice(-rule.evaluationPeriods);
        history.set(rule.suffix, h);
        const now = alarmState(rule, h);
        const before = state.get(rule.suffix) ?? 'OK';
        state.set(rule.suffix, now);
        if (now === 'ALARM' && before !== 'ALARM') {
          const name = canaryAlarmName('bb', 'builderbrain', rule.suffix);
          const ignored = alarmDuringWarmup(name, new Date(0).toISOString(), new Date((minute + 1) * 60_000), POLICY.warmupMinutes, rule.evaluationPeriods);
          if (!ignored) return { rolledBack: true, atMinute: minute + 1, by: `alarm:${rule.suffix}`, severity: alarmSeverity(rule.watches), held };
        }
      }
    }
    const window = points.filter((q) => q.minute <= minute);
    if (window.length === 0) continue;
    const v: CanaryVerdict = analyzeCanary({ datapoints: window, plannedMinutes: PHASE_MINUTES, lookEveryMinutes: 1, latencyThresholdsMs: thresholds, canaryWeightPct: weight }, POLICY);
    held ||= v.verdict === 'hold';
    if (v.verdict === 'fail') return { rolledBack: true, atMinute: minute + 1, by: v.reason, severity: v.severity, held };
  }
  return { rolledBack: false, atMinute: null, by: null, severity: null, held };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

// ---- false rollbacks of healthy releases ------------------------------------------------------------
const falseRollbacks: Record<string, { releases: number; rolledBack: number; rate: number; upper95: number; held: number; byReason: Record<string, number> }> = {};
const started = performance.now();
for (const name of CONDITIONS) {
  const scenario = builtin(name);
  let rolledBack = 0;
  let held = 0;
  const byReason: Record<string, number> = {};
  for (let release = 0; release < RELEASES; release++) {
    let anyHold = false;
    for (const [i, weight] of WEIGHTS.entries()) {
      const seed = healthySeed(scenario, release, i);
      const { datapoints, thresholds } = judgedPhase(generatePhase(scenario, weight, PHASE_MINUTES, seed), POLICY);
      const out = runPhase(datapoints, thresholds, weight);
      anyHold ||= out.held;
      if (out.rolledBack) {
        rolledBack += 1;
        const key = `${out.by}@${weight}%`;
        byReason[key] = (byReason[key] ?? 0) + 1;
        break;
      }
    }
    if (anyHold) held += 1;
  }
  falseRollbacks[name] = { releases: RELEASES, rolledBack, rate: rolledBack / RELEASES, upper95: upper95(rolledBack, RELEASES), held, byReason };
  process.stderr.write(`  ${name}: ${rolledBack}/${RELEASES} rolled back (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
}

// ---- detection of mid-phase regressions ---------------------------------------------------------------
const detection: Record<string, { weight: number; seeds: number; detected: number; rightReason: number; rightSeverity: number; medianMinutes: number | null; p90Minutes: number | null }> = {};
for (const r of REGRESSIONS) {
  const scenario = ScenarioSchema.parse(regressionScenario(r));
  const minutes: number[] = [];
  let rightReason = 0;
  let rightSeverity = 0;
  for (let seed = 0; seed < REGRESSION_SEEDS; seed++) {
    const { datapoints, thresholds } = judgedPhase(generatePhase(scenario, r.weight, PHASE_MINUTES, regressionSeed(seed)), POLICY);
    const out = runPhase(datapoints, thresholds, r.weight);
    if (!out.rolledBack || out.atMinute === null || out.atMinute <= ONSET) continue;
    minutes.push(out.atMinute - ONSET);
    if (r.reasons.includes(out.by ?? '')) rightReason += 1;
    if (r.severity === undefined || out.severity === r.severity) rightSeverity += 1;
  }
  minutes.sort((a, b) => a - b);
  const q = (f: number) => (minutes.length === 0 ? null : minutes[Math.min(minutes.length - 1, Math.floor(f * minutes.length))]!);
  detection[`${r.name} @${r.weight}%`] = { weight: r.weight, seeds: REGRESSION_SEEDS, detected: minutes.length, rightReason, rightSeverity, medianMinutes: q(0.5), p90Minutes: q(0.9) };
  process.stderr.write(`  ${r.name} at ${r.weight}%: ${minutes.length}/${REGRESSION_SEEDS} caught\n`);
}

const results = { traffic: trafficFingerprint(), releases: RELEASES, regressionSeeds: REGRESSION_SEEDS, phaseMinutes: PHASE_MINUTES, onsetMinute: ONSET, falseRollbacks, detection, seconds: Math.round((performance.now() - started) / 1000) };
const outIndex = process.argv.indexOf('--out');
writeFileSync(outIndex >= 0 ? process.argv[outIndex + 1]! : fileURLToPath(new URL('./realism-results.json', import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);

console.log(`\nFalse rollbacks of healthy releases (1% → 10% → 50%, ${PHASE_MINUTES} min each, loop every minute + alarms), ${RELEASES} releases per condition`);
console.log('| condition | rolled back | rate | 95% upper bound | releases that held | by |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [name, f] of Object.entries(falseRollbacks)) {
  console.log(`| ${name} | ${f.rolledBack} | ${pct(f.rate)} | ${pct(f.upper95)} | ${f.held} | ${Object.entries(f.byReason).map(([k, v]) => `${k} ${v}`).join(', ') || '—'} |`);
}
console.log(`\nDetection of regressions starting at minute ${ONSET} of the phase, on the realistic mix, ${REGRESSION_SEEDS} phases each`);
console.log('| regression | caught | right reason | right severity | median min | p90 min |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, d] of Object.entries(detection)) {
  console.log(`| ${name} | ${pct(d.detected / d.seeds)} | ${d.rightReason} | ${d.rightSeverity} | ${d.medianMinutes ?? '—'} | ${d.p90Minutes ?? '—'} |`);
}
