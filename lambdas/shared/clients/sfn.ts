/**
 * One SDK client's factory (lambdas/shared/clients/: a module per client, so a handler's bundle graph
 * holds only the clients it uses, which keeps esbuild's work per handler down: its rebuild time grows
 * with the modules in the graph, used or not).
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const sfnClient = (): SFNClient => new SFNClient(SDK_CLIENT_CONFIG);
