/**
 * ArtifactStore on S3: reads one object version (GetObject with VersionId), read-only — the
 * uploaded artifact is never modified. A body over the limit (by Content-Length, before reading it)
 * is refused unread and its stream discarded.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ArtifactStore } from '../../core/ports.js';
import { AwsCallError } from './aws-errors.js';

/** The part of the SDK's streaming body we use. */
interface Body {
  transformToString(encoding?: string): Promise<string>;
  destroy?: () => void;
}

export class S3ArtifactStore implements ArtifactStore {
  public constructor(private readonly client: S3Client) {}

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
}
