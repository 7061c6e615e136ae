import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsCallError } from '../../lambdas/adapters/aws-errors.js';
import { S3ArtifactStore, sha256OfStream } from '../../lambdas/adapters/s3-artifacts.js';
import { judgeArtifact } from '../../core/deployment.js';
import { ONE_ATTEMPT, awsError, denied, internal } from './aws-helpers.js';

const s3 = mockClient(S3Client);
const store = new S3ArtifactStore(new S3Client(ONE_ATTEMPT));
const source = { bucket: 'bb-artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1' };

function body(text: string) {
  return { transformToString: vi.fn(async () => text), destroy: vi.fn() };
}

beforeEach(() => s3.reset());

describe('S3ArtifactStore', () => {
  it('reads the exact object version', async () => {
    s3.on(GetObjectCommand).resolves({ ContentLength: 11, Body: body('{"a":"été"}') as never });
    expect(await store.getObjectText(source, 1024)).toEqual({ text: '{"a":"été"}', tooLarge: false, size: 13 });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'bb-artifacts', Key: source.key, VersionId: 'v1' });
    await store.getObjectText({ ...source, versionId: null }, 1024);
    expect(s3.commandCalls(GetObjectCommand)[1]!.args[0].input).not.toHaveProperty('VersionId');
  });

  it('refuses a body over the limit by Content-Length, without reading it', async () => {
    const b = body('x');
    s3.on(GetObjectCommand).resolves({ ContentLength: 300_000, Body: b as never });
    expect(await store.getObjectText(source, 262_144)).toEqual({ text: '', tooLarge: true, size: 300_000 });
    expect(b.transformToString).not.toHaveBeenCalled();
    expect(b.destroy).toHaveBeenCalled();
  });

  it('a missing object is a permanent error naming the object', async () => {
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404, 'The specified key does not exist.'));
    await expect(store.getObjectText(source, 1024)).rejects.toMatchObject({
      name: 'NoSuchKey',
      retryable: false,
      message: expect.stringContaining('S3.GetObject on s3://bb-artifacts/models/builderbrain/2.1.0/release.json (version v1) failed'),
    });
  });

  it('a 5xx surfaces as a retryable error', async () => {
    s3.on(GetObjectCommand).rejects(internal());
    await expect(store.getObjectText(source, 1024)).rejects.toMatchObject({ name: 'InternalFailure', retryable: true });
  });
});

describe('S3ArtifactStore.describeArtifact', () => {
  const artifact = { bucket: 'bb-artifacts', key: 'models/builderbrain/2.1.0/model.tar.gz' };
  // Several chunks of different sizes, one of them multi-byte text, so chunk boundaries matter.
  const chunks = [Buffer.alloc(70_000, 7), Buffer.from('tête-à-tête', 'utf8'), Buffer.alloc(1, 255), Buffer.alloc(131_072, 42)];
  const whole = Buffer.concat(chunks);
  const sha256Hex = createHash('sha256').update(whole).digest('hex');
  const sha256B64 = createHash('sha256').update(whole).digest('base64');
  const stream = () => Readable.from(chunks);
  const head = (i = 0) => s3.commandCalls(HeadObjectCommand)[i]!.args[0].input;
  const get = (i = 0) => s3.commandCalls(GetObjectCommand)[i]!.args[0].input;

  it("uses S3's full-object SHA-256 checksum without reading the object", async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length, VersionId: 'v3', ChecksumSHA256: sha256B64, ChecksumType: 'FULL_OBJECT' });
    expect(await store.describeArtifact(artifact)).toEqual({ exists: true, size: whole.length, versionId: 'v3', sha256: sha256Hex, digestSource: 'checksum' });
    expect(head()).toEqual({ Bucket: 'bb-artifacts', Key: artifact.key, ChecksumMode: 'ENABLED' });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('a checksum without ChecksumType and without a part count is a full-object one', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length, ChecksumSHA256: sha256B64 });
    expect(await store.describeArtifact(artifact)).toMatchObject({ sha256: sha256Hex, digestSource: 'checksum', versionId: null });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it.each([
    ['ChecksumType COMPOSITE', { ChecksumSHA256: `${sha256B64}-3`, ChecksumType: 'COMPOSITE' as const }],
    ['a "-<parts>" suffix and no ChecksumType', { ChecksumSHA256: 'KXxjG+0Ou1PJcr2lPMGq1nMOr2HMjwiaqQVv0hXoJ14=-12' }],
    ['no checksum at all', {}],
  ])('%s: streams the exact version through SHA-256 and checks the length', async (_, checksum) => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length, VersionId: 'v3', ETag: '"etag-1"', ...checksum });
    s3.on(GetObjectCommand).resolves({ ContentLength: whole.length, Body: stream() as never });
    expect(await store.describeArtifact(artifact)).toEqual({ exists: true, size: whole.length, versionId: 'v3', sha256: sha256Hex, digestSource: 'computed' });
    expect(get()).toEqual({ Bucket: 'bb-artifacts', Key: artifact.key, VersionId: 'v3' });
  });

  it('in an unversioned bucket the read is pinned to the ETag the HEAD saw', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length, ETag: '"etag-1"' });
    s3.on(GetObjectCommand).resolves({ Body: stream() as never });
    expect(await store.describeArtifact(artifact)).toMatchObject({ versionId: null, sha256: sha256Hex, digestSource: 'computed' });
    expect(get()).toEqual({ Bucket: 'bb-artifacts', Key: artifact.key, IfMatch: '"etag-1"' });
  });

  it.each([
    ['NotFound', 404],
    ['NoSuchKey', 404],
  ])('a missing artifact (%s) does not exist', async (name, status) => {
    s3.on(HeadObjectCommand).rejects(awsError(name, status));
    expect(await store.describeArtifact(artifact)).toEqual({ exists: false, size: null, versionId: null, sha256: null, digestSource: null });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('a stream shorter than the HEAD length is an error, not a digest', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length + 1, VersionId: 'v3' });
    s3.on(GetObjectCommand).resolves({ Body: stream() as never });
    await expect(store.describeArtifact(artifact)).rejects.toMatchObject({
      name: 'ArtifactLengthMismatch',
      expectedBytes: whole.length + 1,
      hashedBytes: whole.length,
      message: expect.stringContaining('s3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz (version v3)'),
    });
  });

  it('AccessDenied on the HEAD is an AwsCallError naming the object', async () => {
    s3.on(HeadObjectCommand).rejects(awsError('AccessDenied', 403, 'Access Denied'));
    const err = await store.describeArtifact(artifact).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err).toMatchObject({ name: 'AccessDenied', retryable: false, operation: 'S3.HeadObject', resource: 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz' });
  });

  it('a failing GetObject or a stream that breaks mid-way is an AwsCallError of S3.GetObject', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: whole.length, VersionId: 'v3' });
    s3.on(GetObjectCommand).rejectsOnce(denied()).resolvesOnce({
      Body: Readable.from(
        (async function* () {
          yield chunks[0]!;
          throw Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
        })(),
      ) as never,
    });
    await expect(store.describeArtifact(artifact)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'S3.GetObject' });
    await expect(store.describeArtifact(artifact)).rejects.toMatchObject({ name: 'ECONNRESET', operation: 'S3.GetObject', message: expect.stringContaining('socket hang up') });
  });

  it('a 5xx on the HEAD is retryable', async () => {
    s3.on(HeadObjectCommand).rejects(internal());
    await expect(store.describeArtifact(artifact)).rejects.toMatchObject({ name: 'InternalFailure', retryable: true });
  });
});

describe('S3ArtifactStore.describeArtifact: artifacts too large to stream', () => {
  beforeEach(() => s3.reset());

  it('an object without a full-object checksum over the streaming limit is refused unread (no GetObject)', async () => {
    const small = new S3ArtifactStore(new S3Client(ONE_ATTEMPT), 1000);
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1001, VersionId: 'v9' });
    const facts = await small.describeArtifact({ bucket: 'bb', key: 'models/m/1.0.0/model.tar.gz' });
    expect(facts).toEqual({ exists: true, size: 1001, versionId: 'v9', sha256: null, digestSource: null, tooLargeToStream: true });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    // judged as a rejection that says what to do
    const verdict = judgeArtifact('a'.repeat(64), 's3://bb/models/m/1.0.0/model.tar.gz', facts);
    expect(verdict).toMatchObject({ ok: false, reason: 'artifact_digest_mismatch' });
    expect(verdict.message).toContain('--checksum-algorithm SHA256');
  });

  it('the same object with S3\'s full-object checksum is verified from the checksum, whatever its size', async () => {
    const small = new S3ArtifactStore(new S3Client(ONE_ATTEMPT), 1000);
    const hex = createHash('sha256').update('x').digest();
    s3.on(HeadObjectCommand).resolves({ ContentLength: 10 ** 12, VersionId: 'v9', ChecksumSHA256: hex.toString('base64'), ChecksumType: 'FULL_OBJECT' });
    const facts = await small.describeArtifact({ bucket: 'bb', key: 'models/m/1.0.0/model.tar.gz' });
    expect(facts).toMatchObject({ sha256: hex.toString('hex'), digestSource: 'checksum' });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});

describe('sha256OfStream', () => {
  it('hashes chunk by chunk to the digest of the whole', async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(0), Buffer.from('abc')];
    expect(await sha256OfStream(Readable.from(parts))).toEqual({ sha256: createHash('sha256').update(Buffer.concat(parts)).digest('hex'), bytes: 6 });
    expect(await sha256OfStream(Readable.from([]))).toEqual({ sha256: createHash('sha256').digest('hex'), bytes: 0 });
  });
});
