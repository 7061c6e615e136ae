/**
 * Unit tests of the peers' re-implemented rules (bench/rules/) on hand-built datapoints, and one
 * small deterministic run of the detection benchmark (bench/detection.ts).
 */
import { describe, expect, it } from 'vitest';
import type { MinuteDatapoint, VariantMinute } from '../../core/analysis.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { runDetectionBench, scanRule, simulateRelease, HEALTHY_NULL, REGRESSION_SCENARIOS } from '../../bench/detection.js';
import { argoRule } from '../../bench/rules/argo.js';
import { builderbrainRule } from '../../bench/rules/builderbrain.js';
import { cloudWatchAlarm, codeDeployRule } from '../../bench/rules/codedeploy.js';
import { flaggerRule } from '../../bench/rules/flagger.js';
import { RULE_NAMES } from '../../bench/rules/index.js';
import { classifyMetric, kayentaRule, kayentaScore, legacyPercentile, removeOutliers } from '../../bench/rules/kayenta.js';
import { mannWhitneyInterval } from '../../bench/rules/mann-whitney.js';
import { detectionChartSvg, detectionMarkdown } from '../../bench/rules/render.js';
import { fixedThresholds, type Decision, type PhaseContext, type Rule } from '../../bench/rules/types.js';

const variant = (requests: number, over: Partial<VariantMinute> = {}): VariantMinute => ({
  requests,
  errors: Math.round(requests * 0.004),
  latencyP50: 180,
  latencyP95: 420,
  latencyP99: 650,
  riskEnergy: 0.3,
  constraintViolations: Math.round(requests * 0.01),
  safetyIncidents: 0,
  ...over,
});

/** A 10% minute: 600 canary requests, 5,400 baseline requests, healthy unless overridden. */
const minute = (m: number, canary: Partial<VariantMinute> = {}, baseline: Partial<VariantMinute> = {}): MinuteDatapoint => ({
  minute: m,
  canary: variant(600, canary),
  baseline: variant(5400, baseline),
});

/** Feeds `rule` the minutes of one 60-minute phase; returns every minute's decision. */
function feed(rule: Rule, points: readonly MinuteDatapoint[], ctx: Partial<PhaseContext> = {}): Decision[] {
  rule.reset();
  return points.map((_, i) => rule.observe(points.slice(0, i + 1), { index: 1, weight: 10, plannedMinutes: 60, releaseMinute: i, ...ctx }));
}

const firstRollback = (decisions: Decision[]): number | null => {
  const i = decisions.indexOf('rollback');
  return i < 0 ? null : i + 1; // minutes observed when the rule rolled back
};

const errorSpike = { errors: 12 }; // 2% of 600 > Flagger's 99% success rate
const healthy = Array.from({ length: 60 }, (_, i) => minute(i));

describe('fixed thresholds', () => {
  it('reads the baseline at release start: 1% errors, 1.2 × p99, 1.1 × risk energy, 5% violations, no incident', () => {
    const t = fixedThresholds(minute(0));
    expect(t.maxErrorRate).toBe(0.01);
    expect(t.maxP99Ms).toBeCloseTo(780);
    expect(t.maxRiskEnergy).toBeCloseTo(0.33);
    expect(t.maxConstraintRate).toBe(0.05);
    expect(t.maxSafetyIncidents).toBe(0);
  });
});

describe('flagger', () => {
  it('rolls back on the tick after the threshold-th failed check, not before', () => {
    const points = healthy.map((p, i) => (i >= 10 ? minute(i, errorSpike) : p));
    const d = feed(flaggerRule(), points);
    // Failed checks at minutes 11..15 (the 5th at minute 15); the next tick rolls back.
    expect(d.slice(0, 15).every((x) => x === 'continue')).toBe(true);
    expect(firstRollback(d)).toBe(16);
  });

  it('counts failed checks cumulatively: a passing check does not reset them', () => {
    const points = healthy.map((p, i) => (i % 2 === 0 && i < 20 ? minute(i, errorSpike) : p));
    // Failures at minutes 1, 3, 5, 7, 9 (5th), rollback at the next tick, minute 10.
    expect(firstRollback(feed(flaggerRule(), points))).toBe(10);
    expect(firstRollback(feed(flaggerRule({ threshold: 10 }), points))).toBe(20);
  });

  it('keeps a healthy canary', () => {
    expect(firstRollback(feed(flaggerRule(), healthy))).toBeNull();
  });

  it('fails a check on p99 above 1.2 × the baseline at start', () => {
    const points = healthy.map((p, i) => (i >= 30 ? minute(i, { latencyP99: 800 }) : p));
    expect(firstRollback(feed(flaggerRule(), points))).toBe(36);
  });
});

describe('argo', () => {
  it('failureLimit 0 aborts on the first failed measurement', () => {
    const points = healthy.map((p, i) => (i >= 5 ? minute(i, errorSpike) : p));
    const d = feed(argoRule(), points);
    // Measurements every 5 minutes: minute 5 successful, minute 10 failed → abort.
    expect(d.slice(0, 9).every((x) => x === 'continue')).toBe(true);
    expect(firstRollback(d)).toBe(10);
  });

  it('failureLimit 1 needs a second failed measurement', () => {
    const points = healthy.map((p, i) => (i >= 5 ? minute(i, errorSpike) : p));
    expect(firstRollback(feed(argoRule({ failureLimit: 1 }), points))).toBe(15);
  });

  it('a measurement window below the threshold is successful', () => {
    // One bad minute in five: 12 + 4 × 2 = 20 errors of 3,000 requests = 0.67% ≤ 1%.
    const points = healthy.map((p, i) => (i === 7 ? minute(i, errorSpike) : p));
    expect(firstRollback(feed(argoRule(), points))).toBeNull();
  });

  it('errors (no canary data) abort only after more than consecutiveErrorLimit in a row', () => {
    const noTraffic = (i: number) => minute(i, variant(0, { latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null }));
    const points = healthy.map((_, i) => noTraffic(i));
    // Five measurements in error (minutes 5..25): the fifth exceeds the limit of 4.
    expect(firstRollback(feed(argoRule(), points))).toBe(25);
    const fourErrors = healthy.map((p, i) => (i < 20 ? noTraffic(i) : p));
    expect(firstRollback(feed(argoRule(), fourErrors))).toBeNull();
  });
});

describe('codedeploy-alarms', () => {
  it('needs M of N breaching datapoints', () => {
    expect(cloudWatchAlarm([2, 2], 1, 3, 3)).toBe(false);
    expect(cloudWatchAlarm([2, 0, 2, 2], 1, 3, 3)).toBe(false);
    expect(cloudWatchAlarm([2, 2, 2], 1, 3, 3)).toBe(true);
    expect(cloudWatchAlarm([0, 2, 0, 2], 1, 2, 3)).toBe(true);
  });

  it('rolls back on the third breaching minute in a row, and not on two', () => {
    const threeInRow = healthy.map((p, i) => (i >= 20 && i < 23 ? minute(i, errorSpike) : p));
    expect(firstRollback(feed(codeDeployRule(), threeInRow))).toBe(23);
    const twoThenOk = healthy.map((p, i) => ((i >= 20 && i < 22) || (i >= 30 && i < 32) ? minute(i, errorSpike) : p));
    expect(firstRollback(feed(codeDeployRule(), twoThenOk))).toBeNull();
  });

  it('rolls back on the first safety incident (1 of 1)', () => {
    const points = healthy.map((p, i) => (i === 12 ? minute(i, { safetyIncidents: 1 }) : p));
    expect(firstRollback(feed(codeDeployRule(), points))).toBe(13);
  });
});

describe('kayenta', () => {
  it('percentiles and outlier removal follow Commons Math and IQRDetector(3, reduceSensitivity)', () => {
    expect(legacyPercentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(legacyPercentile([1, 2, 3, 4], 1)).toBe(1);
    expect(legacyPercentile([1, 2, 3, 4], 99)).toBe(4);
    // With 99 or fewer points the 1st/99th percentiles are the min/max, so nothing is removed.
    const small = [...Array.from({ length: 20 }, (_, i) => 10 + (i % 5)), 1000];
    expect(removeOutliers(small)).toEqual(small);
    const large = [...Array.from({ length: 200 }, (_, i) => 10 + (i % 5)), 1000];
    expect(removeOutliers(large)).not.toContain(1000);
    expect(removeOutliers(large)).toHaveLength(200);
  });

  it('the Mann–Whitney interval brackets a pure shift', () => {
    const y = Array.from({ length: 40 }, (_, i) => i + 1);
    const x = y.map((v) => v + 5);
    const ci = mannWhitneyInterval(x, y, 0.98);
    expect(ci.estimate).toBeCloseTo(5, 6);
    expect(ci.lower).toBeLessThan(5);
    expect(ci.upper).toBeGreaterThan(5);
    const wide = mannWhitneyInterval(x, y, 0.5);
    expect(wide.lower).toBeGreaterThan(ci.lower);
  });

  it('classifies a clear increase High and identical data Pass', () => {
    const control = Array.from({ length: 30 }, (_, i) => 100 + (i % 7));
    const experiment = control.map((v) => v * 1.5);
    expect(classifyMetric(control, experiment, 'increase').classification).toBe('High');
    expect(classifyMetric(control, [...control].reverse(), 'increase').classification).toBe('Pass');
    // A decrease is not a failure for an "increase" metric.
    expect(classifyMetric(control, control.map((v) => v * 0.5), 'increase').classification).toBe('Pass');
    expect(classifyMetric(control, control.map((v) => v * 0.5), 'either').classification).toBe('Low');
    // allowedIncrease: a significant increase below the allowed mean ratio passes.
    expect(classifyMetric(control, experiment, 'increase', { effectSize: [1, 2] }).classification).toBe('Pass');
  });

  it('scores the percentage of passing metrics; Nodata keeps its weight', () => {
    expect(kayentaScore(['Pass', 'Pass', 'High', 'Pass'])).toBe(75);
    expect(kayentaScore(['Pass', 'Nodata'])).toBe(50);
  });

  const noisy = (i: number, over: Partial<VariantMinute> = {}) =>
    minute(i, { latencyP50: 176 + (i % 9), latencyP95: 410 + (i % 11), latencyP99: 640 + (i % 13), riskEnergy: 0.29 + (i % 5) * 0.004, ...over }, {
      latencyP50: 175 + (i % 10),
      latencyP95: 412 + (i % 7),
      latencyP99: 645 + (i % 12),
      riskEnergy: 0.292 + (i % 4) * 0.004,
    });

  it('a score at or below marginal (2 of 7 metrics High = 71.4) fails at the judgment', () => {
    const points = Array.from({ length: 60 }, (_, i) => noisy(i, { errors: 12 + (i % 3), latencyP99: 900 + (i % 13) }));
    const d = feed(kayentaRule(), points);
    expect(d.slice(0, 14).every((x) => x === 'continue')).toBe(true);
    expect(firstRollback(d)).toBe(15);
  });

  it('a marginal score (1 of 7 High = 85.7) continues until the phase-end judgment needs pass (95)', () => {
    const points = Array.from({ length: 60 }, (_, i) => noisy(i, { latencyP99: 900 + (i % 13) }));
    expect(firstRollback(feed(kayentaRule(), points))).toBe(60);
  });

  it('keeps a canary that matches its baseline', () => {
    expect(firstRollback(feed(kayentaRule(), Array.from({ length: 60 }, (_, i) => noisy(i))))).toBeNull();
  });

  it('does not judge without a control (100% phase)', () => {
    const full = Array.from({ length: 60 }, (_, i) => ({ minute: i, canary: variant(6000, { errors: 500 }), baseline: variant(0) }));
    expect(firstRollback(feed(kayentaRule(), full, { index: 3, weight: 100 }))).toBeNull();
  });
});

describe('builderbrain', () => {
  it('rolls back a large error regression within minutes and keeps a healthy phase', () => {
    const release = simulateRelease(HEALTHY_NULL, 7);
    expect(scanRule(builderbrainRule(), release, DEFAULT_PHASES, 0, 3)).toBeNull();
    const points = healthy.map((p, i) => (i >= 10 ? minute(i, { errors: 30 }) : p));
    const at = firstRollback(feed(builderbrainRule(), points));
    expect(at).not.toBeNull();
    expect(at!).toBeGreaterThan(10);
    expect(at!).toBeLessThanOrEqual(20);
    expect(firstRollback(feed(builderbrainRule(), healthy))).toBeNull();
  });
});

describe('detection bench', () => {
  it('runs deterministically on 3 seeds and renders tables and a chart', () => {
    const run = () => {
      const r = runDetectionBench({ seeds: 3, healthySeeds: 3 });
      return { ...r, meta: { ...r.meta, seconds: 0 } };
    };
    const a = run();
    const b = run();
    expect(a).toEqual(b);
    expect(Object.keys(a.rules)).toEqual([...RULE_NAMES]);
    for (const r of Object.values(a.rules)) {
      expect(Object.keys(r.detectionMinutes)).toEqual(REGRESSION_SCENARIOS.map((s) => s.name));
      for (const d of Object.values(r.detectionMinutes)) expect(d.detected + d.missed + d.preRegressionRollbacks).toBe(3);
      expect(Object.keys(r.falseRollbackRateByWeight)).toEqual(['1', '10', '50']);
      expect(r.falseRollbackRate).toBeGreaterThanOrEqual(0);
      expect(r.falseRollbackRate).toBeLessThanOrEqual(1);
    }
    // This project's rule catches the safety incidents within a few minutes on every seed.
    const safety = a.rules.builderbrain!.detectionMinutes['safety-violation']!;
    expect(safety.detected).toBe(3);
    expect(safety.worst!).toBeLessThanOrEqual(10);
    const md = detectionMarkdown(a);
    expect(md).toContain('| builderbrain |');
    expect(md).toContain('| kayenta |');
    const svg = detectionChartSvg(a);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of RULE_NAMES) expect(svg).toContain(name);
  });
});
