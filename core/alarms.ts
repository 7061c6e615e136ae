/**
 * The CloudWatch alarms that roll a canary back without waiting for the monitor loop (the fast
 * path, also covering a phase that waits for approval). Defined once, as data: lib/ builds the
 * metric-math alarms from these rules and the embedded runtime evaluates the very same rules on the
 * simulated metrics, period by period, as CloudWatch would.
 *
 * The alarms are deliberately coarser than the statistical analysis (a single minute's ratio cannot
 * be tested for significance in metric math): each needs enough canary requests in the period and
 * several breaching periods in a row, so they catch large regressions in minutes with a negligible
 * false-alarm rate, and leave subtle ones to the loop.
 *
 * Gaps: most fleets publish no datapoint for a count that is 0 (a minute without errors has no
 * `Errors` datapoint), and metric math gives no value where an operand has none, so every count is
 * read through `FILL(x, 0)` and every denominator is kept away from 0 (`IF(x > 0, x, 1)`, where the
 * expression's own guard already gives 0), in either branch of an IF. Latency and risk energy are
 * not filled: a variant that served nothing has no latency, and the expression then has no value
 * (no evidence, not breaching).
 */
import * as z from 'zod';
import { CANARY_ALARMS } from './runtime-config.js';
import type { ReasonCode } from './severity.js';

export const AlarmPolicySchema = z.strictObject({
  periodSeconds: z.literal(60).default(60),
  /** Canary requests a period needs before a ratio counts (the guard in every ratio expression). */
  minCanaryRequests: z.number().int().min(1).default(100),
  // 3×, not the loop's 1.5×: a few canary instances that err twice as often as the fleet's for five
  // minutes are common (instance heterogeneity); the alarm is the fast path for large regressions,
  // the loop's dispersion-tempered test judges the moderate ones.
  errorRateRatio: z.number().gt(1).default(3),
  latencyP99Ratio: z.number().gt(1).default(1.2),
  riskEnergyRatio: z.number().gt(1).default(1.1),
  constraintViolationRate: z.number().gt(0).lt(1).default(0.05),
  /** Breaching periods out of `evaluationPeriods` that raise a ratio alarm. */
  evaluationPeriods: z.number().int().min(1).max(30).default(5),
  datapointsToAlarm: z.number().int().min(1).max(30).default(5),
});
export type AlarmPolicy = z.infer<typeof AlarmPolicySchema>;

/** The constraint alarm needs the canary's rate this many times the baseline's (when the baseline serves). */
export const CONSTRAINT_BASELINE_RATIO = 2;
export const DEFAULT_ALARM_POLICY: AlarmPolicy = AlarmPolicySchema.parse({});

/** One period's values of the metrics the alarms read (ids as used in the expressions). */
export interface PeriodValues {
  readonly reqC: number;
  readonly reqB: number;
  readonly errC: number;
  readonly errB: number;
  readonly p99C: number;
  readonly p99B: number;
  readonly riskC: number;
  readonly riskB: number;
  readonly cvC: number;
  readonly cvB: number;
  readonly safeC: number;
}

export type MetricId = keyof PeriodValues;

/** Which fleet metric each id is: metric name, variant and statistic (see runtime-config METRIC_NAMES). */
export const METRIC_IDS: Record<MetricId, { metric: 'requests' | 'errors' | 'latency' | 'riskEnergy' | 'constraintViolations' | 'safetyIncidents'; variant: 'canary' | 'baseline'; statistic: 'Sum' | 'Average' | 'p99' }> = {
  reqC: { metric: 'requests', variant: 'canary', statistic: 'Sum' },
  reqB: { metric: 'requests', variant: 'baseline', statistic: 'Sum' },
  errC: { metric: 'errors', variant: 'canary', statistic: 'Sum' },
  errB: { metric: 'errors', variant: 'baseline', statistic: 'Sum' },
  p99C: { metric: 'latency', variant: 'canary', statistic: 'p99' },
  p99B: { metric: 'latency', variant: 'baseline', statistic: 'p99' },
  riskC: { metric: 'riskEnergy', variant: 'canary', statistic: 'Average' },
  riskB: { metric: 'riskEnergy', variant: 'baseline', statistic: 'Average' },
  cvC: { metric: 'constraintViolations', variant: 'canary', statistic: 'Sum' },
  cvB: { metric: 'constraintViolations', variant: 'baseline', statistic: 'Sum' },
  safeC: { metric: 'safetyIncidents', variant: 'canary', statistic: 'Sum' },
};

export interface AlarmRule {
  readonly suffix: keyof typeof CANARY_ALARMS;
  readonly watches: ReasonCode;
  readonly description: string;
  /** CloudWatch metric-math expression; the alarm breaches when it is > threshold. */
  readonly expression: string;
  readonly usingMetrics: readonly MetricId[];
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  /** The same expression on one period's values (a count without a datapoint is 0, as FILL makes it). */
  evaluate(v: PeriodValues): number;
}

/**
 * The canary alarm rules for a policy.
 *
 * @example alarmRules(DEFAULT_ALARM_POLICY).map((r) => r.suffix) // error-rate, latency-p99, ...
 */
export function alarmRules(p: AlarmPolicy): AlarmRule[] {
  return [errorRateRule(p), latencyP99Rule(p), riskEnergyRule(p), constraintViolationsRule(p), safetyIncidentsRule()];
}

/** Both variants carry at least `n` requests in the period, as metric math says it. */
function bothServe(n: number): string {
  return `${count('reqC')} >= ${n} AND ${count('reqB')} >= ${n}`;
}

/** The same on one period's values. Ratios need both variants to carry traffic: at 100% there is no concurrent baseline to compare. */
function servesBoth(n: number): (v: PeriodValues) => boolean {
  return (v) => v.reqC >= n && v.reqB >= n;
}

/** The M-of-N window of the ratio rules (the policy's). */
function ratioWindow(p: AlarmPolicy): Pick<AlarmRule, 'evaluationPeriods' | 'datapointsToAlarm'> {
  return { evaluationPeriods: p.evaluationPeriods, datapointsToAlarm: p.datapointsToAlarm };
}

function errorRateRule(p: AlarmPolicy): AlarmRule {
  const n = p.minCanaryRequests;
  const [reqC, reqB, errC, errB] = [count('reqC'), count('reqB'), count('errC'), count('errB')];
  const guard = servesBoth(n);
  return {
    suffix: 'error-rate',
    watches: CANARY_ALARMS['error-rate'],
    description: `canary error rate more than ${p.errorRateRatio}× the baseline's for ${p.datapointsToAlarm} of ${p.evaluationPeriods} minutes (periods with ≥ ${n} canary requests)`,
    // No baseline error in the period: a canary with ≥ 5 errors counts as breaching.
    // (errC / reqC) / (errB / reqB), as one division by denominators that are never 0.
    expression: `IF(${bothServe(n)} AND ${errB} > 0, (${errC} * ${reqB}) / (${nonZero(errB)} * ${nonZero(reqC)}), IF(${bothServe(n)} AND ${errC} >= 5, ${p.errorRateRatio + 1}, 0))`,
    usingMetrics: ['reqC', 'reqB', 'errC', 'errB'],
    threshold: p.errorRateRatio,
    ...ratioWindow(p),
    evaluate: (v) => (guard(v) && v.errB > 0 ? v.errC / v.reqC / (v.errB / v.reqB) : guard(v) && v.errC >= 5 ? p.errorRateRatio + 1 : 0),
  };
}

function latencyP99Rule(p: AlarmPolicy): AlarmRule {
  const guard = servesBoth(p.minCanaryRequests);
  return {
    suffix: 'latency-p99',
    watches: CANARY_ALARMS['latency-p99'],
    description: `canary p99 latency more than ${p.latencyP99Ratio}× the baseline's for ${p.datapointsToAlarm} of ${p.evaluationPeriods} minutes`,
    expression: `IF(${bothServe(p.minCanaryRequests)} AND p99B > 0, p99C / ${nonZero('p99B')}, 0)`,
    usingMetrics: ['reqC', 'reqB', 'p99C', 'p99B'],
    threshold: p.latencyP99Ratio,
    ...ratioWindow(p),
    evaluate: (v) => (guard(v) && v.p99B > 0 ? v.p99C / v.p99B : 0),
  };
}

function riskEnergyRule(p: AlarmPolicy): AlarmRule {
  const guard = servesBoth(p.minCanaryRequests);
  return {
    suffix: 'risk-energy',
    watches: CANARY_ALARMS['risk-energy'],
    description: `canary mean risk energy more than ${p.riskEnergyRatio}× the baseline's for ${p.datapointsToAlarm} of ${p.evaluationPeriods} minutes`,
    expression: `IF(${bothServe(p.minCanaryRequests)} AND riskB > 0, riskC / ${nonZero('riskB')}, 0)`,
    usingMetrics: ['reqC', 'reqB', 'riskC', 'riskB'],
    threshold: p.riskEnergyRatio,
    ...ratioWindow(p),
    evaluate: (v) => (guard(v) && v.riskB > 0 ? v.riskC / v.riskB : 0),
  };
}

function constraintViolationsRule(p: AlarmPolicy): AlarmRule {
  const n = p.minCanaryRequests;
  const [reqC, reqB, cvC, cvB] = [count('reqC'), count('reqB'), count('cvC'), count('cvB')];
  return {
    suffix: 'constraint-violations',
    watches: CANARY_ALARMS['constraint-violations'],
    description: `canary constraint-violation rate above ${p.constraintViolationRate * 100}% and over ${CONSTRAINT_BASELINE_RATIO}× the baseline's for 3 minutes in a row`,
    // An absolute ceiling, applied at 100% too (no baseline traffic); with a baseline, a surge it
    // suffers alike (fleet-wide) is not the candidate's: the canary must also be worse than it.
    // reqB < n covers the 100% phase, where the baseline publishes nothing at all (FILL: 0).
    expression: `IF(${reqC} >= ${n} AND (${reqB} < ${n} OR ${cvC} / ${nonZero(reqC)} > ${CONSTRAINT_BASELINE_RATIO} * ${cvB} / ${nonZero(reqB)}), ${cvC} / ${nonZero(reqC)}, 0)`,
    usingMetrics: ['reqC', 'reqB', 'cvC', 'cvB'],
    threshold: p.constraintViolationRate,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    evaluate: (v) => (v.reqC >= n && (v.reqB < n || v.cvC / v.reqC > (CONSTRAINT_BASELINE_RATIO * v.cvB) / v.reqB) ? v.cvC / v.reqC : 0),
  };
}

function safetyIncidentsRule(): AlarmRule {
  return {
    suffix: 'safety-incidents',
    watches: CANARY_ALARMS['safety-incidents'],
    description: 'any safety incident on the canary',
    expression: count('safeC'),
    usingMetrics: ['safeC'],
    threshold: 0,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    evaluate: (v) => v.safeC,
  };
}

/** A count series as the alarms read it: a period without a datapoint is 0. */
function count(id: MetricId): string {
  return `FILL(${id}, 0)`;
}

/** A denominator that is never 0: where it is 0, the expression's guard has already chosen 0. */
function nonZero(x: string): string {
  return `IF(${x} > 0, ${x}, 1)`;
}

export type AlarmState = 'OK' | 'ALARM';

/**
 * CloudWatch's M-of-N evaluation: ALARM when at least `datapointsToAlarm` of the last
 * `evaluationPeriods` values breach (> threshold). `values` is oldest first.
 */
export function alarmState(rule: AlarmRule, values: readonly number[]): AlarmState {
  const recent = values.slice(-rule.evaluationPeriods);
  const breaching = recent.filter((v) => v > rule.threshold).length;
  return breaching >= rule.datapointsToAlarm ? 'ALARM' : 'OK';
}
