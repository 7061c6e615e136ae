/**
 * Argo Rollouts background analysis (argoproj/argo-rollouts, docs/features/analysis.md; field
 * defaults in pkg/apis/rollouts/v1alpha1/analysis_types.go and utils/defaults/defaults.go): one
 * AnalysisRun for the whole rollout, one metric per signal, each measured every `interval` (the
 * docs' background-analysis example: `interval: 5m` over a `[5m]` query range) against a fixed
 * `successCondition`, with `count` unset (measure until the rollout completes).
 *
 * - A measurement that does not meet `successCondition` is Failed; a metric with more than
 *   `failureLimit` (default 0) failed measurements is Failed, which fails the run and aborts the
 *   rollout (traffic back to stable).
 * - A measurement that cannot be taken (no canary data in the window: empty result) is an Error;
 *   more than `consecutiveErrorLimit` (default 4) errors in a row errors the metric, which also
 *   aborts the rollout.
 * The first measurement is taken one interval after the canary starts (`initialDelay` = interval),
 * so that the first window holds canary traffic.
 */
import type { MinuteDatapoint } from '../../core/analysis.js';
import {
  FIXED_METRICS,
  canaryWindow,
  fixedMetricMax,
  fixedMetricValue,
  fixedThresholds,
  type Decision,
  type FixedMetric,
  type FixedThresholds,
  type Rule,
} from './types.js';

export interface ArgoOptions {
  /** `interval` and query range, minutes (docs example: 5m). */
  readonly intervalMinutes?: number;
  /** `failureLimit` (default 0). */
  readonly failureLimit?: number;
  /** `consecutiveErrorLimit` (default 4). */
  readonly consecutiveErrorLimit?: number;
  /** Multiplies every fixed threshold (default 1: the documented ones); see {@link fixedThresholds}. */
  readonly thresholdScale?: number;
}

export type ArgoMeasurement = 'Successful' | 'Failed' | 'Error';

/** One measurement of one metric over a window. */
export function argoMeasure(window: readonly MinuteDatapoint[], metric: FixedMetric, t: FixedThresholds): ArgoMeasurement {
  const value = fixedMetricValue(canaryWindow(window), metric);
  if (value === null) return 'Error';
  return value <= fixedMetricMax(t, metric) ? 'Successful' : 'Failed';
}

export function argoRule(options: ArgoOptions = {}): Rule {
  const interval = options.intervalMinutes ?? 5;
  const failureLimit = options.failureLimit ?? 0;
  const consecutiveErrorLimit = options.consecutiveErrorLimit ?? 4;
  const thresholdScale = options.thresholdScale ?? 1;
  let thresholds: FixedThresholds | null = null;
  let recent: MinuteDatapoint[] = [];
  let minutes = 0;
  let failed = new Map<FixedMetric, number>();
  let errorsInRow = new Map<FixedMetric, number>();
  return {
    name: 'argo',
    reset() {
      thresholds = null;
      recent = [];
      minutes = 0;
      failed = new Map();
      errorsInRow = new Map();
    },
    observe(points): Decision {
      const newest = points[points.length - 1];
      if (!newest) return 'continue';
      thresholds ??= fixedThresholds(newest, thresholdScale);
      recent.push(newest);
      if (recent.length > interval) recent.shift();
      minutes++;
      if (minutes % interval !== 0) return 'continue';
      let abort = false;
      for (const metric of FIXED_METRICS) {
        const m = argoMeasure(recent, metric, thresholds);
        if (m === 'Error') {
          const n = (errorsInRow.get(metric) ?? 0) + 1;
          errorsInRow.set(metric, n);
          if (n > consecutiveErrorLimit) abort = true;
          continue;
        }
        errorsInRow.set(metric, 0);
        if (m === 'Failed') {
          const n = (failed.get(metric) ?? 0) + 1;
          failed.set(metric, n);
          if (n > failureLimit) abort = true;
        }
      }
      return abort ? 'rollback' : 'continue';
    },
  };
}
