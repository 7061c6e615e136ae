/**
 * The pipeline's SNS topics, each encrypted with the customer key and TLS-only:
 *
 * - `incident`: rollback and rejection incidents, with the `severity` message attribute (P0–P3) that
 *   subscription filter policies select on;
 * - `approvals`: "phase N waits for your approval";
 * - `pipelineAlarms`: CloudWatch alarms on the pipeline's own health (DLQ depth, failed executions,
 *   Lambda errors). Alarm actions cannot set message attributes, so these would never pass a
 *   severity filter on the incident topic: they get their own, unfiltered topic.
 *
 * Only the pipeline's own roles may publish to `incident` and `approvals`; only CloudWatch alarms of
 * this account to `pipelineAlarms`. Everyone else is denied by the topic policy, whatever their IAM
 * policies say.
 */
import { ArnFormat, Lazy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { SEVERITIES, type Severity } from '../core/severity.js';
import type { PublishableTopic } from '../core/steps.js';
import { allowServiceEnvelope, grantKeyUse } from './kms.js';

/** An email address or https:// endpoint. */
export interface SubscriptionSpec {
  readonly protocol: 'email' | 'https';
  readonly endpoint: string;
}

/** An incident subscription: only the listed severities are delivered. */
export interface IncidentSubscriptionSpec extends SubscriptionSpec {
  readonly severities: readonly Severity[];
}

export interface IncidentTopicsProps {
  /** Prefix of the topics' names. */
  readonly namePrefix: string;
  /**
   * Customer-managed key encrypting the topics.
   *
   * @default - a new key with rotation enabled
   */
  readonly encryptionKey?: kms.IKey;
  /** @default - none */
  readonly incidentSubscriptions?: readonly IncidentSubscriptionSpec[];
  /** @default - none */
  readonly approvalSubscriptions?: readonly SubscriptionSpec[];
  /** @default - none */
  readonly pipelineAlarmSubscriptions?: readonly SubscriptionSpec[];
}

/** The message attribute carrying the severity (a contract with the SNS notifier adapter). */
export const SEVERITY_ATTRIBUTE = 'severity';

/** The topics a step may publish to (core/steps.ts). */
export type { PublishableTopic };

export class IncidentTopics extends Construct {
  public readonly incidentTopic: sns.Topic;
  public readonly approvalsTopic: sns.Topic;
  public readonly pipelineAlarmsTopic: sns.Topic;
  public readonly encryptionKey: kms.IKey;
  private readonly publishers: Record<PublishableTopic, iam.IRole[]> = { incident: [], approvals: [] };

  public constructor(scope: Construct, id: string, props: IncidentTopicsProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(props.namePrefix)) {
      throw new Error(`IncidentTopics: namePrefix "${props.namePrefix}" must be 1-200 chars of A-Z a-z 0-9 _ -`);
    }
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'BuilderBrain topics' });

    const topic = (cid: string, suffix: string, displayName: string) =>
      new sns.Topic(this, cid, {
        topicName: `${props.namePrefix}-${suffix}`,
        displayName,
        masterKey: this.encryptionKey,
        enforceSSL: true,
      });
    this.incidentTopic = topic('IncidentTopic', 'incidents', 'BuilderBrain release incidents');
    this.approvalsTopic = topic('ApprovalsTopic', 'approvals', 'BuilderBrain release approvals');
    this.pipelineAlarmsTopic = topic('PipelineAlarmsTopic', 'pipeline-alarms', 'BuilderBrain pipeline alarms');

    this.restrictToRoles(this.incidentTopic, 'incident');
    this.restrictToRoles(this.approvalsTopic, 'approvals');
    this.restrictToCloudWatchAlarms(this.pipelineAlarmsTopic);

    for (const s of props.incidentSubscriptions ?? []) {
      const unknown = s.severities.filter((v) => !(SEVERITIES as readonly string[]).includes(v));
      if (s.severities.length === 0 || unknown.length > 0) {
        throw new Error(`IncidentTopics: subscription ${s.endpoint} needs severities among ${SEVERITIES.join(', ')}`);
      }
      const filterPolicy = { [SEVERITY_ATTRIBUTE]: sns.SubscriptionFilter.stringFilter({ allowlist: [...s.severities] }) };
      this.incidentTopic.addSubscription(subscription(s, filterPolicy));
    }
    for (const s of props.approvalSubscriptions ?? []) this.approvalsTopic.addSubscription(subscription(s));
    for (const s of props.pipelineAlarmSubscriptions ?? []) this.pipelineAlarmsTopic.addSubscription(subscription(s));
  }

  /**
   * Lets `role` publish to one topic: sns:Publish on that topic, the key for the envelope, and the
   * role's ARN on the topic policy's allow-list.
   */
  public grantPublish(which: PublishableTopic, role: iam.IRole): void {
    const topic = which === 'incident' ? this.incidentTopic : this.approvalsTopic;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [topic.topicArn] }));
    grantKeyUse(this.encryptionKey, role, 'produce');
    this.publishers[which].push(role);
  }

  /** Deny sns:Publish to every principal that is not one of the registered roles. */
  private restrictToRoles(topic: sns.Topic, which: PublishableTopic): void {
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishOnlyFromPipelineRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.list({
              produce: () => {
                const arns = this.publishers[which].map((r) => r.roleArn);
                // A topic nobody may publish to is a wiring bug, not a policy.
                if (arns.length === 0) throw new Error(`IncidentTopics: no role was granted publish on the ${which} topic`);
                return arns;
              },
            }),
          },
        },
      }),
    );
  }

  /** Only CloudWatch alarms of this account publish to the pipeline-alarms topic; IAM principals are denied. */
  private restrictToCloudWatchAlarms(topic: sns.Topic): void {
    const stack = Stack.of(this);
    allowServiceEnvelope(this.encryptionKey, 'cloudwatch.amazonaws.com');
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyPublishFromIamPrincipals',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { Bool: { 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
  }
}

function subscription(s: SubscriptionSpec, filterPolicy?: Record<string, sns.SubscriptionFilter>): sns.ITopicSubscription {
  return s.protocol === 'email'
    ? new subs.EmailSubscription(s.endpoint, { filterPolicy })
    : new subs.UrlSubscription(s.endpoint, { protocol: sns.SubscriptionProtocol.HTTPS, filterPolicy });
}
