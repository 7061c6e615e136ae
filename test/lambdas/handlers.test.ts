import { createHash } from 'node:crypto';
/**
 * The handlers (lambdas/<name>/handler.ts) on in-memory ports: they parse with the contract schema
 * (a bad event is an error naming the field), call one use case and return its result.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../core/errors.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { createHandler as analyzeCanary } from '../../lambdas/analyze-canary/handler.js';
import { createHandler as executionEnded } from '../../lambdas/execution-ended/handler.js';
import { createHandler as intake } from '../../lambdas/intake/handler.js';
import { createHandler as promote } from '../../lambdas/promote/handler.js';
import { createHandler as rejectRelease } from '../../lambdas/reject-release/handler.js';
import { createHandler as releaseLock } from '../../lambdas/release-lock/handler.js';
import { createHandler as requestApproval } from '../../lambdas/request-approval/handler.js';
import { createHandler as rollback } from '../../lambdas/rollback/handler.js';
import { createHandler as runGates } from '../../lambdas/run-gates/handler.js';
import { createHandler as serving } from '../../lambdas/serving/handler.js';
import type { Log } from '../../lambdas/shared/ports.js';
import { createHandler as startPhase } from '../../lambdas/start-phase/handler.js';
import { createHandler as validateManifest } from '../../lambdas/validate-manifest/handler.js';
import { createHandler as verifyArtifact } from '../../lambdas/verify-artifact/handler.js';
import type { ServingProgress } from '../../core/contracts.js';
import { BUCKET, MODEL, PROVISION_MINUTES, canaryInput, gatedRelease, releaseInCanary, servingWorld, upload, world } from '../app/helpers.js';

function recordingTelemetry(): { counts: string[]; count: (name: string) => void } {
  const counts: string[] = [];
  return { counts, count: (name: string) => void counts.push(name) };
}

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (message: string, ...extra: Record<string, unknown>[]) => void lines.push(`${level} ${message} ${JSON.stringify(extra)}`);
  return { lines, info: rec('info'), warn: rec('warn'), error: rec('error') };
}

async function invalid(run: Promise<unknown>): Promise<InvalidInputError> {
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

const s3Event = (key: string) => ({
  version: '0',
  id: 'e-1',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '123456789012',
  time: '2025-03-01T10:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:s3:::bb-artifacts'],
  detail: { version: '0', bucket: { name: 'bb-artifacts' }, object: { key, size: 1200, etag: 'abc', 'version-id': 'v1', sequencer: '1' }, reason: 'PutObject' },
});

const alarmEvent = (value: string) => ({
  version: '0',
  id: 'e-2',
  'detail-type': 'CloudWatch Alarm State Change',
  source: 'aws.cloudwatch',
  time: '2025-03-01T10:05:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: { alarmName: 'bb-builderbrain-canary-latency-p99', state: { value, reason: 'Threshold Crossed: 2 datapoints [900 ms] > 780 ms' }, previousState: { value: 'OK' }, configuration: {} },
});

describe('intake handler', () => {
  it('starts the promotion from the EventBridge S3 event; a redelivery is a duplicate', async () => {
    const w = world();
    const h = intake({ ...w, model: MODEL });
    expect(await h(s3Event('models/builderbrain/2.1.0/release.json'))).toMatchObject({ outcome: 'started', releaseId: expect.stringMatching(/^builderbrain-2_1_0-/) });
    expect(await h(s3Event('models/builderbrain/2.1.0/release.json'))).toMatchObject({ outcome: 'duplicate' });
    expect(w.executions.executions.size).toBe(1);
  });

  it('names the missing field of a bad event', async () => {
    const bad = s3Event('k') as Record<string, any>;
    delete bad.detail.bucket;
    const err = await invalid(intake({ ...world(), model: MODEL })(bad));
    expect(err.message).toContain('detail.bucket');
  });
});

describe('promotion-machine handlers reject bad payloads, naming the field', () => {
  const w = world();
  it('ValidateManifest', async () => {
    const err = await invalid(validateManifest(w)({ releaseId: 'r 1', source: { bucket: 'bb-artifacts', key: 'k', versionId: null, etag: null }, receivedAt: 'now' }));
    expect(err.message).toMatch(/releaseId: must be 1-80 chars/);
    expect(err.message).toContain('receivedAt');
  });
  it('ReleaseLock', async () => {
    expect((await invalid(releaseLock(w)({ action: 'steal', releaseId: 'r', model: MODEL }))).message).toContain('action');
  });
  it('RunGates', async () => {
    expect((await invalid(runGates({ ...w, gatePolicy: DEFAULT_POLICY.gates })({ releaseId: 'r', manifest: { model: MODEL } }))).message).toContain('manifest.version');
  });
  it('RejectRelease', async () => {
    expect((await invalid(rejectRelease(w)({ releaseId: 'r', cause: 'because' }))).issues.map((i) => i.path)).toEqual(expect.arrayContaining(['cause', 'validation']));
  });
});

describe('canary-machine handlers', () => {
  it('StartPhase → AnalyzeCanary → RequestApproval → Promote through the handlers', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const phase = await startPhase(w)({ ...canaryInput(releaseId), phaseIndex: 1, executionArn: 'arn:aws:states:eu-west-1:1:execution:c:1' });
    expect(phase.weight).toBe(10);
    const analysed = await analyzeCanary({ ...w, canaryPolicy: DEFAULT_POLICY.canary })({ releaseId, model: MODEL, version: '2.1.0', phase });
    expect(analysed).toMatchObject({ iteration: 1, action: 'continue' });
    const log = recordingLog();
    const token = 'TASK-TOKEN-must-not-be-logged';
    expect(await requestApproval({ ...w, log })({ taskToken: token, releaseId, model: MODEL, version: '2.1.0', phase: analysed })).toEqual({ requested: true, releaseId, phase: 1 });
    expect(log.lines.join('\n')).not.toContain(token);
    expect(await promote(w)({ releaseId, model: MODEL, version: '2.1.0', phase: analysed })).toMatchObject({ outcome: 'promoted' });
  });

  it('bad payloads name the field', async () => {
    const w = world();
    expect((await invalid(startPhase(w)({ ...canaryInput('r'), phases: [], phaseIndex: 0, executionArn: 'x' }))).message).toContain('phases');
    expect((await invalid(analyzeCanary({ ...w, canaryPolicy: DEFAULT_POLICY.canary })({ releaseId: 'r', model: MODEL, version: '1.0.0', phase: { index: 0 } }))).message).toContain('phase.weight');
    const approval = await invalid(requestApproval(w)({ taskToken: '', releaseId: 'r', model: MODEL, version: '1.0.0', phase: null }));
    expect(approval.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['taskToken', 'phase']));
    expect((await invalid(promote(w)({ releaseId: 'r', model: MODEL, version: '1.0.0' }))).message).toContain('phase');
  });
});

describe('rollback handler', () => {
  it('the raw alarm event rolls back the release in flight and stops its canary', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const out = await rollback({ ...w, model: MODEL })(alarmEvent('ALARM'));
    expect(out).toMatchObject({ outcome: 'rolled_back', releaseId, reason: 'alarm', severity: 'P1' });
    expect(w.executions.stopped).toHaveLength(1);
    expect(w.notifier.of('incident')[0]!.text).toContain('watching performance_degradation');
  });

  it('OK and INSUFFICIENT_DATA are ignored', async () => {
    const w = world();
    await releaseInCanary(w);
    expect(await rollback({ ...w, model: MODEL })(alarmEvent('OK'))).toEqual({ outcome: 'ignored', message: 'alarm bb-builderbrain-canary-latency-p99 is OK: nothing to do' });
    expect(await rollback({ ...w, model: MODEL })(alarmEvent('INSUFFICIENT_DATA'))).toMatchObject({ outcome: 'ignored' });
    expect(w.notifier.notifications).toEqual([]);
  });

  it('the state machines\' RollbackInput', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const out = await rollback({ ...w, model: MODEL })({ releaseId, model: MODEL, trigger: { kind: 'task_failure', step: 'AnalyzeCanary', error: 'Lambda.ServiceException' }, stopExecution: false });
    expect(out).toMatchObject({ outcome: 'rolled_back', reason: 'task_failure', severity: 'P1' });
  });

  it('bad events name the field, for both event kinds', async () => {
    const h = rollback({ ...world(), model: MODEL });
    expect((await invalid(h({ releaseId: null, model: MODEL, trigger: { kind: 'manual', actor: 'a' }, stopExecution: true }))).message).toContain('trigger.note');
    const alarm = alarmEvent('ALARM') as Record<string, any>;
    delete alarm.detail.alarmName;
    expect((await invalid(h(alarm))).message).toContain('detail.alarmName');
  });

  it('upload before validation: an unknown release is a clear error', async () => {
    const w = world();
    const input = upload(w);
    await expect(rollback({ ...w, model: MODEL })({ releaseId: input.releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'a', note: 'n' }, stopExecution: false })).rejects.toThrow(/is not in the audit ledger/);
  });
});

describe('verify-artifact handler', () => {
  const KEY = `models/${MODEL}/2.1.0/model.tar.gz`;
  const bytes = new TextEncoder().encode('weights');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const event = (over: Record<string, unknown> = {}) => ({ releaseId: 'builderbrain-2_1_0-0a1b2c3d', model: MODEL, version: '2.1.0', artifact: { uri: `s3://${BUCKET}/${KEY}`, sha256 }, ...over });

  it('verifies and counts; a rejection is a result, not an error', async () => {
    const w = world();
    const telemetry = recordingTelemetry();
    const h = verifyArtifact({ ...w, bucket: BUCKET, telemetry });
    expect(await h(event())).toMatchObject({ ok: false, reason: 'artifact_missing' });
    w.artifacts.putArtifact(BUCKET, KEY, bytes);
    expect(await h(event({ releaseId: 'builderbrain-2_1_0-0a1b2c3e' }))).toMatchObject({ ok: true, reason: null, sha256, digestSource: 'computed' });
    expect(telemetry.counts).toEqual(['ArtifactsRejected', 'ArtifactsVerified']);
  });

  it('a bad event names the field', async () => {
    const h = verifyArtifact({ ...world(), bucket: BUCKET });
    const err = await invalid(h(event({ releaseId: 'r 1', artifact: { uri: `s3://${BUCKET}/${KEY}` } })));
    expect(err.message).toMatch(/^invalid VerifyArtifact event: /);
    expect(err.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['releaseId', 'artifact.sha256']));
    expect((await invalid(h(event({ version: undefined })))).message).toContain('version');
    expect((await invalid(h(event({ extra: 1 })))).message).toContain('extra');
  });
});

describe('serving handler', () => {
  it('deploy → check → smoke → start → apply through the handler, logging and counting each end', async () => {
    const { w, deps } = servingWorld({ settings: { bakeMinutes: 0 } });
    const telemetry = recordingTelemetry();
    const log = recordingLog();
    const h = serving({ ...deps, telemetry, log });
    const { releaseId, deploy } = await gatedRelease(w);
    const p1 = (await h(deploy)) as ServingProgress;
    expect(p1).toMatchObject({ goal: 'candidate_deployed', next: 'check' });
    w.clock.advanceMinutes(PROVISION_MINUTES);
    const p2 = (await h({ action: 'check', releaseId, progress: p1 })) as ServingProgress;
    expect(p2.next).toBe('done');
    expect(await h({ action: 'smoke', releaseId, deployment: p2.deployment, samples: [{ name: 'hello', body: '{}' }] })).toMatchObject({ passed: true, summary: '1 smoke request(s) passed' });
    const s = (await h({ action: 'start', releaseId, goal: 'converged' })) as ServingProgress;
    expect(await h({ action: 'apply', releaseId, progress: s })).toMatchObject({ goal: 'converged', next: 'check' });
    expect(telemetry.counts).toEqual(['Serving_candidate_deployed', 'SmokeTestsPassed']);
    expect(log.lines.some((l) => l.startsWith('info deploying 2.1.0: endpoint bb-endpoint is in service'))).toBe(true);
  });

  it('a failed goal and a failed smoke test are counted as such', async () => {
    const { w, deps } = servingWorld({ endpoint: { deployFailure: 'capacity', smoke: 'error' } });
    const telemetry = recordingTelemetry();
    const h = serving({ ...deps, telemetry });
    const { releaseId, deploy } = await gatedRelease(w);
    const p1 = (await h(deploy)) as ServingProgress;
    w.clock.advanceMinutes(PROVISION_MINUTES);
    expect(await h({ action: 'check', releaseId, progress: p1 })).toMatchObject({ next: 'failed' });
    expect(await h({ action: 'smoke', releaseId, deployment: p1.deployment, samples: [{ name: 'hello', body: '{}' }] })).toMatchObject({ passed: false });
    expect(telemetry.counts).toEqual(['ServingFailed_candidate_deployed', 'SmokeTestsFailed']);
  });

  it('bad events name the field', async () => {
    const { w, deps } = servingWorld();
    const h = serving(deps);
    const { releaseId, deploy } = await gatedRelease(w);
    const named = async (event: unknown) => (await invalid(h(event))).issues.map((i) => i.path);
    expect((await invalid(h({ ...deploy, artifact: { uri: deploy.artifact.uri } }))).message).toMatch(/^invalid Serving event: artifact\.sha256/);
    expect(await named({ ...deploy, serving: { instanceType: 'g5.xlarge' } })).toEqual(['serving.instanceType']);
    expect(await named({ ...deploy, serving: undefined })).toEqual(['serving']);
    expect(await named({ action: 'deploy-now', releaseId })).toContain('action');
    expect(await named({ action: 'start', releaseId, goal: 'candidate_deployed' })).toEqual(['goal']);
    expect(await named({ action: 'check', releaseId })).toEqual(['progress']);
    const p = (await h(deploy)) as ServingProgress;
    expect(await named({ action: 'check', releaseId, progress: { ...p, nextCheckAt: 'soon' } })).toEqual(['progress.nextCheckAt']);
    expect(await named({ action: 'apply', releaseId, progress: { ...p, next: 'sleep' } })).toEqual(['progress.next']);
    expect(await named({ action: 'smoke', releaseId, deployment: p.deployment, samples: [{ name: '', body: '{}' }] })).toEqual(['samples[0].name']);
    expect(await named({ action: 'smoke', releaseId, deployment: { ...p.deployment, target: 'ecs' }, samples: [] })).toEqual(['deployment.target']);
  });
});

describe('execution-ended handler', () => {
  /** The event as EventBridge delivers it (AWS Step Functions user guide, "Execution status change" event). */
  const event = (name: string, status: string) => ({
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: '2025-03-01T10:30:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:states:eu-west-1:123456789012:execution:bb-promotion:${name}`],
    detail: {
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:bb-promotion:${name}`,
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:bb-promotion',
      name,
      status,
      startDate: 1740823200000,
      stopDate: 1740825000000,
      input: '{}',
      output: null,
      inputDetails: { included: true },
      outputDetails: null,
      error: status === 'ABORTED' ? null : 'States.Timeout',
      cause: null,
    },
  });

  it('a promotion execution stopped by hand: the release rolls back and the lock is released; counted', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const telemetry = recordingTelemetry();
    const out = await executionEnded({ ...w, telemetry })(event(releaseId, 'ABORTED'));
    expect(out.outcome).toBe('rolled_back_and_unlocked');
    expect(await w.lock.holder(MODEL)).toBeNull();
    expect(telemetry.counts).toEqual(['Rollbacks']);
  });

  it('any other status is ignored', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const out = await executionEnded(w)(event(releaseId, 'SUCCEEDED'));
    expect(out.outcome).toBe('ignored');
    expect(await w.lock.holder(MODEL)).toBe(releaseId);
  });
});
