/**
 * The handlers (lambdas/<name>/handler.ts) on in-memory ports: they parse with the contract schema
 * (a bad event is an error naming the field), call one use case and return its result.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../core/errors.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { createHandler as analyzeCanary } from '../../lambdas/analyze-canary/handler.js';
import { createHandler as intake } from '../../lambdas/intake/handler.js';
import { createHandler as promote } from '../../lambdas/promote/handler.js';
import { createHandler as rejectRelease } from '../../lambdas/reject-release/handler.js';
import { createHandler as releaseLock } from '../../lambdas/release-lock/handler.js';
import { createHandler as requestApproval } from '../../lambdas/request-approval/handler.js';
import { createHandler as rollback } from '../../lambdas/rollback/handler.js';
import { createHandler as runGates } from '../../lambdas/run-gates/handler.js';
import type { Log } from '../../lambdas/shared/ports.js';
import { createHandler as startPhase } from '../../lambdas/start-phase/handler.js';
import { createHandler as validateManifest } from '../../lambdas/validate-manifest/handler.js';
import { MODEL, canaryInput, releaseInCanary, upload, world } from '../app/helpers.js';

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
