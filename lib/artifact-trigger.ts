/**
 * The artifact bucket and the event that starts a release: an uploaded `models/<model>/<version>/release.json`
 * ("Object Created" through EventBridge) invokes the intake function asynchronously, which starts the
 * promotion execution under a deterministic name (a redelivered event starts nothing new).
 *
 * Delivery is at-least-once end to end: EventBridge retries the invoke (then parks the event in the
 * dead-letter queue), Lambda retries a failed async invocation (then sends it to the same queue).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowServiceEnvelope, grantKeyUse } from './kms.js';
import { acknowledge } from './nag.js';
import { QueueDestination } from './queue-destination.js';
import { logicalIdOf } from './sfn-tasks.js';

export interface ArtifactTriggerProps {
  /** Starts the promotion execution of an uploaded manifest. */
  readonly intakeFunction: lambda.IFunction;
  /**
   * Customer-managed key encrypting the artifact bucket and the dead-letter queue.
   *
   * @default - a new key with rotation enabled
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Key prefix under which model artifacts and manifests are uploaded.
   *
   * @default 'models/'
   */
  readonly modelsPrefix?: string;
  /**
   * Name of the manifest file that starts a release.
   *
   * @default 'release.json'
   */
  readonly manifestFileName?: string;
  /**
   * How long server access logs are kept.
   *
   * @default Duration.days(90)
   */
  readonly accessLogsExpiration?: Duration;
  /**
   * What happens to the buckets when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class ArtifactTrigger extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  /** Events (and async invocations) the intake could not process after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly rule: events.Rule;
  public readonly encryptionKey: kms.IKey;
  public readonly modelsPrefix: string;

  public constructor(scope: Construct, id: string, props: ArtifactTriggerProps) {
    super(scope, id);
    this.modelsPrefix = props.modelsPrefix ?? 'models/';
    const manifestFileName = props.manifestFileName ?? 'release.json';
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\/$/.test(this.modelsPrefix)) {
      throw new Error(`ArtifactTrigger: modelsPrefix "${this.modelsPrefix}" must be key segments ending with "/" (e.g. "models/")`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(manifestFileName)) {
      throw new Error(`ArtifactTrigger: manifestFileName "${manifestFileName}" must be a plain file name`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'BuilderBrain artifacts' });

    // S3 server access logging delivers only to SSE-S3 buckets, so this one cannot use the customer key.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [
        {
          expiration: props.accessLogsExpiration ?? Duration.days(90),
          noncurrentVersionExpiration: Duration.days(7),
        },
      ],
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'artifact-bucket/',
      removalPolicy,
    });
    // EventBridge notifications through the CloudFormation property rather than `eventBridgeEnabled`,
    // which adds a custom-resource Lambda (and its managed-policy role) just to set this flag.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    this.deadLetterQueue = new sqs.Queue(this, 'IntakeDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the intake path; its depth is alarmed on instead.',
    );
    // EventBridge encrypts what it parks in the queue with the queue's key.
    allowServiceEnvelope(this.encryptionKey, 'events.amazonaws.com');

    this.rule = new events.Rule(this, 'ManifestUploaded', {
      description: `Starts a release when ${this.modelsPrefix}<model>/<version>/${manifestFileName} is uploaded`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          // Prefix and suffix on one field: EventBridge's wildcard ("*" also spans "/").
          object: { key: events.Match.wildcard(`${this.modelsPrefix}*/${manifestFileName}`) },
        },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.intakeFunction, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    );
    props.intakeFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new QueueDestination(this.deadLetterQueue),
    });
  }

  /** The ARN pattern of uploaded objects a manifest reader may get: `<bucket>/models/*`. */
  public get modelsObjectsArn(): string {
    return this.bucket.arnForObjects(`${this.modelsPrefix}*`);
  }

  /** Read access to uploaded manifests (any version), nothing else in the bucket. */
  /**
   * Lets the team's SageMaker execution role (outside this stack) read the uploaded artifacts it
   * serves: a bucket-policy statement on the models prefix and a key-policy statement for decrypting
   * through S3 only. The role itself is not modified.
   */
  public grantReadToRole(roleArn: string): void {
    const role = new iam.ArnPrincipal(roleArn);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'ServingRoleReadsArtifacts', principals: [role], actions: ['s3:GetObject'], resources: [this.modelsObjectsArn] }),
    );
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ServingRoleDecryptsArtifacts',
        principals: [role],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  public grantReadManifests(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [this.modelsObjectsArn] }),
    );
    grantKeyUse(this.encryptionKey, grantee, 'read');
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    acknowledge(
      principal,
      `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.bucket)}.Arn>/${this.modelsPrefix}*]`,
      'Manifests and model artifacts arrive under models/<model>/<version>/ with names known only at upload: read access covers that prefix of this one bucket, nothing else.',
    );
  }
}
