import { STEP_HAND_OVER } from '../../core/steps.js';
import { DynamoLedger } from '../adapters/dynamodb-ledger.js';
import { EventBridgeHandoverBus } from '../adapters/eventbridge-bus.js';
import { S3ArtifactStore } from '../adapters/s3-artifacts.js';
import { systemClock } from '../shared/runtime.js';
import { documentClient } from '../shared/clients/dynamodb.js';
import { s3Client } from '../shared/clients/s3.js';
import { eventBridgeClient } from '../shared/clients/eventbridge.js';
import { stepEntry } from '../shared/entry.js';
import { createHandler } from './handler.js';

// `environment` (BB_ENVIRONMENT_JSON: the next environment's bus) is mapped by stepEntry.
export const handler = await stepEntry(STEP_HAND_OVER, createHandler, (env) => ({
  ledger: new DynamoLedger(documentClient(), env.tableName),
  artifacts: new S3ArtifactStore(s3Client()),
  bus: new EventBridgeHandoverBus(eventBridgeClient()),
  clock: systemClock,
}));
