/**
 * A promotion execution that ends without finishing its release (stopped by hand, timed out, failed
 * past its Catches): the lock is always either held by a live execution or released after traffic
 * is on the baseline (issue 11 item 4).
 */
import { describe, expect, it } from 'vitest';
import { executionEnded } from '../../core/app/execution-ended.js';
import { acquireReleaseLock } from '../../core/app/release-lock.js';
import { rollback } from '../../core/app/rollback.js';
import { MemoryRouter } from '../../local/memory.js';
import { MODEL, releaseInCanary, upload, world } from './helpers.js';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:promotion:x';

describe('executionEnded', () => {
  it('a promotion stopped by hand mid-canary: rolled back (P1 task_failure), canary stopped, traffic on the baseline, lock released', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    expect(await w.router.current(MODEL)).toEqual({ baseline: 99, candidate: 1 });
    const out = await executionEnded({ releaseId, status: 'ABORTED', executionArn: ARN }, w);
    expect(out.outcome).toBe('rolled_back_and_unlocked');
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    expect(await w.lock.holder(MODEL)).toBeNull();
    expect((await w.ledger.getRelease(releaseId))!.status).toBe('rolled_back');
    const pages = w.notifier.of('incident');
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ severity: 'P1', reason: 'task_failure' });
    expect(pages[0]!.text).toContain('ended ABORTED');
    expect(w.executions.stopped.length).toBeGreaterThanOrEqual(1);
    // a second delivery of the same event changes nothing and pages nobody
    const again = await executionEnded({ releaseId, status: 'ABORTED', executionArn: ARN }, w);
    expect(again.outcome).toBe('unlocked');
    expect(w.notifier.of('incident')).toHaveLength(1);
  });

  it('a rollback that fails keeps the model locked (no new release starts while traffic may be on the candidate) until an operator rollback succeeds', async () => {
    const w = world();
    let broken = true;
    const router = new MemoryRouter((op) => (broken && op === 'restoreBaseline' ? new Error('UpdateEndpointWeightsAndCapacities: ThrottlingException') : undefined));
    const ports = { ...w, router };
    const { releaseId } = await releaseInCanary(ports);
    const out = await executionEnded({ releaseId, status: 'TIMED_OUT', executionArn: ARN }, ports);
    expect(out.outcome).toBe('locked_after_failed_rollback');
    expect(out.message).toContain(`builderbrain rollback ${releaseId}`);
    expect(await w.lock.holder(MODEL)).toBe(releaseId);
    expect(w.notifier.of('incident').some((n) => n.severity === 'P0')).toBe(true);
    // another upload of the model is refused while it is locked
    const next = upload(w, undefined, { version: '2.2.0', versionId: 'v2' });
    expect(await acquireReleaseLock({ releaseId: next.releaseId, model: MODEL }, ports)).toMatchObject({ acquired: false, holder: releaseId });
    // the operator's rollback restores the baseline; the finished holder's lock is then taken over
    broken = false;
    const manual = await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'after the failed rollback' }, stopExecution: true }, ports);
    expect(manual.outcome).toBe('rolled_back');
    expect(await w.router.current(MODEL)).toEqual({ baseline: 100, candidate: 0 });
    expect(await acquireReleaseLock({ releaseId: next.releaseId, model: MODEL }, ports)).toMatchObject({ acquired: true });
  });

  it('a release that had already ended: only its lock, never another release\'s', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'x' }, stopExecution: false }, w);
    const out = await executionEnded({ releaseId, status: 'FAILED', executionArn: ARN, error: 'States.Runtime' }, w);
    expect(out.outcome).toBe('unlocked');
    expect(await w.lock.holder(MODEL)).toBeNull();
    expect(w.notifier.of('incident')).toHaveLength(1);
  });

  it('an execution of no recorded release: nothing to do', async () => {
    const w = world();
    const out = await executionEnded({ releaseId: 'builderbrain-9_9_9-00000000', status: 'ABORTED', executionArn: ARN }, w);
    expect(out.outcome).toBe('unknown_release');
  });
});
