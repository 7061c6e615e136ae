import { describe, expect, it } from 'vitest';
import { analyzeCanaryStep } from '../../core/app/analyze-canary.js';
import { RollbackFailedError } from '../../core/app/errors.js';
import { promote } from '../../core/app/promote.js';
import { alarmRollbackInput, rollback } from '../../core/app/rollback.js';
import { ROLLBACK_FAILED_ERROR, RollbackInputSchema, RollbackOutputSchema, type RollbackInput } from '../../core/contracts.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { parseOrThrow } from '../../core/validation.js';
import { MemoryNotifier, MemoryRouter } from '../../local/memory.js';
import { EXECUTION_ARN, MODEL, releaseInCanary, traffic, world } from './helpers.js';

const ALARM = 'bb-builderbrain-canary-error-rate';
const alarmInput = (): RollbackInput => ({
  releaseId: null,
  model: MODEL,
  trigger: { kind: 'alarm', alarmName: ALARM, watches: 'error_rate_increase', detail: 'Threshold Crossed: 3 datapoints > 0.015' },
  stopExecution: true,
});

describe('rollback', () => {
  it('restores the baseline, stops the canary, pages once, audits, ends rolled_back', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const out = await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'bad outputs' }, stopExecution: true }, w);
    expect(RollbackOutputSchema.parse(out)).toEqual(out);
    expect(out).toMatchObject({ outcome: 'rolled_back', releaseId, reason: 'manual', severity: 'P2' });
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    expect(w.executions.stopped).toEqual([{ executionArn: EXECUTION_ARN, cause: expect.stringContaining('rolled back by alice') }]);
    expect(w.notifier.notifications).toEqual([
      expect.objectContaining({ channel: 'incident', severity: 'P2', reason: 'manual', releaseId, title: '[P2] BuilderBrain 2.1.0 rolled back by alice in phase 1 at 1% canary traffic' }),
    ]);
    const audit = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'rollback');
    expect(audit).toEqual([expect.objectContaining({ actor: 'alice', weight: 1, phase: 0, detail: expect.objectContaining({ reason: 'manual', severity: 'P2', trigger: 'manual' }) })]);
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'rolled_back', weight: 0, incidentPublished: true, outcome: { status: 'rolled_back', reason: 'manual', severity: 'P2' } });
  });

  it('a verdict rollback carries the rule evidence into the incident', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 5, (i) => (i === 2 ? { safetyIncidents: 2 } : {}));
    const analysed = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    const out = await rollback({ releaseId, model: MODEL, trigger: { kind: 'verdict', verdict: analysed.verdict }, stopExecution: false }, w);
    expect(out).toMatchObject({ outcome: 'rolled_back', reason: 'safety_violation', severity: 'P0' });
    expect(w.executions.stopped).toEqual([]);
    expect(w.notifier.notifications[0]!.text).toContain('2 safety incident(s) on the canary');
  });

  it('is idempotent: a second rollback changes nothing, says so and pages nobody', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const input: RollbackInput = { releaseId, model: MODEL, trigger: { kind: 'task_failure', step: 'AnalyzeCanary', error: 'States.Timeout' }, stopExecution: false };
    await rollback(input, w);
    const routerCalls = w.router.log.length;
    const timeline = await w.ledger.timeline(releaseId);
    w.clock.advanceMinutes(5);
    const again = await rollback(input, w);
    expect(again).toMatchObject({ outcome: 'already_rolled_back', releaseId, reason: 'task_failure', severity: 'P1' });
    expect(again.message).toMatch(/already rolled back.*nothing changed/);
    expect(w.notifier.notifications).toHaveLength(1);
    expect(w.router.log).toHaveLength(routerCalls);
    expect(await w.ledger.timeline(releaseId)).toEqual(timeline);
  });

  it('the alarm path and the monitor loop on the same regression give ONE incident', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 5, (i) => (i >= 1 ? { safetyIncidents: 1 } : {}));
    const fromAlarm = await rollback(alarmInput(), w);
    expect(fromAlarm).toMatchObject({ outcome: 'rolled_back', releaseId, reason: 'alarm', severity: 'P1' });
    expect(w.executions.stopped).toHaveLength(1);
    // The monitor loop's look was already running and saw the regression too.
    const analysed = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    expect(analysed.action).toBe('rollback');
    const fromLoop = await rollback({ releaseId, model: MODEL, trigger: { kind: 'verdict', verdict: analysed.verdict }, stopExecution: false }, w);
    expect(fromLoop.outcome).toBe('already_rolled_back');
    expect(w.notifier.of('incident')).toHaveLength(1);
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'rollback')).toHaveLength(1);
  });

  it('a rollback that finds an earlier attempt half-done (rolling_back) finishes it without paging twice', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    // The alarm attempt marked the release and paged, then its Lambda died.
    await w.ledger.transition(releaseId, ['canary'], 'rolling_back', { outcome: { status: 'rolling_back', reason: 'alarm', severity: 'P1', at: w.clock.now().toISOString() } });
    await w.ledger.claimIncident(releaseId);
    const out = await rollback({ releaseId, model: MODEL, trigger: { kind: 'task_failure', step: 'RunCanary', error: 'States.TaskFailed' }, stopExecution: false }, w);
    expect(out).toMatchObject({ outcome: 'rolled_back', reason: 'alarm', severity: 'P1' });
    expect(out.message).toContain('had already been published');
    expect(w.notifier.notifications).toHaveLength(0);
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    expect((await w.ledger.getRelease(releaseId))?.status).toBe('rolled_back');
  });

  it('alarm path with no release in flight: nothing changes', async () => {
    const w = world();
    const out = await rollback(alarmInput(), w);
    expect(out).toEqual({ outcome: 'no_release_in_flight', releaseId: null, reason: null, severity: null, message: 'no release of builderbrain is in flight; nothing to roll back' });
    expect(w.router.log).toEqual([]);
    expect(w.notifier.notifications).toEqual([]);
  });

  it('a promoted release is not rolled back', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    await promote({ releaseId, model: MODEL, version: '2.1.0', phase }, w);
    const out = await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'late' }, stopExecution: true }, w);
    expect(out.outcome).toBe('already_promoted');
    expect(w.router.log.at(-1)?.op).toBe('promoteCandidate');
    expect(w.notifier.of('incident')).toHaveLength(0);
  });

  it('router failure: P0 rollback_failed incident, audit, RollbackFailed error; a retry finishes the job', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    let down = true;
    const router = new MemoryRouter((op) => (op === 'restoreBaseline' && down ? Object.assign(new Error('endpoint is Failed'), { name: 'ValidationException' }) : undefined));
    await router.setCandidateWeight(MODEL, 1);
    const deps = { ...w, router };
    const input: RollbackInput = { releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'stop' }, stopExecution: true };

    const err = await rollback(input, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect((err as Error).name).toBe(ROLLBACK_FAILED_ERROR);
    expect((err as Error).message).toContain('ValidationException: endpoint is Failed');
    expect(w.notifier.notifications).toEqual([expect.objectContaining({ channel: 'incident', severity: 'P0', reason: 'rollback_failed' })]);
    expect(w.notifier.notifications[0]!.title).toContain('ROLLBACK FAILED');
    expect((await w.ledger.timeline(releaseId)).filter((e) => e.type === 'rollback_failed')).toEqual([
      expect.objectContaining({ actor: 'alice', detail: expect.objectContaining({ severity: 'P0', error: 'ValidationException: endpoint is Failed', paged: true }) }),
    ]);
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'rolling_back', incidentPublished: false });
    expect(await router.current(MODEL)).toEqual({ baseline: 99, candidate: 1 });
    expect(w.executions.stopped).toEqual([{ executionArn: EXECUTION_ARN, cause: expect.stringContaining('ROLLBACK FAILED') }]);

    down = false;
    const out = await rollback(input, deps);
    expect(out.outcome).toBe('rolled_back');
    expect(await router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    expect(w.notifier.notifications.map((n) => n.severity)).toEqual(['P0', 'P2']);
  });

  it('still throws RollbackFailed when the P0 page fails too', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    const router = new MemoryRouter((op) => (op === 'restoreBaseline' ? new Error('boom') : undefined));
    const notifier = new MemoryNotifier(() => {
      throw new Error('SNS down');
    });
    await expect(rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'a', note: 'n' }, stopExecution: false }, { ...w, router, notifier })).rejects.toThrow(
      /ROLLBACK FAILED.*the P0 page failed too \(Error: SNS down\)/,
    );
  });

  it('a failed incident publish gives the claim back and rethrows, so the retry pages', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    let down = true;
    const notifier = new MemoryNotifier(() => {
      if (down) throw new Error('SNS throttled');
    });
    const input: RollbackInput = { releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'a', note: 'n' }, stopExecution: false };
    await expect(rollback(input, { ...w, notifier })).rejects.toThrow('SNS throttled');
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'rolling_back', incidentPublished: false });
    down = false;
    expect((await rollback(input, { ...w, notifier })).outcome).toBe('rolled_back');
    expect(notifier.notifications).toHaveLength(1);
  });

  it('deletes the waiting approval token of a release rolled back while awaiting approval', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await w.ledger.putTaskToken(releaseId, 0, 'tok');
    await rollback(alarmInput(), w);
    expect(await w.ledger.getTaskToken(releaseId, 0)).toBeNull();
  });

  it('refuses a verdict that is not a fail, naming the field', async () => {
    const w = world();
    const { releaseId, phase } = await releaseInCanary(w);
    traffic(w, 10);
    const analysed = await analyzeCanaryStep({ releaseId, model: MODEL, version: '2.1.0', phase }, { ...w, canaryPolicy: DEFAULT_POLICY.canary });
    await expect(rollback({ releaseId, model: MODEL, trigger: { kind: 'verdict', verdict: analysed.verdict }, stopExecution: false }, w)).rejects.toThrow(/trigger\.verdict\.verdict/);
    // The verdict is typed in the Rollback contract: an incomplete one is refused at the edge, by the field's path.
    const incomplete = { releaseId, model: MODEL, trigger: { kind: 'verdict', verdict: { verdict: 'fail' } }, stopExecution: false };
    expect(() => parseOrThrow(RollbackInputSchema, incomplete, 'Rollback input')).toThrow(/trigger\.verdict\.reason/);
    expect((await w.ledger.getRelease(releaseId))?.status).toBe('canary');
  });
});

describe('alarmRollbackInput', () => {
  const event = (value: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', alarmName = ALARM) => ({
    'detail-type': 'CloudWatch Alarm State Change' as const,
    source: 'aws.cloudwatch' as const,
    detail: { alarmName, state: { value, reason: 'Threshold Crossed' } },
  });

  it('ALARM → an alarm trigger for the model in flight, stopping the execution', () => {
    expect(alarmRollbackInput(event('ALARM'), MODEL)).toEqual({
      releaseId: null,
      model: MODEL,
      trigger: { kind: 'alarm', alarmName: ALARM, watches: 'error_rate_increase', detail: 'Threshold Crossed' },
      stopExecution: true,
    });
    expect(alarmRollbackInput(event('ALARM', 'bb-builderbrain-canary-risk-energy'), MODEL)?.trigger).toMatchObject({ watches: 'safety_violation' });
    expect(alarmRollbackInput(event('ALARM', 'some-other-alarm'), MODEL)?.trigger).toMatchObject({ watches: null });
  });

  it('OK and INSUFFICIENT_DATA are ignored', () => {
    expect(alarmRollbackInput(event('OK'), MODEL)).toBeNull();
    expect(alarmRollbackInput(event('INSUFFICIENT_DATA'), MODEL)).toBeNull();
  });
});
