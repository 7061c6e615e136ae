/**
 * ArtifactStore on S3. Nothing uploaded is ever modified; the only write is the pipeline's own
 * reports under `analysis/` ({@link S3ArtifactStore.putReport}).
 *
 * - {@link S3ArtifactStore.getObjectText}: one object version (GetObject with VersionId); a body
 *   over the limit (by Content-Length, before reading it) is refused unread and its stream discarded.
 * - {@link S3ArtifactStore.describeArtifact}: existence, size, version and whole-object SHA-256 of a
 *   model artifact. S3's stored checksum is used when it is a full-object SHA-256; otherwise the
 *   object version is streamed through a hash, chunk by chunk (artifacts are gigabytes: never
 *   buffered whole).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { base64ToHex, MAX_STREAMED_ARTIFACT_BYTES, type ArtifactFacts } from '../../core/deployment.js';
import { reportWriteIssue } from '../../core/post-rollback.js';
import type { ArtifactStore } from '../../core/ports.js';
import { AwsCallError, isAwsError } from './aws-errors.js';

/** The part of the SDK's streaming body we use. */
interface Body {
  transformToString(encoding?: string): Promise<string>;
  destroy?: () => void;
}

/** The streamed object did not have the length its HEAD reported (a truncated read): nothing was judged. Retrying can help. */
export class ArtifactLengthMismatchError extends Error {
  public constructor(
    /** `s3://bucket/key (version v)`. */
    public readonly resource: string,
    public readonly expectedBytes: number,
    public readonly hashedBytes: number,
  ) {
    super(`S3.GetObject on ${resource}: hashed ${hashedBytes} bytes but the object is ${expectedBytes} bytes long (truncated or changed while read); its SHA-256 was not established`);
    this.name = 'ArtifactLengthMismatch';
  }
}

/**
 * SHA-256 of a byte stream, hashed chunk by chunk as it arrives (memory stays at one chunk,
 * whatever the size of the object).
 *
 * @example await sha256OfStream(Readable.from([Buffer.from('ab'), Buffer.from('c')])) // { sha256: 'ba7816bf…', bytes: 3 }
 */
export async function sha256OfStream(stream: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * S3's stored SHA-256 as the object's digest, or null when it is not one. A COMPOSITE checksum (a
 * multipart upload: base64 of the hash of the parts' hashes, shown with a `-<parts>` suffix) is not
 * the SHA-256 of the object's bytes and cannot be compared with a manifest's.
 */
function fullObjectSha256(head: HeadObjectCommandOutput): string | null {
  const checksum = head.ChecksumSHA256;
  if (checksum === undefined || checksum === '') return null;
  const fullObject = head.ChecksumType === undefined ? !/-\d+$/.test(checksum) : head.ChecksumType === 'FULL_OBJECT';
  return fullObject ? base64ToHex(checksum) : null;
}

/** A report refused before any call: over its size limit, or outside `analysis/`. Permanent: a retry writes the same. */
export class ReportRefusedError extends Error {
  public readonly retryable = false;
  public constructor(
    /** `s3://bucket/key`. */
    public readonly resource: string,
    why: string,
  ) {
    super(`S3.PutObject on ${resource} not attempted: ${why}`);
    this.name = 'ReportRefused';
  }
}

const NOT_FOUND: ArtifactFacts = { exists: false, size: null, versionId: null, sha256: null, digestSource: null };

export class S3ArtifactStore implements ArtifactStore {
  public constructor(
    private readonly client: S3Client,
    /** Largest object streamed through SHA-256 (core/deployment.ts MAX_STREAMED_ARTIFACT_BYTES). */
    private readonly maxStreamBytes: number = MAX_STREAMED_ARTIFACT_BYTES,
  ) {}

  public async getObjectText(
    source: { bucket: string; key: string; versionId: string | null },
    maxBytes: number,
  ): Promise<{ text: string; tooLarge: boolean; size: number }> {
    const where = `s3://${source.bucket}/${source.key}${source.versionId === null ? '' : ` (version ${source.versionId})`}`;
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: source.bucket, Key: source.key, ...(source.versionId === null ? {} : { VersionId: source.versionId }) }),
      );
      const body = out.Body as Body | undefined;
      const length = out.ContentLength;
      if (length !== undefined && length > maxBytes) {
        body?.destroy?.();
        return { text: '', tooLarge: true, size: length };
      }
      const text = body === undefined ? '' : await body.transformToString('utf-8');
      const size = Buffer.byteLength(text, 'utf8');
      return size > maxBytes ? { text: '', tooLarge: true, size } : { text, tooLarge: false, size };
    } catch (err) {
      throw new AwsCallError('S3.GetObject', where, err);
    }
  }

  /**
   * One report object (PutObject, JSON): its size checked in UTF-8 bytes before the call (nothing
   * is sent over `maxBytes`), its key only under `analysis/` (what the role may write: lib/).
   */
  public async putReport(location: { bucket: string; key: string }, text: string, maxBytes: number): Promise<{ bytes: number }> {
    const where = `s3://${location.bucket}/${location.key}`;
    const { bytes, issue } = reportWriteIssue(location.key, text, maxBytes);
    if (issue !== null) throw new ReportRefusedError(where, issue);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: text, ContentType: 'application/json; charset=utf-8' }));
    } catch (err) {
      throw new AwsCallError('S3.PutObject', where, err);
    }
    return { bytes };
  }

  public async describeArtifact(location: { bucket: string; key: string }): Promise<ArtifactFacts> {
    const where = `s3://${location.bucket}/${location.key}`;
    let head: HeadObjectCommandOutput;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key, ChecksumMode: 'ENABLED' }));
    } catch (err) {
      // A HEAD has no error body: a missing key (or a delete marker) is a bare 404 `NotFound`.
      if (isAwsError(err, 'NotFound', 'NoSuchKey')) return NOT_FOUND;
      throw new AwsCallError('S3.HeadObject', where, err);
    }
    const size = head.ContentLength ?? null;
    const versionId = head.VersionId ?? null;
    const stored = fullObjectSha256(head);
    if (stored !== null) return { exists: true, size, versionId, sha256: stored, digestSource: 'checksum' };
    // Checked in bytes before reading: an object that cannot be hashed in Lambda's time is refused unread.
    if (size !== null && size > this.maxStreamBytes) return { exists: true, size, versionId, sha256: null, digestSource: null, tooLargeToStream: true };

    // Hash the very version the HEAD saw; in an unversioned bucket, the ETag pins the object instead.
    const version = versionId === null ? where : `${where} (version ${versionId})`;
    let digest: { sha256: string; bytes: number };
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          ...(versionId !== null ? { VersionId: versionId } : head.ETag !== undefined ? { IfMatch: head.ETag } : {}),
        }),
      );
      const body = out.Body as Partial<AsyncIterable<Uint8Array>> | undefined;
      if (body === undefined || typeof body[Symbol.asyncIterator] !== 'function') {
        throw new TypeError('the response body is not a byte stream');
      }
      digest = await sha256OfStream(body as AsyncIterable<Uint8Array>);
    } catch (err) {
      throw new AwsCallError('S3.GetObject', version, err);
    }
    if (size !== null && digest.bytes !== size) throw new ArtifactLengthMismatchError(version, size, digest.bytes);
    return { exists: true, size: size ?? digest.bytes, versionId, sha256: digest.sha256, digestSource: 'computed' };
  }
}
