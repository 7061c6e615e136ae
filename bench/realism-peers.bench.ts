/**
 * The peers' rules on the fleet as it is (issue 10): Flagger, Argo Rollouts, CodeDeploy alarms and
 * Kayenta, re-implemented from their docs in bench/rules/, on the very traffic bench/realism.bench.ts
 * judges this project's rule on (local/fleet.ts `generatePhase`, the same conditions, regression
 * classes and seeds from bench/realism-classes.ts):
 *
 * - at their documented defaults: false rollbacks of healthy releases (1% → 10% → 50%, 60 minutes
 *   each, the rule's state carried across the phases of a release, reset per release) for every
 *   condition, and detection of every regression class (a phase at the class's weight, started fresh,
 *   the regression from minute ONSET on; a rollback at or before the onset is a false rollback,
 *   counted apart);
 * - calibrated: each peer's strictness knob (fixed thresholds scaled, or the rule's own counter:
 *   Flagger's `threshold`, Argo's `failureLimit`, CodeDeploy's N-of-N periods; Kayenta's Mann–Whitney
 *   confidence level) set by bisection so that its false-rollback rate on `healthy-realistic-mix`
 *   is at most ours (bench/realism-results.json), on the same healthy seeds — the fair "equal false
 *   alarm rate on the same traffic" — then its detection at that setting. A detection delay compares
 *   only at equal false alarms.
 *
 * The rules see each phase one minute at a time (Rule.observe with the phase's datapoints so far). A
 * minute with no datapoint at all (neither variant emitted) is given to them as an empty minute (zero
 * requests, no latency), so that every rule ticks on the wall clock as its controller does: Flagger
 * counts a query with no values as a failed check, Argo as an Error, a CloudWatch alarm as missing
 * data, Kayenta drops the NaNs. (A minute where only the canary is missing is already such a minute
 * for the canary.)
 *
 * Run: npx tsx bench/realism-peers.bench.ts [--releases 2000] [--regressions 200] [--workers 2]
 * Reads bench/realism-results.json (ours; run bench/realism.bench.ts first), writes
 * bench/realism-peers-results.json and prints Markdown tables. Not part of CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { emptyVariantMinute, type MinuteDatapoint } from '../core/analysis.js';
import { generatePhase } from '../local/fleet.js';
import { ScenarioSchema } from '../local/scenario.js';
import { CONDITIONS, ONSET, PHASE_MINUTES, REGRESSIONS, WEIGHTS, builtin, healthySeed, regressionScenario, regressionSeed, trafficFingerprint, upper95 } from './realism-classes.js';
import { argoRule } from './rules/argo.js';
import { codeDeployRule } from './rules/codedeploy.js';
import { flaggerRule } from './rules/flagger.js';
import { kayentaRule } from './rules/kayenta.js';
import type { Rule } from './rules/types.js';

export const PEERS = ['flagger', 'argo', 'codedeploy-alarms', 'kayenta'] as const;
export type PeerName = (typeof PEERS)[number];

/** The condition the peers are calibrated on (the regressions are set on it too). */
export const CALIBRATION_CONDITION = 'healthy-realistic-mix';

/**
 * One monotone strictness knob of a peer: `make(x)` builds the rule at search coordinate `x`; the
 * larger `x`, the more lenient the rule (never more rollbacks). `x` is the knob's value itself,
 * except for Kayenta's confidence level, searched as x = −log10(1 − confLevel).
 */
export interface Knob {
  readonly rule: PeerName;
  readonly knob: string;
  /** Search coordinate of the documented default. */
  readonly defaultX: number;
  readonly lo: number;
  readonly hi: number;
  readonly integer: boolean;
  /** Bisection steps for a continuous knob. */
  readonly iterations: number;
  make(x: number): Rule;
  /** The knob's value at `x`, as a user would write it. */
  value(x: number): number;
}

const confOf = (x: number): number => 1 - 10 ** -x;

export const KNOBS: readonly Knob[] = [
  { rule: 'flagger', knob: 'thresholdScale', defaultX: 1, lo: 0.25, hi: 1000, integer: false, iterations: 30, make: (x) => flaggerRule({ thresholdScale: x }), value: (x) => x },
  { rule: 'flagger', knob: 'threshold', defaultX: 5, lo: 1, hi: 1000, integer: true, iterations: 0, make: (x) => flaggerRule({ threshold: x }), value: (x) => x },
  { rule: 'argo', knob: 'thresholdScale', defaultX: 1, lo: 0.25, hi: 1000, integer: false, iterations: 30, make: (x) => argoRule({ thresholdScale: x }), value: (x) => x },
  { rule: 'argo', knob: 'failureLimit', defaultX: 0, lo: 0, hi: 100, integer: true, iterations: 0, make: (x) => argoRule({ failureLimit: x }), value: (x) => x },
  { rule: 'codedeploy-alarms', knob: 'thresholdScale', defaultX: 1, lo: 0.25, hi: 1000, integer: false, iterations: 30, make: (x) => codeDeployRule({ thresholdScale: x }), value: (x) => x },
  {
    rule: 'codedeploy-alarms',
    knob: 'N-of-N',
    defaultX: 3,
    lo: 1,
    hi: 60,
    integer: true,
    iterations: 0,
    make: (x) => codeDeployRule({ periodsToAlarm: x, evaluationPeriods: x }),
    value: (x) => x,
  },
  {
    rule: 'kayenta',
    knob: 'confLevel',
    defaultX: -Math.log10(1 - 0.98),
    lo: 0.3,
    hi: 12,
    integer: false,
    iterations: 18,
    make: (x) => kayentaRule({ classifier: { confLevel: confOf(x) } }),
    value: confOf,
  },
];

/** A rule to run: a peer at its defaults (no knob) or with one knob at search coordinate `x`. */
export interface RuleSpec {
  readonly rule: PeerName;
  readonly knob?: string;
  readonly x?: number;
}

export function makeRule(spec: RuleSpec): Rule {
  if (spec.knob === undefined || spec.x === undefined) {
    switch (spec.rule) {
      case 'flagger':
        return flaggerRule();
      case 'argo':
        return argoRule();
      case 'codedeploy-alarms':
        return codeDeployRule();
      case 'kayenta':
        return kayentaRule();
    }
  }
  const knob = KNOBS.find((k) => k.rule === spec.rule && k.knob === spec.knob);
  if (knob === undefined) throw new Error(`no knob ${spec.knob} for ${spec.rule}`);
  return knob.make(spec.x);
}

// ---- running a rule on phases ---------------------------------------------------------------------------

/** A phase as the rules see it: one datapoint per minute 0..minutes−1, empty where nothing was emitted. */
export function wallClockPhase(datapoints: readonly MinuteDatapoint[], minutes = PHASE_MINUTES): MinuteDatapoint[] {
  const byMinute = new Map(datapoints.map((p) => [p.minute, p]));
  return Array.from({ length: minutes }, (_, m) => byMinute.get(m) ?? { minute: m, canary: emptyVariantMinute(), baseline: emptyVariantMinute() });
}

/** Where a rule rolled back: phase index in the scan and minutes observed in that phase. */
export interface Rollback {
  readonly phase: number;
  readonly atMinute: number;
}

/**
 * Feeds `rule` (after `reset()`) the phases one minute at a time; phase k of `phases` is phase
 * `firstIndex + k` of the plan (WEIGHTS). Stops at the first rollback.
 */
export function scanPhases(rule: Rule, phases: readonly (readonly MinuteDatapoint[])[], firstIndex = 0): Rollback | null {
  rule.reset();
  for (const [k, points] of phases.entries()) {
    const index = firstIndex + k;
    const weight = WEIGHTS[index]!;
    for (let m = 1; m <= points.length; m++) {
      const ctx = { index, weight, plannedMinutes: PHASE_MINUTES, releaseMinute: index * PHASE_MINUTES + m - 1 };
      if (rule.observe(points.slice(0, m), ctx) === 'rollback') return { phase: k, atMinute: m };
    }
  }
  return null;
}

// ---- calibration ---------------------------------------------------------------------------------------

export interface Calibration {
  /** Search coordinate found; null when even the most lenient end rolls back more than the target. */
  readonly x: number | null;
  /** Rollbacks at `x` (or at the lenient end `hi` when unreachable: the knob's floor). */
  readonly rolledBack: number;
  /** True when the strict end `lo` already meets the target (the knob may go stricter still). */
  readonly atStrictEnd: boolean;
  readonly evaluations: number;
}

/**
 * The strictest setting of a monotone knob whose false rollbacks are at most `target`: bisection on
 * `[lo, hi]` (integers, or `iterations` halvings), `rollbacks(x)` non-increasing in `x`. Evaluations
 * are cached by `x`.
 */
export async function calibrate(
  rollbacks: (x: number) => number | Promise<number>,
  target: number,
  options: { lo: number; hi: number; integer: boolean; iterations?: number },
): Promise<Calibration> {
  const seen = new Map<number, number>();
  const at = async (x: number): Promise<number> => {
    const hit = seen.get(x);
    if (hit !== undefined) return hit;
    const v = await rollbacks(x);
    seen.set(x, v);
    return v;
  };
  let { lo, hi } = options;
  const atLo = await at(lo);
  if (atLo <= target) return { x: lo, rolledBack: atLo, atStrictEnd: true, evaluations: seen.size };
  let atHi = await at(hi);
  if (atHi > target) return { x: null, rolledBack: atHi, atStrictEnd: false, evaluations: seen.size };
  // Invariant: rollbacks(lo) > target ≥ rollbacks(hi).
  if (options.integer) {
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const v = await at(mid);
      if (v <= target) [hi, atHi] = [mid, v];
      else lo = mid;
    }
  } else {
    for (let i = 0; i < (options.iterations ?? 30); i++) {
      const mid = (lo + hi) / 2;
      const v = await at(mid);
      if (v <= target) [hi, atHi] = [mid, v];
      else lo = mid;
    }
  }
  return { x: hi, rolledBack: atHi, atStrictEnd: false, evaluations: seen.size };
}

/** At most this many false rollbacks in `releases` to match a rate (at most one when the rate is 0). */
export function targetRollbacks(rate: number, releases: number): number {
  return rate <= 0 ? 1 : Math.floor(rate * releases + 1e-9);
}

// ---- the workers ----------------------------------------------------------------------------------------

interface WorkerInput {
  readonly realismPeers: true;
  readonly worker: number;
  readonly workers: number;
  readonly releases: number;
  readonly regressions: number;
}

type Request = { readonly id: number; readonly kind: 'healthy' | 'detect'; readonly spec: RuleSpec };
/**
 * Per regression class: this worker's seeds and each one's rollback minute in the regression phase
 * (null: none), the phase watched fresh (`fresh`) and as part of its release (`release`: the rule
 * watched the release's earlier healthy phases first; a rollback there is minute 0, i.e. early).
 */
type DetectReply = { readonly id: number; readonly detect: { readonly seed: number; readonly fresh: number | null; readonly release: number | null }[][] };
type HealthyReply = { readonly id: number; readonly rolledBack: number };
type DefaultsReply = {
  readonly defaults: Record<string, Record<PeerName, { rolledBack: number; byPhase: number[] }>>;
};

type Stored = Map<number, MinuteDatapoint[][]>;
type RegressionPhase = { seed: number; index: number; phase: MinuteDatapoint[]; before: MinuteDatapoint[][] };

/** This worker's healthy releases judged by every peer at its defaults; the calibration condition's phases kept in `stored`. */
function judgeHealthyAtDefaults(input: WorkerInput, stored: Stored, post: (m: unknown) => void): DefaultsReply['defaults'] {
  const mine = (i: number) => i % input.workers === input.worker;
  const defaults = PEERS.map((rule) => makeRule({ rule }));
  const counts: DefaultsReply['defaults'] = {};
  for (const name of CONDITIONS) {
    const scenario = builtin(name);
    const tally = Object.fromEntries(PEERS.map((p) => [p, { rolledBack: 0, byPhase: WEIGHTS.map(() => 0) }])) as Record<PeerName, { rolledBack: number; byPhase: number[] }>;
    for (let release = 0; release < input.releases; release++) {
      if (!mine(release)) continue;
      const phases = WEIGHTS.map((weight, i) => wallClockPhase(generatePhase(scenario, weight, PHASE_MINUTES, healthySeed(scenario, release, i)).datapoints));
      for (const [k, rule] of defaults.entries()) {
        const r = scanPhases(rule, phases);
        if (r !== null) {
          tally[PEERS[k]!].rolledBack++;
          tally[PEERS[k]!].byPhase[r.phase]!++;
        }
      }
      if (name === CALIBRATION_CONDITION) stored.set(release, phases);
    }
    counts[name] = tally;
    post({ progress: `${name}` });
  }
  return counts;
}

/** This worker's regression phases, each with the earlier healthy phases of its release (the release view). */
function regressionPhasesOf(input: WorkerInput, stored: Stored): RegressionPhase[][] {
  const mine = (i: number) => i % input.workers === input.worker;
  const base = builtin(CALIBRATION_CONDITION);
  const earlier = new Map<string, MinuteDatapoint[]>();
  return REGRESSIONS.map((r) => {
    const scenario = ScenarioSchema.parse(regressionScenario(r));
    const index = WEIGHTS.indexOf(r.weight as (typeof WEIGHTS)[number]);
    const out: RegressionPhase[] = [];
    for (let seed = 0; seed < input.regressions; seed++) {
      if (!mine(seed)) continue;
      // The release view: the earlier phases are those of healthy release `seed` of the realistic mix.
      const before = Array.from({ length: index }, (_, i) => {
        const key = `${seed}/${i}`;
        let phase = stored.get(seed)?.[i] ?? earlier.get(key);
        if (phase === undefined) earlier.set(key, (phase = wallClockPhase(generatePhase(base, WEIGHTS[i]!, PHASE_MINUTES, healthySeed(base, seed, i)).datapoints)));
        return phase;
      });
      out.push({ seed, index, phase: wallClockPhase(generatePhase(scenario, r.weight, PHASE_MINUTES, regressionSeed(seed)).datapoints), before });
    }
    return out;
  });
}

function workerMain(input: WorkerInput): void {
  const post = (m: unknown) => parentPort!.postMessage(m);
  const stored: Stored = new Map();
  const counts = judgeHealthyAtDefaults(input, stored, post);
  const regressionPhases = regressionPhasesOf(input, stored);
  post({ defaults: counts } satisfies DefaultsReply);
  parentPort!.on('message', (req: Request) => {
    const rule = makeRule(req.spec);
    if (req.kind === 'healthy') {
      let rolledBack = 0;
      for (const phases of stored.values()) if (scanPhases(rule, phases) !== null) rolledBack++;
      post({ id: req.id, rolledBack } satisfies HealthyReply);
    } else {
      const detect = regressionPhases.map((phases) =>
        phases.map(({ seed, index, phase, before }) => {
          const fresh = scanPhases(rule, [phase], index)?.atMinute ?? null;
          if (before.length === 0) return { seed, fresh, release: fresh };
          const r = scanPhases(rule, [...before, phase], 0);
          return { seed, fresh, release: r === null ? null : r.phase < before.length ? 0 : r.atMinute };
        }),
      );
      post({ id: req.id, detect } satisfies DetectReply);
    }
  });
}

if (!isMainThread && (workerData as Partial<WorkerInput> | null)?.realismPeers === true) workerMain(workerData as WorkerInput);

class Pool {
  private next = 0;
  private readonly pending = new Map<number, { replies: unknown[]; resolve: (r: unknown[]) => void; reject: (e: unknown) => void }>();
  private failed: unknown = null;
  public readonly ready: Promise<DefaultsReply[]>;
  private readonly workers: Worker[];

  public constructor(n: number, releases: number, regressions: number, log: (m: string) => void) {
    const readies: Promise<DefaultsReply>[] = [];
    this.workers = Array.from({ length: n }, (_, worker) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { realismPeers: true, worker, workers: n, releases, regressions } satisfies WorkerInput });
      readies.push(
        new Promise((resolveReady, reject) => {
          w.on('message', (m: { progress?: string; defaults?: unknown; id?: number }) => {
            if (m.progress !== undefined) log(`    worker ${worker}: ${m.progress} done`);
            else if (m.defaults !== undefined) resolveReady(m as DefaultsReply);
            else if (m.id !== undefined) {
              const p = this.pending.get(m.id)!;
              p.replies.push(m);
              if (p.replies.length === n) {
                this.pending.delete(m.id);
                p.resolve(p.replies);
              }
            }
          });
          w.on('error', (err) => {
            this.failed = err;
            reject(err);
            for (const p of this.pending.values()) p.reject(err);
            this.pending.clear();
          });
        }),
      );
      return w;
    });
    this.ready = Promise.all(readies);
  }

  private ask(kind: Request['kind'], spec: RuleSpec): Promise<unknown[]> {
    const id = this.next++;
    if (this.failed !== null) return Promise.reject(this.failed);
    return new Promise((resolveAsk, rejectAsk) => {
      this.pending.set(id, { replies: [], resolve: resolveAsk, reject: rejectAsk });
      for (const w of this.workers) w.postMessage({ id, kind, spec } satisfies Request);
    });
  }

  /** False rollbacks of the calibration condition's healthy releases. */
  public async healthy(spec: RuleSpec): Promise<number> {
    const replies = (await this.ask('healthy', spec)) as HealthyReply[];
    return replies.reduce((s, r) => s + r.rolledBack, 0);
  }

  /** Per regression class, every seed's rollback minute (null: none), in seed order: fresh phase and release view. */
  public async detect(spec: RuleSpec): Promise<{ fresh: (number | null)[][]; release: (number | null)[][] }> {
    const replies = (await this.ask('detect', spec)) as DetectReply[];
    const bySeed = REGRESSIONS.map((_, c) => replies.flatMap((r) => r.detect[c]!).sort((a, b) => a.seed - b.seed));
    return { fresh: bySeed.map((ds) => ds.map((d) => d.fresh)), release: bySeed.map((ds) => ds.map((d) => d.release)) };
  }

  public async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---- summaries -----------------------------------------------------------------------------------------

export interface DetectionSummary {
  readonly seeds: number;
  /** Rolled back after the onset. */
  readonly detected: number;
  readonly rate: number;
  /** Rolled back at or before the onset: false rollbacks, not detections. */
  readonly early: number;
  readonly medianMinutes: number | null;
  readonly p90Minutes: number | null;
}

/** Same quantiles as bench/realism.bench.ts: the sorted delays at ⌊f·n⌋. */
export function summarizeDetection(atMinutes: readonly (number | null)[]): DetectionSummary {
  const minutes = atMinutes.filter((m): m is number => m !== null && m > ONSET).map((m) => m - ONSET);
  minutes.sort((a, b) => a - b);
  const q = (f: number) => (minutes.length === 0 ? null : minutes[Math.min(minutes.length - 1, Math.floor(f * minutes.length))]!);
  return {
    seeds: atMinutes.length,
    detected: minutes.length,
    rate: atMinutes.length === 0 ? 0 : minutes.length / atMinutes.length,
    early: atMinutes.filter((m) => m !== null && m <= ONSET).length,
    medianMinutes: q(0.5),
    p90Minutes: q(0.9),
  };
}

const className = (r: (typeof REGRESSIONS)[number]) => `${r.name} @${r.weight}%`;

interface OursResults {
  /** bench/realism-classes.ts trafficFingerprint() of the traffic ours was measured on. */
  readonly traffic?: string;
  readonly releases: number;
  readonly regressionSeeds: number;
  readonly falseRollbacks: Record<string, { releases: number; rolledBack: number; rate: number; upper95: number }>;
  readonly detection: Record<string, { seeds: number; detected: number; medianMinutes: number | null; p90Minutes: number | null }>;
}

export interface PeersResults {
  readonly releases: number;
  readonly regressionSeeds: number;
  readonly phaseMinutes: number;
  readonly onsetMinute: number;
  readonly ours: {
    readonly source: string;
    readonly releases: number;
    readonly regressionSeeds: number;
    readonly falseRollbacks: Record<string, { rolledBack: number; rate: number; upper95: number }>;
    readonly detection: Record<string, { seeds: number; detected: number; rate: number; medianMinutes: number | null; p90Minutes: number | null }>;
  };
  readonly defaults: {
    readonly falseRollbacks: Record<string, Record<string, { releases: number; rolledBack: number; rate: number; upper95: number; byPhase: Record<string, number> }>>;
    readonly detection: Record<string, Record<string, DetectionSummary>>;
    /** The same regressions with the rule's state carried from the release's earlier (healthy) phases. */
    readonly detectionInRelease: Record<string, Record<string, DetectionSummary>>;
  };
  readonly calibration: {
    readonly condition: string;
    readonly targetRate: number;
    readonly maxRolledBack: number;
    readonly note: string;
    readonly knobs: {
      readonly rule: PeerName;
      readonly knob: string;
      readonly default: number;
      /** The calibrated value; null when the knob cannot bring the rate down to the target. */
      readonly value: number | null;
      readonly reached: boolean;
      readonly atStrictEnd: boolean;
      readonly rolledBack: number;
      readonly rate: number;
      readonly upper95: number;
      /** When not reached: the false-rollback rate at the knob's most lenient end searched. */
      readonly floor: { readonly value: number; readonly rate: number } | null;
      readonly evaluations: number;
      readonly detection: Record<string, DetectionSummary> | null;
      readonly detectionInRelease: Record<string, DetectionSummary> | null;
    }[];
  };
  readonly workers: number;
  readonly seconds: number;
}

// ---- the benchmark -------------------------------------------------------------------------------------


/** The peers' false rollbacks at their documented defaults, summed over the workers' replies. */
function defaultFalseRollbacks(replies: readonly DefaultsReply[], releases: number): PeersResults['defaults']['falseRollbacks'] {
  const falseRollbacks: PeersResults['defaults']['falseRollbacks'] = {};
  for (const name of CONDITIONS) {
    falseRollbacks[name] = {};
    for (const peer of PEERS) {
      const rolledBack = replies.reduce((s, r) => s + r.defaults[name]![peer].rolledBack, 0);
      const byPhase = WEIGHTS.map((_, i) => replies.reduce((s, r) => s + r.defaults[name]![peer].byPhase[i]!, 0));
      falseRollbacks[name]![peer] = {
        releases,
        rolledBack,
        rate: rolledBack / releases,
        upper95: upper95(rolledBack, releases),
        byPhase: Object.fromEntries(WEIGHTS.map((w, i) => [`${w}%`, byPhase[i]!])),
      };
    }
  }
  return falseRollbacks;
}

/** Each peer's detection at its defaults, in a fresh phase and inside the release. */
async function defaultDetection(pool: Pool): Promise<{ detection: PeersResults['defaults']['detection']; detectionInRelease: PeersResults['defaults']['detection'] }> {
  const detection: PeersResults['defaults']['detection'] = Object.fromEntries(REGRESSIONS.map((r) => [className(r), {}]));
  const detectionInRelease: PeersResults['defaults']['detection'] = Object.fromEntries(REGRESSIONS.map((r) => [className(r), {}]));
  for (const peer of PEERS) {
    const at = await pool.detect({ rule: peer });
    REGRESSIONS.forEach((r, c) => {
      detection[className(r)]![peer] = summarizeDetection(at.fresh[c]!);
      detectionInRelease[className(r)]![peer] = summarizeDetection(at.release[c]!);
    });
  }
  return { detection, detectionInRelease };
}

/** One knob calibrated by bisection to at most `maxRolledBack` false rollbacks, and its detection there. */
async function calibrateKnob(pool: Pool, k: (typeof KNOBS)[number], maxRolledBack: number, releases: number): Promise<PeersResults['calibration']['knobs'][number]> {
  const c = await calibrate((x) => pool.healthy({ rule: k.rule, knob: k.knob, x }), maxRolledBack, k);
  const x = c.x;
  const det = x === null ? null : await pool.detect({ rule: k.rule, knob: k.knob, x });
  return {
    rule: k.rule,
    knob: k.knob,
    default: k.value(k.defaultX),
    value: x === null ? null : k.value(x),
    reached: x !== null,
    atStrictEnd: c.atStrictEnd,
    rolledBack: c.rolledBack,
    rate: c.rolledBack / releases,
    upper95: upper95(c.rolledBack, releases),
    floor: x === null ? { value: k.value(k.hi), rate: c.rolledBack / releases } : null,
    evaluations: c.evaluations,
    detection: det === null ? null : Object.fromEntries(REGRESSIONS.map((r, i) => [className(r), summarizeDetection(det.fresh[i]!)])),
    detectionInRelease: det === null ? null : Object.fromEntries(REGRESSIONS.map((r, i) => [className(r), summarizeDetection(det.release[i]!)])),
  };
}

/** Our figures as the peers' results quote them. */
function oursSummary(ours: OursResults): PeersResults['ours'] {
  return {
    source: 'bench/realism-results.json',
    releases: ours.releases,
    regressionSeeds: ours.regressionSeeds,
    falseRollbacks: Object.fromEntries(Object.entries(ours.falseRollbacks).map(([n, f]) => [n, { rolledBack: f.rolledBack, rate: f.rate, upper95: f.upper95 }])),
    detection: Object.fromEntries(
      Object.entries(ours.detection).map(([n, d]) => [n, { seeds: d.seeds, detected: d.detected, rate: d.detected / d.seeds, medianMinutes: d.medianMinutes, p90Minutes: d.p90Minutes }]),
    ),
  };
}

export async function runPeersBench(options: { releases: number; regressions: number; workers: number; ours: OursResults; log?: (m: string) => void }): Promise<PeersResults> {
  const log = options.log ?? (() => undefined);
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const pool = new Pool(options.workers, options.releases, options.regressions, log);
  try {
    const falseRollbacks = defaultFalseRollbacks(await pool.ready, options.releases);
    log(`  generated and judged at defaults (${elapsed()})`);
    const { detection, detectionInRelease } = await defaultDetection(pool);
    log(`  detection at defaults (${elapsed()})`);
    const ourRate = options.ours.falseRollbacks[CALIBRATION_CONDITION]!.rate;
    const maxRolledBack = targetRollbacks(ourRate, options.releases);
    const knobs: PeersResults['calibration']['knobs'][number][] = [];
    for (const k of KNOBS) {
      const knob = await calibrateKnob(pool, k, maxRolledBack, options.releases);
      knobs.push(knob);
      log(`  calibrated ${k.rule} ${k.knob}: ${knob.value === null ? `unreachable (floor ${knob.rolledBack}/${options.releases})` : `${knob.value} → ${knob.rolledBack}/${options.releases}`} in ${knob.evaluations} runs (${elapsed()})`);
    }
    return {
      releases: options.releases,
      regressionSeeds: options.regressions,
      phaseMinutes: PHASE_MINUTES,
      onsetMinute: ONSET,
      ours: oursSummary(options.ours),
      defaults: { falseRollbacks, detection, detectionInRelease },
      calibration: {
        condition: CALIBRATION_CONDITION,
        targetRate: ourRate,
        maxRolledBack,
        note:
          `Each knob set by bisection to its strictest value with at most ${maxRolledBack} false rollbacks in ${options.releases} healthy ${CALIBRATION_CONDITION} releases ` +
          `(ours: ${(ourRate * 100).toFixed(2)}%), on the same healthy seeds the false-rollback rates are measured on (equal false-alarm rate on the same traffic, ` +
          'not an out-of-sample estimate). Detection at that setting on the regression phases.',
        knobs,
      },
      workers: options.workers,
      seconds: Math.round((performance.now() - t0) / 1000),
    };
  } finally {
    await pool.close();
  }
}

// ---- Markdown ------------------------------------------------------------------------------------------

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const cell = (d: { rate: number; medianMinutes: number | null; p90Minutes: number | null }, early?: number) =>
  `${pct(d.rate, 1)} · ${d.medianMinutes ?? '—'} / ${d.p90Minutes ?? '—'}${early ? ` (${early} early)` : ''}`;
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v >= 0.999 && v < 1 ? v.toPrecision(6) : v.toPrecision(4));

/** The three tables (false rollbacks at defaults, detection at defaults, detection calibrated). */
export function peersMarkdown(r: PeersResults): string {
  const out: string[] = [];
  out.push(
    `False rollbacks of healthy releases, peers at their documented defaults (1% → 10% → 50%, ${r.phaseMinutes} min each, rule state carried across phases), ${r.releases} releases per condition (ours: ${r.ours.releases}); rate (95% upper bound):`,
    '',
    `| condition | ours | ${PEERS.join(' | ')} |`,
    `|---|---:|${PEERS.map(() => '---:').join('|')}|`,
  );
  for (const [name, row] of Object.entries(r.defaults.falseRollbacks)) {
    const o = r.ours.falseRollbacks[name];
    out.push(`| ${name} | ${o ? `${pct(o.rate)} (${pct(o.upper95)})` : '—'} | ${PEERS.map((p) => `${pct(row[p]!.rate)} (${pct(row[p]!.upper95)})`).join(' | ')} |`);
  }
  out.push(
    '',
    `Detection at defaults: regression from minute ${r.onsetMinute} of a fresh phase on the realistic mix, ${r.regressionSeeds} phases each (ours: ${r.ours.regressionSeeds}); caught after the onset · median / p90 minutes from the onset (rollbacks at or before the onset: early, false):`,
    '',
    `| regression | ours | ${PEERS.join(' | ')} |`,
    `|---|---|${PEERS.map(() => '---').join('|')}|`,
  );
  for (const [name, row] of Object.entries(r.defaults.detection)) {
    const o = r.ours.detection[name];
    out.push(`| ${name} | ${o ? cell(o) : '—'} | ${PEERS.map((p) => cell(row[p]!, row[p]!.early)).join(' | ')} |`);
  }
  const reached = r.calibration.knobs.filter((k) => k.reached);
  out.push(
    '',
    `Calibrated to our false-rollback rate on ${r.calibration.condition} (${pct(r.calibration.targetRate)}: at most ${r.calibration.maxRolledBack} of ${r.releases} healthy releases; same healthy seeds as the measurement):`,
    '',
    '| rule | knob | default | calibrated | false rollbacks (95% upper) |',
    '|---|---|---:|---:|---:|',
    `| ours | — | — | — | ${pct(r.calibration.targetRate)} (${pct(r.ours.falseRollbacks[r.calibration.condition]?.upper95 ?? Number.NaN)}) |`,
  );
  for (const k of r.calibration.knobs) {
    const value = k.value === null ? `not reachable (${pct(k.floor!.rate)} at ${fmt(k.floor!.value)})` : `${fmt(k.value)}${k.atStrictEnd ? ' (strict end of search)' : ''}`;
    out.push(`| ${k.rule} | ${k.knob} | ${fmt(k.default)} | ${value} | ${k.value === null ? '—' : `${pct(k.rate)} (${pct(k.upper95)})`} |`);
  }
  out.push(
    '',
    'Detection at the calibrated settings (caught · median / p90 minutes from the onset; Kayenta judges at minutes 15, 30, 45 and 60 of a phase, so from an onset at minute 20 its delays can only be 10, 25 or 40):',
    '',
    `| regression | ours | ${reached.map((k) => `${k.rule} ${k.knob}=${fmt(k.value!)}`).join(' | ')} |`,
    `|---|---|${reached.map(() => '---').join('|')}|`,
  );
  for (const name of Object.keys(r.defaults.detection)) {
    const o = r.ours.detection[name];
    out.push(`| ${name} | ${o ? cell(o) : '—'} | ${reached.map((k) => cell(k.detection![name]!, k.detection![name]!.early)).join(' | ')} |`);
  }
  out.push(
    '',
    "The same at the calibrated settings in the release: the rule first watches the release's earlier phases (those of a healthy realistic-mix release, its counters and alarm histories carried on), so that a counter larger than one phase can fill (Flagger's failed checks, Argo's failed measurements) can still be reached; early = rolled back before the onset, earlier phases included. The 1% classes are unchanged; ours is the fresh-phase figure.",
    '',
    `| regression | ours | ${reached.map((k) => `${k.rule} ${k.knob}=${fmt(k.value!)}`).join(' | ')} |`,
    `|---|---|${reached.map(() => '---').join('|')}|`,
  );
  for (const name of Object.keys(r.defaults.detection)) {
    const o = r.ours.detection[name];
    out.push(`| ${name} | ${o ? cell(o) : '—'} | ${reached.map((k) => cell(k.detectionInRelease![name]!, k.detectionInRelease![name]!.early)).join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

// ---- CLI -----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
    return v;
  };
  const releases = arg('--releases', 2000);
  const regressions = arg('--regressions', 200);
  const workers = arg('--workers', Math.min(2, availableParallelism()));
  const here = fileURLToPath(new URL('.', import.meta.url));
  const ours = JSON.parse(readFileSync(resolve(here, 'realism-results.json'), 'utf8')) as OursResults;
  if (ours.traffic !== trafficFingerprint()) {
    throw new Error(`bench/realism-results.json was measured on other traffic (${ours.traffic ?? 'unknown'} ≠ ${trafficFingerprint()}): run bench/realism.bench.ts first`);
  }
  process.stderr.write(`realism peers: ${releases} healthy releases per condition, ${regressions} phases per regression, ${workers} worker(s)\n`);
  const results = await runPeersBench({ releases, regressions, workers, ours, log: (m) => process.stderr.write(`${m}\n`) });
  writeFileSync(resolve(here, 'realism-peers-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${peersMarkdown(results)}`);
  process.stderr.write(`wrote bench/realism-peers-results.json in ${results.seconds} s\n`);
}

if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
