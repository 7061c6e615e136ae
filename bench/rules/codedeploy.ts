/**
 * CodeDeploy-style alarm-only rollback (AWS CodeDeploy user guide, "Monitoring deployments with
 * CloudWatch alarms" and "Automatic rollbacks"): the deployment group lists CloudWatch alarms and
 * CodeDeploy rolls back when any of them is in ALARM. No baseline comparison: each alarm watches the
 * canary version's own metric against an absolute threshold, the way CodeDeploy users configure them
 * (one alarm per signal, 1-minute period, ALARM when 3 of the last 3 datapoints breach; the safety
 * alarm on any incident, 1 of 1). `treatMissingData` is CloudWatch's default `missing`: a minute
 * without canary data adds no datapoint.
 */
import { fixedMetricMax, fixedMetricValue, fixedThresholds, canaryWindow, FIXED_METRICS, type Decision, type FixedMetric, type FixedThresholds, type Rule } from './types.js';

export interface CodeDeployOptions {
  /** M of "M of N" (default 3); the safety alarm stays 1 of 1. */
  readonly periodsToAlarm?: number;
  /** N of "M of N" (default 3). */
  readonly evaluationPeriods?: number;
  /** Multiplies every alarm threshold (default 1: the documented ones); see {@link fixedThresholds}. */
  readonly thresholdScale?: number;
}

/** CloudWatch M-of-N on the last `n` datapoints (oldest first): at least `m` breach (> threshold). */
export function cloudWatchAlarm(values: readonly number[], threshold: number, m: number, n: number): boolean {
  const recent = values.slice(-n);
  return recent.filter((v) => v > threshold).length >= m;
}

export function codeDeployRule(options: CodeDeployOptions = {}): Rule {
  const m = options.periodsToAlarm ?? 3;
  const n = options.evaluationPeriods ?? 3;
  const thresholdScale = options.thresholdScale ?? 1;
  let thresholds: FixedThresholds | null = null;
  let series = new Map<FixedMetric, number[]>();
  return {
    name: 'codedeploy-alarms',
    reset() {
      thresholds = null;
      series = new Map(FIXED_METRICS.map((k) => [k, []]));
    },
    observe(points): Decision {
      const newest = points[points.length - 1];
      if (!newest) return 'continue';
      thresholds ??= fixedThresholds(newest, thresholdScale);
      const w = canaryWindow([newest]);
      let alarm = false;
      for (const metric of FIXED_METRICS) {
        const v = fixedMetricValue(w, metric);
        const s = series.get(metric)!;
        if (v !== null) s.push(v);
        const [mm, nn] = metric === 'safety_incidents' ? [1, 1] : [m, n];
        if (cloudWatchAlarm(s, fixedMetricMax(thresholds, metric), mm, nn)) alarm = true;
      }
      return alarm ? 'rollback' : 'continue';
    },
  };
}
