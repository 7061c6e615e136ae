import * as z from 'zod';

/**
 * Thresholds of `policy.md`, validated with zod. Every field has the documented default, so `{}` is
 * the contract's policy; a deployer overrides what they need in the pipeline config.
 */
export const GatePolicySchema = z.strictObject({
  /** ΔV_s = candidate − baseline must be ≤ this. */
  maxRiskEnergyDelta: z.number().finite().default(0),
  /** Relative performance delta must be ≥ this (−0.05 = at most a 5% regression). */
  minPerformanceDelta: z.number().finite().max(0).default(-0.05),
  /** Constraint satisfaction must be ≥ this. */
  minConstraintSatisfaction: z.number().finite().min(0).max(1).default(0.95),
});

export const CanaryPolicySchema = z.strictObject({
  /** `error_rate_increase`: observed canary/baseline error-rate ratio above this (and significant). */
  errorRateRatio: z.number().finite().gt(1).default(1.5),
  /** `constraint_violations`: canary constraint-violation rate above this (and significant). */
  maxConstraintViolationRate: z.number().finite().gt(0).lt(1).default(0.05),
  /** `performance_degradation` P2 (automatic): any latency percentile ratio above this. */
  latencyRatioWarn: z.number().finite().gt(1).default(1.1),
  /** `performance_degradation` P1 (immediate): any latency percentile ratio above this. */
  latencyRatioCritical: z.number().finite().gt(1).default(1.2),
  /** `safety_violation`: canary mean risk energy must exceed baseline by more than this fraction (and significantly). */
  riskEnergyMinIncrease: z.number().finite().min(0).default(0),
  /** Safety incidents tolerated on the canary before `safety_violation` (policy: any counts). */
  maxSafetyIncidents: z.number().int().min(0).default(0),
  /**
   * Family-wise false-alarm budget of one phase, all rules and all looks together. The analysis
   * splits it across its statistical tests (see `analysis.ts`); a healthy canary fails a phase with
   * at most this probability however often the phase is analysed.
   */
  falseAlarmRatePerPhase: z.number().gt(0).lt(0.5).default(0.008),
  /** Fewer canary requests than this in the window: not enough evidence yet (`inconclusive`). */
  minCanaryRequests: z.number().int().min(1).default(50),
  /** Fewer minutes of data than this: `inconclusive`. */
  minMinutes: z.number().int().min(1).default(3),
  /** Change-point grid of the sequential count tests: a regression may start at any multiple of this. */
  restartEveryMinutes: z.number().int().min(1).default(5),
  /**
   * Minutes after every traffic shift (each phase's start) that the comparative rules (error rate,
   * constraint violations against the baseline, latency, risk energy) leave out: fresh canary
   * instances warm up. A safety incident always counts.
   */
  warmupMinutes: z.number().int().min(0).max(30).default(5),
  /**
   * Minutes after every traffic shift the latency rules leave out (at least `warmupMinutes`): fresh
   * instances' caches and JIT take longer to settle than their error rates, and the per-request
   * latency tests would see a fading warm-up within a few minutes.
   */
  latencyWarmupMinutes: z.number().int().min(0).max(30).default(10),
  /**
   * A minute in which the baseline's own error or constraint-violation rate is more than this many
   * times its usual rate (and beyond binomial noise) is a fleet-wide incident: left out of the
   * comparisons, and while it lasts the release holds (no promotion, no rollback) and pages once.
   */
  fleetIncidentFactor: z.number().finite().gt(1).default(3),
  /**
   * The canary's share of the requests may differ from its configured weight by this much
   * (relative) before — when significant — the split is a sample-ratio mismatch: a cohort pinned to
   * one variant (sticky sessions, a big customer), so latency and risk energy compare different
   * populations. Their comparisons then hold instead of failing.
   */
  maxSampleRatioMismatch: z.number().gt(0).lt(1).default(0.1),
  /** Consecutive looks without metrics (GetMetricData failing, no canary data) before the release holds and pages. */
  maxConsecutiveNoData: z.number().int().min(1).max(60).default(3),
});

export const PolicySchema = z.strictObject({
  gates: GatePolicySchema.default(GatePolicySchema.parse({})),
  canary: CanaryPolicySchema.default(CanaryPolicySchema.parse({})),
});

export type GatePolicy = z.infer<typeof GatePolicySchema>;
export type CanaryPolicy = z.infer<typeof CanaryPolicySchema>;
export type Policy = z.infer<typeof PolicySchema>;

/** The documented defaults of `policy.md`. */
export const DEFAULT_POLICY: Policy = PolicySchema.parse({});

/** Floating-point tolerance at thresholds (policy.md §1): −0.05 exactly passes. */
export const THRESHOLD_TOLERANCE = 1e-9;
