import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { S3ArtifactStore } from '../../lambdas/adapters/s3-artifacts.js';
import { ONE_ATTEMPT, awsError, internal } from './aws-helpers.js';

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
