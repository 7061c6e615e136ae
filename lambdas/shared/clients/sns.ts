/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { SNSClient } from '@aws-sdk/client-sns';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

export const snsClient = (): SNSClient => new SNSClient(SDK_CLIENT_CONFIG);
