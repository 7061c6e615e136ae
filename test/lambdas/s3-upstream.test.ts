/**
 * S3UpstreamArtifacts (lambdas/adapters/s3-upstream.ts): the previous environment's artifact
 * streamed through SHA-256 into this pipeline's bucket — the digest of exactly the bytes written,
 * across chunk and part boundaries; a source that cannot be read reported (the hand-over is then
 * refused), a transient or truncated read thrown (retried) without completing the write; the
 * release.json written as JSON.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3UpstreamArtifacts } from '../../lambdas/adapters/s3-upstream.js';
import { ONE_ATTEMPT, awsError, denied, internal } from './aws-helpers.js';

const s3 = mockClient(S3Client);
const from = { bucket: 'bb-staging-artifacts', key: 'models/builderbrain/2.1.0/model.tar.gz' };
const to = { bucket: 'bb-pre-production-artifacts', key: 'models/builderbrain/2.1.0/model.tar.gz' };
const MiB = 1024 * 1024;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const asBuffer = (body: unknown): Buffer => {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new Error(`unexpected body ${typeof body}`);
};

/** Chunks of uneven sizes (a multi-byte character cut between two), as a socket delivers them. */
function chunksOf(total: number): Buffer[] {
  const whole = Buffer.alloc(total);
  for (let i = 0; i < total; i++) whole[i] = (i * 31 + (i >> 11)) & 0xff;
  const text = Buffer.from('tête-à-tête', 'utf8');
  text.copy(whole, 1000);
  const out: Buffer[] = [];
  const sizes = [1003, 65_536, 7, 300_001, 1];
  for (let at = 0, i = 0; at < total; i++) {
    const n = Math.min(sizes[i % sizes.length]!, total - at);
    out.push(whole.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** What the destination received: a single PutObject's body, or the parts of a multipart upload in order. */
function written(): Buffer {
  const put = s3.commandCalls(PutObjectCommand);
  if (put.length > 0) return asBuffer(put[0]!.args[0].input.Body);
  const parts = s3
    .commandCalls(UploadPartCommand)
    .map((c) => c.args[0].input)
    .sort((a, b) => a.PartNumber! - b.PartNumber!);
  return Buffer.concat(parts.map((p) => asBuffer(p.Body)));
}

function mockDestination() {
  s3.on(PutObjectCommand).resolves({ VersionId: 'v-put' });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u-1' });
  s3.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({ ETag: `"etag-${input.PartNumber}"` }));
  s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'v-mpu' });
  s3.on(AbortMultipartUploadCommand).resolves({});
}

beforeEach(() => {
  s3.reset();
  mockDestination();
});

describe('S3UpstreamArtifacts.copy', () => {
  it('hashes a multi-chunk stream as it copies it in one put: the digest of exactly the bytes written', async () => {
    const chunks = chunksOf(1_200_000);
    const whole = Buffer.concat(chunks);
    s3.on(GetObjectCommand).resolves({ ContentLength: whole.length, ContentType: 'application/gzip', Body: Readable.from(chunks) as never });
    const result = await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to);
    expect(result).toEqual({ sha256: sha256(whole), size: whole.length, error: null });
    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: from.bucket, Key: from.key });
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: to.bucket, Key: to.key, ContentType: 'application/gzip' });
    // The bucket's default encryption applies: no key set here.
    expect(put).not.toHaveProperty('SSEKMSKeyId');
    expect(put).not.toHaveProperty('ServerSideEncryption');
    expect(written().equals(whole)).toBe(true);
  });

  it('a large object goes up in parts; the digest spans chunk and part boundaries', async () => {
    const chunks = chunksOf(12 * MiB + 12_345);
    const whole = Buffer.concat(chunks);
    s3.on(GetObjectCommand).resolves({ ContentLength: whole.length, Body: Readable.from(chunks) as never });
    const result = await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT), { partSize: 5 * MiB, queueSize: 2 }).copy(from, to);
    expect(result).toEqual({ sha256: sha256(whole), size: whole.length, error: null });
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]!.args[0].input).toMatchObject({ Bucket: to.bucket, Key: to.key });
    expect(written().equals(whole)).toBe(true);
  });

  it('the digest is of the bytes, not a constant: another byte, another digest', async () => {
    const a = chunksOf(70_000);
    const b = chunksOf(70_000).map((c) => Buffer.from(c));
    b[1]![5] = b[1]![5]! ^ 1;
    s3.on(GetObjectCommand).resolvesOnce({ ContentLength: 70_000, Body: Readable.from(a) as never }).resolvesOnce({ ContentLength: 70_000, Body: Readable.from(b) as never });
    const store = new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT));
    const first = await store.copy(from, to);
    const second = await store.copy(from, to);
    expect(first.sha256).toBe(sha256(Buffer.concat(a)));
    expect(second.sha256).toBe(sha256(Buffer.concat(b)));
    expect(second.sha256).not.toBe(first.sha256);
  });

  it('NoSuchKey: reported, nothing written', async () => {
    s3.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404, 'The specified key does not exist.'));
    const result = await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to);
    expect(result).toEqual({ sha256: null, size: null, error: 'NoSuchKey: The specified key does not exist.' });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it("AccessDenied on the other account's bucket (or its key): reported", async () => {
    s3.on(GetObjectCommand).rejects(awsError('AccessDenied', 403, 'Access Denied'));
    expect(await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to)).toEqual({ sha256: null, size: null, error: 'AccessDenied: Access Denied' });
    s3.on(GetObjectCommand).rejects(denied());
    expect((await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to)).error).toMatch(/^AccessDeniedException: /);
  });

  it('a 5xx once the SDK gave up is thrown (retryable), not reported as unreadable', async () => {
    s3.on(GetObjectCommand).rejects(internal());
    await expect(new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to)).rejects.toMatchObject({
      name: 'InternalFailure',
      retryable: true,
      message: expect.stringContaining(`S3.GetObject on s3://${from.bucket}/${from.key} failed`),
    });
  });

  it('a body shorter than its Content-Length is thrown, and the write never completes', async () => {
    const chunks = chunksOf(100_000);
    s3.on(GetObjectCommand).resolves({ ContentLength: 100_001, Body: Readable.from(chunks) as never });
    await expect(new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to)).rejects.toMatchObject({
      name: 'ArtifactLengthMismatch',
      expectedBytes: 100_001,
      hashedBytes: 100_000,
    });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('a body that breaks off mid-stream is thrown as a read failure; a started multipart upload is aborted', async () => {
    async function* breaking() {
      yield Buffer.alloc(6 * MiB, 1);
      await new Promise((r) => setTimeout(r, 5));
      throw Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
    }
    s3.on(GetObjectCommand).resolves({ ContentLength: 20 * MiB, Body: Readable.from(breaking()) as never });
    await expect(new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT), { partSize: 5 * MiB }).copy(from, to)).rejects.toMatchObject({
      name: 'ECONNRESET',
      message: expect.stringContaining(`S3.GetObject on s3://${from.bucket}/${from.key} (reading the body) failed: ECONNRESET: socket hang up`),
    });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("this bucket refusing the write is thrown naming it (not reported as the source's fault)", async () => {
    s3.on(GetObjectCommand).resolves({ ContentLength: 10, Body: Readable.from([Buffer.from('0123456789')]) as never });
    s3.on(PutObjectCommand).rejects(awsError('AccessDenied', 403, 'Access Denied'));
    await expect(new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).copy(from, to)).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(`S3.Upload on s3://${to.bucket}/${to.key} failed: AccessDenied`),
    });
  });
});

describe('S3UpstreamArtifacts.putManifest', () => {
  it('writes the text as application/json and returns the version', async () => {
    const text = '{\n  "model": "builderbrain"\n}\n';
    const result = await new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT)).putManifest({ bucket: to.bucket, key: 'models/builderbrain/2.1.0/release.json' }, text);
    expect(result).toEqual({ versionId: 'v-put' });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({ Bucket: to.bucket, Key: 'models/builderbrain/2.1.0/release.json', Body: text, ContentType: 'application/json' });
  });

  it('an unversioned bucket: null; a refusal is thrown naming the object', async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).rejectsOnce(denied());
    const store = new S3UpstreamArtifacts(new S3Client(ONE_ATTEMPT));
    expect(await store.putManifest({ bucket: to.bucket, key: 'k' }, '{}')).toEqual({ versionId: null });
    await expect(store.putManifest({ bucket: to.bucket, key: 'k' }, '{}')).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining(`S3.PutObject on s3://${to.bucket}/k failed`) });
  });
});
