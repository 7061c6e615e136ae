/**
 * The simulated serving fleet. Each simulated minute each variant emits what a real fleet sends to
 * CloudWatch with the embedded metric format (replay.md): request, error, constraint-violation and
 * safety-incident counts, and the latency and risk-energy distributions as values/counts. The
 * analysis and the alarms read what CloudWatch computes from that (local/cloudwatch.ts).
 *
 * The fleet as it is (scenario `fleet`, issue 10 §4), all off by default:
 * - N instances (default 20): a canary at weight w runs on max(1, round(w% × N)) of them, the
 *   baseline on the rest; requests of a variant are spread evenly over its instances. Each instance
 *   has an error-rate multiplier, log-normal with mean 1, drifting as an AR(1) on the log scale.
 * - Warm-up: canary instances added by a traffic shift serve more latency, decaying over minutes.
 * - Incidents: the whole fleet or one zone's instances (both variants) get a higher error rate,
 *   latency or constraint-violation rate for a window of minutes.
 * - Sticky heavy users: a share of all traffic pinned to one variant, with heavier requests.
 * - Noise shared by both variants on the latency level and the error rate (AR(1)); diurnal request
 *   rate; minutes a variant does not emit at all.
 *
 * Minutes count from the start of the simulation; scenario times (events, incidents, the diurnal
 * cycle) from the canary's start. Random streams: the canary's traffic, the minutes before it (the
 * deployment) and the fleet's own processes (instance drift, shared noise, gaps) each have their
 * own, so a seed gives the same canary however long deploying took, and a knob that is off draws
 * nothing.
 */
import { latencyThresholds, type LatencyThresholds, type MinuteDatapoint } from '../core/analysis.js';
import type { CanaryPolicy } from '../core/policy.js';
import type { PeriodValues } from '../core/alarms.js';
import { DEFAULT_PHASES } from '../core/plan.js';
import { datapointOf, hasData, type EmittedMinute, type EmittedVariantMinute } from './cloudwatch.js';
import { applySet, zoneOf, type FleetIncident, type FleetSettings, type Profile, type Scenario } from './scenario.js';
import { createDraws, drawLatency, drawRiskEnergy, type Draws, type LatencyComponent } from './traffic.js';

/** One minute of the fleet: what it emitted and what CloudWatch returns for it. */
export interface FleetMinute {
  /** Minute of the simulation. */
  readonly minute: number;
  /** The canary's weight (%) that minute. */
  readonly weight: number;
  /** Minutes since the canary phase of this weight started; null while the canary has no traffic. */
  readonly phaseMinute: number | null;
  readonly emitted: EmittedMinute;
  /** GetMetricData's view of the minute (a variant that emitted nothing: zero counts, no latency). */
  readonly datapoint: MinuteDatapoint;
}

/**
 * The fleet port of the embedded runtime: what serves traffic each minute. A simulated fleet draws
 * it; a recorded one (local/replay.ts) plays back what a real fleet emitted.
 */
export interface FleetPort {
  /** Serves minute `minute` with the candidate at `weight` percent. */
  step(minute: number, weight: number): FleetMinute;
  /** Every minute served so far. */
  readonly minutes: readonly FleetMinute[];
  /** First minute a scenario event changed the candidate; null while none has (or unknown). */
  readonly regressionStartedAtMinute: number | null;
}

/** Tracks canary phases by weight: a new weight starts a phase (weights only increase in a plan). */
export class PhaseClock {
  private readonly starts = new Map<number, number>();
  private current: { weight: number; start: number } | null = null;
  /** First minute with canary traffic. */
  public canaryStart: number | null = null;

  /** Records minute `minute` at `weight`; returns the minutes since its phase started (null at weight 0). */
  public tick(minute: number, weight: number): number | null {
    if (weight <= 0) {
      this.current = null;
      return null;
    }
    this.canaryStart ??= minute;
    if (this.current?.weight !== weight) {
      this.current = { weight, start: minute };
      if (!this.starts.has(weight)) this.starts.set(weight, minute);
    }
    return minute - this.current.start;
  }

  /** The first minute of the phase of `weight`, if it has started. */
  public phaseStart(weight: number): number | undefined {
    return this.starts.get(weight);
  }
}

interface Instance {
  readonly zone: string;
  /** Minute the instance started serving (−∞: warm long before). */
  readonly createdAt: number;
  /** Log of its error-rate multiplier before the mean correction (AR(1) state). */
  logError: number;
}

interface Ar1 {
  value: number;
}

/** What applies to one variant's instances this minute. */
interface MinuteContext {
  readonly minute: number;
  readonly sharedLatency: number;
  readonly sharedError: number;
  readonly incidents: readonly FleetIncident[];
}

export class SimulatedFleet implements FleetPort {
  private readonly traffic: Draws;
  /**
   * Minutes before the canary starts (the candidate being deployed and smoke-tested) draw from their
   * own stream: the canary's traffic for a seed is the same however long the deployment took.
   */
  private readonly preCanary: Draws;
  /** The fleet's own processes (instance drift, shared noise, gaps), canary minutes only. */
  private readonly processes: Draws;
  private readonly settings: FleetSettings;
  private candidate: Profile;
  private readonly pending: Scenario['candidate']['events'][number][];
  private readonly phases = new PhaseClock();
  private readonly baselineInstances: Instance[] = [];
  private canaryInstances: Instance[] = [];
  private readonly sharedLatency: Ar1 = { value: 0 };
  private readonly sharedError: Ar1 = { value: 0 };
  /** First minute a scenario event changed the candidate; null while none has. */
  public regressionStartedAtMinute: number | null = null;
  public readonly minutes: FleetMinute[] = [];

  public constructor(private readonly scenario: Scenario) {
    this.traffic = createDraws(scenario.seed);
    this.preCanary = createDraws((scenario.seed ^ 0x5eed_cafe) >>> 0);
    this.processes = createDraws((scenario.seed ^ 0x0f1e_e7ed) >>> 0);
    this.settings = scenario.fleet;
    const { events, ...profile } = scenario.candidate;
    this.candidate = profile;
    this.pending = [...events];
    const { count, zones } = this.settings.instances;
    for (let i = 0; i < count; i++) this.baselineInstances.push(this.newInstance(i, zones, Number.NEGATIVE_INFINITY));
    const noise = this.settings.noise;
    if (noise.latency.sd > 0) this.sharedLatency.value = noise.latency.sd * this.processes.normal();
    if (noise.errorRate.sd > 0) this.sharedError.value = noise.errorRate.sd * this.processes.normal();
  }

  private newInstance(index: number, zones: number, createdAt: number): Instance {
    const sd = this.settings.instances.errorRate.sd;
    return { zone: zoneOf(index, zones), createdAt, logError: sd > 0 ? sd * this.processes.normal() : 0 };
  }

  /** Instances of the canary at `weight`: max(1, round(w% × N)), all N at 100%. */
  private canaryCount(weight: number): number {
    const n = this.settings.instances.count;
    if (weight <= 0) return 0;
    if (weight >= 100) return n;
    return Math.min(n, Math.max(1, Math.round((weight / 100) * n)));
  }

  /**
   * Starts the canary on instances that have served long enough to be warm (a phase generated on
   * its own, after the plan's previous phases: {@link generatePhase}).
   */
  public warmCanary(weight: number): void {
    const { zones } = this.settings.instances;
    this.canaryInstances = [];
    for (let j = 0; j < this.canaryCount(weight); j++) this.canaryInstances.push(this.newInstance(j, zones, Number.NEGATIVE_INFINITY));
  }

  /** Simulates minute `minute` with the candidate at `weight` percent. */
  public step(minute: number, weight: number): FleetMinute {
    const phaseMinute = this.phases.tick(minute, weight);
    const canaryStart = this.phases.canaryStart;
    for (let i = 0; i < this.pending.length; ) {
      const e = this.pending[i]!;
      if (this.due(e, minute)) {
        this.candidate = applySet(this.candidate, e.set);
        this.regressionStartedAtMinute ??= minute;
        this.pending.splice(i, 1);
      } else i++;
    }
    const inCanary = canaryStart !== null;
    const g = inCanary ? this.traffic : this.preCanary;

    // The instances serving each variant this minute.
    const { zones, count } = this.settings.instances;
    const c = this.canaryCount(weight);
    if (this.canaryInstances.length > c) this.canaryInstances = this.canaryInstances.slice(0, c);
    while (this.canaryInstances.length < c) this.canaryInstances.push(this.newInstance(this.canaryInstances.length, zones, minute));
    const b = weight >= 100 ? 0 : Math.max(1, count - c);
    // b ≤ N: the baseline serves on instances of the fleet the canary does not use.
    const baseline = this.baselineInstances.slice(0, b);
    if (inCanary) this.evolve();

    // Requests: the fleet's total for the minute, sticky heavy users first, the rest by weight.
    const t = inCanary ? minute - canaryStart : 0;
    const d = this.settings.diurnal;
    const rate = this.scenario.requestsPerMinute * (d.amplitude > 0 ? 1 + d.amplitude * Math.cos((2 * Math.PI * (t - d.peakAtMinute)) / d.periodMinutes) : 1);
    const total = g.poisson(rate);
    const sticky = this.settings.stickyUsers;
    const bothServe = c > 0 && b > 0;
    const heavy = sticky.share > 0 && bothServe ? g.binomial(total, sticky.share) : 0;
    const rest = total - heavy;
    const canaryRegular = weight <= 0 ? 0 : weight >= 100 ? rest : g.binomial(rest, weight / 100);
    const heavyOnCanary = sticky.pinnedTo === 'canary' ? heavy : 0;
    const ctx: MinuteContext = {
      minute,
      sharedLatency: Math.exp(this.sharedLatency.value),
      sharedError: Math.exp(this.sharedError.value - this.settings.noise.errorRate.sd ** 2 / 2),
      incidents: inCanary ? this.settings.incidents.filter((x) => this.incidentActive(x, minute)) : [],
    };
    let canary = c > 0 ? this.emitVariant(g, this.candidate, canaryRegular, heavyOnCanary, this.canaryInstances, ctx) : null;
    let base = b > 0 ? this.emitVariant(g, this.scenario.baseline, rest - canaryRegular, heavy - heavyOnCanary, baseline, ctx) : null;
    const gap = this.settings.missingMinuteProbability;
    if (inCanary && gap > 0) {
      const dropCanary = this.processes.uniform() < gap;
      const dropBaseline = this.processes.uniform() < gap;
      if (dropCanary) canary = null;
      if (dropBaseline) base = null;
    }
    const emitted: EmittedMinute = { canary, baseline: base };
    const m: FleetMinute = { minute, weight, phaseMinute, emitted, datapoint: datapointOf(emitted, minute) };
    this.minutes.push(m);
    return m;
  }

  private due(e: Scenario['candidate']['events'][number], minute: number): boolean {
    const canaryStart = this.phases.canaryStart;
    if ('atMinute' in e) return canaryStart !== null && minute >= canaryStart + e.atMinute;
    const start = this.phases.phaseStart(e.whenWeight);
    return start !== undefined && minute >= start + e.afterMinutes;
  }

  private incidentActive(x: FleetIncident, minute: number): boolean {
    let from: number | undefined;
    if (x.atMinute !== undefined) from = this.phases.canaryStart === null ? undefined : this.phases.canaryStart + x.atMinute;
    else {
      const start = this.phases.phaseStart(x.whenWeight!);
      from = start === undefined ? undefined : start + x.afterMinutes!;
    }
    return from !== undefined && minute >= from && minute < from + x.minutes;
  }

  /** One minute of the AR(1) processes: instance error rates and the shared noise. */
  private evolve(): void {
    // x' = φ·x + √(1−φ²)·sd·ε keeps the stationary N(0, sd²) the process started from.
    const next = (x: number, sd: number, phi: number) => (sd > 0 && phi < 1 ? phi * x + Math.sqrt(1 - phi * phi) * sd * this.processes.normal() : x);
    const noise = this.settings.noise;
    this.sharedLatency.value = next(this.sharedLatency.value, noise.latency.sd, noise.latency.autocorrelation);
    this.sharedError.value = next(this.sharedError.value, noise.errorRate.sd, noise.errorRate.autocorrelation);
    const e = this.settings.instances.errorRate;
    for (const inst of [...this.baselineInstances, ...this.canaryInstances]) inst.logError = next(inst.logError, e.sd, e.autocorrelation);
  }

  /**
   * One variant's emission for a minute: `regular` and `heavy` requests spread evenly over
   * `instances`; per group of alike instances, binomial errors and constraint violations; latency
   * and risk energy drawn over the EMF buckets.
   */
  private emitVariant(g: Draws, profile: Profile, regular: number, heavy: number, instances: readonly Instance[], ctx: MinuteContext): EmittedVariantMinute {
    const s = this.settings;
    const groups = groupInstances(instances, ctx, s);
    // The draws below happen in this order (a seed gives the same numbers): the spreads, the
    // failures, the latency, the risk energy, the safety incidents.
    const regularBy = spreadOver(g, groups, instances.length, regular);
    const heavyBy = heavy > 0 ? spreadOver(g, groups, instances.length, heavy) : groups.map(() => 0);
    const { errors, violations } = drawFailures(g, profile, groups, regularBy, heavyBy, ctx.sharedError);
    const latencyMs = drawLatency(g, latencyComponents(profile, groups, regularBy, heavyBy, ctx.sharedLatency, s.stickyUsers.multiply.latency));
    const riskEnergy = drawRiskEnergy(g, [
      { requests: regular, mean: profile.riskEnergy },
      { requests: heavy, mean: profile.riskEnergy * s.stickyUsers.multiply.riskEnergy },
    ]);
    const rate = profile.safetyIncidentsPerMinute ?? 0;
    return {
      requests: regular + heavy,
      errors,
      latencyMs,
      riskEnergy,
      constraintViolations: violations,
      safetyIncidents: rate > 0 ? g.poisson(rate) : 0,
    };
  }

  /** The datapoints of minutes in [from, to) that have data, renumbered from `from`. */
  public window(from: number, to: number): MinuteDatapoint[] {
    return this.minutes
      .filter((m) => m.minute >= from && m.minute < to && hasData(m.emitted))
      .map((m) => ({ ...m.datapoint, minute: m.minute - from }));
  }
}

/** Instances alike in every respect this minute: their count and their multipliers. */
interface InstanceGroup {
  size: number;
  error: number;
  latency: number;
  violations: number;
}

/** The instances as groups of alike ones (the default fleet is a single group); draws nothing. */
function groupInstances(instances: readonly Instance[], ctx: MinuteContext, s: FleetSettings): InstanceGroup[] {
  const errSd = s.instances.errorRate.sd;
  const warm = s.warmUp;
  const groups = new Map<string, InstanceGroup>();
  for (const inst of instances) {
    let error = errSd > 0 ? Math.exp(inst.logError - errSd ** 2 / 2) : 1;
    let latency = 1;
    let violations = 1;
    if (warm.latencyIncrease > 0 && inst.createdAt > Number.NEGATIVE_INFINITY) {
      latency *= 1 + warm.latencyIncrease * Math.max(0, 1 - (ctx.minute - inst.createdAt) / warm.minutes);
    }
    for (const x of ctx.incidents) {
      if (x.zone !== null && x.zone !== inst.zone) continue;
      error *= x.multiply.errorRate;
      latency *= x.multiply.latency;
      violations *= x.multiply.constraintViolationRate;
    }
    const key = `${error}/${latency}/${violations}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { size: 1, error, latency, violations });
    else group.size += 1;
  }
  return [...groups.values()];
}

/** `n` requests spread over the groups in proportion to their size (`instances` in all): one binomial per group but the last. */
function spreadOver(g: Draws, groups: readonly InstanceGroup[], instances: number, n: number): number[] {
  if (groups.length === 1) return [n];
  const out: number[] = [];
  let left = n;
  let sizeLeft = instances;
  for (const grp of groups) {
    const x = sizeLeft === grp.size ? left : g.binomial(left, grp.size / sizeLeft);
    out.push(x);
    left -= x;
    sizeLeft -= grp.size;
  }
  return out;
}

/** Errors and constraint violations, drawn group by group (errors then violations of each). */
function drawFailures(
  g: Draws,
  profile: Profile,
  groups: readonly InstanceGroup[],
  regularBy: readonly number[],
  heavyBy: readonly number[],
  sharedError: number,
): { errors: number; violations: number } {
  let errors = 0;
  let violations = 0;
  groups.forEach((grp, i) => {
    const n = regularBy[i]! + heavyBy[i]!;
    errors += g.binomial(n, Math.min(1, profile.errorRate * grp.error * sharedError));
    violations += g.binomial(n, Math.min(1, profile.constraintViolationRate * grp.violations));
  });
  return { errors, violations };
}

/** Latency: one component per distinct slowdown (requests of alike instances drawn together); draws nothing. */
function latencyComponents(
  profile: Profile,
  groups: readonly InstanceGroup[],
  regularBy: readonly number[],
  heavyBy: readonly number[],
  sharedLatency: number,
  heavyLatency: number,
): LatencyComponent[] {
  const byFactor = new Map<number, number>();
  groups.forEach((grp, i) => {
    const f = grp.latency * sharedLatency;
    if (regularBy[i]! > 0) byFactor.set(f, (byFactor.get(f) ?? 0) + regularBy[i]!);
    if (heavyBy[i]! > 0) byFactor.set(f * heavyLatency, (byFactor.get(f * heavyLatency) ?? 0) + heavyBy[i]!);
  });
  return [...byFactor.entries()].map(([factor, requests]) => ({ requests, factor, latencyMs: profile.latencyMs }));
}

/** One phase generated on its own: what the fleet emitted each minute and the analysis' datapoints. */
export interface GeneratedPhase {
  /** What was emitted in each minute of the phase (index = minute since the phase started). */
  readonly emitted: readonly EmittedMinute[];
  /** The datapoints the analysis reads: minutes with data, `minute` since the phase started. */
  readonly datapoints: readonly MinuteDatapoint[];
}

/**
 * One canary phase of a scenario's fleet at `weight` for `minutes`, without the runtime (no state
 * machines): for benchmarks drawing thousands of phases. The phase is the canary's start (events
 * and incidents with `atMinute` count from it; those of this weight from it too); the canary's
 * instances from the previous phase of the default plan (or `previousWeight`) are warm, the ones
 * the traffic shift adds are fresh.
 *
 * @example
 * const { datapoints } = generatePhase(builtin('healthy-realistic-mix'), 10, 60, seed);
 * analyzeCanary({ datapoints: [...datapoints], plannedMinutes: 60, lookEveryMinutes: 1 }, policy);
 */
export function generatePhase(scenario: Scenario, weight: number, minutes: number, seed: number = scenario.seed, options: { previousWeight?: number } = {}): GeneratedPhase {
  const fleet = new SimulatedFleet({ ...scenario, seed });
  const index = DEFAULT_PHASES.findIndex((p) => p.weight === weight);
  const previous = options.previousWeight ?? (index > 0 ? DEFAULT_PHASES[index - 1]!.weight : 0);
  if (previous > 0) fleet.warmCanary(previous);
  const emitted: EmittedMinute[] = [];
  const datapoints: MinuteDatapoint[] = [];
  for (let k = 0; k < minutes; k++) {
    const m = fleet.step(k, weight);
    emitted.push(m.emitted);
    if (hasData(m.emitted)) datapoints.push(m.datapoint);
  }
  return { emitted, datapoints };
}

/**
 * A generated phase as the monitor loop reads it: the phase's latency thresholds fixed as the
 * analysis use case fixes them (core/analysis.ts latencyThresholds, from the baseline before the
 * comparison), and every minute's datapoint with its latency values above them counted (the
 * CloudWatch adapter's SampleCount and PR(:T)). Minutes before the thresholds are fixed are not
 * compared, so one datapoint list serves every look.
 */
export function judgedPhase(phase: GeneratedPhase, policy: CanaryPolicy): { datapoints: MinuteDatapoint[]; thresholds: LatencyThresholds | null } {
  const thresholds = latencyThresholds(phase.datapoints, policy);
  if (thresholds === null) return { datapoints: [...phase.datapoints], thresholds };
  return { datapoints: phase.datapoints.map((d) => datapointOf(phase.emitted[d.minute]!, d.minute, thresholds)), thresholds };
}

/** One minute's values as the canary alarms read them (missing data as 0, like NOT_BREACHING). */
export function periodValues(d: MinuteDatapoint): PeriodValues {
  return {
    reqC: d.canary.requests,
    reqB: d.baseline.requests,
    errC: d.canary.errors,
    errB: d.baseline.errors,
    p99C: d.canary.latencyP99 ?? 0,
    p99B: d.baseline.latencyP99 ?? 0,
    riskC: d.canary.riskEnergy ?? 0,
    riskB: d.baseline.riskEnergy ?? 0,
    cvC: d.canary.constraintViolations,
    cvB: d.baseline.constraintViolations,
    safeC: d.canary.safetyIncidents,
  };
}
