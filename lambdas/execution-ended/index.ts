import { STEP_EXECUTION_ENDED } from '../../core/steps.js';
import { stepEntry } from '../shared/entry.js';
import { rollbackPorts } from '../shared/rollback-ports.js';
import { createHandler } from './handler.js';

export const handler = await stepEntry(STEP_EXECUTION_ENDED, createHandler, (env) => rollbackPorts(env));
