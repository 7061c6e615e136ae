import { STEP_ROLLBACK } from '../../core/steps.js';
import { stepEntry } from '../shared/entry.js';
import { rollbackPorts } from '../shared/rollback-ports.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_ROLLBACK, createHandler, async (env) => ({ ...(await rollbackPorts(env)), model: env.model, warmup: env.alarmWarmup, bucket: env.artifactBucket }));
