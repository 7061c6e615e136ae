/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const cloudWatchClient = (): CloudWatchClient => new CloudWatchClient(SDK_CLIENT_CONFIG);
