/**
 * A Lambda async-invocation destination on an SQS queue that grants exactly `sqs:SendMessage` on the
 * queue and the key's envelope actions. (aws-lambda-destinations' SqsDestination grants through
 * `grantSendMessages`, which adds `kms:ReEncrypt*` and `kms:GenerateDataKey*` wildcards.)
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { grantKeyUse } from './kms.js';

export class QueueDestination implements lambda.IDestination {
  public constructor(private readonly queue: sqs.IQueue) {}

  public bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    if (this.queue.encryptionMasterKey !== undefined) grantKeyUse(this.queue.encryptionMasterKey, fn, 'produce');
    return { destination: this.queue.queueArn };
  }
}
