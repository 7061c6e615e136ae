/**
 * A Lambda entry (lambdas/<name>/index.ts) from its step's registry entry (core/steps.ts): at module scope,
 * once per container, the environment the registry lists for the step is parsed (a missing or bad
 * variable fails the cold start by name), Powertools is created with the step's name, the entry's
 * `wire` builds the adapters from that environment, and the handler is wrapped by {@link lambdaEntry}.
 *
 * Each entry imports only its own step's entry, handler and adapters: a bundle holds one use case.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import type { EnvKey, StepDepsOf, StepSpec } from '../../core/steps.js';
import { lambdaEntry, parseEnv, powertools } from './runtime.js';
import type { Observability } from './ports.js';

type RuntimeEnv = z.output<typeof RuntimeEnvSchema>;

/** A step's environment, parsed, by registry key (`env.tableName`, `env.router`, …). */
export type StepEnv<S extends StepSpec> = { readonly [K in S['env'][number]]: RuntimeEnv[(typeof ENV)[K]] };

/** The schema of a step's environment: the registry's variables, each named as Lambda sees it. */
export function stepEnvSchema<S extends StepSpec>(step: S): z.ZodType<StepEnv<S>> {
  const keys: readonly EnvKey[] = step.env;
  const mask = Object.fromEntries(keys.map((k) => [ENV[k], true as const])) as Partial<Record<(typeof ENV)[EnvKey], true>>;
  return RuntimeEnvSchema.pick(mask).transform((env) => {
    const byKey: Record<string, unknown> = {};
    for (const k of keys) byKey[k] = (env as Record<string, unknown>)[ENV[k]];
    return byKey as StepEnv<S>;
  });
}

/**
 * @example
 * export const handler = stepEntry(STEP_RUN_GATES, createHandler, (env) => ({
 *   ledger: new DynamoLedger(documentClient(), env.tableName), clock: systemClock, gatePolicy: env.gatePolicy,
 * }));
 */
export function stepEntry<S extends StepSpec, R>(
  step: S,
  createHandler: (deps: StepDepsOf<S> & Observability) => (event: unknown) => Promise<R>,
  wire: (env: StepEnv<S>) => StepDepsOf<S>,
): (event: unknown, context: Context) => Promise<R> {
  const env = parseEnv(stepEnvSchema(step));
  const pt = powertools(step.logName);
  return lambdaEntry(pt, createHandler({ ...wire(env), log: pt.log, telemetry: pt.telemetry }));
}
