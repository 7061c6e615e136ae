/**
 * What an environment's handlers are told about its place in the chain (BB_ENVIRONMENT_JSON) and
 * its verification hooks: the part of core/environments.ts the runtime configuration reads, kept
 * apart so that core/runtime-config.ts does not load the chain's whole configuration (phases,
 * router), which itself depends on it.
 */
import * as z from 'zod';

/** Environment names: part of physical names (`<prefix>-<name>`), so short and DNS-like. */
export const EnvironmentNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,23}$/, 'must be 2-24 chars of a-z 0-9 -, starting with a letter');

/** When a verification hook runs (CodeDeploy's lifecycle hooks, Flagger's webhooks). */
export const HOOK_STAGES = ['before_traffic', 'during_phase', 'after_phase'] as const;
export type HookStage = (typeof HOOK_STAGES)[number];

const LAMBDA_ARN_RE = /^arn:aws[a-z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

/** Longest a hook may take: the hook step's own Lambda timeout (900 s) less the time to record the answer. */
export const MAX_HOOK_TIMEOUT_SECONDS = 840;

/** A team's verification function, invoked with the release and answering passed/failed. */
export const HookSchema = z.strictObject({
  /** Names the hook in the audit trail and incidents. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'must be 1-64 chars of A-Z a-z 0-9 space _ . -'),
  /** The team's Lambda function (by ARN; an alias or version may be appended). */
  functionArn: z.string().regex(LAMBDA_ARN_RE, 'must be a Lambda function ARN arn:aws:lambda:<region>:<account>:function:<name>[:<alias>]'),
  stage: z.enum(HOOK_STAGES),
  /** No answer within this many seconds counts as failed. */
  timeoutSeconds: z.number().int().min(1).max(MAX_HOOK_TIMEOUT_SECONDS).default(300),
  /** during_phase / after_phase: the weights of the phases it runs in (default: every phase). */
  phases: z.array(z.number().int().min(1).max(100)).min(1).optional(),
});
export type Hook = z.output<typeof HookSchema>;

/** Where an environment stands in the chain: what its handlers are told (BB_ENVIRONMENT_JSON). */
export const EnvironmentSettingsSchema = z.strictObject({
  name: EnvironmentNameSchema,
  /** 0-based position; `of` environments in all. */
  index: z.number().int().min(0),
  of: z.number().int().min(1),
  /** The environment whose promotions this one accepts (null: the first accepts uploads). */
  previous: z.strictObject({ name: EnvironmentNameSchema, account: z.string().nullable() }).nullable(),
  /** Where a promotion is handed over (null: the last environment). */
  next: z.strictObject({ name: EnvironmentNameSchema, eventBusArn: z.string().min(1) }).nullable(),
  /** What hooks are told they test: the endpoint or function. */
  endpoint: z.string().min(1),
  hooks: z.array(HookSchema),
  /** Minutes the rollback drill watches the baseline alone; null: no drill. */
  drillMinutes: z.number().int().min(1).nullable(),
});
export type EnvironmentSettings = z.output<typeof EnvironmentSettingsSchema>;

/** The source EventBridge events of a hand-over carry, and their detail type. */
export const HANDOVER_SOURCE = 'builderbrain.release';
export const HANDOVER_DETAIL_TYPE = 'BuilderBrain Release Promoted';
