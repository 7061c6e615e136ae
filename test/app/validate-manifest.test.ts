import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../core/app/ids.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { ValidateOutputSchema } from '../../core/contracts.js';
import { MAX_MANIFEST_BYTES } from '../../core/manifest.js';
import { BUCKET, MANIFEST_TEXT, exampleText, upload, world } from './helpers.js';

describe('validateManifest', () => {
  it('a valid manifest opens the release record and audits received + validated', async () => {
    const w = world();
    const input = upload(w);
    const out = await validateManifest(input, w);
    expect(ValidateOutputSchema.parse(out)).toEqual(out);
    expect(out).toMatchObject({ valid: true, model: 'builderbrain', version: '2.1.0', manifestSha256: sha256Hex(MANIFEST_TEXT), issues: [] });
    expect(out.manifest?.owner).toBe('ml-platform');

    const record = await w.ledger.getRelease(input.releaseId);
    expect(record).toMatchObject({
      status: 'received',
      model: 'builderbrain',
      version: '2.1.0',
      manifestSha256: sha256Hex(MANIFEST_TEXT),
      artifact: { uri: 's3://example-artifacts/models/builderbrain/2.1.0/model.tar.gz' },
      source: { bucket: BUCKET, key: input.source.key, versionId: 'v1' },
      receivedAt: input.receivedAt,
      weight: 0,
      incidentPublished: false,
    });
    const timeline = await w.ledger.timeline(input.releaseId);
    expect(timeline.map((e) => e.type)).toEqual(['received', 'validated']);
  });

  it('is idempotent: a retried validation records nothing twice', async () => {
    const w = world();
    const input = upload(w);
    await validateManifest(input, w);
    w.clock.advance(2000);
    await validateManifest(input, w);
    expect((await w.ledger.timeline(input.releaseId)).map((e) => e.type)).toEqual(['received', 'validated']);
  });

  it('an invalid manifest is rejected naming every offending field, and the upload is left untouched', async () => {
    const w = world();
    const text = exampleText('invalid-manifest.json');
    const input = upload(w, text);
    const out = await validateManifest(input, w);
    expect(out.valid).toBe(false);
    expect(out.manifest).toBeNull();
    const paths = out.issues.map((i) => i.path);
    for (const p of ['model', 'version', 'releaseType', 'artifact.uri', 'artifact.sha256', 'shadowEvaluation.riskEnergy.candidate', 'shadowEvaluation.performance.baseline', 'shadowEvaluation.constraintSatisfaction', 'shadowEvaluation.tests.passed', 'shadowEvaluation.tests.failed', 'changelog.features[1]', 'migrationGuide', 'owner', 'approvedBy']) {
      expect(paths).toContain(p);
    }
    // model and version of the upload path when the manifest's own are unusable
    expect(out).toMatchObject({ model: 'builderbrain', version: '2.1.0' });
    const rejected = (await w.ledger.timeline(input.releaseId)).find((e) => e.type === 'rejected');
    expect(rejected?.detail).toEqual({ cause: 'invalid_manifest', severity: 'P3', issues: out.issues });
    expect(await w.artifacts.getObjectText({ bucket: BUCKET, key: input.source.key, versionId: 'v1' }, MAX_MANIFEST_BYTES)).toMatchObject({ text });
  });

  it('refuses a manifest over 256 KiB unread', async () => {
    const w = world();
    const input = upload(w, `{"pad":"${'x'.repeat(MAX_MANIFEST_BYTES)}"}`);
    const out = await validateManifest(input, w);
    expect(out.valid).toBe(false);
    expect(out.manifestSha256).toBe('');
    expect(out.issues).toEqual([{ path: '', message: expect.stringContaining('over the limit of 262144 bytes') }]);
  });

  it('text that is not JSON is invalid', async () => {
    const w = world();
    const out = await validateManifest(upload(w, '{"model": NaN}'), w);
    expect(out.issues).toEqual([{ path: '', message: expect.stringContaining('not valid JSON') }]);
  });

  it('a manifest whose model or version differs from its upload path is invalid', async () => {
    const w = world();
    const out = await validateManifest(upload(w, MANIFEST_TEXT, { version: '2.2.0' }), w);
    expect(out.valid).toBe(false);
    expect(out.issues).toEqual([{ path: 'version', message: '2.1.0 does not match the upload path models/builderbrain/2.2.0/release.json' }]);
    const other = await validateManifest(upload(w, MANIFEST_TEXT, { model: 'other-model' }), w);
    expect(other.issues.map((i) => i.path)).toEqual(['model']);
  });

  it('a missing object propagates as an error', async () => {
    const w = world();
    const input = upload(w);
    await expect(validateManifest({ ...input, source: { ...input.source, versionId: 'nope' } }, w)).rejects.toThrow(/NoSuchKey/);
  });
});
