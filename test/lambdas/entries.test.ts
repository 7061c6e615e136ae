/**
 * The Lambda entries (lambdas/<name>/index.ts): environment parsed at module scope (a missing
 * variable fails the cold start by name), SDK clients and adapters wired, a bad event rejected with
 * the field named. No AWS call is made: every event here fails validation first.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const ENV_VARS = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_DEV: 'false',
  BB_MODEL: 'builderbrain',
  BB_TABLE_NAME: 'bb-ledger',
  BB_INCIDENT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:bb-incidents',
  BB_APPROVAL_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:bb-approvals',
  BB_METRICS_NAMESPACE: 'BuilderBrain/Serving',
  BB_ROUTER_JSON: JSON.stringify({ kind: 'sagemaker', endpointName: 'bb-endpoint', baselineVariant: 'baseline', canaryVariant: 'canary' }),
  BB_GATE_POLICY_JSON: '{}',
  BB_CANARY_POLICY_JSON: '{}',
  BB_PROMOTION_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bb-promotion',
  BB_ARTIFACT_BUCKET: 'bb-artifacts',
  BB_ALARM_WARMUP_JSON: JSON.stringify({ minutes: 5, evaluationMinutes: 5 }),
  BB_BAKE_JSON: JSON.stringify({ minutes: 1440, lookEveryMinutes: 10, reference: 'day' }),
  BB_RECOVERY_JSON: JSON.stringify({ minutes: 15, settleMinutes: 2, errorRateRatio: 1.5, latencyRatio: 1.25 }),
  BB_INCIDENTS_JSON: JSON.stringify({ updateEveryMinutes: 15, checkEveryMinutes: 5 }),
  BB_ENVIRONMENT_JSON: JSON.stringify({
    name: 'pre-production',
    index: 1,
    of: 3,
    previous: { name: 'staging', account: '111111111111' },
    next: { name: 'production', eventBusArn: 'arn:aws:events:eu-west-1:333333333333:event-bus/bb-production-handover' },
    endpoint: 'bb-endpoint',
    hooks: [{ name: 'integration tests', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bb-it', stage: 'before_traffic', timeoutSeconds: 60 }],
    drillMinutes: 5,
  }),
  BB_SERVING_JSON: JSON.stringify({
    plan: {
      kind: 'sagemaker',
      endpointName: 'bb-endpoint',
      baselineVariant: 'baseline',
      canaryVariant: 'canary',
      serving: { image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb-serving:2.1.0', executionRoleArn: 'arn:aws:iam::123456789012:role/bb-sagemaker-exec', instanceType: 'ml.g5.xlarge' },
    },
    timeoutMinutes: 60,
    pollSeconds: 30,
    bakeMinutes: 60,
  }),
};

const context = {
  functionName: 'bb-step',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bb-step',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/bb-step',
  logStreamName: 's',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

type Entry = { handler: (event: unknown, context: Context) => Promise<unknown> };

/** Static imports (re-evaluated after vi.resetModules), so the bundler resolves and tsc checks them. */
const ENTRIES: Record<string, () => Promise<Entry>> = {
  'intake': () => import('../../lambdas/intake/index.js'),
  'validate-manifest': () => import('../../lambdas/validate-manifest/index.js'),
  'release-lock': () => import('../../lambdas/release-lock/index.js'),
  'run-gates': () => import('../../lambdas/run-gates/index.js'),
  'verify-artifact': () => import('../../lambdas/verify-artifact/index.js'),
  'serving': () => import('../../lambdas/serving/index.js'),
  'reject-release': () => import('../../lambdas/reject-release/index.js'),
  'start-phase': () => import('../../lambdas/start-phase/index.js'),
  'analyze-canary': () => import('../../lambdas/analyze-canary/index.js'),
  'request-approval': () => import('../../lambdas/request-approval/index.js'),
  'promote': () => import('../../lambdas/promote/index.js'),
  'rollback': () => import('../../lambdas/rollback/index.js'),
  'execution-ended': () => import('../../lambdas/execution-ended/index.js'),
  'bake': () => import('../../lambdas/bake/index.js'),
  'recovery': () => import('../../lambdas/recovery/index.js'),
  'incidents': () => import('../../lambdas/incidents/index.js'),
  'run-hooks': () => import('../../lambdas/run-hooks/index.js'),
  'drill': () => import('../../lambdas/drill/index.js'),
  'hand-over': () => import('../../lambdas/hand-over/index.js'),
  'accept-handover': () => import('../../lambdas/accept-handover/index.js'),
};

/** Each entry, a bad event for it, and the field its error must name. */
const CASES: [name: string, field: string, event: unknown][] = [
  ['intake', 'detail.object.key', { 'detail-type': 'Object Created', source: 'aws.s3', detail: { bucket: { name: 'bb-artifacts' }, object: {} } }],
  ['validate-manifest', 'source', { releaseId: 'r-1', receivedAt: '2025-03-01T10:00:00Z' }],
  ['release-lock', 'model', { action: 'acquire', releaseId: 'r-1' }],
  ['run-gates', 'manifest', { releaseId: 'r-1' }],
  ['verify-artifact', 'artifact.sha256', { releaseId: 'r-1', model: 'builderbrain', version: '2.1.0', artifact: { uri: 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz' } }],
  ['serving', 'action', { action: 'deploy-now', releaseId: 'r-1' }],
  ['serving', 'progress', { action: 'check', releaseId: 'r-1' }],
  ['reject-release', 'validation', { releaseId: 'r-1', cause: 'lock_busy' }],
  ['start-phase', 'phaseIndex', { releaseId: 'r-1', model: 'builderbrain', version: '2.1.0', phases: [{ weight: 1, monitorMinutes: 60, requiresApproval: true }], maxLooksPerPhase: 120, executionArn: 'x' }],
  ['analyze-canary', 'phase', { releaseId: 'r-1', model: 'builderbrain', version: '2.1.0' }],
  ['request-approval', 'taskToken', { releaseId: 'r-1', model: 'builderbrain', version: '2.1.0', phase: null }],
  ['promote', 'version', { releaseId: 'r-1', model: 'builderbrain', phase: null }],
  ['rollback', 'stopExecution', { releaseId: 'r-1', model: 'builderbrain', trigger: { kind: 'verdict', verdict: {} } }],
  ['execution-ended', 'detail.name', { 'detail-type': 'Step Functions Execution Status Change', source: 'aws.states', detail: { executionArn: 'x', stateMachineArn: 'y', status: 'ABORTED' } }],
  ['bake', 'action', { action: 'look', releaseId: 'r-1', model: 'builderbrain', version: '2.1.0' }],
  ['bake', 'bake', { action: 'watch', releaseId: 'r-1', model: 'builderbrain', version: '2.1.0' }],
  ['recovery', 'model', { action: 'plan', releaseId: 'r-1' }],
  ['recovery', 'recovery.checkAt', { action: 'verify', releaseId: 'r-1', model: 'builderbrain', recovery: { rolledBackAt: null } }],
  ['incidents', 'command', { incidentId: 'INC-builderbrain-2_1_0-1a2b3c4d-1', identity: 'alice', note: null }],
  ['run-hooks', 'stage', { releaseId: 'r-1', model: 'builderbrain', version: '2.1.0', stage: 'whenever' }],
  ['drill', 'drill', { action: 'verify', releaseId: 'r-1', model: 'builderbrain', version: '2.1.0', phase: { index: 1, weight: 100 } }],
  ['hand-over', 'version', { releaseId: 'r-1', model: 'builderbrain' }],
  ['accept-handover', 'account', { source: 'builderbrain.release', 'detail-type': 'BuilderBrain Release Promoted', detail: {} }],
];

beforeEach(() => {
  vi.resetModules();
  for (const [k, v] of Object.entries(ENV_VARS)) vi.stubEnv(k, v);
});
afterEach(() => vi.unstubAllEnvs());

describe('Lambda entries', () => {
  it('every handler directory (lambdas/<name>/index.ts) has an entry here, and a bad-event case', () => {
    const root = fileURLToPath(new URL('../../lambdas/', import.meta.url));
    const handlers = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`${root}${d.name}/index.ts`))
      .map((d) => d.name)
      .sort();
    expect(Object.keys(ENTRIES).sort()).toEqual(handlers);
    expect([...new Set(CASES.map(([name]) => name))].sort()).toEqual(handlers);
  });

  it.each(CASES)('%s: a bad event is a clear error naming %s', async (name, field, event) => {
    const { handler } = await ENTRIES[name]!();
    const err = (await handler(event, context).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('InvalidInputError');
    expect(err.message).toMatch(/^invalid \w+/);
    expect(err.message).toContain(field);
  });

  it('a missing or bad environment variable fails the cold start by name', async () => {
    vi.stubEnv('BB_TABLE_NAME', undefined as unknown as string);
    await expect(ENTRIES['run-gates']!()).rejects.toThrow(/invalid Lambda environment: BB_TABLE_NAME/);
    vi.resetModules();
    vi.stubEnv('BB_TABLE_NAME', 'bb-ledger');
    vi.stubEnv('BB_ROUTER_JSON', '{"kind":"nginx"}');
    await expect(ENTRIES.rollback!()).rejects.toThrow(/BB_ROUTER_JSON/);
  });

  it('the serving entry needs BB_SERVING_JSON, the verify-artifact entry BB_ARTIFACT_BUCKET', async () => {
    vi.stubEnv('BB_SERVING_JSON', JSON.stringify({ plan: { kind: 'sagemaker', endpointName: 'bb-endpoint' }, timeoutMinutes: 60, pollSeconds: 30, bakeMinutes: 60 }));
    await expect(ENTRIES.serving!()).rejects.toThrow(/invalid Lambda environment: BB_SERVING_JSON/);
    vi.resetModules();
    vi.stubEnv('BB_ARTIFACT_BUCKET', undefined as unknown as string);
    await expect(ENTRIES['verify-artifact']!()).rejects.toThrow(/invalid Lambda environment: BB_ARTIFACT_BUCKET/);
  });

  it('the bake entry needs BB_BAKE_JSON (and the canary policy), the recovery entry BB_RECOVERY_JSON; a bad policy is named', async () => {
    for (const [name, variable] of [['bake', 'BB_BAKE_JSON'], ['bake', 'BB_CANARY_POLICY_JSON'], ['recovery', 'BB_RECOVERY_JSON']] as const) {
      vi.resetModules();
      vi.stubEnv(variable, undefined as unknown as string);
      await expect(ENTRIES[name]!(), `${name} ${variable}`).rejects.toThrow(new RegExp(`invalid Lambda environment: ${variable}`));
      vi.stubEnv(variable, ENV_VARS[variable]);
    }
    vi.resetModules();
    vi.stubEnv('BB_BAKE_JSON', JSON.stringify({ minutes: 60, lookEveryMinutes: 0 }));
    await expect(ENTRIES.bake!()).rejects.toThrow(/BB_BAKE_JSON/);
    vi.resetModules();
    vi.stubEnv('BB_RECOVERY_JSON', JSON.stringify({ errorRateRatio: 1 }));
    await expect(ENTRIES.recovery!()).rejects.toThrow(/BB_RECOVERY_JSON/);
  });

  it('the chain entries (and validate-manifest) need BB_ENVIRONMENT_JSON', async () => {
    for (const name of ['validate-manifest', 'run-hooks', 'drill', 'hand-over', 'accept-handover']) {
      vi.resetModules();
      vi.stubEnv('BB_ENVIRONMENT_JSON', undefined as unknown as string);
      await expect(ENTRIES[name]!(), name).rejects.toThrow(/invalid Lambda environment: BB_ENVIRONMENT_JSON/);
    }
  });
});
