import { describe, expect, it } from 'vitest';
import { MAX_RELEASE_ID_LENGTH, parseManifestKey, releaseIdFor } from '../../core/app/ids.js';
import { intake } from '../../core/app/intake.js';
import { PromotionInputSchema, ReleaseIdSchema } from '../../core/contracts.js';
import { BUCKET, MODEL, world } from './helpers.js';

const KEY = 'models/builderbrain/2.1.0/release.json';

describe('release ids', () => {
  it('is <model>-<version>-<8 hex>, deterministic per object version', () => {
    const a = releaseIdFor({ bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'e' });
    expect(a).toMatch(/^builderbrain-2_1_0-[0-9a-f]{8}$/);
    expect(releaseIdFor({ bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'other' })).toBe(a);
    expect(releaseIdFor({ bucket: BUCKET, key: KEY, versionId: 'v2', etag: 'e' })).not.toBe(a);
    // Without a version id (unversioned bucket) the etag identifies the object.
    expect(releaseIdFor({ bucket: BUCKET, key: KEY, versionId: null, etag: 'e1' })).not.toBe(releaseIdFor({ bucket: BUCKET, key: KEY, versionId: null, etag: 'e2' }));
  });

  it('replaces . and + and fits the longest model and version in 80 valid chars', () => {
    expect(releaseIdFor({ bucket: BUCKET, key: 'models/m/2.1.0-rc.1+b.7/release.json', versionId: 'v', etag: null })).toMatch(/^m-2_1_0-rc_1_b_7-[0-9a-f]{8}$/);
    const key = `models/${'a'.repeat(64)}/${'9'.repeat(30)}.0.0-${'x'.repeat(60)}/release.json`;
    const id = releaseIdFor({ bucket: BUCKET, key, versionId: 'v', etag: null });
    expect(id.length).toBeLessThanOrEqual(MAX_RELEASE_ID_LENGTH);
    expect(ReleaseIdSchema.safeParse(id).success).toBe(true);
    expect(id).toMatch(/-[0-9a-f]{8}$/);
  });

  it('parses only models/<model>/<version>/release.json', () => {
    expect(parseManifestKey(KEY)).toEqual({ model: 'builderbrain', version: '2.1.0' });
    for (const key of ['models/builderbrain/2.1.0/model.tar.gz', 'models/builderbrain/release.json', 'models/a/b/c/release.json', 'other/a/b/release.json']) {
      expect(parseManifestKey(key)).toBeNull();
    }
  });
});

describe('intake', () => {
  it('starts one promotion execution named by the release id, with a valid PromotionInput', async () => {
    const w = world();
    const out = await intake({ bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'e' }, { ...w, model: MODEL });
    expect(out.outcome).toBe('started');
    if (out.outcome === 'ignored') throw new Error('unreachable');
    const started = w.executions.executions.get(out.releaseId);
    expect(started?.executionArn).toBe(out.executionArn);
    const input = PromotionInputSchema.parse(started?.input);
    expect(input).toEqual({ releaseId: out.releaseId, source: { bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'e' }, receivedAt: '2025-03-01T10:00:00.000Z' });
  });

  it('a duplicate S3 event of the same object version starts nothing', async () => {
    const w = world();
    const source = { bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'e' };
    const first = await intake(source, { ...w, model: MODEL });
    w.clock.advance(1500);
    const second = await intake(source, { ...w, model: MODEL });
    expect(second).toEqual({ ...first, outcome: 'duplicate' });
    expect(w.executions.executions.size).toBe(1);
  });

  it('a new object version of the same key is a new release', async () => {
    const w = world();
    await intake({ bucket: BUCKET, key: KEY, versionId: 'v1', etag: 'e' }, { ...w, model: MODEL });
    const out = await intake({ bucket: BUCKET, key: KEY, versionId: 'v2', etag: 'f' }, { ...w, model: MODEL });
    expect(out.outcome).toBe('started');
    expect(w.executions.executions.size).toBe(2);
  });

  it('ignores other keys and other models, with a reason', async () => {
    const w = world();
    const artifact = await intake({ bucket: BUCKET, key: 'models/builderbrain/2.1.0/model.tar.gz', versionId: 'v1', etag: null }, { ...w, model: MODEL });
    expect(artifact).toEqual({ outcome: 'ignored', reason: expect.stringContaining('is not models/<model>/<version>/release.json') });
    const other = await intake({ bucket: BUCKET, key: 'models/other/1.0.0/release.json', versionId: 'v1', etag: null }, { ...w, model: MODEL });
    expect(other).toEqual({ outcome: 'ignored', reason: expect.stringContaining('this pipeline releases builderbrain') });
    expect(w.executions.executions.size).toBe(0);
  });
});
