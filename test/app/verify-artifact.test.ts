/**
 * VerifyArtifact (core/app/verify-artifact.ts) on in-memory ports: the uploaded artifact must be an
 * object of the pipeline's bucket under the release's folder, exist, and have the manifest's SHA-256.
 * A failure is a result (RejectRelease rejects the release), never an exception; each verification
 * is audited once.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyArtifact } from '../../core/app/verify-artifact.js';
import { VerifyArtifactOutputSchema, type VerifyArtifactOutput } from '../../core/contracts.js';
import type { ArtifactStore } from '../../core/ports.js';
import { BUCKET, MODEL, world } from './helpers.js';

const RELEASE_ID = 'builderbrain-2_1_0-0a1b2c3d';
const KEY = `models/${MODEL}/2.1.0/model.tar.gz`;
const URI = `s3://${BUCKET}/${KEY}`;
const BYTES = new TextEncoder().encode('the weights of BuilderBrain 2.1.0');
const SHA = createHash('sha256').update(BYTES).digest('hex');
const OTHER = 'b'.repeat(64);

/** The ports, with the artifact store's describeArtifact calls counted. */
function setup() {
  const w = world();
  const described: { bucket: string; key: string }[] = [];
  const artifacts: ArtifactStore = {
    getObjectText: (s, max) => w.artifacts.getObjectText(s, max),
    describeArtifact: (l) => (described.push(l), w.artifacts.describeArtifact(l)),
    putReport: (l, text, max) => w.artifacts.putReport(l, text, max),
  };
  const deps = { artifacts, ledger: w.ledger, clock: w.clock, bucket: BUCKET };
  const verify = (uri = URI, sha256 = SHA) => verifyArtifact({ releaseId: RELEASE_ID, model: MODEL, version: '2.1.0', artifact: { uri, sha256 } }, deps);
  return { w, described, verify };
}

async function audited(w: ReturnType<typeof world>) {
  return (await w.ledger.timeline(RELEASE_ID)).filter((e) => e.type === 'artifact_verified');
}

describe('verifyArtifact', () => {
  it.each([
    ['another bucket', `s3://someone-elses-bucket/${KEY}`, /in bucket someone-elses-bucket; this pipeline deploys only from its own bucket bb-artifacts/],
    ["another release's folder", `s3://${BUCKET}/models/${MODEL}/2.0.9/model.tar.gz`, /is not an object under models\/builderbrain\/2\.1\.0\//],
    ['a path that climbs out of the folder', `s3://${BUCKET}/models/${MODEL}/2.1.0/../2.0.9/model.tar.gz`, /is not an object under/],
    ['the manifest itself', `s3://${BUCKET}/models/${MODEL}/2.1.0/release.json`, /names the manifest itself/],
    ['not an S3 URI', `https://${BUCKET}.s3.amazonaws.com/${KEY}`, /is not an s3:\/\/bucket\/key URI/],
  ])('%s: artifact_location, without looking at the store', async (_name, uri, message) => {
    const { w, described, verify } = setup();
    w.artifacts.putArtifact('someone-elses-bucket', KEY, BYTES);
    w.artifacts.putArtifact(BUCKET, `models/${MODEL}/2.0.9/model.tar.gz`, BYTES);
    const out = await verify(uri);
    expect(out).toEqual({ ok: false, reason: 'artifact_location', message: expect.stringMatching(message), sha256: null, digestSource: null, size: null, versionId: null });
    expect(described).toEqual([]);
    const events = await audited(w);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ eventId: 'artifact_verified', actor: 'step:VerifyArtifact', at: '2025-03-01T10:00:00.000Z' });
    expect(events[0]!.detail).toEqual({ ...out, expectedSha256: SHA, uri });
  });

  it('missing: artifact_missing, naming the URI', async () => {
    const { w, described, verify } = setup();
    const out = await verify();
    expect(out).toEqual({
      ok: false,
      reason: 'artifact_missing',
      message: `the artifact ${URI} does not exist (upload it before release.json)`,
      sha256: null,
      digestSource: null,
      size: null,
      versionId: null,
    });
    expect(described).toEqual([{ bucket: BUCKET, key: KEY }]);
    expect(await audited(w)).toHaveLength(1);
  });

  it("a different object: artifact_digest_mismatch with both digests (S3's stored checksum)", async () => {
    const { w, verify } = setup();
    w.artifacts.putArtifact(BUCKET, KEY, { size: 7_000_000_000, sha256: OTHER }, 'v3');
    const out = await verify();
    expect(out).toMatchObject({ ok: false, reason: 'artifact_digest_mismatch', sha256: OTHER, digestSource: 'checksum', size: 7_000_000_000, versionId: 'v3' });
    expect(out.message).toContain(OTHER);
    expect(out.message).toContain(SHA);
    expect(out.message).toBe(`the SHA-256 of ${URI} is ${OTHER} (S3's stored checksum), the manifest says ${SHA}: the uploaded artifact is not the one the gates judged`);
    const events = await audited(w);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({ reason: 'artifact_digest_mismatch', sha256: OTHER, expectedSha256: SHA, uri: URI });
  });

  it('a different object, hashed by streaming: the message says so', async () => {
    const { verify, w } = setup();
    w.artifacts.putArtifact(BUCKET, KEY, BYTES);
    const out = await verify(URI, OTHER);
    expect(out).toMatchObject({ ok: false, reason: 'artifact_digest_mismatch', sha256: SHA, digestSource: 'computed' });
    expect(out.message).toBe(`the SHA-256 of ${URI} is ${SHA} (computed by streaming the object), the manifest says ${OTHER}: the uploaded artifact is not the one the gates judged`);
  });

  it.each<[string, (w: ReturnType<typeof world>) => void, Partial<VerifyArtifactOutput>, string]>([
    ['hashed by streaming', (w) => w.artifacts.putArtifact(BUCKET, KEY, BYTES), { digestSource: 'computed', size: BYTES.byteLength, versionId: null }, `(${BYTES.byteLength} bytes) has the manifest's SHA-256 (computed by streaming)`],
    ["S3's stored checksum, versioned", (w) => w.artifacts.putArtifact(BUCKET, KEY, { size: 7_000_000_000, sha256: SHA }, 'v3'), { digestSource: 'checksum', size: 7_000_000_000, versionId: 'v3' }, "(7000000000 bytes, version v3) has the manifest's SHA-256 (S3's stored checksum)"],
  ])('the manifest\'s digest (%s): ok, audited once', async (_name, put, facts, message) => {
    const { w, verify } = setup();
    put(w);
    const out = await verify();
    expect(VerifyArtifactOutputSchema.parse(out)).toEqual(out);
    expect(out).toEqual({ ok: true, reason: null, message: `${URI} ${message}`, sha256: SHA, ...facts });
    // A retried step does not record the verification twice.
    await verify();
    const events = await audited(w);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toEqual({ ...out, expectedSha256: SHA, uri: URI });
  });
});
