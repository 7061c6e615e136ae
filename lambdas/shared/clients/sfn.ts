/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const sfnClient = (): SFNClient => new SFNClient(SDK_CLIENT_CONFIG);
