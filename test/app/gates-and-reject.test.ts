import { describe, expect, it } from 'vitest';
import { afterRejection, rejectRelease } from '../../core/app/reject-release.js';
import { runGates } from '../../core/app/run-gates.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { describeEvent } from '../../core/audit.js';
import { REJECT_CAUSES, RejectInputSchema, RejectOutputSchema, type ServingProgress, type SmokeOutput, type VerifyArtifactOutput } from '../../core/contracts.js';
import { InvalidInputError } from '../../core/errors.js';
import { ReleaseManifestSchema } from '../../core/manifest.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { parseOrThrow } from '../../core/validation.js';
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
    expect(out).toEqual({ outcome: 'rejected', cause: 'invalid_manifest', then: 'done' });
    expect(RejectOutputSchema.parse(out)).toEqual(out);

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
    expect(await rejectRelease({ releaseId: input.releaseId, cause: 'gates_failed', validation, gate }, w)).toEqual({ outcome: 'rejected', cause: 'gates_failed', then: 'release_lock' });
    const n = w.notifier.notifications[0]!;
    expect(n.title).toContain('failed its promotion gates');
    expect(n.text).toMatch(/✗ safety: risk energy increases/);
    expect((await w.ledger.timeline(input.releaseId)).find((e) => e.type === 'rejected')?.detail).toMatchObject({ cause: 'gates_failed', failedChecks: [expect.objectContaining({ name: 'safety' })] });
  });

  it('lock busy: rejected (not queued), naming the holder and the rule', async () => {
    const w = world();
    const input = upload(w, MANIFEST_TEXT, { versionId: 'v2' });
    const validation = await validateManifest(input, w);
    const out = await rejectRelease({ releaseId: input.releaseId, cause: 'lock_busy', validation, lock: { acquired: false, holder: 'builderbrain-2_0_9-abcdef01' } }, w);
    expect(out).toEqual({ outcome: 'rejected', cause: 'lock_busy', then: 'done' }); // the lock was never taken: nothing to undo
    const n = w.notifier.notifications[0]!;
    expect(n.severity).toBe('P3');
    expect(n.title).toContain('builderbrain-2_0_9-abcdef01');
    expect(n.text).toContain('one release per model at a time; retry after builderbrain-2_0_9-abcdef01 finishes');
    expect((await w.ledger.getRelease(input.releaseId))?.status).toBe('rejected');
  });

  it('lock busy with a holder the lock could not name: the core words it, no invented name', async () => {
    const w = world();
    const input = upload(w, MANIFEST_TEXT, { versionId: 'v2' });
    const validation = await validateManifest(input, w);
    const out = await rejectRelease({ releaseId: input.releaseId, cause: 'lock_busy', validation, lock: { acquired: false, holder: null } }, w);
    expect(out).toEqual({ outcome: 'rejected', cause: 'lock_busy', then: 'done' });
    const n = w.notifier.notifications[0]!;
    expect(n.title).toBe('[P3] BuilderBrain 2.1.0 rejected: another release of builderbrain took the lock');
    expect(n.text).toContain('took the model\'s lock at the same moment; no production traffic was touched');
    expect(n.text).not.toMatch(/contended|null/);
    const rejected = (await w.ledger.timeline(input.releaseId)).find((e) => e.type === 'rejected')!;
    expect(rejected.detail).toMatchObject({ cause: 'lock_busy', holder: null });
    expect(describeEvent(rejected)).toBe('lock_busy: another release holds the lock');
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
    // The gate result is typed in the RejectRelease contract: a bad one is refused at the edge, by the field's path.
    const bad = { releaseId: input.releaseId, cause: 'gates_failed', validation, gate: { passed: 'no' } };
    expect(() => parseOrThrow(RejectInputSchema, bad, 'RejectRelease input')).toThrow(/gate\.passed/);
    await expect(rejectRelease({ releaseId: input.releaseId, cause: 'gates_failed', validation }, w)).rejects.toThrow(/gate: required/);
    await expect(rejectRelease({ releaseId: input.releaseId, cause: 'lock_busy', validation }, w)).rejects.toThrow(/lock\.holder/);
  });
});

describe('rejectRelease after the gates: the artifact, the deployment, the smoke test', () => {
  const SHA_SEEN = 'b'.repeat(64);
  const FAILURE = 'The primary container for production variant canary did not pass the ping health check. Please check CloudWatch logs for this endpoint.';
  const artifact: VerifyArtifactOutput = {
    ok: false,
    reason: 'artifact_digest_mismatch',
    message: `the SHA-256 of s3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz is ${SHA_SEEN} (S3's stored checksum), the manifest says e4ac…: the uploaded artifact is not the one the gates judged`,
    sha256: SHA_SEEN,
    digestSource: 'checksum',
    size: 1234,
    versionId: 'v3',
  };
  const serving: ServingProgress = {
    goal: 'candidate_deployed',
    deployment: null,
    next: 'failed',
    message: `deploying 2.1.0 failed: SageMaker kept endpoint bb-endpoint on bb-endpoint-initial-config instead of bb-endpoint-2-1-0-d98c0059-c (${FAILURE})`,
    failureReason: FAILURE,
    startedAt: '2025-03-01T10:00:00.000Z',
    notBefore: null,
    nextCheckAt: '2025-03-01T10:09:00.000Z',
    checks: 9,
  };
  const smoke: SmokeOutput = {
    passed: false,
    summary: '1 of 2 smoke request(s) failed: plan a build: the candidate failed the request: ModelError: CUDA error',
    results: [
      { name: 'hello', passed: true, latencyMs: 120, message: 'hello: answered in 120 ms with the expected shape' },
      { name: 'plan a build', passed: false, latencyMs: 240, message: 'plan a build: the candidate failed the request: ModelError: CUDA error' },
    ],
  };

  async function gated() {
    const w = world();
    const input = upload(w);
    const validation = await validateManifest(input, w);
    const gate = await runGates({ releaseId: input.releaseId, manifest: validation.manifest! }, { ...w, gatePolicy });
    expect(gate.passed).toBe(true);
    return { w, releaseId: input.releaseId, validation };
  }

  it.each([
    ['artifact_rejected', { artifact }, 'P3', 'its artifact failed verification', artifact.message, 'release_lock', /^Nothing was deployed; upload the artifact the manifest describes/m, {}],
    ['deploy_failed', { serving }, 'P2', 'its deployment failed', serving.message, 'remove_candidate', /^No user traffic reached it; the endpoint is back on the baseline alone/m, { failureReason: FAILURE }],
    ['smoke_failed', { smoke }, 'P2', 'it failed its smoke test', smoke.summary, 'remove_candidate', /^No user traffic reached it/m, { smoke: smoke.results }],
  ] as const)('%s: %s incident, audited, then %s', async (cause, payload, severity, why, message, then, after, extraDetail) => {
    const { w, releaseId, validation } = await gated();
    const out = await rejectRelease({ releaseId, cause, validation, ...payload }, w);
    expect(out).toEqual({ outcome: 'rejected', cause, then });
    expect(RejectOutputSchema.parse(out)).toEqual(out);

    expect(w.notifier.notifications).toHaveLength(1);
    const n = w.notifier.notifications[0]!;
    expect(n).toMatchObject({ channel: 'incident', severity, reason: 'rejected', model: 'builderbrain', version: '2.1.0', releaseId });
    expect(n.title).toBe(`[${severity}] BuilderBrain 2.1.0 rejected: ${why}`);
    expect(n.text).toContain(`BuilderBrain 2.1.0 was rejected: ${why}.`);
    expect(n.text).toContain(`✗ ${message}`);
    expect(n.text).toMatch(after);
    expect(n.text).toContain(`History: builderbrain history ${releaseId}`);

    const rejected = (await w.ledger.timeline(releaseId)).filter((e) => e.type === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.detail).toEqual({ cause, severity, message, ...extraDetail });
    expect(await w.ledger.getRelease(releaseId)).toMatchObject({ status: 'rejected', outcome: { status: 'rejected', reason: cause, severity }, incidentPublished: true });
  });

  it('each cause needs its payload, named when missing', async () => {
    const { w, releaseId, validation } = await gated();
    for (const [cause, field] of [['artifact_rejected', 'artifact'], ['deploy_failed', 'serving'], ['smoke_failed', 'smoke']] as const) {
      const err = await rejectRelease({ releaseId, cause, validation }, w).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).issues).toEqual([{ path: field, message: `required when cause is ${cause}` }]);
    }
    expect(w.notifier.notifications).toEqual([]);
    expect((await w.ledger.getRelease(releaseId))?.status).toBe('gated');
  });

  it('what follows each cause: remove a deployed candidate, else release a lock that was taken, else nothing', () => {
    expect(Object.fromEntries(REJECT_CAUSES.map((c) => [c, afterRejection(c)]))).toEqual({
      invalid_manifest: 'done',
      gates_failed: 'release_lock',
      lock_busy: 'done',
      artifact_rejected: 'release_lock',
      deploy_failed: 'remove_candidate',
      smoke_failed: 'remove_candidate',
      verification_failed: 'remove_candidate',
    });
  });
});
