/**
 * The artifact bucket and the event that starts a release: an uploaded `models/<model>/<version>/release.json`
 * ("Object Created" through EventBridge) invokes the intake function asynchronously, which starts the
 * promotion execution under a deterministic name (a redelivered event starts nothing new).
 *
 * Delivery is at-least-once end to end: EventBridge retries the invoke (then parks the event in the
 * dead-letter queue), Lambda retries a failed async invocation (then sends it to the same queue).
 */
import { ANALYSIS_PREFIX } from '../core/post-rollback.js';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowAccountDecryptViaS3, allowServiceEnvelope, grantKeyUse } from './kms.js';
import { acknowledge, acknowledgeGuard } from './nag.js';
import { eventPathDeadLetterQueue, QueueDestination } from './queue-destination.js';
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
   * How long a noncurrent version of an artifact-bucket object (overwritten or deleted) is kept.
   * Current versions never expire.
   *
   * @default Duration.days(365)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * What happens to the buckets and the dead-letter queue when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE - kept when the stack is deleted, removed
   * again when the stack's first creation fails
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The props' defaults, checked. */
function validateProps(props: ArtifactTriggerProps) {
  const modelsPrefix = props.modelsPrefix ?? 'models/';
  const manifestFileName = props.manifestFileName ?? 'release.json';
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*\/$/.test(modelsPrefix)) {
    throw new Error(`ArtifactTrigger: modelsPrefix "${modelsPrefix}" must be key segments ending with "/" (e.g. "models/")`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(manifestFileName)) {
    throw new Error(`ArtifactTrigger: manifestFileName "${manifestFileName}" must be a plain file name`);
  }
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
  const noncurrentVersionExpiration = props.noncurrentVersionExpiration ?? Duration.days(365);
  const noncurrentDays = noncurrentVersionExpiration.toDays({ integral: false });
  if (!(Number.isInteger(noncurrentDays) && noncurrentDays >= 1)) {
    throw new Error(`ArtifactTrigger: noncurrentVersionExpiration must be a whole number of days, at least 1, got ${noncurrentVersionExpiration.toHumanString()}`);
  }
  return { modelsPrefix, manifestFileName, removalPolicy, noncurrentVersionExpiration };
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
    const { modelsPrefix, manifestFileName, removalPolicy, noncurrentVersionExpiration } = validateProps(props);
    this.modelsPrefix = modelsPrefix;
    this.encryptionKey =
      props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'BuilderBrain artifacts', removalPolicy });
    this.accessLogsBucket = this.createAccessLogsBucket(props, removalPolicy);
    this.bucket = this.createBucket(noncurrentVersionExpiration, removalPolicy);
    this.deadLetterQueue = this.createDeadLetterQueue(removalPolicy);
    this.rule = this.createRule(props.intakeFunction, manifestFileName);
  }

  /** S3 server access logging delivers only to SSE-S3 buckets, so this one cannot use the customer key. */
  private createAccessLogsBucket(props: ArtifactTriggerProps, removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
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
    acknowledgeGuard(
      bucket,
      's3_bucket_default_encryption_kms_check',
      'S3 server access logging delivers only to buckets whose default encryption is SSE-S3 (Amazon S3 managed keys): with a KMS default the logs would not be delivered.',
    );
    acknowledgeGuard(
      bucket,
      's3_bucket_logging_enabled_check',
      'This is the access-log bucket of the artifact bucket; logging its own accesses would need yet another log bucket with the same finding.',
    );
    acknowledgeGuard(
      bucket,
      's3_event_notifications_enabled_check',
      'Nothing reacts to access-log deliveries: the logs are read on demand during an investigation, so notifications would have no consumer.',
    );
    return bucket;
  }

  /** The artifact bucket: encrypted with the key, versioned (noncurrent versions expire), access-logged, EventBridge on. */
  private createBucket(noncurrentVersionExpiration: Duration, removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // Versioning keeps what an overwrite or delete replaced, for a while, not forever.
      lifecycleRules: [
        {
          id: 'NoncurrentVersionsAndIncompleteUploads',
          noncurrentVersionExpiration,
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'artifact-bucket/',
      removalPolicy,
    });
    // EventBridge notifications through the CloudFormation property rather than `eventBridgeEnabled`,
    // which adds a custom-resource Lambda (and its managed-policy role) just to set this flag.
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    for (const b of [bucket, this.accessLogsBucket]) {
      acknowledgeGuard(
        b,
        's3_bucket_object_lock_enabled_check',
        'Object Lock cannot be disabled once enabled and protects only objects given a retention, which would block the lifecycle rules that keep the bucket bounded. Overwrites and deletes keep the previous version (versioning) and every artifact is checked against the manifest SHA-256 before it is deployed.',
      );
    }
    return bucket;
  }

  /** The intake path's dead-letter queue (EventBridge target and Lambda async destination). */
  private createDeadLetterQueue(removalPolicy: RemovalPolicy): sqs.Queue {
    return eventPathDeadLetterQueue(this, 'IntakeDeadLetterQueue', { encryptionKey: this.encryptionKey, removalPolicy, path: 'intake' });
  }

  /** The rule matching an uploaded manifest, targeting the intake function; failures park in the dead-letter queue. */
  private createRule(intakeFunction: lambda.IFunction, manifestFileName: string): events.Rule {
    const rule = new events.Rule(this, 'ManifestUploaded', {
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
    rule.addTarget(
      new targets.LambdaFunction(intakeFunction, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(24),
      }),
    );
    intakeFunction.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new QueueDestination(this.deadLetterQueue),
    });
    return rule;
  }

  /** The ARN pattern of uploaded objects a manifest reader may get: `<bucket>/models/*`. */
  public get modelsObjectsArn(): string {
    return this.bucket.arnForObjects(`${this.modelsPrefix}*`);
  }

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

  /** The ARN pattern of one model's objects: `<bucket>/models/<model>/*`. */
  public modelObjectsArn(model: string): string {
    return this.bucket.arnForObjects(`${this.modelsPrefix}${model}/*`);
  }

  /**
   * Lets another account (the next environment of the chain) read this pipeline's artifacts of
   * `model`, which it copies when it accepts a hand-over: a bucket-policy statement (s3:GetObject on
   * `models/<model>/*`) and a key-policy statement (kms:Decrypt through S3 in this region only, by
   * that account only). The other account's IAM policies decide which of its roles may.
   */
  public grantReadToAccount(account: string, model: string): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NextEnvironmentReadsPromotedArtifacts',
        principals: [new iam.AccountPrincipal(account)],
        actions: ['s3:GetObject'],
        resources: [this.modelObjectsArn(model)],
      }),
    );
    allowAccountDecryptViaS3(this.encryptionKey, account, 'NextEnvironmentDecryptsArtifacts');
  }

  /**
   * Writes of `model`'s objects (the artifact copied from the previous environment, then its
   * release.json, whose upload starts the release): s3:PutObject (multipart included) and
   * s3:AbortMultipartUpload on `models/<model>/*`, and the key's data keys through S3 only.
   */
  public grantWriteModel(grantee: iam.IGrantable, model: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: [this.modelObjectsArn(model)] }),
    );
    grantKeyUse(this.encryptionKey, grantee, 'write');
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    acknowledge(
      principal,
      `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.bucket)}.Arn>/${this.modelsPrefix}${model}/*]`,
      `The copied artifact and its release.json go to models/${model}/<version>/ under names known only at hand-over: writes cover that model's prefix of this one bucket, nothing else.`,
    );
  }

  /**
   * Writes of the pipeline's own reports (the post-rollback analysis, `analysis/<releaseId>.json`):
   * s3:PutObject on `analysis/*` of this one bucket — outside the uploads' prefix, so a report never
   * starts a release — and the key's data keys through S3 only. No read, no delete.
   */
  public grantWriteAnalysis(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${ANALYSIS_PREFIX}*`)] }));
    grantKeyUse(this.encryptionKey, grantee, 'write');
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    acknowledge(
      principal,
      `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.bucket)}.Arn>/${ANALYSIS_PREFIX}*]`,
      `Post-rollback reports are written to ${ANALYSIS_PREFIX}<releaseId>.json, named by release ids known only at run time: PutObject covers that prefix of this one bucket, nothing else.`,
    );
  }

  /** Read access to uploaded manifests and artifacts (any version), nothing else in the bucket. */
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
