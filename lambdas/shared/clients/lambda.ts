/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** Lambda: the hooks' invoker, the alias router and the Lambda serving target. */
export const lambdaClient = (): LambdaClient => new LambdaClient(SDK_CLIENT_CONFIG);
