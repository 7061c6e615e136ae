/**
 * Alarms on the pipeline's own health, all to the unfiltered pipeline-alarms topic: failed or
 * timed-out executions of both state machines, errors of every handler, and messages in the intake
 * dead-letter queue (an upload that started no release). The rollback DLQ's alarm lives with the
 * rollback triggers.
 */
import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface PipelineAlarmsProps {
  /** Prefix of the alarm names. */
  readonly prefix: string;
  readonly topic: sns.ITopic;
  /** State machines by short name (`promotion`, `canary`). */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /** Functions by handler name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Dead-letter queues by short name. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
}

export class PipelineAlarms extends Construct {
  public readonly alarms: cw.Alarm[] = [];

  public constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const action = new cwActions.SnsAction(props.topic);
    const add = (cid: string, alarmName: string, description: string, metric: cw.IMetric) => {
      const alarm = new cw.Alarm(this, cid, {
        alarmName: `${props.prefix}-${alarmName}`,
        alarmDescription: description,
        metric,
        threshold: 0,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      this.alarms.push(alarm);
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    for (const [name, machine] of Object.entries(props.stateMachines)) {
      add(`${name}Failed`, `${name}-executions-failed`, `A ${name} execution failed: the release needs a look (execution history, incidents).`, machine.metricFailed(fiveMinutes));
      add(`${name}TimedOut`, `${name}-executions-timed-out`, `A ${name} execution timed out.`, machine.metricTimedOut(fiveMinutes));
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      add(`${name}Errors`, `lambda-${name}-errors`, `The ${name} handler failed (the state machines retry; repeated errors fail the step).`, fn.metricErrors(fiveMinutes));
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      add(
        `${name}DeadLetters`,
        `${name}-dlq`,
        `Messages in the ${name} dead-letter queue: events the pipeline could not process after retries.`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      );
    }
  }
}
