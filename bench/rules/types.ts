/**
 * The common shape of every rollback rule the detection benchmark compares: this project's and
 * faithful re-implementations of peers' documented defaults (see bench/README.md for the sources).
 * Every rule sees the very same per-minute canary/baseline datapoints, one minute at a time.
 */
import type { MinuteDatapoint, VariantMinute } from '../../core/analysis.js';

export type Decision = 'rollback' | 'continue';

/** Where in the release the newest datapoint falls. */
export interface PhaseContext {
  /** 0-based index of the phase in the release. */
  readonly index: number;
  /** Percent of traffic on the canary during the phase. */
  readonly weight: number;
  /** The phase's length in minutes. */
  readonly plannedMinutes: number;
  /** Minutes since the release started, of the newest datapoint. */
  readonly releaseMinute: number;
}

/**
 * A rollback rule. `reset()` starts a new release; `observe()` is called once per minute, in order,
 * with the phase's datapoints so far (oldest first, phase-relative minutes; the newest is the last)
 * and returns whether traffic goes back to the baseline now. Rules keep whatever state they need
 * across minutes and phases (alarm histories, failed-check counters) themselves.
 */
export interface Rule {
  readonly name: string;
  reset(): void;
  observe(points: readonly MinuteDatapoint[], ctx: PhaseContext): Decision;
}

/** The canary's values over a window of minutes, aggregated the way a metrics backend would. */
export interface CanaryWindow {
  readonly requests: number;
  /** errors / requests; null without requests. */
  readonly errorRate: number | null;
  /**
   * p99 latency of the window. Exact for one minute; for several minutes the request-weighted mean
   * of the per-minute p99s (the datapoints carry percentiles, not histograms).
   */
  readonly p99Ms: number | null;
  /** Request-weighted mean risk energy (exact: per-minute values are means). */
  readonly riskEnergy: number | null;
  readonly constraintRate: number | null;
  readonly safetyIncidents: number;
}

export function canaryWindow(points: readonly MinuteDatapoint[]): CanaryWindow {
  let requests = 0;
  let errors = 0;
  let cv = 0;
  let safety = 0;
  let p99Weighted = 0;
  let p99Requests = 0;
  let riskWeighted = 0;
  let riskRequests = 0;
  for (const { canary: c } of points) {
    requests += c.requests;
    errors += Math.min(c.errors, c.requests);
    cv += Math.min(c.constraintViolations, c.requests);
    safety += c.safetyIncidents;
    if (c.requests > 0 && c.latencyP99 !== null) {
      p99Weighted += c.latencyP99 * c.requests;
      p99Requests += c.requests;
    }
    if (c.requests > 0 && c.riskEnergy !== null) {
      riskWeighted += c.riskEnergy * c.requests;
      riskRequests += c.requests;
    }
  }
  return {
    requests,
    errorRate: requests > 0 ? errors / requests : null,
    p99Ms: p99Requests > 0 ? p99Weighted / p99Requests : null,
    riskEnergy: riskRequests > 0 ? riskWeighted / riskRequests : null,
    constraintRate: requests > 0 ? cv / requests : null,
    safetyIncidents: safety,
  };
}

/**
 * Absolute thresholds, as a user of a fixed-threshold tool (Flagger, Argo Rollouts, CodeDeploy
 * alarms) writes them for this service. How each is derived is documented in bench/README.md.
 */
export interface FixedThresholds {
  /** Flagger's builtin request-success-rate default `min: 99` → error rate ≤ 1%. */
  readonly maxErrorRate: number;
  /** 1.2 × the baseline's p99 at release start (policy's critical latency ratio). */
  readonly maxP99Ms: number;
  /** 1.1 × the baseline's mean risk energy at release start (the alarm's risk-energy ratio). */
  readonly maxRiskEnergy: number;
  /** The policy's ceiling, 5%. */
  readonly maxConstraintRate: number;
  /** Any safety incident. */
  readonly maxSafetyIncidents: number;
}

export const FIXED_ERROR_RATE = 0.01;
export const FIXED_P99_FACTOR = 1.2;
export const FIXED_RISK_FACTOR = 1.1;
export const FIXED_CONSTRAINT_RATE = 0.05;

/**
 * Thresholds read off the baseline's first minute of the release ("the dashboard before the release").
 * `scale` (default 1: the thresholds above) multiplies every threshold: error rate, p99, risk energy
 * and constraint-violation rate ceilings (> 1 looser, < 1 stricter); "no safety incident" stays.
 * It is the one monotone knob by which bench/realism-peers.bench.ts calibrates the fixed-threshold
 * peers to a false-rollback rate.
 */
export function fixedThresholds(atStart: MinuteDatapoint, scale = 1): FixedThresholds {
  const ref: VariantMinute = atStart.baseline.requests > 0 ? atStart.baseline : atStart.canary;
  return {
    maxErrorRate: scale * FIXED_ERROR_RATE,
    maxP99Ms: scale * FIXED_P99_FACTOR * (ref.latencyP99 ?? Number.POSITIVE_INFINITY),
    maxRiskEnergy: scale * FIXED_RISK_FACTOR * (ref.riskEnergy ?? Number.POSITIVE_INFINITY),
    maxConstraintRate: scale * FIXED_CONSTRAINT_RATE,
    maxSafetyIncidents: 0,
  };
}

export type FixedMetric = 'error_rate' | 'latency_p99' | 'risk_energy' | 'constraint_violations' | 'safety_incidents';
export const FIXED_METRICS: readonly FixedMetric[] = ['error_rate', 'latency_p99', 'risk_energy', 'constraint_violations', 'safety_incidents'];

/** A window's value of one metric; null when the window has no canary data for it. */
export function fixedMetricValue(w: CanaryWindow, m: FixedMetric): number | null {
  switch (m) {
    case 'error_rate':
      return w.errorRate;
    case 'latency_p99':
      return w.p99Ms;
    case 'risk_energy':
      return w.riskEnergy;
    case 'constraint_violations':
      return w.constraintRate;
    case 'safety_incidents':
      return w.requests > 0 ? w.safetyIncidents : null;
  }
}

/** The metric's upper bound (every fixed check here is "value ≤ max"). */
export function fixedMetricMax(t: FixedThresholds, m: FixedMetric): number {
  switch (m) {
    case 'error_rate':
      return t.maxErrorRate;
    case 'latency_p99':
      return t.maxP99Ms;
    case 'risk_energy':
      return t.maxRiskEnergy;
    case 'constraint_violations':
      return t.maxConstraintRate;
    case 'safety_incidents':
      return t.maxSafetyIncidents;
  }
}
