/**
 * What a first `cdk deploy` needs in a real account, and a second one after a failed first deploy
 * or a `cdk destroy`: no concurrency reservation by default (an account at the default quota of 10
 * refuses any), no retained resource with a fixed physical name (the retained one would collide
 * with the new one: "already exists"), retained data that a failed first creation removes again
 * (RetainExceptOnCreate), and an artifact bucket that does not keep noncurrent versions forever.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../core/errors.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { HANDLER_NAMES } from '../../lib/pipeline-functions.js';
import { functionId, resourcesOf, synth, type Synthesized } from './fixture.js';

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

describe('reserved concurrency of the rollback function', () => {
  it('is not reserved by default: the stack deploys in an account at the default concurrency quota', () => {
    expect(s.config.functions.rollbackReservedConcurrency ?? null).toBeNull();
    for (const [id, fn] of resourcesOf(s.json, 'AWS::Lambda::Function')) {
      expect(fn.Properties!['ReservedConcurrentExecutions'], id).toBeUndefined();
    }
  });

  it('is reserved when configured (opt-in), for the rollback function only; null means none', () => {
    const x = synth({ functions: { rollbackReservedConcurrency: 5 } });
    for (const name of HANDLER_NAMES) {
      expect(x.json.Resources[functionId(x.json, name)]!.Properties!['ReservedConcurrentExecutions'], name).toBe(name === 'rollback' ? 5 : undefined);
    }
    expect(parsePipelineConfig({ functions: { rollbackReservedConcurrency: null } }).functions.rollbackReservedConcurrency ?? null).toBeNull();
  });

  it('README documents it as opt-in and says when to set it', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `functions.rollbackReservedConcurrency`'));
    expect(row).toBeDefined();
    const [, , defaultCell, meaning] = row!.split('|').map((c) => c.trim());
    expect(defaultCell).not.toMatch(/\d/);
    expect(meaning).toMatch(/quota/);
  });
});

/** Properties that hold a resource's own physical name, by type. */
const NAME_PROPERTIES: Record<string, string[]> = {
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::DynamoDB::Table': ['TableName'],
  'AWS::SQS::Queue': ['QueueName'],
  'AWS::SNS::Topic': ['TopicName'],
  'AWS::KMS::Alias': ['AliasName'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::StepFunctions::StateMachine': ['StateMachineName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::Events::Rule': ['Name'],
};

/**
 * A name is fixed when the same stack deployed again gets the same one: literals, and pseudo
 * parameters other than AWS::StackId (a stack created again gets a new id).
 */
function isFixed(v: unknown): boolean {
  if (typeof v === 'string' || typeof v === 'number') return true;
  if (Array.isArray(v)) return v.every(isFixed);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if ('Ref' in o) return ['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::URLSuffix', 'AWS::StackName'].includes(String(o['Ref']));
    if ('Fn::Join' in o) return isFixed((o['Fn::Join'] as unknown[])[1]);
    if ('Fn::Select' in o) return isFixed((o['Fn::Select'] as unknown[])[1]);
    if ('Fn::Split' in o) return isFixed((o['Fn::Split'] as unknown[])[1]);
    if ('Fn::Sub' in o) return false;
    return false;
  }
  return true;
}

const RETAINED = ['Retain', 'RetainExceptOnCreate', 'Snapshot'];

describe('retained resources', () => {
  it('no retained resource has a fixed physical name (a deploy after a failed first deploy or cdk destroy would find it "already exists")', () => {
    const offenders: string[] = [];
    for (const [id, r] of Object.entries(s.json.Resources) as [string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }][]) {
      const retained = RETAINED.includes(r.DeletionPolicy ?? '') || RETAINED.includes(r.UpdateReplacePolicy ?? '');
      if (!retained) continue;
      for (const p of NAME_PROPERTIES[r.Type] ?? Object.keys(r.Properties ?? {}).filter((k) => /Name$/.test(k))) {
        const v = r.Properties?.[p];
        if (v !== undefined && isFixed(v)) offenders.push(`${id} (${r.Type}) ${p}=${JSON.stringify(v)} ${r.DeletionPolicy}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('a failed first creation removes the key, log groups, buckets and queues (RetainExceptOnCreate); later deletes keep them', () => {
    for (const type of ['AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket', 'AWS::SQS::Queue']) {
      const found = resourcesOf(s.json, type);
      expect(found.length, type).toBeGreaterThan(0);
      for (const [id] of found) {
        const r = s.json.Resources[id] as { DeletionPolicy?: string; UpdateReplacePolicy?: string };
        expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, deletion: 'RetainExceptOnCreate', replace: 'Retain' });
      }
    }
  });

  it('the state machine log groups stay under /aws/vendedlogs/states/ (one small Logs resource policy), named per stack creation', () => {
    for (const [id, sm] of resourcesOf(s.json, 'AWS::StepFunctions::StateMachine')) {
      const dest = (sm.Properties!['LoggingConfiguration'] as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] }).Destinations[0]!;
      const lg = s.json.Resources[dest.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0]]!.Properties!['LogGroupName'] as { 'Fn::Join': [string, unknown[]] };
      const [sep, parts] = lg['Fn::Join'];
      expect(sep, id).toBe('');
      expect(parts[0], id).toBe(`/aws/vendedlogs/states/${String(sm.Properties!['StateMachineName'])}-`);
      expect(JSON.stringify(parts.slice(1)), id).toContain('AWS::StackId');
    }
  });
});

describe('artifact bucket lifecycle', () => {
  const artifactBucket = (x: Synthesized) => {
    const found = resourcesOf(x.json, 'AWS::S3::Bucket').filter(([, b]) => b.Properties?.['NotificationConfiguration'] !== undefined);
    expect(found).toHaveLength(1);
    return found[0]![1].Properties!;
  };
  const rules = (p: Record<string, any>) => (p['LifecycleConfiguration']?.Rules ?? []) as Record<string, unknown>[];

  it('noncurrent versions expire after 365 days by default; incomplete multipart uploads are aborted', () => {
    expect(s.config.retention.artifactNoncurrentVersionDays).toBe(365);
    const r = rules(artifactBucket(s));
    expect(r).toContainEqual(expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 365 } }));
    expect(r).toContainEqual(expect.objectContaining({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }));
  });

  it('the age is configurable (retention.artifactNoncurrentVersionDays)', () => {
    const x = synth({ retention: { artifactNoncurrentVersionDays: 30 } });
    expect(rules(artifactBucket(x))).toContainEqual(expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }));
  });

  it.each([0, -1, 1.5, '365', null])('rejects %j naming the field', (bad) => {
    let err: unknown;
    try {
      parsePipelineConfig({ retention: { artifactNoncurrentVersionDays: bad } } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toContain('retention.artifactNoncurrentVersionDays');
    expect((err as Error).message).not.toMatch(/unrecognized/i);
  });
});
