import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchMetricsSource } from '../../lambdas/adapters/cloudwatch-metrics.js';
import { ONE_ATTEMPT, denied, throttled } from './aws-helpers.js';

const cw = mockClient(CloudWatchClient);
const client = new CloudWatchClient(ONE_ATTEMPT);
const source = new CloudWatchMetricsSource(client, 'BuilderBrain/Serving');
const t = (m: number) => new Date(Date.UTC(2025, 2, 1, 10, m));

beforeEach(() => cw.reset());

describe('CloudWatchMetricsSource', () => {
  it('asks for the metric contract by Model and Variant, one-minute periods, aligned to minutes', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await source.window({ model: 'builderbrain', from: new Date(Date.UTC(2025, 2, 1, 10, 0, 42)), to: new Date(Date.UTC(2025, 2, 1, 10, 5, 13)) });
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(t(0));
    expect(input.EndTime).toEqual(t(5));
    expect(input.MetricDataQueries).toHaveLength(16);
    const byId = Object.fromEntries(input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat]));
    expect(byId.canary_requests).toEqual({
      Metric: { Namespace: 'BuilderBrain/Serving', MetricName: 'Requests', Dimensions: [{ Name: 'Model', Value: 'builderbrain' }, { Name: 'Variant', Value: 'canary' }] },
      Period: 60,
      Stat: 'Sum',
    });
    expect(byId.baseline_latency_p99).toMatchObject({ Metric: { MetricName: 'Latency' }, Stat: 'p99' });
    expect(byId.canary_risk_energy).toMatchObject({ Metric: { MetricName: 'RiskEnergy' }, Stat: 'Average' });
    expect(byId.canary_safety_incidents).toMatchObject({ Metric: { MetricName: 'SafetyIncidents' }, Stat: 'Sum' });
    expect(byId.baseline_constraint_violations).toMatchObject({ Metric: { MetricName: 'ConstraintViolations' }, Stat: 'Sum' });
  });

  it('with latency thresholds, also asks for Latency SampleCount and PR(:T) at each, and counts the values above them', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'canary_requests', Timestamps: [t(0)], Values: [600] },
        { Id: 'canary_latency_above_samples', Timestamps: [t(0)], Values: [600] },
        { Id: 'canary_latency_above_p50', Timestamps: [t(0)], Values: [40] },
        { Id: 'canary_latency_above_p95', Timestamps: [t(0)], Values: [94] },
        { Id: 'canary_latency_above_p99', Timestamps: [t(0)], Values: [98.5] },
        { Id: 'canary_latency_above_tail', Timestamps: [t(0)], Values: [99.9] },
        { Id: 'baseline_requests', Timestamps: [t(0)], Values: [5400] },
        { Id: 'baseline_latency_above_samples', Timestamps: [t(0)], Values: [5400] },
      ],
    });
    const thresholds = { p50: 180, p95: 420.25, p99: 650, tail: 1061 };
    const [m] = await source.window({ model: 'builderbrain', from: t(0), to: t(1), latencyThresholdsMs: thresholds });
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.MetricDataQueries).toHaveLength(26);
    const byId = Object.fromEntries(input.MetricDataQueries!.map((q) => [q.Id, q.MetricStat]));
    expect(byId.canary_latency_above_samples).toMatchObject({ Metric: { MetricName: 'Latency' }, Stat: 'SampleCount' });
    expect(byId.baseline_latency_above_p95).toMatchObject({ Metric: { MetricName: 'Latency' }, Stat: 'PR(:420.25)' });
    expect(byId.canary_latency_above_tail).toMatchObject({ Stat: 'PR(:1061)' });
    // SampleCount × (1 − PR/100); a missing PR with values: nothing known above, 0
    expect(m!.canary.latencyAbove).toEqual({ samples: 600, p50: 360, p95: 36, p99: 9, tail: 1 });
    expect(m!.baseline.latencyAbove).toEqual({ samples: 5400, p50: 0, p95: 0, p99: 0, tail: 0 });
  });

  it('without thresholds asks for no percentile rank and leaves latencyAbove out', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'canary_requests', Timestamps: [t(0)], Values: [60] }] });
    const [m] = await source.window({ model: 'builderbrain', from: t(0), to: t(1) });
    expect(cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries).toHaveLength(16);
    expect(m!.canary.latencyAbove).toBeUndefined();
  });

  it('follows NextToken and assembles minutes; missing counts are 0, missing latency null; empty minutes are gaps', async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'canary_requests', Timestamps: [t(0), t(1)], Values: [60, 62] },
          { Id: 'canary_errors', Timestamps: [t(1)], Values: [2] },
          { Id: 'baseline_requests', Timestamps: [t(0), t(1)], Values: [5940, 5938] },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'canary_latency_p50', Timestamps: [t(0)], Values: [181.5] },
          { Id: 'baseline_requests', Timestamps: [t(3)], Values: [6001] },
        ],
      });
    const points = await source.window({ model: 'builderbrain', from: t(0), to: t(5) });
    expect(cw.commandCalls(GetMetricDataCommand)[1]!.args[0].input.NextToken).toBe('page-2');
    expect(points.map((p) => p.minute)).toEqual([0, 1, 3]);
    expect(points[0]).toEqual({
      minute: 0,
      canary: { requests: 60, errors: 0, latencyP50: 181.5, latencyP95: null, latencyP99: null, riskEnergy: null, constraintViolations: 0, safetyIncidents: 0 },
      baseline: { requests: 5940, errors: 0, latencyP50: null, latencyP95: null, latencyP99: null, riskEnergy: null, constraintViolations: 0, safetyIncidents: 0 },
    });
    expect(points[1]!.canary).toMatchObject({ requests: 62, errors: 2 });
    expect(points[2]!.canary.requests).toBe(0);
  });

  it('an empty window asks nothing', async () => {
    expect(await source.window({ model: 'builderbrain', from: t(3), to: new Date(t(3).getTime() + 30_000) })).toEqual([]);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it('throttling surfaces as a thrown, retryable error after the client retries', async () => {
    cw.on(GetMetricDataCommand).rejects(throttled());
    await expect(source.window({ model: 'builderbrain', from: t(0), to: t(5) })).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true, message: expect.stringContaining('CloudWatch.GetMetricData on BuilderBrain/Serving Model=builderbrain failed') });
  });

  it('a permanent failure is thrown, not retryable', async () => {
    cw.on(GetMetricDataCommand).rejects(denied());
    await expect(source.window({ model: 'builderbrain', from: t(0), to: t(5) })).rejects.toMatchObject({ name: 'AccessDeniedException', retryable: false });
  });
});
