/**
 * The simulated serving fleet: each simulated minute, the candidate gets the router's current
 * weight of `requestsPerMinute` and the baseline the rest; scenario events change the candidate
 * from their trigger minute on. Minutes count from the start of the simulation.
 */
import type { MinuteDatapoint } from '../core/analysis.js';
import type { PeriodValues } from '../core/alarms.js';
import { applySet, type Profile, type Scenario } from './scenario.js';
import { createTrafficGenerator, type TrafficGenerator } from './traffic.js';

export interface FleetMinute {
  readonly minute: number;
  readonly weight: number;
  readonly datapoint: MinuteDatapoint;
}

export class SimulatedFleet {
  private readonly generator: TrafficGenerator;
  /**
   * Minutes before the canary starts (the candidate being deployed and smoke-tested) draw from their
   * own stream: the canary's traffic for a seed is the same however long the deployment took.
   */
  private readonly preCanary: TrafficGenerator;
  private candidate: Profile;
  private readonly pending: Scenario['candidate']['events'][number][];
  private readonly phaseStarts = new Map<number, number>();
  private canaryStart: number | null = null;
  private lastWeight = 0;
  /** First minute a scenario event changed the candidate; null while none has. */
  public regressionStartedAtMinute: number | null = null;
  public readonly minutes: FleetMinute[] = [];

  public constructor(private readonly scenario: Scenario) {
    this.generator = createTrafficGenerator(scenario.seed);
    this.preCanary = createTrafficGenerator((scenario.seed ^ 0x5eed_cafe) >>> 0);
    const { events, ...profile } = scenario.candidate;
    this.candidate = profile;
    this.pending = [...events];
  }

  /** Simulates minute `minute` with the candidate at `weight` percent. */
  public step(minute: number, weight: number): FleetMinute {
    if (weight > 0 && this.canaryStart === null) this.canaryStart = minute;
    if (weight > 0 && weight !== this.lastWeight && !this.phaseStarts.has(weight)) this.phaseStarts.set(weight, minute);
    this.lastWeight = weight;
    for (let i = 0; i < this.pending.length; ) {
      const e = this.pending[i]!;
      const due =
        'atMinute' in e
          ? this.canaryStart !== null && minute >= this.canaryStart + e.atMinute
          : this.phaseStarts.has(e.whenWeight) && minute >= this.phaseStarts.get(e.whenWeight)! + e.afterMinutes;
      if (due) {
        this.candidate = applySet(this.candidate, e.set);
        this.regressionStartedAtMinute ??= minute;
        this.pending.splice(i, 1);
      } else i++;
    }
    const g = this.canaryStart === null ? this.preCanary : this.generator;
    const split = g.split(this.scenario.requestsPerMinute, weight);
    const datapoint: MinuteDatapoint = {
      minute,
      canary: g.variantMinute(this.candidate, split.canary),
      baseline: g.variantMinute(this.scenario.baseline, split.baseline),
    };
    const m = { minute, weight, datapoint };
    this.minutes.push(m);
    return m;
  }

  /** The datapoints of minutes in [from, to), renumbered from `from`. */
  public window(from: number, to: number): MinuteDatapoint[] {
    return this.minutes
      .filter((m) => m.minute >= from && m.minute < to)
      .map((m) => ({ ...m.datapoint, minute: m.minute - from }));
  }
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
    safeC: d.canary.safetyIncidents,
  };
}
