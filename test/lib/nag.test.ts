/**
 * cdk-nag 3 AwsSolutions checks at synth: no unsuppressed finding (errors or warnings), and every
 * acknowledgment is specific (one rule or one finding) and says why.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../lib/config.js';
import { MIN_REASON_LENGTH } from '../../lib/nag.js';
import { addReleaseStack, createApp } from '../../lib/synth.js';
import { LAMBDA_ROUTER, SAGEMAKER_SERVING } from './fixture.js';

interface Ack {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

let acks: Ack[];
let report: { pluginReports: { violations: unknown[]; suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[] } | null;
let synthError: Error | null = null;

beforeAll(() => {
  const outdir = mkdtempSync(join(tmpdir(), 'bb-nag-'));
  const app = createApp({ bundling: false, builtinValidation: false, nag: true, outdir });
  addReleaseStack(
    app,
    parsePipelineConfig({
      notifications: {
        incident: [{ protocol: 'email', endpoint: 'oncall@example.com', severities: ['P0', 'P1'] }],
        approvals: [{ protocol: 'email', endpoint: 'approvers@example.com' }],
        pipelineAlarms: [{ protocol: 'https', endpoint: 'https://pager.example.com/hook' }],
      },
      // What `cdk deploy` needs for a SageMaker endpoint (bin/app.ts): iam:PassRole, the bucket and key policies for the role.
      deployment: { sagemaker: SAGEMAKER_SERVING, smoke: [{ name: 'hello', body: '{"prompt":"hi"}' }] },
    }),
  );
  try {
    app.synth();
  } catch (err) {
    synthError = err as Error;
  }
  const file = join(outdir, 'validation-report.json');
  report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as NonNullable<typeof report>) : null;
  acks = app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason })))
      // cdk-nag's own; the Control Tower (cfn-guard) exemptions are test/lib/validators.test.ts's.
      .filter((a) => a.id.startsWith('AwsSolutions::')),
  );
});

describe('cdk-nag AwsSolutions with the Lambda-alias router', () => {
  it('synthesizes with no unsuppressed finding', () => {
    const app = createApp({ bundling: false, builtinValidation: false, nag: true, outdir: mkdtempSync(join(tmpdir(), 'bb-nag-alias-')) });
    addReleaseStack(
      app,
      parsePipelineConfig({ router: LAMBDA_ROUTER }),
    );
    expect(() => app.synth()).not.toThrow();
  });
});

describe('cdk-nag AwsSolutions with deployment.sagemaker', () => {
  it('synthesizes with no unsuppressed finding', () => {
    expect(synthError?.message ?? null).toBeNull();
    const violations = (report?.pluginReports ?? []).flatMap((r) => r.violations);
    expect(violations).toEqual([]);
  });

  it('every acknowledgment names one AwsSolutions rule (or one finding of it) and gives a reason', () => {
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id, a.path).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+[0-9]+(\[.+\])?$/);
      expect(a.reason.trim().length, `${a.path} ${a.id}`).toBeGreaterThanOrEqual(MIN_REASON_LENGTH);
    }
  });

  it('acknowledges the serving role\'s SageMaker wildcards one by one', () => {
    const serving = acks.filter((a) => a.path.endsWith('/Functions/ServingRole')).map((a) => a.id.replace(/^AwsSolutions::/, ''));
    const sm = (resource: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${resource}]`;
    expect(serving.filter((id) => id.includes(':sagemaker:')).sort()).toEqual([sm('endpoint-config/*'), sm('endpoint-config/builderbrain--*'), sm('model/builderbrain--*')].sort());
  });

  it('acknowledges only the expected rules', () => {
    const rules = [...new Set(acks.map((a) => a.id.replace(/^AwsSolutions::/, '').replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SQS3']);
    // No blanket IAM5: each names its finding.
    for (const a of acks.filter((x) => x.id.includes('IAM5'))) expect(a.id).toMatch(/IAM5\[Resource::.+\]$/);
  });

  it('every acknowledgment suppresses a finding (none is stale)', () => {
    const suppressed = (report?.pluginReports ?? []).flatMap((r) => r.suppressedViolations ?? []);
    for (const a of acks) {
      const rule = a.id.replace(/^AwsSolutions::/, '');
      const hit = suppressed.find((v) => v.ruleName === rule && v.violatingConstructs.some((c) => c.constructPath.startsWith(`${a.path}/`) || c.constructPath === a.path));
      expect(hit, `${a.path} ${a.id}`).toBeDefined();
    }
  });
});
