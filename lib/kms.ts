/**
 * The policies around the pipeline's one customer-managed key.
 *
 * Key policy, added once per key: the AWS services that use the key on their own behalf (not through
 * a role of ours) — CloudWatch Logs encrypting log groups, CloudWatch alarms publishing to encrypted
 * topics, EventBridge writing to encrypted dead-letter queues — each only for this account's
 * resources (aws:SourceAccount, aws:SourceArn: no confused deputy; Logs by its encryption context),
 * and a deny on kms:CreateGrant unless the grant is for an AWS resource (DynamoDB's grants for the
 * ledger table) or the caller is an AWS service (Control Tower CT.KMS.PR.3).
 *
 * Roles: explicit actions (no wildcards), and only through the service the role needs the key for
 * (kms:ViaService): DynamoDB for the table, S3 for reading artifacts, SNS or SQS for publishing.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

const added = new WeakMap<kms.IKey, Set<string>>();

function once(key: kms.IKey, what: string, add: () => void): void {
  const done = added.get(key) ?? new Set<string>();
  if (done.has(what)) return;
  done.add(what);
  added.set(key, done);
  add();
}

/**
 * Nobody may create a grant on the key unless it is for an AWS resource (kms:GrantIsForAWSResource:
 * DynamoDB's grants for a CMK-encrypted table) or the caller is an AWS service.
 */
export function denyGrantsNotForAwsResources(key: kms.IKey): void {
  once(key, 'grants', () => {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsNotForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
  });
}

/** CloudWatch Logs may encrypt and decrypt this account's log groups in this region with the key. */
export function allowLogsService(key: kms.IKey): void {
  denyGrantsNotForAwsResources(key);
  once(key, 'logs', () => {
    const stack = Stack.of(key);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        // The statement of the CloudWatch Logs guide ("Encrypt log data using AWS KMS"), verbatim.
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
  });
}

type EnvelopeService = 'cloudwatch.amazonaws.com' | 'events.amazonaws.com' | 'sns.amazonaws.com';

const SERVICE_SIDS: Record<EnvelopeService, string> = {
  'cloudwatch.amazonaws.com': 'AllowCloudWatchAlarms',
  'events.amazonaws.com': 'AllowEventBridge',
  'sns.amazonaws.com': 'AllowSns',
};

/** The resources on whose behalf a service may use the key (aws:SourceArn), where it passes one. */
function sourceArnOf(stack: Stack, service: EnvelopeService): string | undefined {
  switch (service) {
    case 'cloudwatch.amazonaws.com':
      return stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    case 'events.amazonaws.com':
      return stack.formatArn({ service: 'events', resource: 'rule', resourceName: '*' });
    case 'sns.amazonaws.com':
      return stack.formatArn({ service: 'sns', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME });
  }
}

/**
 * An AWS service principal may use the key for envelope encryption on behalf of this account's
 * resources only: its alarms (CloudWatch), its rules (EventBridge), its topics (SNS).
 */
export function allowServiceEnvelope(key: kms.IKey, service: EnvelopeService): void {
  denyGrantsNotForAwsResources(key);
  once(key, service, () => {
    const stack = Stack.of(key);
    const sourceArn = sourceArnOf(stack, service);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: SERVICE_SIDS[service],
        principals: [new iam.ServicePrincipal(service)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ...(sourceArn === undefined ? {} : { ArnLike: { 'aws:SourceArn': sourceArn } }),
        },
      }),
    );
  });
}

/**
 * How a role uses data under the key: `read` (S3 GetObject), `write` (S3 PutObject, multipart
 * included: S3 generates a data key per object and decrypts it for each part), `produce` (SNS Publish
 * / SQS SendMessage to an encrypted topic or queue: a data key is generated, and decrypted for the
 * envelope), `table` (DynamoDB reads and writes of a CMK-encrypted table).
 */
export type KeyUse = 'read' | 'write' | 'produce' | 'table';

const KEY_ACTIONS: Record<KeyUse, string[]> = {
  read: ['kms:Decrypt'],
  write: ['kms:Decrypt', 'kms:GenerateDataKey'],
  produce: ['kms:Decrypt', 'kms:GenerateDataKey'],
  table: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
};

/** The services a role may use the key through, per use (kms:ViaService). */
const KEY_SERVICES: Record<KeyUse, readonly string[]> = {
  read: ['s3'],
  write: ['s3'],
  produce: ['sns', 'sqs'],
  table: ['dynamodb'],
};

/**
 * Explicit KMS actions (no `kms:GenerateDataKey*`-style wildcards) on the one key, only through the
 * service of that use in this region (kms:ViaService): a role granted the key for the ledger can use
 * it only through DynamoDB, not through S3 nor by calling KMS itself.
 */
export function grantKeyUse(key: kms.IKey, grantee: iam.IGrantable, use: KeyUse): void {
  const region = Stack.of(key).region;
  const via = KEY_SERVICES[use].map((s) => `${s}.${region}.amazonaws.com`);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: KEY_ACTIONS[use],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': via.length === 1 ? via[0]! : via } },
    }),
  );
}

/**
 * Another account (the next environment of the chain) may decrypt with the key, only through S3 in
 * this region (kms:ViaService) and only as itself (kms:CallerAccount): it reads the artifacts this
 * pipeline promoted, never calls KMS on the key directly. Its own IAM policies decide which of its
 * roles may (accept-handover's).
 */
export function allowAccountDecryptViaS3(key: kms.IKey, account: string, sid: string): void {
  once(key, `s3-decrypt:${sid}`, () => {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.AccountPrincipal(account)],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(key).region}.amazonaws.com`, 'kms:CallerAccount': account } },
      }),
    );
  });
}
