/**
 * Fault injection through the whole local pipeline: failing handlers (retried or not), a rollback
 * that itself fails, duplicate and concurrent uploads, alarms mid-phase and during an approval
 * wait, and two triggers seeing the same regression.
 */
import { describe, expect, it } from 'vitest';
import { alarmRules } from '../../core/alarms.js';
import { canaryAlarmName } from '../../core/runtime-config.js';
import { EmbeddedRuntime, alarmStateChangeEvent, loadDefinitions } from '../../local/runtime.js';
import { defaultManifest } from '../../local/scenario.js';
import { simulate, simulationConfig } from '../../local/simulate.js';
import { builtin, customScenario, defaultRun, executionResults, minuteOf } from './helpers.js';

/** Minutes the candidate's deployment takes on the simulated endpoint before the canary's first phase. */
const DEPLOY = 6;

const MAX_ATTEMPTS = 5; // Retry MaxAttempts 4 on every Lambda step: 1 call + 4 retries

describe('a handler throwing a transient error', () => {
  it.each([
    ['analyze-canary', 'healthy'],
    ['start-phase', 'healthy'],
    ['analyze-canary', 'error-spike-at-10pct'],
    ['start-phase', 'error-spike-at-10pct'],
    // a crash half-way through a deployment step: the retry resumes from the recorded plan and the endpoint's state
    ['serving', 'healthy'],
    ['serving', 'failed-deploy'],
    ['serving', 'error-spike-at-10pct'],
    ['verify-artifact', 'artifact-mismatch'],
  ] as const)('%s failing twice is retried: %s ends exactly as without the fault', async (handler, scenario) => {
    const clean = await defaultRun(scenario);
    const faulty = await simulate({ scenario: builtin(scenario), faults: [{ handler, kind: 'transient', times: 2 }] });
    // Retries take no virtual time and enter no state: the whole summary is the same, byte for byte.
    expect(JSON.stringify(faulty.summary)).toBe(JSON.stringify(clean.summary));
  });

  it('a transient error that outlasts the retries fails the step: task_failure P1, rolled back', async () => {
    const { summary } = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5, faults: [{ handler: 'start-phase', kind: 'transient', times: MAX_ATTEMPTS }] });
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.rollback).toMatchObject({ reason: 'task_failure', severity: 'P1', atMinute: DEPLOY });
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P1', reason: 'task_failure' })]);
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    // one attempt fewer is still absorbed by the retries
    const absorbed = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5, faults: [{ handler: 'start-phase', kind: 'transient', times: MAX_ATTEMPTS - 1 }] });
    expect(absorbed.summary.outcome).toBe('promoted');
  });
});

describe('a deployment step failing permanently', () => {
  it('serving: caught before any user traffic; the candidate is removed; P1 task_failure; the lock released', async () => {
    const run = await simulate({ scenario: builtin('healthy'), faults: [{ handler: 'serving', kind: 'permanent', times: 1 }] });
    const { summary } = run;
    expect(summary.phaseReached).toBe(0);
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P1', reason: 'task_failure' })]);
    expect(summary.incidents[0]!.title).toContain('DeployCandidate');
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    expect(run.runtime.router.serving.map((v) => v.name)).toEqual(['baseline']);
    expect(await run.runtime.lock.holder('builderbrain')).toBeNull();
  });
});

describe('a handler failing permanently', () => {
  it('analyze-canary: caught, rolled back, one P1 task_failure incident, 100% baseline', async () => {
    const run = await simulate({ scenario: builtin('healthy'), faults: [{ handler: 'analyze-canary', kind: 'permanent', times: 1 }] });
    const { summary } = run;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.phaseReached).toBe(1);
    // the first look (minute 1) fails; no regression in the scenario
    expect(summary.rollback).toEqual({ reason: 'task_failure', severity: 'P1', atMinute: DEPLOY + 1, regressionStartedAtMinute: null, detectionMinutes: null, rule: null });
    expect(summary.incidents).toHaveLength(1);
    expect(summary.incidents[0]).toMatchObject({ severity: 'P1', reason: 'task_failure' });
    expect(summary.incidents[0]!.title).toContain('AnalyzeCanary');
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    const rollback = summary.audit.filter((e) => e.type === 'rollback');
    expect(rollback).toHaveLength(1);
    expect(rollback[0]!.actor).toBe('step:AnalyzeCanary');
    expect(summary.audit.some((e) => e.type === 'analysis')).toBe(false);
    expect(summary.audit.at(-1)!.type).toBe('lock_released');
    // the canary execution handled the failure (Catch → rollback) and ended failed; the promotion
    // saw its rollback and finished
    const results = await executionResults(run);
    expect(results.find((r) => r.machine === run.runtime.definitions.canary.name)).toMatchObject({ ok: false, stopped: false });
    expect(results.find((r) => r.machine === run.runtime.definitions.promotion.name)).toMatchObject({ ok: true });
  });

  it('start-phase: caught before any traffic moves', async () => {
    const { summary } = await simulate({ scenario: builtin('healthy'), faults: [{ handler: 'start-phase', kind: 'permanent', times: 1 }] });
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.phaseReached).toBe(0);
    expect(summary.rollback).toMatchObject({ reason: 'task_failure', severity: 'P1', atMinute: DEPLOY });
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P1', reason: 'task_failure' })]);
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
  });
});

describe('the rollback itself failing', () => {
  it.each([
    ['error-spike-at-10pct', 'loop', DEPLOY + 93, { baseline: 90, candidate: 10 }],
    ['safety-violation', 'alarm', DEPLOY + 19, { baseline: 99, candidate: 1 }],
  ] as const)('%s (%s path): P0 rollback_failed, the executions fail loudly, outcome rollback_failed', async (scenario, _path, atMinute, traffic) => {
    const run = await simulate({ scenario: builtin(scenario), routerFailures: ['restoreBaseline'] });
    const { summary } = run;
    expect(summary.outcome).toBe('rollback_failed');
    expect(summary.rollback).toMatchObject({ reason: 'rollback_failed', severity: 'P0', atMinute });
    // every page is a P0 rollback_failed (the regression's own incident is never published: the
    // baseline was not restored); see the report on repeated pages
    // Paged once, although both machines' rollback attempts failed.
    expect(summary.incidents).toHaveLength(1);
    for (const i of summary.incidents) expect(i).toMatchObject({ severity: 'P0', reason: 'rollback_failed' });
    expect(summary.incidents[0]!.title).toMatch(/ROLLBACK FAILED/);
    // traffic is where the failed rollback left it: the candidate still serves
    expect(summary.finalTraffic).toEqual(traffic);
    expect(summary.audit.filter((e) => e.type === 'rollback')).toEqual([]);
    // Every failed attempt is recorded; the model stays locked while traffic may be on the candidate.
    expect(summary.audit.filter((e) => e.type === 'rollback_failed').length).toBeGreaterThanOrEqual(1);
    expect(await run.runtime.lock.holder(summary.release.model)).toBe(run.releaseId);
    // the release is not rolled back: it stays rolling_back for an operator's retry
    expect((await run.runtime.ledger.getRelease(run.releaseId!))?.status).toBe('rolling_back');
    // "fails loudly": the promotion execution ends FAILED
    const results = await executionResults(run);
    const promotion = results.find((r) => r.machine === run.runtime.definitions.promotion.name)!;
    expect(promotion.ok).toBe(false);
    expect(promotion.error).toMatch(/failed/i);
  });
});

describe('a duplicate trigger', () => {
  it('the same S3 event delivered twice starts one release and one execution', async () => {
    const run = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5, deliveries: 2 });
    expect(run.summary.outcome).toBe('promoted');
    expect(run.others).toEqual([]);
    expect(await run.runtime.ledger.listReleases(10)).toHaveLength(1);
    const names = run.runtime.executionsRun.map((e) => e.machine.name).sort();
    expect(names).toEqual([run.runtime.definitions.canary.name, run.runtime.definitions.promotion.name].sort());
    expect(run.summary.audit.filter((e) => e.type === 'received')).toHaveLength(1);
  });

  it('the intake answers the second delivery as a duplicate of the first', async () => {
    const scenario = builtin('healthy');
    const config = simulationConfig({ phaseMinutes: 2 });
    await loadDefinitions(config);
    const runtime = new EmbeddedRuntime({ config, scenario });
    const manifest = defaultManifest();
    const results = (await runtime.upload(JSON.stringify(manifest), { version: manifest.version, versionId: 'v1', deliveries: 3 })) as { outcome: string; releaseId: string; executionArn: string }[];
    await runtime.settle();
    expect(results.map((r) => r.outcome)).toEqual(['started', 'duplicate', 'duplicate']);
    expect(new Set(results.map((r) => r.releaseId)).size).toBe(1);
    expect(new Set(results.map((r) => r.executionArn)).size).toBe(1);
    expect(runtime.executionsRun.filter((e) => e.machine.name === runtime.definitions.promotion.name)).toHaveLength(1);
  });
});

describe('two releases of the same model at once', () => {
  it('the lock decides: the second is rejected with a P3 naming the holder, the first proceeds', async () => {
    const alone = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5 });
    const run = await simulate({ scenario: builtin('healthy'), phaseMinutes: 5, concurrentVersion: '2.2.0' });
    const holder = run.releaseId!;
    // the first release runs exactly as it would alone
    expect(run.summary.outcome).toBe('promoted');
    expect(run.summary.audit).toEqual(alone.summary.audit);
    expect(run.summary.finalTraffic).toEqual(alone.summary.finalTraffic);
    // the second: rejected, no traffic, never held the lock
    expect(run.others).toHaveLength(1);
    const second = run.others[0]!;
    expect(second.outcome).toBe('rejected');
    expect(second.releaseId).toMatch(/^builderbrain-2_2_0-/);
    const timeline = await run.runtime.ledger.timeline(second.releaseId);
    expect(timeline.map((e) => e.type)).toEqual(['received', 'validated', 'rejected']);
    expect(timeline[2]!.detail).toMatchObject({ cause: 'lock_busy', severity: 'P3', holder });
    // one incident: the P3 of the second, naming the holder; the router only ever moved the first
    expect(run.runtime.incidents).toHaveLength(1);
    const p3 = run.runtime.incidents[0]!;
    expect(p3).toMatchObject({ severity: 'P3', reason: 'rejected', version: '2.2.0', releaseId: second.releaseId });
    expect(p3.title).toContain(holder);
    expect(p3.text).toContain(holder);
    expect(run.runtime.router.log.every((l) => l.model === 'builderbrain')).toBe(true);
    expect(run.runtime.executionsRun.filter((e) => e.name === second.releaseId && e.machine.name === run.runtime.definitions.canary.name)).toEqual([]);
  });
});

describe('an alarm firing mid-phase', () => {
  it('safety-violation: the alarm path rolls back at once (alarm, P0) and stops the canary execution mid-phase', async () => {
    const run = await defaultRun('safety-violation');
    const { summary, runtime } = run;
    expect(summary.rollback).toMatchObject({ reason: 'alarm', severity: 'P0', atMinute: DEPLOY + 19, regressionStartedAtMinute: DEPLOY + 15, detectionMinutes: 4 });
    expect(runtime.alarmsFired).toEqual([{ minute: DEPLOY + 19, alarmName: canaryAlarmName(run.config.prefix, run.config.modelName, 'safety-incidents') }]);
    const rollback = summary.audit.find((e) => e.type === 'rollback')!;
    expect(rollback.actor).toBe(`alarm:${runtime.alarmsFired[0]!.alarmName}`);
    // mid-phase: 18 of the phase's 60 looks ran, no approval was asked
    expect(summary.audit.filter((e) => e.type === 'analysis')).toHaveLength(18);
    expect(summary.audit.some((e) => e.type === 'approval_requested')).toBe(false);
    const results = await executionResults(run);
    const canary = results.find((r) => r.machine === runtime.definitions.canary.name)!;
    expect(canary).toMatchObject({ stopped: true, ok: false });
    // the promotion saw the canary stopped, found the release already rolled back and finished
    const promotion = results.find((r) => r.machine === runtime.definitions.promotion.name)!;
    expect(promotion.ok).toBe(true);
    expect(promotion.output).toMatchObject({ outcome: 'rolled_back', rollback: { outcome: 'already_rolled_back', reason: 'alarm', severity: 'P0' } });
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    expect(summary.incidents).toHaveLength(1);
  });
});

describe('a stopped execution', () => {
  it('leaves no interpreter timer behind (the CLI process exits when the release is over)', async () => {
    // The interpreter arms a wall-clock timer per Task state (TimeoutSeconds) and per execution; a
    // task of a stopped execution must still settle, or those timers keep the process alive for
    // minutes (every retry of a timed-out task re-arms one) after the alarm path stopped a canary.
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const run = await simulate({ scenario: builtin('safety-violation'), phaseMinutes: 30 });
    expect(run.runtime.executionsRun.some((e) => e.stopped)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('a regression while a phase waits for manual approval', () => {
  // 20 000 requests a minute: at 1% the canary gets ~200 a minute, enough for the error-rate alarm
  // (≥ 100 canary requests per period). The regression starts right after the 1% phase's 60
  // monitored minutes, while the approval is pending and the monitor loop no longer looks.
  const scenario = customScenario('regression-while-waiting', [{ atMinute: 61, set: { errorRate: 0.05 } }], { requestsPerMinute: 20_000 });

  it('the alarm rolls back before the approval times out', async () => {
    const asked: number[] = [];
    const run = await simulate({
      scenario,
      approvals: async (req) => {
        asked.push(req.waitedMinutes);
        return 'wait';
      },
    });
    const { summary } = run;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.phaseReached).toBe(1);
    expect(summary.rollback).toEqual({ reason: 'alarm', severity: 'P1', atMinute: DEPLOY + 66, regressionStartedAtMinute: DEPLOY + 61, detectionMinutes: 5, rule: 'error_rate' });
    expect(summary.rollback!.atMinute).toBeLessThan(DEPLOY + 60 + run.config.approvalTimeoutMinutes);
    expect(summary.incidents).toEqual([expect.objectContaining({ severity: 'P1', reason: 'alarm' })]);
    expect(summary.incidents[0]!.title).toContain('canary-error-rate');
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
    // the approval was pending the whole time, and never answered
    expect(asked[0]).toBe(0);
    expect(asked.length).toBeGreaterThanOrEqual(5);
    const types = summary.audit.map((e) => e.type);
    // then the candidate variant is removed (applied, done) and the recovery checked before the lock goes
    // (the rollback opens its incident as it pages; its status updates are the follow-up's, after this timeline: incidentStates)
    expect(types.slice(types.indexOf('approval_requested')).filter((t) => t !== 'incident')).toEqual(['approval_requested', 'rollback', 'serving', 'serving', 'recovery', 'lock_released']);
    expect(types.slice(types.indexOf('approval_requested'), types.indexOf('rollback') + 1)).toEqual(['approval_requested', 'incident', 'rollback']);
    expect(types).not.toContain('approved');
    expect(minuteOf(summary.audit.find((e) => e.type === 'approval_requested')!.at)).toBe(DEPLOY + 60);
    // the canary execution waiting on its task token was stopped
    const results = await executionResults(run);
    expect(results.find((r) => r.machine === run.runtime.definitions.canary.name)).toMatchObject({ stopped: true, ok: false });
    // and the task token of the phase is gone: a late `approve` finds nothing waiting
    expect(await run.runtime.ledger.getTaskToken(run.releaseId!, 0)).toBeNull();
  });

  it('without the regression the same wait ends in the approval timeout (rollback, not promotion)', async () => {
    const run = await simulate({
      scenario: customScenario('waiting-healthy', []),
      phaseMinutes: 5,
      config: { approvalTimeoutMinutes: 30 },
      approvals: async () => 'wait',
    });
    expect(run.summary.outcome).toBe('rolled_back');
    expect(run.summary.phaseReached).toBe(1);
    // an unanswered approval is a rollback by the approval-timeout actor: manual, P2
    expect(run.summary.rollback).toEqual({ reason: 'manual', severity: 'P2', atMinute: DEPLOY + 5 + 30, regressionStartedAtMinute: null, detectionMinutes: null, rule: null });
    expect(run.summary.incidents).toEqual([expect.objectContaining({ severity: 'P2', reason: 'manual' })]);
    expect(run.summary.audit.find((e) => e.type === 'rollback')!.actor).toBe('approval-timeout');
  });
});

describe('the loop and the alarm seeing the same regression', () => {
  it('a regression both trip: one incident, one rollback audit event', async () => {
    // error rate ×10, p99 ×2 and safety incidents at 10%: the statistical loop and the alarms all
    // breach; the safety alarm is first (5 incidents a minute: one in the first minute, but for a
    // 0.7% chance), the promotion's failure path then asks for the rollback again
    const scenario = customScenario('loop-and-alarm', [{ whenWeight: 10, afterMinutes: 10, set: { errorRate: 0.04, safetyIncidentsPerMinute: 5, latencyMs: { p99: 1300 } } }]);
    const run = await simulate({ scenario, phaseMinutes: 30 });
    const { summary } = run;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.incidents).toHaveLength(1);
    expect(summary.audit.filter((e) => e.type === 'rollback')).toHaveLength(1);
    expect(summary.rollback).toMatchObject({ reason: 'alarm', severity: 'P0', regressionStartedAtMinute: DEPLOY + 40, atMinute: DEPLOY + 41 });
    const promotion = (await executionResults(run)).find((r) => r.machine === run.runtime.definitions.promotion.name)!;
    expect(promotion.output).toMatchObject({ rollback: { outcome: 'already_rolled_back' } });
  });

  it('the alarm arriving while the loop rolls back (a real race): still one incident, one rollback event', async () => {
    const config = simulationConfig({});
    const rule = alarmRules(config.alarms).find((r) => r.suffix === 'error-rate')!;
    const alarmName = canaryAlarmName(config.prefix, config.modelName, 'error-rate');
    // set from the callbacks (an object: TypeScript does not track assignments made in closures)
    const race: { runtime: EmbeddedRuntime | null; alarmCall: Promise<unknown> | null } = { runtime: null, alarmCall: null };
    const run = await simulate({
      scenario: builtin('error-spike-at-10pct'),
      approvals: async (_req, rt) => {
        race.runtime = rt;
        return 'approve';
      },
      // the moment the loop's failing verdict is in, CloudWatch's error-rate alarm reaches the
      // rollback handler too, while the canary's RollbackOnVerdict step runs
      onProgress: (e) => {
        const rt = race.runtime;
        if (e.kind === 'verdict' && e.text.startsWith('fail') && rt !== null && race.alarmCall === null) {
          // the runtime's own handler call (the alarm path's), as its simulated world makes it
          race.alarmCall = rt.invoke('rollback', alarmStateChangeEvent(alarmName, rule, rt.clock.now()));
        }
      },
    });
    expect(race.alarmCall).not.toBeNull();
    const alarmResult = (await race.alarmCall) as { outcome: string };
    expect(['rolled_back', 'already_rolled_back']).toContain(alarmResult.outcome);
    const { summary } = run;
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.incidents).toHaveLength(1);
    expect(summary.audit.filter((e) => e.type === 'rollback')).toHaveLength(1);
    // the summary's rollback is the one people were paged with
    expect(summary.rollback).toMatchObject({ reason: summary.incidents[0]!.reason, severity: summary.incidents[0]!.severity, atMinute: DEPLOY + 93 });
    expect(summary.finalTraffic).toEqual({ baseline: 100, candidate: 0 });
  });
});

describe('a promotion execution stopped by hand mid-canary (EventBridge "Execution Status Change", ABORTED)', () => {
  it('the ExecutionEnded function rolls the release back (P1 task_failure), stops the canary and releases the lock', async () => {
    let stopAt: (() => void) | null = null;
    const config = simulationConfig({ phaseMinutes: 10 });
    await loadDefinitions(config);
    const runtime: EmbeddedRuntime = new EmbeddedRuntime({
      config,
      scenario: builtin('healthy'),
      onProgress: (e) => {
        if (e.kind === 'phase' && stopAt !== null) {
          const stop = stopAt;
          stopAt = null;
          stop();
        }
      },
    });
    const manifest = defaultManifest();
    const [started] = (await runtime.upload(JSON.stringify(manifest), { version: manifest.version, versionId: 'v1' })) as { releaseId: string; executionArn: string }[];
    stopAt = () => void runtime.executions.stop(started!.executionArn, 'stopped by an operator in the console');
    await runtime.settle();
    const release = await runtime.ledger.getRelease(started!.releaseId);
    expect(release!.status).toBe('rolled_back');
    expect(await runtime.lock.holder(manifest.model)).toBeNull();
    expect(await runtime.router.current(manifest.model)).toEqual({ baseline: 100, candidate: 0 });
    expect(runtime.incidents).toHaveLength(1);
    expect(runtime.incidents[0]).toMatchObject({ severity: 'P1', reason: 'task_failure' });
    expect(runtime.incidents[0]!.text).toContain('ended ABORTED');
    // the canary execution did not run on: it was stopped with its parent
    const canary = runtime.executionsRun.filter((e) => e.machine.name === runtime.definitions.canary.name);
    expect(canary.every((e) => e.stopped)).toBe(true);
  });
});
