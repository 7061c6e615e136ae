/** S3ArtifactStore.putReport: the post-rollback report written under analysis/, its size checked before the call. */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { analysisKey } from '../../core/post-rollback.js';
import { ReportRefusedError, S3ArtifactStore } from '../../lambdas/adapters/s3-artifacts.js';
import { ONE_ATTEMPT, denied, internal } from './aws-helpers.js';

const s3 = mockClient(S3Client);
const store = new S3ArtifactStore(new S3Client(ONE_ATTEMPT));
const location = { bucket: 'bb-artifacts', key: analysisKey('builderbrain-2_1_0-0123abcd') };

beforeEach(() => s3.reset());

describe('S3ArtifactStore.putReport', () => {
  it('puts the JSON at its key and answers its size in UTF-8 bytes', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    expect(await store.putReport(location, '{"a":"été"}', 1024)).toEqual({ bytes: 13 });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'bb-artifacts',
      Key: 'analysis/builderbrain-2_1_0-0123abcd.json',
      Body: '{"a":"été"}',
      ContentType: 'application/json; charset=utf-8',
    });
  });

  it('refuses a report over its limit (in bytes, not characters) without calling S3', async () => {
    await expect(store.putReport(location, 'é'.repeat(600), 1024)).rejects.toMatchObject({ name: 'ReportRefused', retryable: false, message: expect.stringContaining('1200 bytes, over its limit of 1024') });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it.each(['models/builderbrain/2.1.0/release.json', 'analysis/../models/x/release.json', 'other/analysis/x.json'])('refuses a key outside analysis/: %s', async (key) => {
    await expect(store.putReport({ bucket: 'bb-artifacts', key }, '{}', 1024)).rejects.toBeInstanceOf(ReportRefusedError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('access denied is permanent, a 5xx retryable; both name the object', async () => {
    s3.on(PutObjectCommand).rejects(denied());
    await expect(store.putReport(location, '{}', 1024)).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('S3.PutObject on s3://bb-artifacts/analysis/builderbrain-2_1_0-0123abcd.json') });
    s3.on(PutObjectCommand).rejects(internal());
    await expect(store.putReport(location, '{}', 1024)).rejects.toMatchObject({ name: 'InternalFailure', retryable: true });
  });
});
