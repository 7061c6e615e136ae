/**
 * A Lambda async-invocation destination on an SQS queue that grants exactly `sqs:SendMessage` on the
 * queue and the key's envelope actions. (aws-lambda-destinations' SqsDestination grants through
 * `grantSendMessages`, which adds `kms:ReEncrypt*` and `kms:GenerateDataKey*` wildcards.)
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { allowServiceEnvelope, grantKeyUse } from './kms.js';
import { acknowledge, acknowledgeGuard } from './nag.js';

export class QueueDestination implements lambda.IDestination {
  public constructor(private readonly queue: sqs.IQueue) {}

  public bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    if (this.queue.encryptionMasterKey !== undefined) grantKeyUse(this.queue.encryptionMasterKey, fn, 'produce');
    return { destination: this.queue.queueArn };
  }
}

/**
 * The dead-letter queue of an EventBridge rule → Lambda path (the rule's target DLQ and the
 * function's async-failure destination): KMS with the pipeline key, TLS only, 14 days. It is itself
 * a dead-letter queue, so the controls asking every queue for one are acknowledged; its depth is
 * alarmed by the pipeline alarms. `path` names the path in those acknowledgements.
 */
export function eventPathDeadLetterQueue(scope: Construct, id: string, props: { encryptionKey: kms.IKey; removalPolicy: RemovalPolicy; path: string }): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: props.encryptionKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
  });
  acknowledge(queue, 'AwsSolutions-SQS3', `This queue is itself the dead-letter queue of the ${props.path} path; its depth is alarmed on instead.`);
  acknowledgeGuard(
    queue,
    'sqs_dlq_check',
    `This queue is itself the dead-letter queue of the ${props.path} path (EventBridge target and Lambda async destination, not an SQS source queue); its depth pages the pipeline-alarms topic.`,
  );
  // EventBridge encrypts what it parks in the queue with the queue's key.
  allowServiceEnvelope(props.encryptionKey, 'events.amazonaws.com');
  return queue;
}
