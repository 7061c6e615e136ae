/**
 * The incidents' reminder schedule: an EventBridge rule that invokes the incidents function every
 * `checkEveryMinutes` (core/incidents.ts IncidentPolicy); the function sends the status updates that
 * are due (a P0/P1 open and unacknowledged for `updateEveryMinutes`). A missed run is harmless — the
 * next one sends what is due — so the target does not retry for long and has no dead-letter queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { IncidentPolicySchema, type IncidentPolicy } from '../core/incidents.js';

export interface IncidentRemindersProps {
  /** The incidents function (core/steps.ts STEP_INCIDENTS). */
  readonly incidentsFunction: lambda.IFunction;
  /** How often updates go out and how often the schedule looks. */
  readonly policy: IncidentPolicy;
  /** For the rule's description. */
  readonly model: string;
}

export class IncidentReminders extends Construct {
  public readonly rule: events.Rule;

  public constructor(scope: Construct, id: string, props: IncidentRemindersProps) {
    super(scope, id);
    const checked = IncidentPolicySchema.safeParse(props.policy);
    if (!checked.success) throw new Error(`IncidentReminders: policy ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { checkEveryMinutes, updateEveryMinutes } = checked.data;
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Status updates of ${props.model}'s unacknowledged P0/P1 incidents every ${updateEveryMinutes} min (looked at every ${checkEveryMinutes} min)`,
      schedule: events.Schedule.rate(Duration.minutes(checkEveryMinutes)),
    });
    this.rule.addTarget(new targets.LambdaFunction(props.incidentsFunction, { retryAttempts: 2, maxEventAge: Duration.minutes(checkEveryMinutes) }));
  }
}
