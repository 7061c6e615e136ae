/**
 * Flagger's canary analysis (fluxcd/flagger, pkg/controller/scheduler.go `advanceCanary`), with the
 * documented example values: `analysis.interval: 1m`, `threshold: 5` ("max number of failed metric
 * checks before rollback"), builtin metrics `request-success-rate` (`thresholdRange.min: 99`,
 * `interval: 1m`) and `request-duration` (p99, `thresholdRange.max`, `interval: 1m`), plus
 * MetricTemplate custom metrics for this service's domain signals.
 *
 * Every `interval` tick the controller first rolls back if `status.failedChecks >= threshold`, then
 * runs every metric check over its window; any check out of its range (or a query with no values)
 * increments `failedChecks`. The counter is never reset by a passing check within a canary run, so
 * failures accumulate across the run (and across traffic steps).
 */
import type { MinuteDatapoint } from '../../core/analysis.js';
import { canaryWindow, fixedThresholds, type Decision, type FixedThresholds, type Rule } from './types.js';

export interface FlaggerOptions {
  /** `analysis.threshold` (docs example: 5). */
  readonly threshold?: number;
  /** Metric window in minutes (`metrics[].interval`, docs: 1m). The analysis interval is 1m. */
  readonly windowMinutes?: number;
  /** Multiplies every fixed threshold (default 1: the documented ones); see {@link fixedThresholds}. */
  readonly thresholdScale?: number;
}

/** The checks of one tick over the canary's last `windowMinutes` minutes; true when one fails. */
export function flaggerCheckFails(window: readonly MinuteDatapoint[], t: FixedThresholds): boolean {
  const w = canaryWindow(window);
  // Flagger's builtin queries return "no values" without canary traffic: the check fails.
  if (w.requests === 0 || w.errorRate === null) return true;
  // request-success-rate: percentage of non-error requests, `thresholdRange.min` (99 for a 1% error ceiling).
  if (100 * (1 - w.errorRate) < 100 * (1 - t.maxErrorRate)) return true;
  if (w.p99Ms !== null && w.p99Ms > t.maxP99Ms) return true; // request-duration max (p99, ms)
  if (w.riskEnergy !== null && w.riskEnergy > t.maxRiskEnergy) return true; // custom: mean risk energy max
  if (w.constraintRate !== null && w.constraintRate > t.maxConstraintRate) return true; // custom: violation rate max
  if (w.safetyIncidents > t.maxSafetyIncidents) return true; // custom: safety incidents max 0
  return false;
}

export function flaggerRule(options: FlaggerOptions = {}): Rule {
  const threshold = options.threshold ?? 5;
  const windowMinutes = options.windowMinutes ?? 1;
  const thresholdScale = options.thresholdScale ?? 1;
  let failedChecks = 0;
  let thresholds: FixedThresholds | null = null;
  let recent: MinuteDatapoint[] = [];
  return {
    name: 'flagger',
    reset() {
      failedChecks = 0;
      thresholds = null;
      recent = [];
    },
    observe(points): Decision {
      const newest = points[points.length - 1];
      if (!newest) return 'continue';
      thresholds ??= fixedThresholds(newest, thresholdScale);
      // The tick: rollback check first, on the checks failed so far.
      if (failedChecks >= threshold) return 'rollback';
      recent.push(newest);
      if (recent.length > windowMinutes) recent.shift();
      if (flaggerCheckFails(recent, thresholds)) failedChecks++;
      return 'continue';
    },
  };
}
