/**
 * The one customer-managed key: AWS services may use it only for this account's resources (confused
 * deputy: aws:SourceAccount, aws:SourceArn), grants only for AWS resources (kms:GrantIsForAWSResource,
 * CT.KMS.PR.3), and each role only through the service it needs the key for (kms:ViaService).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { list, resourcesOf, SAGEMAKER_SERVING, synth, type Statement, type Synthesized } from './fixture.js';

let s: Synthesized;
let keyStatements: Statement[];
beforeAll(() => {
  s = synth({ deployment: { sagemaker: SAGEMAKER_SERVING } });
  const keys = resourcesOf(s.json, 'AWS::KMS::Key');
  expect(keys).toHaveLength(1);
  keyStatements = keys[0]![1].Properties!['KeyPolicy'].Statement as Statement[];
});

const account = { Ref: 'AWS::AccountId' };
const arn = (service: string, resource: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]],
});
const via = (service: string) => ({ 'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']] });
const servicePrincipal = (st: Statement) => (st.Principal as { Service?: unknown } | undefined)?.Service;

describe('key policy: AWS service principals', () => {
  it('CloudWatch alarms may use the key only for this account\'s alarms', () => {
    const st = keyStatements.find((x) => servicePrincipal(x) === 'cloudwatch.amazonaws.com');
    expect(st).toBeDefined();
    expect(st!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': arn('cloudwatch', 'alarm:*') },
    });
  });

  it('EventBridge may use the key only for this account\'s rules', () => {
    const st = keyStatements.find((x) => servicePrincipal(x) === 'events.amazonaws.com');
    expect(st).toBeDefined();
    expect(st!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': arn('events', 'rule/*') },
    });
  });

  it('every statement for a service principal is conditioned on this account (or, for Logs, its log groups)', () => {
    const services = keyStatements.filter((x) => servicePrincipal(x) !== undefined);
    expect(services.length).toBeGreaterThanOrEqual(3);
    for (const st of services) {
      const c = JSON.stringify(st.Condition ?? {});
      expect(c.includes('aws:SourceAccount') || c.includes('kms:EncryptionContext:aws:logs:arn'), JSON.stringify(st)).toBe(true);
    }
  });
});

describe('key policy: grants', () => {
  it('denies kms:CreateGrant to everyone unless the grant is for an AWS resource or the caller is an AWS service (CT.KMS.PR.3)', () => {
    expect(keyStatements).toContainEqual({
      Sid: 'DenyGrantsNotForAwsResources',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  it('no statement of any policy allows kms:CreateGrant without kms:GrantIsForAWSResource', () => {
    const policies = [
      ...keyStatements,
      ...resourcesOf(s.json, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties!['PolicyDocument'].Statement as Statement[]),
    ];
    for (const st of policies.filter((x) => x.Effect === 'Allow' && list(x.Action).includes('kms:CreateGrant'))) {
      expect(JSON.stringify(st.Condition ?? {}), JSON.stringify(st)).toContain('"kms:GrantIsForAWSResource":"true"');
    }
  });
});

describe('roles use the key only through the service they need it for (kms:ViaService)', () => {
  const kmsStatements = () =>
    resourcesOf(s.json, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties!['PolicyDocument'].Statement as Statement[]).filter((st) => list(st.Action).some((a) => a.startsWith('kms:'))).map((st) => ({ id, st })),
    );

  it('every identity-policy statement on the key carries kms:ViaService', () => {
    const found = kmsStatements();
    expect(found.length).toBeGreaterThan(10);
    for (const { id, st } of found) {
      expect(list(st.Action).every((a) => a.startsWith('kms:')), `${id}: key actions in a statement of their own`).toBe(true);
      expect(st.Condition?.['StringEquals'], `${id} ${JSON.stringify(st)}`).toHaveProperty(['kms:ViaService']);
    }
  });

  it('table use goes through DynamoDB, reads through S3, publishing through SNS or SQS', () => {
    for (const { id, st } of kmsStatements()) {
      const actions = list(st.Action).sort();
      const services = list((st.Condition!['StringEquals'] as Record<string, unknown>)['kms:ViaService']);
      if (actions.includes('kms:Encrypt')) expect(services, id).toEqual([via('dynamodb')]);
      // Writes to the artifact bucket (the recovery step's post-rollback analysis) go through S3 only.
      else if (actions.includes('kms:GenerateDataKey') && services.length === 1) expect({ id, actions, services }).toEqual({ id, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], services: [via('s3')] });
      else if (actions.includes('kms:GenerateDataKey')) expect(services, id).toEqual([via('sns'), via('sqs')]);
      else expect({ id, actions, services }).toEqual({ id, actions: ['kms:Decrypt'], services: [via('s3')] });
    }
  });
});
