/**
 * The receiving end of the environment chain (core/handover.ts): this environment's hand-over bus,
 * on which only the previous environment may put events, and the rule that delivers its
 * hand-overs to the accept-handover function.
 *
 * Admission is enforced three times, each independently of the others:
 *
 * 1. the bus's resource policy admits `events:PutEvents` from the previous environment's account
 *    only, and only events of the hand-over's source and detail type (`events:source`,
 *    `events:detail-type`);
 * 2. the rule matches only events whose `account` (stamped by EventBridge: the sender cannot choose
 *    it) is that account, sent by the previous environment (by name), to this one, for this model;
 * 3. the accept-handover function checks all of it again in code (core/handover.ts admitHandover)
 *    and accepts only the artifact digest the previous environment promoted.
 *
 * Delivery is at-least-once (the accept is idempotent): EventBridge retries the invoke, then parks
 * the event in an encrypted dead-letter queue; Lambda retries a failed async invocation, then sends it
 * to the same queue. The queue's depth alarms the pipeline-alarms topic (lib/pipeline-alarms.ts).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE } from '../core/environments.js';
import { allowServiceEnvelope } from './kms.js';
import { acknowledge, acknowledgeGuard } from './nag.js';
import { eventPathDeadLetterQueue, QueueDestination } from './queue-destination.js';

export interface HandoverBusProps {
  /** The bus's name (core/environments.ts handoverBusName: `<prefix>-handover`). */
  readonly eventBusName: string;
  /** The model this pipeline releases: the only one it accepts. */
  readonly model: string;
  /** This environment's name: the only `to` it accepts. */
  readonly environment: string;
  /**
   * The environment whose promotions it accepts: its name and its account (a 12-digit id, or
   * `Aws.ACCOUNT_ID` in a chain in one account).
   */
  readonly previous: { readonly name: string; readonly account: string };
  /** Decides on a hand-over, copies the artifact and starts the release (core/app/accept-handover.ts). */
  readonly acceptFunction: lambda.IFunction;
  /** Encrypts the dead-letter queue. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the dead-letter queue when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE - kept when the stack is deleted (it may hold
   * undelivered hand-overs), removed again when the stack's first creation fails
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The bus-policy statement's id (a contract with the tests and the operators reading the policy). */
export const HANDOVER_POLICY_SID = 'PreviousEnvironmentHandsOver';

export class HandoverBus extends Construct {
  public readonly bus: events.EventBus;
  public readonly rule: events.Rule;
  /** Hand-overs the accept function could not process after its retries. */
  public readonly deadLetterQueue: sqs.Queue;

  public constructor(scope: Construct, id: string, props: HandoverBusProps) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: `Hand-overs of ${props.model} from ${props.previous.name} to ${props.environment}`,
    });
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: HANDOVER_POLICY_SID,
        principals: [new iam.AccountPrincipal(props.previous.account)],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'events:source': HANDOVER_SOURCE, 'events:detail-type': HANDOVER_DETAIL_TYPE } },
      }),
    );
    this.deadLetterQueue = this.createDeadLetterQueue(props);
    this.rule = new events.Rule(this, 'HandedOver', {
      eventBus: this.bus,
      description: `Accepts ${props.model} versions ${props.previous.name} promoted and handed over to ${props.environment}`,
      eventPattern: {
        source: [HANDOVER_SOURCE],
        detailType: [HANDOVER_DETAIL_TYPE],
        account: [props.previous.account],
        detail: { from: { environment: [props.previous.name] }, to: [props.environment], model: [props.model] },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.acceptFunction, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    );
    props.acceptFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new QueueDestination(this.deadLetterQueue),
    });
  }

  private createDeadLetterQueue(props: HandoverBusProps): sqs.Queue {
    return eventPathDeadLetterQueue(this, 'HandoverDeadLetterQueue', {
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      path: 'hand-over',
    });
  }
}
