/**
 * UpstreamArtifacts on S3: the receiving side of a hand-over copies the promoted artifact from the
 * previous environment's bucket (another account: its bucket policy and KMS key policy admit this
 * pipeline's role) into this pipeline's own bucket.
 *
 * {@link S3UpstreamArtifacts.copy} streams GetObject's body through a SHA-256 hashing transform
 * straight into a multipart upload (@aws-sdk/lib-storage `Upload`): memory stays at a few parts
 * (`queueSize` × `partSize`), whatever the size of the artifact (up to S3's 5 TB object limit; the
 * part size grows with the object so it stays within 10,000 parts). The digest returned is of the
 * very bytes written. The object is written with the bucket's default encryption (its KMS key): no
 * key is set here.
 *
 * | what happens | result |
 * |---|---|
 * | copied | `{ sha256, size, error: null }` |
 * | the source cannot be read for good (NoSuchKey, AccessDenied, a KMS refusal, …) | `{ sha256: null, size: null, error: '<code>: <message>' }`: the hand-over is refused (core/handover.ts) |
 * | the source failed in a way that trying again can fix (throttling, 5xx once the SDK's retries are spent, the body breaking off or shorter than its Content-Length) | thrown ({@link AwsCallError} / ArtifactLengthMismatch): the invocation is retried, nothing is refused |
 * | this bucket refuses the write | thrown ({@link AwsCallError}, `S3.Upload`); a multipart upload is aborted, no part left behind |
 *
 * A body that breaks off or ends short fails the upload before it completes: a truncated artifact is
 * never written.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { UpstreamArtifacts } from '../../core/ports.js';
import { AwsCallError, call, errorName, isRetryable } from './aws-errors.js';
import { ArtifactLengthMismatchError } from './s3-artifacts.js';

/** S3's limit on the parts of a multipart upload. */
const MAX_PARTS = 10_000;
const MiB = 1024 * 1024;
/** S3's smallest part (all but the last). */
const MIN_PART_SIZE = 5 * MiB;

export interface UpstreamCopyOptions {
  /** Bytes per part (at least 5 MiB, S3's minimum; raised for objects that would need more than 10,000 parts). */
  readonly partSize?: number;
  /** Parts uploaded at once (each buffered in memory). */
  readonly queueSize?: number;
}

/** Passes bytes through unchanged, hashing and counting them; ends in error when fewer or more bytes came than announced. */
class Sha256Transform extends Transform {
  private readonly hash: Hash = createHash('sha256');
  public bytes = 0;
  public sha256: string | null = null;

  public constructor(
    private readonly expectedBytes: number | null,
    private readonly resource: string,
  ) {
    super();
  }

  public override _transform(chunk: Buffer | Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    callback(null, chunk);
  }

  public override _flush(callback: TransformCallback): void {
    if (this.expectedBytes !== null && this.bytes !== this.expectedBytes) {
      callback(new ArtifactLengthMismatchError(this.resource, this.expectedBytes, this.bytes));
      return;
    }
    this.sha256 = this.hash.digest('hex');
    callback();
  }
}

/** The SDK's body as a Node stream (it is one in Node; a bare async iterable is wrapped). */
function asReadable(body: GetObjectCommandOutput['Body']): Readable {
  if (body instanceof Readable) return body;
  if (body !== undefined && typeof (body as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] === 'function') {
    return Readable.from(body as AsyncIterable<Uint8Array>);
  }
  throw new TypeError('the response body is not a byte stream');
}

const errorText = (err: unknown): string => `${errorName(err)}: ${err instanceof Error ? err.message : String(err)}`;

export class S3UpstreamArtifacts implements UpstreamArtifacts {
  private readonly partSize: number;
  private readonly queueSize: number;

  public constructor(
    private readonly client: S3Client,
    options: UpstreamCopyOptions = {},
  ) {
    this.partSize = Math.max(MIN_PART_SIZE, options.partSize ?? 16 * MiB);
    this.queueSize = Math.max(1, options.queueSize ?? 4);
  }

  public async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
  ): Promise<{ sha256: string | null; size: number | null; error: string | null }> {
    const source = `s3://${from.bucket}/${from.key}`;
    const target = `s3://${to.bucket}/${to.key}`;
    let got: GetObjectCommandOutput;
    try {
      got = await this.client.send(new GetObjectCommand({ Bucket: from.bucket, Key: from.key }));
    } catch (err) {
      // Throttling or a 5xx: the next try may read it. Anything else (missing, denied): it cannot be read.
      if (isRetryable(err)) throw new AwsCallError('S3.GetObject', source, err);
      return { sha256: null, size: null, error: errorText(err) };
    }

    let body: Readable;
    try {
      body = asReadable(got.Body);
    } catch (err) {
      throw new AwsCallError('S3.GetObject', source, err);
    }
    const length = got.ContentLength ?? null;
    const hashing = new Sha256Transform(length, source);
    let readError: unknown = null;
    body.once('error', (err) => {
      readError = err;
      hashing.destroy(err);
    });
    hashing.once('error', (err) => {
      if (readError === null && err instanceof ArtifactLengthMismatchError) readError = err;
    });
    body.pipe(hashing);

    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: to.bucket,
        Key: to.key,
        Body: hashing,
        ...(length === null ? {} : { ContentLength: length }),
        ...(got.ContentType === undefined ? {} : { ContentType: got.ContentType }),
      },
      partSize: length === null ? this.partSize : Math.max(this.partSize, Math.ceil(length / MAX_PARTS)),
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      hashing.destroy();
      if (readError instanceof ArtifactLengthMismatchError) throw readError;
      if (readError !== null) throw new AwsCallError('S3.GetObject', `${source} (reading the body)`, readError);
      throw new AwsCallError('S3.Upload', target, err);
    }
    if (hashing.sha256 === null) throw new AwsCallError('S3.GetObject', source, new Error('the body ended without being hashed'));
    return { sha256: hashing.sha256, size: hashing.bytes, error: null };
  }

  public async putManifest(to: { bucket: string; key: string }, text: string): Promise<{ versionId: string | null }> {
    const out = await call('S3.PutObject', `s3://${to.bucket}/${to.key}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: to.bucket, Key: to.key, Body: text, ContentType: 'application/json' })),
    );
    return { versionId: out.VersionId ?? null };
  }
}
