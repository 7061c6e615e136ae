/**
 * A Lambda entry (lambdas/<name>/index.ts) from its step's registry entry (core/steps.ts): at module scope,
 * once per container, the environment the registry lists for the step is parsed (a missing or bad
 * variable fails the cold start by name), Powertools is created with the step's name, the entry's
 * `wire` builds the adapters from that environment, the settings read as they are from one variable
 * ({@link MAPPED_SETTINGS}: the environment chain's `environment`) are added, and the handler is
 * wrapped by {@link lambdaEntry}.
 *
 * Each entry imports only its own step's entry, handler and adapters: a bundle holds one use case.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { ENV, RuntimeEnvSchema } from '../../core/runtime-config.js';
import type { EnvKey, StepDepsOf, StepSetting, StepSettings, StepSpec } from '../../core/steps.js';
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
 * The settings {@link stepEntry} maps itself, each from the variable (ENV key) it is read from as it
 * is: a step that lists the setting is given it without its entry's `wire` naming it.
 */
export const MAPPED_SETTINGS = { environment: 'environment', bake: 'bake', recovery: 'recovery', incidents: 'incidents' } as const satisfies Partial<Record<StepSetting, EnvKey>>;
type MappedSetting = keyof typeof MAPPED_SETTINGS;

/** What an entry's `wire` builds: the step's deps, less the settings {@link stepEntry} maps (it may still give them). */
export type WiredDeps<S extends StepSpec> = Omit<StepDepsOf<S>, MappedSetting> & Partial<Pick<StepSettings, MappedSetting>>;

/**
 * The {@link MAPPED_SETTINGS} a step lists, from its parsed environment. Throws when the step lists
 * such a setting but not its variable (a registry entry inconsistent with itself).
 */
export function mappedSettings(step: StepSpec, env: Readonly<Record<string, unknown>>): Partial<StepSettings> {
  const settings: readonly string[] = step.settings;
  const keys: readonly string[] = step.env;
  const out: Record<string, unknown> = {};
  for (const [setting, key] of Object.entries(MAPPED_SETTINGS)) {
    if (!settings.includes(setting)) continue;
    if (!keys.includes(key)) throw new Error(`step ${step.name} reads the setting ${setting} but does not list ${ENV[key]} (env key ${key}) in core/steps.ts`);
    out[setting] = env[key];
  }
  return out as Partial<StepSettings>;
}

/**
 * `wire` may be async: an adapter whose SDK client depends on the deployment (the router, the
 * serving target: lambdas/shared/router.ts, serving-target.ts) is imported on demand, so the entry
 * awaits its handler at module scope (top-level await: Lambda's init waits for it).
 *
 * @example
 * export const handler = await stepEntry(STEP_RUN_GATES, createHandler, (env) => ({
 *   ledger: new DynamoLedger(documentClient(), env.tableName), clock: systemClock, gatePolicy: env.gatePolicy,
 * }));
 */
export async function stepEntry<S extends StepSpec, R>(
  step: S,
  createHandler: (deps: StepDepsOf<S> & Observability) => (event: unknown) => Promise<R>,
  wire: (env: StepEnv<S>) => WiredDeps<S> | Promise<WiredDeps<S>>,
): Promise<(event: unknown, context: Context) => Promise<R>> {
  const env = parseEnv(stepEnvSchema(step));
  const pt = powertools(step.logName);
  const deps = { ...mappedSettings(step, env), ...(await wire(env)) } as StepDepsOf<S>;
  return lambdaEntry(pt, createHandler({ ...deps, log: pt.log, telemetry: pt.telemetry }));
}
