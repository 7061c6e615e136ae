/**
 * The one shape of every handler (lambdas/<name>/handler.ts): parse the event at the edge, call one
 * use case, report what happened (a log line, business metrics), return the use case's result.
 * No AWS import: the entries (index.ts) wire the adapters, the embedded runtime in-memory ports.
 */
import type { z } from 'zod';
import { parseEvent } from './parse.js';
import { noTelemetry, silentLog, type Log, type Observability, type Telemetry } from './ports.js';

/** What a handler answers for an event it has nothing to do with (an alarm back to OK, a status it does not handle). */
export interface Ignored {
  readonly outcome: 'ignored';
  readonly message: string;
}

/** Returned by a step's `parse` for an event to ignore: the handler logs the message and answers {@link Ignored}. */
export class Skip {
  // A private member makes the class nominal: no parsed input is ever mistaken for a Skip.
  readonly #skip = true;
  public constructor(public readonly message: string) {}
}

/** The observability a step's report and error hooks get (silent when the deps have none). */
export interface StepObservability {
  readonly log: Log;
  readonly telemetry: Telemetry;
}

export interface StepDefinition<P, O, D> {
  /** The event, parsed: into the use case's input, or a {@link Skip}. Throws InvalidInputError naming each bad field. */
  readonly parse: (event: unknown, deps: D) => P;
  /** The use case. */
  readonly run: (input: Exclude<P, Skip>, deps: D) => Promise<O>;
  /** What is logged and counted once the use case has answered. */
  readonly report?: (out: O, input: Exclude<P, Skip>, obs: StepObservability) => void;
  /** What is counted when the use case throws (the error is rethrown). */
  readonly onError?: (err: unknown, obs: StepObservability) => void;
}

/**
 * A `parse` that validates the event with a contract schema (core/contracts.ts).
 *
 * @example parse: withSchema(GatesInputSchema, 'RunGates') // a bad event: "invalid RunGates event: manifest: …"
 */
export function withSchema<S extends z.ZodType>(schema: S, what: string): (event: unknown) => z.output<S> {
  return (event) => parseEvent(schema, event, what);
}

/** What a step's handler answers: the use case's result, or {@link Ignored} when its parse can skip. */
export type StepResult<P, O> = Skip extends P ? O | Ignored : O;

/**
 * A handler factory: `createHandler(deps)` returns `async (event) => result`.
 *
 * @example
 * export const createHandler = defineStep({ parse: withSchema(GatesInputSchema, 'RunGates'), run: runGates });
 */
export function defineStep<P, O, D>(def: StepDefinition<P, O, D>): (deps: D & Observability) => (event: unknown) => Promise<StepResult<P, O>> {
  return (deps) => {
    const obs: StepObservability = { log: deps.log ?? silentLog, telemetry: deps.telemetry ?? noTelemetry };
    return async (event): Promise<StepResult<P, O>> => {
      const parsed = def.parse(event, deps);
      if (parsed instanceof Skip) {
        obs.log.info(parsed.message);
        return { outcome: 'ignored', message: parsed.message } as StepResult<P, O>;
      }
      const input = parsed as Exclude<P, Skip>;
      try {
        const out = await def.run(input, deps);
        def.report?.(out, input, obs);
        return out as StepResult<P, O>;
      } catch (err) {
        def.onError?.(err, obs);
        throw err;
      }
    };
  };
}
