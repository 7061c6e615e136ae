/**
 * One CloudWatch dashboard per pipeline: the canary against the baseline on the fleet's metrics
 * (the same series the alarms and the analysis read), the canary's share of requests, the canary
 * alarms, and the pipeline's own executions and handler errors.
 */
import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { fleetMetric } from './rollback-triggers.js';

export interface ReleaseDashboardProps {
  readonly dashboardName: string;
  readonly model: string;
  readonly metricsNamespace: string;
  readonly canaryAlarms: readonly cw.IAlarm[];
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** @default Duration.minutes(1) */
  readonly period?: Duration;
}

type Variant = 'canary' | 'baseline';
type FleetMetricName = Parameters<typeof fleetMetric>[1];

export class ReleaseDashboard extends Construct {
  public readonly dashboard: cw.Dashboard;

  public constructor(scope: Construct, id: string, props: ReleaseDashboardProps) {
    super(scope, id);
    const fleet = new FleetSeries(props, props.period ?? Duration.minutes(1));
    this.dashboard = new cw.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new cw.TextWidget({
            markdown: `# ${props.model} release\nCanary vs baseline on \`${props.metricsNamespace}\` (dimensions Model, Variant). Alarms in red roll the canary back.`,
            width: 24,
            height: 2,
          }),
        ],
        ...fleet.rows(),
        [new cw.AlarmStatusWidget({ title: 'Canary alarms', alarms: [...props.canaryAlarms], width: 24, height: 3 })],
        pipelineRow(props),
      ],
    });
  }
}

/** The canary against the baseline on the fleet's metrics (the series the alarms and the analysis read). */
class FleetSeries {
  public constructor(
    private readonly props: ReleaseDashboardProps,
    private readonly period: Duration,
  ) {}

  /** Error rate, latency and share; risk energy, violation rate and safety incidents. */
  public rows(): cw.IWidget[][] {
    const m = (name: FleetMetricName, variant: Variant, statistic: string) => this.metric(name, variant, statistic);
    const errorRate = this.perVariant('error rate (%)', (v) => `100 * FILL(${v}Err, 0) / ${v}Req`, (variant) => ({
      Req: m('requests', variant, 'Sum'),
      Err: m('errors', variant, 'Sum'),
    }));
    const violationRate = this.perVariant('constraint-violation rate (%)', (v) => `100 * FILL(${v}Viol, 0) / ${v}Req`, (variant) => ({
      Req: m('requests', variant, 'Sum'),
      Viol: m('constraintViolations', variant, 'Sum'),
    }));
    const latency = (['p50', 'p95', 'p99'] as const).flatMap((p) =>
      (['canary', 'baseline'] as const).map((variant) => m('latency', variant, p).with({ label: `${variant} ${p}` })),
    );
    const share = new cw.MathExpression({
      expression: '100 * cReq / (cReq + FILL(bReq, 0))',
      usingMetrics: { cReq: m('requests', 'canary', 'Sum'), bReq: m('requests', 'baseline', 'Sum') },
      label: 'canary share of requests (%)',
      period: this.period,
    });
    const both = (name: FleetMetricName, statistic: string) => [m(name, 'canary', statistic).with({ label: 'canary' }), m(name, 'baseline', statistic).with({ label: 'baseline' })];
    return [
      [
        new cw.GraphWidget({ title: 'Error rate (%)', left: errorRate, width: 8 }),
        new cw.GraphWidget({ title: 'Latency p50 / p95 / p99 (ms)', left: latency, width: 8 }),
        new cw.GraphWidget({ title: 'Canary share of requests (%) — current weight', left: [share], leftYAxis: { min: 0, max: 100 }, width: 8 }),
      ],
      [
        new cw.GraphWidget({ title: 'Risk energy (mean)', left: both('riskEnergy', 'Average'), width: 8 }),
        new cw.GraphWidget({ title: 'Constraint-violation rate (%)', left: violationRate, width: 8 }),
        new cw.GraphWidget({ title: 'Safety incidents', left: both('safetyIncidents', 'Sum'), width: 8 }),
      ],
    ];
  }

  private metric(name: FleetMetricName, variant: Variant, statistic: string): cw.Metric {
    return fleetMetric(this.props, name, variant, statistic, this.period);
  }

  /** One expression per variant, its metrics' ids prefixed `c` (canary) or `b` (baseline). */
  private perVariant(label: string, expr: (v: 'c' | 'b') => string, using: (v: Variant) => Record<string, cw.IMetric>): cw.MathExpression[] {
    return (['canary', 'baseline'] as const).map(
      (variant) =>
        new cw.MathExpression({
          expression: expr(variant === 'canary' ? 'c' : 'b'),
          usingMetrics: Object.fromEntries(Object.entries(using(variant)).map(([k, v]) => [`${variant === 'canary' ? 'c' : 'b'}${k}`, v])),
          label: `${variant} ${label}`,
          period: this.period,
        }),
    );
  }
}

/** The pipeline's own executions and handler errors. */
function pipelineRow(props: ReleaseDashboardProps): cw.IWidget[] {
  return [
    new cw.GraphWidget({
      title: 'Executions started / failed',
      left: Object.entries(props.stateMachines).flatMap(([name, sm]) => [
        sm.metricStarted({ label: `${name} started`, statistic: 'Sum', period: Duration.minutes(5) }),
        sm.metricFailed({ label: `${name} failed`, statistic: 'Sum', period: Duration.minutes(5) }),
      ]),
      width: 12,
    }),
    new cw.GraphWidget({
      title: 'Handler errors',
      left: Object.entries(props.functions).map(([name, fn]) => fn.metricErrors({ label: name, statistic: 'Sum', period: Duration.minutes(5) })),
      width: 12,
    }),
  ];
}
