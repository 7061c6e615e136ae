/**
 * One SDK client's factory (lambdas/shared/clients/: a module per client, so a handler's bundle graph
 * holds only the clients it uses, which keeps esbuild's work per handler down: its rebuild time grows
 * with the modules in the graph, used or not).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const cloudWatchClient = (): CloudWatchClient => new CloudWatchClient(SDK_CLIENT_CONFIG);
