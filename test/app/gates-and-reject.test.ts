import { describe, expect, it } from 'vitest';
import { rejectRelease } from '../../core/app/reject-release.js';
import { runGates } from '../../core/app/run-gates.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { ReleaseManifestSchema } from '../../core/manifest.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { MemoryNotifier } from '../../local/memory.js';
import { MANIFEST_TEXT, exampleText, upload, world } from './helpers.js';

const gatePolicy = DEFAULT_POLICY.gates;

describe('runGates', () => {
  it('passes: one gate_check per check in policy order, received → gated', async () => {
    const w = world();
    const input = upload(w);
    const v = await validateManifest(input, w);
    const result = await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy });
    expect(result.passed).toBe(true);
    const checks = (await w.ledger.timeline(input.releaseId)).filter((e) => e.type === 'gate_check');
    expect(checks.map((e) => e.detail.name)).toEqual(['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility']);
    expect(checks[0]?.detail).toMatchObject({ passed: true, value: expect.any(Number), threshold: 0, message: expect.any(String) });
    expect((await w.ledger.getRelease(input.releaseId))?.status).toBe('gated');
    // retried: nothing new
    await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy });
    expect((await w.ledger.timeline(input.releaseId)).filter((e) => e.type === 'gate_check')).toHaveLength(6);
  });

  it('fails: the release stays received (RejectRelease rejects it)', async () => {
    const w = world();
    const input = upload(w, exampleText('fail-safety.json'), { version: ReleaseManifestSchema.parse(JSON.parse(exampleText('fail-safety.json'))).version });
    const v = await validateManifest(input, w);
    const result = await runGates({ releaseId: input.releaseId, manifest: v.manifest! }, { ...w, gatePolicy });
    expect(result.passed).toBe(false);
    expect((await w.ledger.getRelease(input.releaseId))?.status).toBe('received');
  });
});

describe('rejectRelease', () => {
  it('invalid manifest: P3 incident naming every field, one rejected audit event with every issue, status rejected', async () => {
    const w = world();
    const input = upload(w, exampleText('invalid-manifest.json'));
    const validation = await validateManifest(input, w);
    const out = await rejectRelease({ releaseId: input.releaseId, cause: 'invalid_manifest', validation }, w);
    expect(out).toEqual({ outcome: 'rejected', cause: 'invalid_manifest' });

    expect(w.notifier.notifications).toHaveLength(1);
    const n = w.notifier.notifications[0]!;
    expect(n).toMatchObject({ channel: 'incident', severity: 'P3', reason: 'rejected', model: 'builderbrain', version: '2.1.0', releaseId: input.releaseId });
    expect(n.title).toBe('[P3] BuilderBrain 2.1.0 rejected: has an invalid manifest');
    for (const issue of validation.issues) expect(n.text).toContain(`✗ ${issue.path || '(root)'}: ${issue.message}`);
    expect(n.text).toContain('no production traffic was touched');

    const rejected = (await w.ledger.timeline(input.releaseId)).filter((e) => e.type === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.detail.issues).toEqual(validation.issues);
    expect(await w.ledger.getRelease(input.releaseId)).toMatchObject({
      status: 'rejected',
      outcome: { status: 'rejected', reason: 'invalid_manifest', severity: 'P3' },
      incidentPublished: true,
    });
  });

  it('gates failed: the incident lists the failed checks with their values', async () => {
    const w = world();
    const text = exampleText('fail-safety.json');
    const input = upload(w, text, { version: JSON.parse(text).version });
    const validation = await validateManifest(input, w);
    const gate = await runGates({ releaseId: input.releaseId, manifest: validation.manifest! }, { ...w, gatePolicy });
    await rejectRelease({ releaseId: input.releaseId, cause: 'gates_failed', validation, gate }, w);
    const n = w.notifier.notifications[0]!;
    expect(n.title).toContain('failed its promotion gates');
    expect(n.text).toMatch(/✗ safety: risk energy increases/);
    expect((await w.ledger.timeline(input.releaseId)).find((e) => e.type === 'rejected')?.detail).toMatchObject({ cause: 'gates_failed', failedChecks: [expect.objectContaining({ name: 'safety' })] });
  });

  it('lock busy: rejected (not queued), naming the holder and the rule', async () => {
    const w = world();
    const input = upload(w, MANIFEST_TEXT, { versionId: 'v2' });
    const validation = await validateManifest(input, w);
    await rejectRelease({ releaseId: input.releaseId, cause: 'lock_busy', validation, lock: { acquired: false, holder: 'builderbrain-2_0_9-abcdef01' } }, w);
    const n = w.notifier.notifications[0]!;
    expect(n.severity).toBe('P3');
    expect(n.title).toContain('builderbrain-2_0_9-abcdef01');
    expect(n.text).toContain('one release per model at a time; retry after builderbrain-2_0_9-abcdef01 finishes');
    expect((await w.ledger.getRelease(input.releaseId))?.status).toBe('rejected');
  });

  it('a retried rejection pages nobody twice; a failed publish is retried', async () => {
    const w = world();
    let fail = true;
    const flaky = new MemoryNotifier(() => {
      if (fail) throw new Error('SNS down');
    });
    const input = upload(w, exampleText('invalid-manifest.json'));
    const validation = await validateManifest(input, w);
    const req = { releaseId: input.releaseId, cause: 'invalid_manifest' as const, validation };
    await expect(rejectRelease(req, { ...w, notifier: flaky })).rejects.toThrow('SNS down');
    expect((await w.ledger.getRelease(input.releaseId))?.incidentPublished).toBe(false);
    fail = false;
    await rejectRelease(req, { ...w, notifier: flaky });
    await rejectRelease(req, { ...w, notifier: flaky });
    expect(flaky.notifications).toHaveLength(1);
  });

  it('names the field of a bad gate payload', async () => {
    const w = world();
    const input = upload(w);
    const validation = await validateManifest(input, w);
    await expect(rejectRelease({ releaseId: input.releaseId, cause: 'gates_failed', validation, gate: { passed: 'no' } }, w)).rejects.toThrow(/gate\.passed/);
    await expect(rejectRelease({ releaseId: input.releaseId, cause: 'lock_busy', validation }, w)).rejects.toThrow(/lock\.holder/);
  });
});
