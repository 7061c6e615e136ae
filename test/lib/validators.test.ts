/**
 * AWS Control Tower's proactive controls (the CloudFormation Guard rules bundled with
 * @cdklabs/cdk-validator-cfnguard, run by its own cfn-guard binary) at synth: no unacknowledged
 * violation, and every exemption names one rule on one construct with a reason (lib/nag.ts
 * `acknowledgeGuard`). A new violation, or a new exemption, fails here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../lib/config.js';
import { GUARD_PLUGIN, MIN_REASON_LENGTH } from '../../lib/nag.js';
import { addReleaseStack, createApp } from '../../lib/synth.js';
import { SAGEMAKER_SERVING, synth } from './fixture.js';

interface Ack {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}
interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  readonly suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
}

const guardAcks = (root: { node: { findAll(): { node: { path: string; metadata: { type: string; data: unknown }[] } }[] } }): Ack[] =>
  root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason })))
      .filter((a) => a.id.startsWith(`${GUARD_PLUGIN}::`)),
  );

let acks: Ack[];
let report: PluginReport | undefined;
let synthError: Error | null = null;

let outdir: string;
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'bb-guard-'));
  const app = createApp({ bundling: false, builtinValidation: false, outdir });
  Validations.of(app).addPlugins(new CfnGuardValidator());
  addReleaseStack(
    app,
    parsePipelineConfig({
      notifications: { pipelineAlarms: [{ protocol: 'https', endpoint: 'https://pager.example.com/hook' }] },
      deployment: { sagemaker: SAGEMAKER_SERVING },
    }),
  );
  try {
    app.synth();
  } catch (err) {
    synthError = err as Error;
  }
  const file = join(outdir, 'validation-report.json');
  const all = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { pluginReports: PluginReport[] }).pluginReports ?? []) : [];
  report = all.find((r) => r.pluginName === GUARD_PLUGIN);
  acks = guardAcks(app);
}, 120_000);

describe('Control Tower proactive controls (cfn-guard)', () => {
  it('ran (the bundled cfn-guard binary works offline, no install script needed)', () => {
    expect(report, 'a cdk-validator-cfnguard report').toBeDefined();
    expect((report!.suppressedViolations ?? []).length).toBeGreaterThan(0);
  });

  it('synthesizes with no unacknowledged violation', () => {
    const open = (report?.violations ?? []).map((v) => `${v.ruleName}: ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`);
    expect(open).toEqual([]);
    expect(synthError?.message ?? null).toBeNull();
  });

  it('exempts only these rules, each for a reason', () => {
    const rules = [...new Set(acks.map((a) => a.id.slice(GUARD_PLUGIN.length + 2)))].sort();
    expect(rules).toEqual([
      'cloudwatch_alarm_action_check',
      'cloudwatch_log_group_retention_period_check',
      'lambda_inside_vpc_check',
      's3_bucket_default_encryption_kms_check',
      's3_bucket_logging_enabled_check',
      's3_bucket_object_lock_enabled_check',
      's3_event_notifications_enabled_check',
      'sqs_dlq_check',
    ]);
    for (const a of acks) expect(a.reason.trim().length, `${a.path} ${a.id}`).toBeGreaterThanOrEqual(MIN_REASON_LENGTH);
  });

  it('every exemption suppresses a violation (none is stale)', () => {
    const suppressed = report?.suppressedViolations ?? [];
    for (const a of acks) {
      const rule = a.id.slice(GUARD_PLUGIN.length + 2);
      const hit = suppressed.find((v) => v.ruleName === rule && v.violatingConstructs.some((c) => c.constructPath === a.path || c.constructPath.startsWith(`${a.path}/`)));
      expect(hit, `${a.path} ${a.id}`).toBeDefined();
    }
  });

  it('no exemption covers the artifact bucket\'s lifecycle or the key\'s grants (those are fixed)', () => {
    const fixed = ['s3_version_lifecycle_policy_check', 's3_lifecycle_policy_check', 'kms_create_grant_aws_service_check'];
    expect(acks.filter((a) => fixed.some((r) => a.id.endsWith(`::${r}`)))).toEqual([]);
  });

  it('log retention of a year or more needs no exemption', () => {
    const x = synth({ retention: { logRetentionDays: 365 } });
    expect(guardAcks(x.stack).filter((a) => a.id.endsWith('::cloudwatch_log_group_retention_period_check'))).toEqual([]);
  });
});
