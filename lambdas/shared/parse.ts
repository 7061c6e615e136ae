import type { z } from 'zod';
import { parseOrThrow } from '../../core/validation.js';

/**
 * Parses a handler's event with its contract schema, or throws InvalidInputError naming every bad
 * field by its path (`invalid AnalyzeCanary event: phase.startedAt: Invalid ISO datetime`). Zod's
 * messages name expectations, not values, so a task token never ends up in the error.
 */
export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, what: string): z.output<S> {
  return parseOrThrow(schema, event, `${what} event`);
}
