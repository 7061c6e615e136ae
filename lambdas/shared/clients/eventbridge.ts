/** One SDK client's factory: a module per client (lambdas/README.md, "What an entry loads"). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** EventBridge, for the hand-over to the next environment's bus (lambdas/adapters/eventbridge-bus.ts). */
export const eventBridgeClient = (): EventBridgeClient => new EventBridgeClient(SDK_CLIENT_CONFIG);
