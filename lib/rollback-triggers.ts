/**
 * The alarm fast path (architecture.md): one CloudWatch alarm per canary rule of core/alarms.ts,
 * comparing the canary with the baseline through metric math on the fleet's own metrics; an EventBridge rule sends their
 * "Alarm State Change" to ALARM straight to the rollback function (which stops the canary execution
 * and restores the baseline), without waiting for the monitor loop's next look.
 *
 * Metric contract (README "Metric contract"): namespace from the config, metrics METRIC_NAMES, one
 * datapoint per minute, dimensions `Model` = model name and `Variant` = `baseline` | `canary`.
 *
 * Delivery: EventBridge retries the invoke and parks what it cannot deliver in an encrypted DLQ;
 * Lambda retries a failed async invocation and sends it to the same queue; a message in that queue
 * is a rollback that did not happen, so its depth alarms the pipeline-alarms topic (P0 by nature:
 * SNS alarm actions cannot carry the `severity` attribute, hence that separate, unfiltered topic).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmRules, METRIC_IDS, type AlarmPolicy, type MetricId } from '../core/alarms.js';
import { CANARY_ALARMS, canaryAlarmName, METRIC_NAMES, VARIANTS } from '../core/runtime-config.js';
import { allowServiceEnvelope } from './kms.js';
import { acknowledge, acknowledgeGuard } from './nag.js';
import { QueueDestination } from './queue-destination.js';

export type CanaryAlarmSuffix = keyof typeof CANARY_ALARMS;

export interface RollbackTriggersProps {
  /** Prefix of the alarm names (`<prefix>-<model>-canary-<rule>`). */
  readonly prefix: string;
  readonly model: string;
  /** CloudWatch namespace of the fleet's metrics. */
  readonly metricsNamespace: string;
  /** Thresholds of the alarm rules (core/alarms.ts). */
  readonly alarmPolicy: AlarmPolicy;
  readonly rollbackFunction: lambda.IFunction;
  /**
   * Invoked when a promotion execution of `promotionStateMachineArn` ends ABORTED, TIMED_OUT or
   * FAILED (core/app/execution-ended.ts): rollback if in flight, then the lock.
   */
  readonly executionEnded?: { readonly fn: lambda.IFunction; readonly promotionStateMachineArn: string };
  /** Encrypts the dead-letter queue. */
  readonly encryptionKey: kms.IKey;
  /** Where the DLQ-depth alarm goes. */
  readonly pipelineAlarmsTopic: sns.ITopic;
}

/** The fleet's metric of one variant. */
export function fleetMetric(
  props: Pick<RollbackTriggersProps, 'metricsNamespace' | 'model'>,
  name: keyof typeof METRIC_NAMES,
  variant: keyof typeof VARIANTS,
  statistic: string,
  period: Duration,
): cw.Metric {
  return new cw.Metric({
    namespace: props.metricsNamespace,
    metricName: METRIC_NAMES[name],
    dimensionsMap: { Model: props.model, Variant: VARIANTS[variant] },
    statistic,
    period,
  });
}

export class RollbackTriggers extends Construct {
  /** The canary alarms, by rule suffix. */
  public readonly alarms: Record<CanaryAlarmSuffix, cw.Alarm>;
  public readonly rule: events.Rule;
  /** The promotion executions that end without finishing their release (null without `executionEnded`). */
  public readonly executionEndedRule: events.Rule | null;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deadLetterAlarm: cw.Alarm;

  public constructor(scope: Construct, id: string, props: RollbackTriggersProps) {
    super(scope, id);
    this.alarms = this.canaryAlarms(props);
    this.deadLetterQueue = this.createDeadLetterQueue(props.encryptionKey);
    this.rule = new events.Rule(this, 'CanaryAlarmState', {
      description: `Rolls back model ${props.model} when one of its canary alarms goes to ALARM`,
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        resources: Object.values(this.alarms).map((al) => al.alarmArn),
        detail: { state: { value: ['ALARM'] } },
      },
    });
    this.deliver(this.rule, props.rollbackFunction);
    this.executionEndedRule = null;
    if (props.executionEnded !== undefined) {
      // An ASL Catch cannot see its own execution stopped by hand or timed out: EventBridge can.
      this.executionEndedRule = new events.Rule(this, 'PromotionExecutionEnded', {
        description: `Rolls back and unlocks ${props.model} when a promotion execution ends ABORTED, TIMED_OUT or FAILED`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [props.executionEnded.promotionStateMachineArn] },
        },
      });
      this.deliver(this.executionEndedRule, props.executionEnded.fn);
    }
    this.deadLetterAlarm = new cw.Alarm(this, 'RollbackDeadLetters', {
      alarmName: `${props.prefix}-${props.model}-rollback-dlq`,
      alarmDescription: 'P0: an alarm-triggered rollback could not be delivered or failed after retries. Roll back by hand (builderbrain rollback) and inspect the queue.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm.addAlarmAction(new cwActions.SnsAction(props.pipelineAlarmsTopic));
  }

  /** One alarm per canary rule. The rules are data (core/alarms.ts): the embedded runtime evaluates the very same expressions. */
  private canaryAlarms(props: RollbackTriggersProps): Record<CanaryAlarmSuffix, cw.Alarm> {
    const period = Duration.seconds(props.alarmPolicy.periodSeconds);
    const metricOf = (id: MetricId) => {
      const m = METRIC_IDS[id];
      return fleetMetric(props, m.metric, m.variant, m.statistic, period);
    };
    const alarms = {} as Record<CanaryAlarmSuffix, cw.Alarm>;
    for (const rule of alarmRules(props.alarmPolicy)) {
      alarms[rule.suffix] = new cw.Alarm(this, `Canary-${rule.suffix}`, {
        alarmName: canaryAlarmName(props.prefix, props.model, rule.suffix),
        alarmDescription: `Model ${props.model}: ${rule.description}. Watches ${rule.watches}; ALARM rolls the canary back (EventBridge → rollback function).`,
        metric: new cw.MathExpression({
          expression: rule.expression,
          usingMetrics: Object.fromEntries(rule.usingMetrics.map((id) => [id, metricOf(id)])),
          period,
          label: rule.suffix,
        }),
        threshold: rule.threshold,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: rule.evaluationPeriods,
        datapointsToAlarm: rule.datapointsToAlarm,
        // No canary traffic is no evidence of a regression.
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      acknowledgeGuard(
        alarms[rule.suffix],
        'cloudwatch_alarm_action_check',
        'The action of this alarm is the rollback: an EventBridge rule on its ALARM state invokes the rollback function (retries, dead-letter queue), which pages through the incident topic with a severity an alarm action cannot set.',
      );
    }
    const missing = (Object.keys(CANARY_ALARMS) as CanaryAlarmSuffix[]).filter((k) => alarms[k] === undefined);
    if (missing.length > 0) throw new Error(`RollbackTriggers: no alarm rule for ${missing.join(', ')}`);
    return alarms;
  }

  /** The dead-letter queue of both rules and of the functions' async invocations. */
  private createDeadLetterQueue(encryptionKey: kms.IKey): sqs.Queue {
    const queue = new sqs.Queue(this, 'RollbackDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Kept when the stack is deleted (it may hold undelivered rollbacks); removed if the first creation fails.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledge(queue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the alarm-to-rollback path; its depth pages the pipeline-alarms topic.');
    acknowledgeGuard(
      queue,
      'sqs_dlq_check',
      'This queue is itself the dead-letter queue of the alarm-to-rollback path (EventBridge target and Lambda async destination, not an SQS source queue); its depth pages the pipeline-alarms topic.',
    );
    allowServiceEnvelope(encryptionKey, 'events.amazonaws.com');
    return queue;
  }

  /** The rule invokes `fn` (retried for an hour); what still fails, at either hop, parks in the dead-letter queue. */
  private deliver(rule: events.Rule, fn: lambda.IFunction): void {
    rule.addTarget(
      new targets.LambdaFunction(fn, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
    fn.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new QueueDestination(this.deadLetterQueue),
    });
  }
}
