/**
 * Detection speed and false rollbacks of this project's rollback rule side by side with peers'
 * documented default rules (bench/rules/), all applied to the very same simulated per-minute
 * canary/baseline datapoints. See bench/README.md ("Detection and false rollbacks") for the method.
 *
 *   npx tsx bench/detection.ts [--seeds 100] [--healthy-seeds 300] [--workers 2]
 *                              [--out bench/detection-results.json] [--svg chart.svg]
 *
 * Deterministic: the same seeds give the same numbers.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { MinuteDatapoint } from '../core/analysis.js';
import { DEFAULT_PHASES, type Phase } from '../core/plan.js';
import { SimulatedFleet } from '../local/fleet.js';
import { BUILTIN_SCENARIOS, type Scenario } from '../local/scenario.js';
import { createRules, type Rule } from './rules/index.js';
import { detectionChartSvg, detectionMarkdown } from './rules/render.js';

/** The regression scenarios: every built-in scenario whose candidate changes during the release (the chain ones repeat error-spike-at-10pct in production; bake-regression regresses after the phases, recovery-fails repeats the spike). */
export const REGRESSION_SCENARIOS: readonly Scenario[] = BUILTIN_SCENARIOS.filter((s) => s.candidate.events.length > 0 && s.chain === undefined && s.bake === undefined && s.name !== 'recovery-fails');

/** The healthy-but-noisy release: the `healthy` scenario with a candidate identical to the baseline. */
export const HEALTHY_NULL: Scenario = (() => {
  const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
  return { ...healthy, name: 'healthy-null', candidate: { ...healthy.baseline, events: [] } };
})();

export const FALSE_ROLLBACK_WEIGHTS = ['1', '10', '50'] as const;
export type WeightKey = (typeof FALSE_ROLLBACK_WEIGHTS)[number];

export interface ScenarioDetection {
  /** Median minutes from the regression's first minute to the rollback decision, over detected seeds. */
  readonly median: number | null;
  /** Largest such delay over detected seeds. */
  readonly worst: number | null;
  /** Seeds never rolled back during the canary phases. */
  readonly missed: number;
  readonly detected: number;
  /** Seeds rolled back before the regression started (false rollbacks, not detections). */
  readonly preRegressionRollbacks: number;
}

export interface RuleResults {
  /** End to end: each rule watches the release from the start of the 1% phase. */
  readonly detectionMinutes: Record<string, ScenarioDetection>;
  /**
   * Detection speed alone: each rule starts fresh at the beginning of the phase in which the
   * regression begins (so a false rollback in earlier phases cannot pre-empt the measurement).
   */
  readonly detectionMinutesFromRegressionPhase: Record<string, ScenarioDetection>;
  /** Healthy releases rolled back during the canary phases (1% → 10% → 50%, state carried across). */
  readonly falseRollbackRate: number;
  /** Healthy phases rolled back, each phase watched on its own by a fresh rule. */
  readonly falseRollbackRateByWeight: Record<WeightKey, number>;
  /** Of the healthy releases that passed the canary phases, those rolled back in the 100% phase. */
  readonly fullWeightRollbackRate: number;
}

export interface DetectionResults {
  readonly rules: Record<string, RuleResults>;
  readonly meta: {
    readonly seeds: number;
    readonly healthySeeds: number;
    readonly phases: readonly Phase[];
    /** Release minute of each scenario's first regressed minute, and the minutes left until the end of the canary phases. */
    readonly scenarios: Record<string, { readonly regressionStartMinute: number; readonly horizonMinutes: number }>;
    readonly seconds: number;
  };
}

export interface SimulatedRelease {
  /** Each phase's datapoints, phase-relative minutes. */
  readonly phases: readonly (readonly MinuteDatapoint[])[];
  readonly regressionStart: number | null;
}

/** One release through every phase with no rollback (the regression runs on), seeded by `seed`. */
export function simulateRelease(scenario: Scenario, seed: number, phases: readonly Phase[] = DEFAULT_PHASES): SimulatedRelease {
  const fleet = new SimulatedFleet({ ...scenario, seed });
  let minute = 0;
  const bounds: [number, number][] = [];
  for (const p of phases) {
    const start = minute;
    for (let k = 0; k < p.monitorMinutes; k++) fleet.step(minute++, p.weight);
    bounds.push([start, minute]);
  }
  return { phases: bounds.map(([a, b]) => fleet.window(a, b)), regressionStart: fleet.regressionStartedAtMinute };
}

export interface ScanResult {
  /** Phase index of the rollback. */
  readonly phase: number;
  /** First release minute served by the baseline again: the minute after the last one observed. */
  readonly decisionMinute: number;
}

/**
 * Feeds `rule` (after `reset()`) the phases [from, to) minute by minute; the first rollback stops the
 * scan. `releaseStart` is the release minute of phase `from`'s first minute.
 */
export function scanRule(rule: Rule, release: SimulatedRelease, phases: readonly Phase[], from: number, to: number): ScanResult | null {
  rule.reset();
  let start = phases.slice(0, from).reduce((m, p) => m + p.monitorMinutes, 0);
  for (let i = from; i < to; i++) {
    const points = release.phases[i]!;
    const plannedMinutes = phases[i]!.monitorMinutes;
    for (let k = 1; k <= points.length; k++) {
      const decision = rule.observe(points.slice(0, k), { index: i, weight: phases[i]!.weight, plannedMinutes, releaseMinute: start + k - 1 });
      if (decision === 'rollback') return { phase: i, decisionMinute: start + k };
    }
    start += plannedMinutes;
  }
  return null;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface DetectionOptions {
  readonly seeds?: number;
  readonly healthySeeds?: number;
  readonly scenarios?: readonly Scenario[];
  readonly phases?: readonly Phase[];
  readonly rules?: () => Rule[];
  readonly onProgress?: (message: string) => void;
}

/** One unit of work: a regression scenario's seed, or a healthy release's seed. */
export type Job = { readonly kind: 'detect'; readonly scenario: number; readonly seed: number } | { readonly kind: 'healthy'; readonly seed: number };

/** What every rule did on one job (plain data, so it crosses worker boundaries). */
export type JobOutcome =
  | {
      readonly job: Job;
      readonly regressionStart: number;
      /** Per rule: end-to-end scan, and the scan started at the regression's phase. */
      readonly rules: Record<string, { readonly endToEnd: ScanResult | null; readonly fromPhase: ScanResult | null }>;
    }
  | {
      readonly job: Job;
      /** Per rule: the scan of the whole release, and of each canary phase alone. */
      readonly rules: Record<string, { readonly release: ScanResult | null; readonly alone: (ScanResult | null)[] }>;
    };

interface Setup {
  readonly scenarios: readonly Scenario[];
  readonly phases: readonly Phase[];
  readonly rules: Rule[];
  /** The canary phases: those where a baseline still serves traffic to compare with. */
  readonly canaryPhases: number;
}

function setup(options: DetectionOptions): Setup {
  const phases = options.phases ?? DEFAULT_PHASES;
  return {
    scenarios: options.scenarios ?? REGRESSION_SCENARIOS,
    phases,
    rules: (options.rules ?? createRules)(),
    canaryPhases: phases.filter((p) => p.weight < 100).length,
  };
}

function jobsOf(seeds: number, healthySeeds: number, scenarios: number): Job[] {
  const jobs: Job[] = [];
  for (let scenario = 0; scenario < scenarios; scenario++) for (let seed = 1; seed <= seeds; seed++) jobs.push({ kind: 'detect', scenario, seed });
  for (let seed = 1; seed <= healthySeeds; seed++) jobs.push({ kind: 'healthy', seed });
  return jobs;
}

function phaseOf(phases: readonly Phase[], minute: number): number {
  let end = 0;
  for (let i = 0; i < phases.length; i++) {
    end += phases[i]!.monitorMinutes;
    if (minute < end) return i;
  }
  return phases.length - 1;
}

export function runJob(job: Job, s: Setup): JobOutcome {
  if (job.kind === 'detect') {
    const scenario = s.scenarios[job.scenario]!;
    const release = simulateRelease(scenario, job.seed, s.phases);
    const start = release.regressionStart;
    if (start === null) throw new Error(`scenario ${scenario.name}: no regression within the simulated phases`);
    const regressionPhase = phaseOf(s.phases, start);
    const rules: Record<string, { endToEnd: ScanResult | null; fromPhase: ScanResult | null }> = {};
    for (const rule of s.rules) {
      rules[rule.name] = {
        endToEnd: scanRule(rule, release, s.phases, 0, s.canaryPhases),
        fromPhase: scanRule(rule, release, s.phases, regressionPhase, s.canaryPhases),
      };
    }
    return { job, regressionStart: start, rules };
  }
  const release = simulateRelease(HEALTHY_NULL, job.seed, s.phases);
  const rules: Record<string, { release: ScanResult | null; alone: (ScanResult | null)[] }> = {};
  for (const rule of s.rules) {
    rules[rule.name] = {
      release: scanRule(rule, release, s.phases, 0, s.phases.length),
      alone: Array.from({ length: s.canaryPhases }, (_, p) => scanRule(rule, release, s.phases, p, p + 1)),
    };
  }
  return { job, rules };
}

function aggregate(outcomes: readonly JobOutcome[], s: Setup, seeds: number, healthySeeds: number, seconds: number): DetectionResults {
  const canaryEnd = s.phases.slice(0, s.canaryPhases).reduce((m, p) => m + p.monitorMinutes, 0);
  type Tally = { minutes: number[]; missed: number; early: number };
  const record = (t: Tally, r: ScanResult | null, start: number) => {
    if (r === null) t.missed++;
    else if (r.decisionMinute <= start) t.early++;
    else t.minutes.push(r.decisionMinute - start);
  };
  const summarize = (t: Tally): ScenarioDetection => ({
    median: median(t.minutes),
    worst: t.minutes.length > 0 ? Math.max(...t.minutes) : null,
    missed: t.missed,
    detected: t.minutes.length,
    preRegressionRollbacks: t.early,
  });
  const meta: Record<string, { regressionStartMinute: number; horizonMinutes: number }> = {};
  const out: Record<string, RuleResults> = {};
  for (const rule of s.rules) {
    const endToEnd = s.scenarios.map((): Tally => ({ minutes: [], missed: 0, early: 0 }));
    const fromPhase = s.scenarios.map((): Tally => ({ minutes: [], missed: 0, early: 0 }));
    let falseReleases = 0;
    let reachedFull = 0;
    let rolledBackFull = 0;
    const alone = new Array<number>(s.canaryPhases).fill(0);
    for (const o of outcomes) {
      if (o.job.kind === 'detect' && 'regressionStart' in o) {
        const r = o.rules[rule.name]!;
        record(endToEnd[o.job.scenario]!, r.endToEnd, o.regressionStart);
        record(fromPhase[o.job.scenario]!, r.fromPhase, o.regressionStart);
        meta[s.scenarios[o.job.scenario]!.name] = { regressionStartMinute: o.regressionStart, horizonMinutes: canaryEnd - o.regressionStart };
      } else if (!('regressionStart' in o)) {
        const r = o.rules[rule.name]!;
        if (r.release !== null && r.release.phase < s.canaryPhases) falseReleases++;
        else {
          reachedFull++;
          if (r.release !== null) rolledBackFull++;
        }
        r.alone.forEach((a, p) => {
          if (a !== null) alone[p]!++;
        });
      }
    }
    const weights = {} as Record<WeightKey, number>;
    s.phases.slice(0, s.canaryPhases).forEach((p, i) => {
      weights[String(p.weight) as WeightKey] = healthySeeds > 0 ? alone[i]! / healthySeeds : 0;
    });
    out[rule.name] = {
      detectionMinutes: Object.fromEntries(s.scenarios.map((sc, i) => [sc.name, summarize(endToEnd[i]!)])),
      detectionMinutesFromRegressionPhase: Object.fromEntries(s.scenarios.map((sc, i) => [sc.name, summarize(fromPhase[i]!)])),
      falseRollbackRate: healthySeeds > 0 ? falseReleases / healthySeeds : 0,
      falseRollbackRateByWeight: weights,
      fullWeightRollbackRate: reachedFull > 0 ? rolledBackFull / reachedFull : 0,
    };
  }
  return { rules: out, meta: { seeds, healthySeeds, phases: s.phases, scenarios: meta, seconds } };
}

/** The benchmark in this thread (any options; the tests use this). */
export function runDetectionBench(options: DetectionOptions = {}): DetectionResults {
  const t0 = performance.now();
  const seeds = options.seeds ?? 100;
  const healthySeeds = options.healthySeeds ?? 3 * seeds;
  const s = setup(options);
  const outcomes = jobsOf(seeds, healthySeeds, s.scenarios.length).map((job) => runJob(job, s));
  return aggregate(outcomes, s, seeds, healthySeeds, Math.round((performance.now() - t0) / 100) / 10);
}

/**
 * The benchmark with the default scenarios, phases and rules, its jobs spread over `workers` worker
 * threads. The results are identical to {@link runDetectionBench}'s: every job is seeded on its own
 * and the outcomes are aggregated in job order.
 */
export async function runDetectionBenchParallel(options: { seeds?: number; healthySeeds?: number; workers?: number; onProgress?: (m: string) => void } = {}): Promise<DetectionResults> {
  const t0 = performance.now();
  const seeds = options.seeds ?? 100;
  const healthySeeds = options.healthySeeds ?? 3 * seeds;
  const workers = Math.max(1, options.workers ?? 1);
  const s = setup({});
  const jobs = jobsOf(seeds, healthySeeds, s.scenarios.length);
  const outcomes = new Array<JobOutcome>(jobs.length);
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const ids = jobs.map((_, i) => i).filter((i) => i % workers === w);
      return new Promise<void>((resolvePromise, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { detectionJobs: ids.map((i) => jobs[i]) } });
        worker.on('message', (m: { index: number; outcome: JobOutcome }) => {
          outcomes[ids[m.index]!] = m.outcome;
          done++;
          if (done % 100 === 0) options.onProgress?.(`${done}/${jobs.length} releases`);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`worker exited with ${code}`))));
      });
    }),
  );
  return aggregate(outcomes, s, seeds, healthySeeds, Math.round((performance.now() - t0) / 100) / 10);
}

if (!isMainThread && (workerData as { detectionJobs?: Job[] } | null)?.detectionJobs) {
  const s = setup({});
  (workerData as { detectionJobs: Job[] }).detectionJobs.forEach((job, index) => parentPort!.postMessage({ index, outcome: runJob(job, s) }));
}

function parseArgs(argv: readonly string[]): { seeds: number; healthySeeds: number | undefined; workers: number; out: string; svg: string | undefined } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string): number | undefined => {
    const v = value(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
  const here = fileURLToPath(new URL('.', import.meta.url));
  return {
    seeds: int('--seeds') ?? 100,
    healthySeeds: int('--healthy-seeds'),
    workers: int('--workers') ?? Math.min(2, availableParallelism()),
    out: resolve(value('--out') ?? resolve(here, 'detection-results.json')),
    svg: value('--svg'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const results = await runDetectionBenchParallel({
    seeds: args.seeds,
    ...(args.healthySeeds !== undefined ? { healthySeeds: args.healthySeeds } : {}),
    workers: args.workers,
    onProgress: (m) => process.stderr.write(`  ${m}\n`),
  });
  process.stdout.write(`${detectionMarkdown(results)}\n`);
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  if (args.svg) writeFileSync(resolve(args.svg), detectionChartSvg(results));
  process.stderr.write(`wrote ${args.out}${args.svg ? ` and ${args.svg}` : ''} in ${results.meta.seconds} s on ${args.workers} worker thread(s)\n`);
}

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
