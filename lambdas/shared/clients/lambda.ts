/**
 * One SDK client's factory (lambdas/shared/clients/: a module per client, so a handler's bundle graph
 * holds only the clients it uses, which keeps esbuild's work per handler down: its rebuild time grows
 * with the modules in the graph, used or not).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** Lambda: the hooks' invoker, the alias router and the Lambda serving target. */
export const lambdaClient = (): LambdaClient => new LambdaClient(SDK_CLIENT_CONFIG);
