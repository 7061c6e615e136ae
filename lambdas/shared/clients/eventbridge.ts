/**
 * One SDK client's factory (lambdas/shared/clients/: a module per client, so a handler's bundle graph
 * holds only the clients it uses, which keeps esbuild's work per handler down: its rebuild time grows
 * with the modules in the graph, used or not).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SDK_CLIENT_CONFIG } from '../runtime.js';

/** EventBridge, for the hand-over to the next environment's bus (lambdas/adapters/eventbridge-bus.ts). */
export const eventBridgeClient = (): EventBridgeClient => new EventBridgeClient(SDK_CLIENT_CONFIG);
