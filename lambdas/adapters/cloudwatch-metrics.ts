/**
 * MetricsSource on CloudWatch GetMetricData: the serving fleet's metric contract
 * (core/runtime-config.ts METRIC_NAMES) with dimensions Model=<model>, Variant=baseline|canary,
 * one-minute periods.
 *
 * Statistics: Requests, Errors, ConstraintViolations and SafetyIncidents as Sum (counts per minute),
 * Latency as p50/p95/p99 (the minute's percentiles), RiskEnergy as Average (the minute's mean V_s).
 * With latency thresholds (core/analysis.ts latencyThresholds), also Latency's SampleCount and its
 * percentile rank `PR(:T)` at each threshold: the values above T are SampleCount × (1 − PR/100).
 * No `Unit` filter is set: a datapoint published with any unit still counts (the contract fixes the
 * metric names, not the units the fleet happens to use).
 *
 * The window is [from, to) aligned to whole minutes (the current, incomplete minute is left out);
 * a minute for which CloudWatch returns no value of any query is left out (a gap), and inside a
 * minute that has data a missing count is 0 and a missing latency or risk energy is null.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { emptyVariantMinute, type LatencyThresholds, type MinuteDatapoint, type VariantMinute } from '../../core/analysis.js';
import type { MetricsQuery, MetricsSource } from '../../core/ports.js';
import { METRIC_NAMES, VARIANTS } from '../../core/runtime-config.js';
import { call } from './aws-errors.js';

type Field = Exclude<keyof VariantMinute, 'latencyAbove'>;

/** Each VariantMinute field: the metric and statistic it comes from. */
export const METRIC_QUERIES: readonly { field: Field; metric: string; stat: string; kind: 'count' | 'value' }[] = [
  { field: 'requests', metric: METRIC_NAMES.requests, stat: 'Sum', kind: 'count' },
  { field: 'errors', metric: METRIC_NAMES.errors, stat: 'Sum', kind: 'count' },
  { field: 'latencyP50', metric: METRIC_NAMES.latency, stat: 'p50', kind: 'value' },
  { field: 'latencyP95', metric: METRIC_NAMES.latency, stat: 'p95', kind: 'value' },
  { field: 'latencyP99', metric: METRIC_NAMES.latency, stat: 'p99', kind: 'value' },
  { field: 'riskEnergy', metric: METRIC_NAMES.riskEnergy, stat: 'Average', kind: 'value' },
  { field: 'constraintViolations', metric: METRIC_NAMES.constraintViolations, stat: 'Sum', kind: 'count' },
  { field: 'safetyIncidents', metric: METRIC_NAMES.safetyIncidents, stat: 'Sum', kind: 'count' },
];

const MINUTE = 60_000;
const PERIOD_SECONDS = 60;
type Variant = keyof typeof VARIANTS;

/** Query ids: lowercase letters, digits and `_`, starting with a letter (GetMetricData's rule). */
const queryId = (variant: Variant, field: Field) => `${variant}_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;

const emptyMinute = (): Record<Field, number | null> => emptyVariantMinute();

/** The percentile-rank queries: Latency's SampleCount, and PR(:T) at each threshold. */
const RANK_LEVELS = ['p50', 'p95', 'p99', 'tail'] as const;
const rankId = (variant: Variant, what: 'samples' | (typeof RANK_LEVELS)[number]) => `${variant}_latency_above_${what}`;
/** A threshold as GetMetricData's extended statistic takes it: a plain decimal (no exponent). */
const rankStat = (t: number) => `PR(:${Number(t.toFixed(3)).toString()})`;

export class CloudWatchMetricsSource implements MetricsSource {
  public constructor(
    private readonly client: CloudWatchClient,
    private readonly namespace: string,
  ) {}

  /** The 16 queries (8 fields × 2 variants) of one model; 10 more with latency thresholds (SampleCount and 4 × PR(:T), × 2 variants). */
  public queries(model: string, thresholds: LatencyThresholds | null = null): MetricDataQuery[] {
    const query = (variant: Variant, id: string, metric: string, stat: string): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: this.namespace,
          MetricName: metric,
          Dimensions: [
            { Name: 'Model', Value: model },
            { Name: 'Variant', Value: VARIANTS[variant] },
          ],
        },
        Period: PERIOD_SECONDS,
        Stat: stat,
      },
      ReturnData: true,
    });
    return (Object.keys(VARIANTS) as Variant[]).flatMap((variant) => [
      ...METRIC_QUERIES.map((q) => query(variant, queryId(variant, q.field), q.metric, q.stat)),
      ...(thresholds === null
        ? []
        : [
            query(variant, rankId(variant, 'samples'), METRIC_NAMES.latency, 'SampleCount'),
            ...RANK_LEVELS.map((k) => query(variant, rankId(variant, k), METRIC_NAMES.latency, rankStat(thresholds[k]))),
          ]),
    ]);
  }

  public async window(query: MetricsQuery): Promise<MinuteDatapoint[]> {
    const thresholds = query.latencyThresholdsMs ?? null;
    const from = Math.floor(query.from.getTime() / MINUTE) * MINUTE;
    const to = Math.floor(query.to.getTime() / MINUTE) * MINUTE;
    if (to <= from) return [];
    const byId = new Map<string, Map<number, number>>();
    let nextToken: string | undefined;
    do {
      const page = await call('CloudWatch.GetMetricData', `${this.namespace} Model=${query.model}`, () =>
        this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: this.queries(query.model, thresholds),
            StartTime: new Date(from),
            EndTime: new Date(to),
            ScanBy: 'TimestampAscending',
            NextToken: nextToken,
          }),
        ),
      );
      for (const r of page.MetricDataResults ?? []) {
        if (r.Id === undefined) continue;
        const values = byId.get(r.Id) ?? new Map<number, number>();
        (r.Timestamps ?? []).forEach((ts, i) => {
          const v = r.Values?.[i];
          if (v === undefined || !Number.isFinite(v)) return;
          const t = Math.floor(new Date(ts).getTime() / MINUTE) * MINUTE;
          if (t >= from && t < to) values.set(t, v);
        });
        byId.set(r.Id, values);
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);

    const minutes = new Set<number>();
    for (const values of byId.values()) for (const t of values.keys()) minutes.add(t);
    return [...minutes]
      .sort((a, b) => a - b)
      .map((t) => {
        const variant = (v: Variant): VariantMinute => {
          const m = emptyMinute();
          for (const q of METRIC_QUERIES) {
            const value = byId.get(queryId(v, q.field))?.get(t);
            if (value === undefined) continue;
            m[q.field] = q.kind === 'count' ? Math.max(0, Math.round(value)) : Math.max(0, value);
          }
          const samples = thresholds === null ? undefined : byId.get(rankId(v, 'samples'))?.get(t);
          if (samples === undefined) return m as VariantMinute;
          const n = Math.max(0, Math.round(samples));
          // PR(:T) is missing for a minute without values; then nothing is above T either.
          const above = (k: (typeof RANK_LEVELS)[number]) => {
            const pr = byId.get(rankId(v, k))?.get(t);
            return pr === undefined ? 0 : Math.min(n, Math.max(0, Math.round((n * (100 - pr)) / 100)));
          };
          return { ...(m as VariantMinute), latencyAbove: { samples: n, p50: above('p50'), p95: above('p95'), p99: above('p99'), tail: above('tail') } };
        };
        return { minute: (t - from) / MINUTE, canary: variant('canary'), baseline: variant('baseline') };
      });
  }
}
