/**
 * Key policy statements for the AWS services that use the pipeline's customer-managed key on their
 * own behalf (not through a role of ours): CloudWatch Logs encrypting log groups, CloudWatch alarms
 * publishing to encrypted topics, EventBridge writing to encrypted dead-letter queues. Added once per
 * key, scoped to this account (and, for Logs, to this region's log groups).
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

/** CloudWatch Logs may encrypt and decrypt this account's log groups in this region with the key. */
export function allowLogsService(key: kms.IKey): void {
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

const SERVICE_SIDS = {
  'cloudwatch.amazonaws.com': 'AllowCloudWatchAlarms',
  'events.amazonaws.com': 'AllowEventBridge',
  'sns.amazonaws.com': 'AllowSns',
} as const;

/** An AWS service principal may use the key for envelope encryption on this account's behalf. */
export function allowServiceEnvelope(key: kms.IKey, service: 'cloudwatch.amazonaws.com' | 'events.amazonaws.com' | 'sns.amazonaws.com'): void {
  once(key, service, () => {
    const stack = Stack.of(key);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: SERVICE_SIDS[service],
        principals: [new iam.ServicePrincipal(service)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        // EventBridge passes aws:SourceAccount to KMS; CloudWatch alarms' documented key statement has
        // no condition (their topic's policy admits only this account's alarms instead).
        conditions: service === 'cloudwatch.amazonaws.com' ? undefined : { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  });
}

/**
 * How a role uses data under the key: `read` (S3 GetObject), `produce` (SNS Publish / SQS SendMessage
 * to an encrypted topic or queue: a data key is generated, and decrypted for the envelope), `table`
 * (DynamoDB reads and writes of a CMK-encrypted table).
 */
export type KeyUse = 'read' | 'produce' | 'table';

const KEY_ACTIONS: Record<KeyUse, string[]> = {
  read: ['kms:Decrypt'],
  produce: ['kms:Decrypt', 'kms:GenerateDataKey'],
  table: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
};

/** Explicit KMS actions (no `kms:GenerateDataKey*`-style wildcards) on the one key. */
export function grantKeyUse(key: kms.IKey, grantee: iam.IGrantable, use: KeyUse): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: KEY_ACTIONS[use], resources: [key.keyArn] }));
}
