/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { S3Client } from '@aws-sdk/client-s3';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const s3Client = (): S3Client => new S3Client(SDK_CLIENT_CONFIG);
