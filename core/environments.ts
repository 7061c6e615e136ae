/**
 * The environment chain (RELEASE.md §2.2, §7.1): one candidate goes through staging,
 * pre-production and production, each in its own AWS account, each with its own phase plan,
 * verification hooks and approvals; a version enters environment N+1 only after N promoted it.
 *
 * This module holds the chain's configuration (one entry per environment, validated with zod) and
 * what each environment's handlers are told about their place in it ({@link EnvironmentSettings},
 * BB_ENVIRONMENT_JSON). No AWS import; lib/config.ts resolves each environment's own pipeline.
 */
import * as z from 'zod';
export { EnvironmentNameSchema, EnvironmentSettingsSchema, HOOK_STAGES, HookSchema, MAX_HOOK_TIMEOUT_SECONDS, type EnvironmentSettings, type Hook, type HookStage } from './environment-settings.js';
export { HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE } from './environment-settings.js';
import { EnvironmentNameSchema, HookSchema, type EnvironmentSettings, type Hook, type HookStage } from './environment-settings.js';
import { PhasesSchema } from './plan.js';
import { RouterConfigSchema } from './router-config.js';



const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** One environment of the chain. Fields left out are the pipeline's own (the top-level config). */
export const EnvironmentSchema = z.strictObject({
  name: EnvironmentNameSchema,
  /** The AWS account it deploys into. Name every environment's account, or none (a chain in one account). */
  account: z.string().regex(ACCOUNT_RE, 'must be a 12-digit AWS account id').optional(),
  /** Its region (default: the region `cdk deploy` targets). */
  region: z.string().regex(REGION_RE, 'must be an AWS region such as eu-west-1').optional(),
  /** Its endpoint or function (default: the pipeline's router; in a one-account chain, its names suffixed with `-<name>`). */
  router: RouterConfigSchema.optional(),
  /** Its phase plan (default: the pipeline's phases). A single 100% phase is a valid plan. */
  phases: PhasesSchema.optional(),
  /** Its metric namespace (default: the pipeline's; in a one-account chain, `<namespace>/<name>` before the last). */
  metricsNamespace: z.string().min(1).max(255).optional(),
  /** Overrides of the pipeline's `deployment` (e.g. the execution role of this account), merged field by field. */
  deployment: z.record(z.string(), z.unknown()).optional(),
  /** Overrides of the pipeline's `notifications` (this environment's on-call and approvers). */
  notifications: z.record(z.string(), z.unknown()).optional(),
  approvalTimeoutMinutes: z.number().int().min(5).max(7 * 24 * 60).optional(),
  /** Its bake after 100% (default: the pipeline's `bake.minutes` in the last environment, none before). */
  bakeMinutes: z.number().int().min(0).max(14 * 24 * 60).optional(),
  hooks: z.array(HookSchema).max(10).default([]),
  /**
   * Before the last phase may promote, roll the candidate back on purpose, verify the baseline
   * serves alone again, then restore the candidate's traffic (RELEASE.md §2.2, §8.2).
   */
  rollbackDrill: z.boolean().default(false),
  /** How long the drill watches the baseline serving alone before it judges. */
  drillMinutes: z.number().int().min(2).max(60).default(5),
});
export type EnvironmentInput = z.input<typeof EnvironmentSchema>;
export type Environment = z.output<typeof EnvironmentSchema>;

/** staging → pre-production (with the rollback drill) → production (the pipeline's own plan). */
export const DEFAULT_ENVIRONMENTS: readonly EnvironmentInput[] = [
  { name: 'staging', phases: [{ weight: 100, monitorMinutes: 30, requiresApproval: false }] },
  {
    name: 'pre-production',
    phases: [
      { weight: 50, monitorMinutes: 30, requiresApproval: false },
      { weight: 100, monitorMinutes: 30, requiresApproval: false },
    ],
    rollbackDrill: true,
  },
  { name: 'production' },
];

/** Checks what makes a chain unworkable: duplicate names, accounts named for some but not all. */
export const EnvironmentsSchema = z
  .array(EnvironmentSchema)
  .min(1)
  .max(5)
  .superRefine((envs, ctx) => {
    const seen = new Map<string, number>();
    envs.forEach((e, i) => {
      const first = seen.get(e.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" is already environment ${first}'s name` });
      else seen.set(e.name, i);
    });
    const named = envs.filter((e) => e.account !== undefined).length;
    if (named > 0 && named < envs.length) {
      envs.forEach((e, i) => {
        if (e.account === undefined) {
          ctx.addIssue({ code: 'custom', path: [i, 'account'], message: 'required: name every environment\'s account, or none (the hand-over admits the previous environment by its account)' });
        }
      });
    }
    envs.forEach((e, i) => {
      for (const [h, hook] of e.hooks.entries()) {
        if (hook.stage === 'before_traffic' && hook.phases !== undefined) {
          ctx.addIssue({ code: 'custom', path: [i, 'hooks', h, 'phases'], message: 'a before_traffic hook runs once, before any phase: remove "phases"' });
        }
        const weights = (e.phases ?? []).map((p) => p.weight);
        for (const w of hook.phases ?? []) {
          if (e.phases !== undefined && !weights.includes(w)) {
            ctx.addIssue({ code: 'custom', path: [i, 'hooks', h, 'phases'], message: `no phase of ${e.name} has weight ${w} (its phases: ${weights.join(', ')})` });
          }
        }
      }
    });
  });


/** A pipeline outside any chain (one environment, no hooks, no drill): what tests and single stacks run as. */
export const STANDALONE_ENVIRONMENT: EnvironmentSettings = {
  name: 'production',
  index: 0,
  of: 1,
  previous: null,
  next: null,
  endpoint: 'standalone',
  hooks: [],
  drillMinutes: null,
};

/** The hooks of a stage that run in the phase of `weight` (before_traffic: `weight` is ignored). */
export function hooksFor(env: Pick<EnvironmentSettings, 'hooks'>, stage: HookStage, weight: number | null): Hook[] {
  return env.hooks.filter((h) => h.stage === stage && (stage === 'before_traffic' || h.phases === undefined || (weight !== null && h.phases.includes(weight))));
}

/** The hand-over bus of an environment (`<prefix>-handover`), by its physical prefix. */
export function handoverBusName(prefix: string): string {
  return `${prefix}-handover`;
}

/**
 * The longest an environment's verification can take, in whole minutes: every hook at its timeout
 * (hooks of a stage run one after another), in every phase it runs in, and the drill's watch plus a
 * minute for its router calls. The machines' timeouts make room for it (core/budgets.ts).
 *
 * @example verificationMinutes(env, phases).inPhases
 */
export function verificationMinutes(env: Pick<Environment, 'hooks' | 'rollbackDrill' | 'drillMinutes'>, phases: readonly { weight: number }[]): { beforeTraffic: number; inPhases: number; drill: number } {
  const minutes = (hooks: readonly Hook[]) => Math.ceil(hooks.reduce((n, h) => n + h.timeoutSeconds, 0) / 60);
  const beforeTraffic = minutes(hooksFor(env, 'before_traffic', null));
  const inPhases = phases.reduce((n, p) => n + minutes(hooksFor(env, 'during_phase', p.weight)) + minutes(hooksFor(env, 'after_phase', p.weight)), 0);
  return { beforeTraffic, inPhases, drill: env.rollbackDrill ? env.drillMinutes + 1 : 0 };
}
