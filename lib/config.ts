/**
 * The pipeline's deploy-time configuration: one zod schema, every field with a documented default,
 * read from the CDK context key `builderbrain` (cdk.json) and/or a JSON file named by the context key
 * `builderbrainConfig` (the file wins field by field). A bad config fails `cdk synth` with every
 * offending field named by its path, never a zod dump.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { AlarmPolicySchema } from '../core/alarms.js';
import { DeploymentConfigSchema } from '../core/deployment.js';
import { checkSmokeSchemas } from '../core/smoke.js';
import { ModelNameSchema } from '../core/manifest.js';
import { historyBudgetIssues } from '../core/budgets.js';
import { DEFAULT_HOTFIX_PHASES, hotfixHookIssues, hotfixPlanIssues } from '../core/hotfix.js';
import { DEFAULT_MAX_LOOKS_PER_PHASE, DEFAULT_PHASES, PhasesSchema } from '../core/plan.js';
import { PolicySchema } from '../core/policy.js';
import { DEFAULT_METRICS_NAMESPACE, RouterConfigSchema, type RouterConfig } from '../core/runtime-config.js';
import { BakePolicySchema, RecoveryPolicySchema } from '../core/bake.js';
import { IncidentPolicySchema } from '../core/incidents.js';
import { DEFAULT_ENVIRONMENTS, EnvironmentsSchema, handoverBusName, verificationMinutes, type Environment, type EnvironmentSettings } from '../core/environments.js';
import { SEVERITIES } from '../core/severity.js';
import { InvalidInputError } from '../core/errors.js';
import { toFieldIssues } from '../core/validation.js';

/** Context key holding the config object (or its JSON text, as `cdk synth -c builderbrain='{...}'` passes it). */
export const CONFIG_CONTEXT_KEY = 'builderbrain';
/** Context key naming a JSON config file, relative to the working directory. */
export const CONFIG_FILE_CONTEXT_KEY = 'builderbrainConfig';

/** The history budgets (core/budgets.ts), re-exported for the config's readers. */
export { HISTORY_BUDGET_SHARE, SERVING_EVENTS_PER_CHECK, STEP_FUNCTIONS_HISTORY_LIMIT } from '../core/budgets.js';

/** CloudWatch Logs retention periods (days) that CloudFormation accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** A subscription endpoint: an email address or an https:// URL. */
const endpointFields = {
  protocol: z.enum(['email', 'https']),
  endpoint: z.string().min(3),
};
const checkEndpoint = (s: { protocol: 'email' | 'https'; endpoint: string }, ctx: z.RefinementCtx) => {
  if (s.protocol === 'email' && !EMAIL_RE.test(s.endpoint)) {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'must be an email address for protocol "email"' });
  }
  if (s.protocol === 'https' && !/^https:\/\/\S+$/.test(s.endpoint)) {
    ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'must be an https:// URL for protocol "https"' });
  }
};

export const IncidentSubscriptionSchema = z
  .strictObject({
    ...endpointFields,
    /** Severities delivered to this endpoint (SNS filter policy on the `severity` message attribute). */
    severities: z.array(z.enum(SEVERITIES)).min(1).default([...SEVERITIES]),
  })
  .superRefine(checkEndpoint);
export const PlainSubscriptionSchema = z.strictObject(endpointFields).superRefine(checkEndpoint);

export const NotificationsConfigSchema = z.strictObject({
  /** Incident topic subscriptions, each filtered by severity. */
  incident: z.array(IncidentSubscriptionSchema).default([]),
  /** Approvals topic subscriptions (approvers). */
  approvals: z.array(PlainSubscriptionSchema).default([]),
  /**
   * Pipeline-health topic subscriptions (alarms on DLQs, failed executions, Lambda errors). CloudWatch
   * alarm actions cannot set SNS message attributes, so these cannot share the severity-filtered
   * incident topic: subscribe the on-call pager here.
   */
  pipelineAlarms: z.array(PlainSubscriptionSchema).default([]),
});

export const PipelineConfigSchema = z
  .strictObject({
    /** CloudFormation stack name. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be 1-128 chars of A-Z a-z 0-9 -, starting with a letter')
      .default('BuilderBrainRelease'),
    /**
     * Prefix of physical names (state machines, alarms, dashboard) and of the stack's export names.
     * Two pipelines in one account and region need different prefixes.
     */
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,29}$/, 'must be 2-30 chars of a-z 0-9 -, starting with a letter')
      .default('builderbrain'),
    /** The model this pipeline releases (metric dimension `Model`, S3 prefix `models/<model>/`). */
    modelName: ModelNameSchema.default('builderbrain'),
    /** Canary phases (policy.md §2). */
    phases: PhasesSchema.default(DEFAULT_PHASES),
    /**
     * The expedited plan of a hotfix (the manifest's `hotfix`; core/hotfix.ts): an approval point
     * before 100%, within the timeouts and history budget `phases` sets. Null: hotfixes run `phases`.
     */
    hotfixPhases: PhasesSchema.nullable().default(DEFAULT_HOTFIX_PHASES),
    /** Upper bound on analyses per phase; bounds each canary execution's history (core/plan.ts). */
    maxLooksPerPhase: z.number().int().min(1).max(1000).default(DEFAULT_MAX_LOOKS_PER_PHASE),
    /** How long a phase waits for an operator's approval before it rolls back. */
    approvalTimeoutMinutes: z.number().int().min(5).max(7 * 24 * 60).default(1440),
    /** Gate and canary thresholds (policy.md). */
    policy: PolicySchema.prefault({}),
    /** How traffic is split between baseline and candidate. */
    router: RouterConfigSchema.default({
      kind: 'sagemaker',
      endpointName: 'builderbrain',
      baselineVariant: 'baseline',
      canaryVariant: 'canary',
    }),
    /** How candidates are deployed, smoke-tested, converged and removed (core/deployment.ts). */
    deployment: DeploymentConfigSchema.prefault({}),
    /** CloudWatch namespace the serving fleet publishes its metrics to (README "Metric contract"). */
    metricsNamespace: z.string().min(1).max(255).default(DEFAULT_METRICS_NAMESPACE),
    /** The alarm fast path (core/alarms.ts: the same rules the embedded runtime evaluates). */
    alarms: AlarmPolicySchema.prefault({}),
    notifications: NotificationsConfigSchema.prefault({}),
    retention: z
      .strictObject({
        /** Retention of every log group of the pipeline (Lambda, state machines). */
        logRetentionDays: z
          .number()
          .int()
          .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
            message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
          })
          .default(90),
        /**
         * Days a noncurrent version of an object in the artifact bucket (an overwritten or deleted
         * manifest or artifact) is kept before S3 expires it. Current versions never expire.
         */
        artifactNoncurrentVersionDays: z.number().int().min(1).max(36500).default(365),
      })
      .prefault({}),
    functions: z
      .strictObject({
        /**
         * Reserved concurrency of the rollback function, so a rollback is never throttled by other
         * functions of the account. Opt-in: absent or null, nothing is reserved, because Lambda keeps
         * 100 of an account's concurrency unreserved, so an account at the default quota (10) refuses
         * any reservation and the deploy would fail. Set it where the quota has been raised.
         */
        rollbackReservedConcurrency: z.number().int().min(1).max(100).nullable().optional(),
      })
      .prefault({}),
    /**
     * The environment chain (core/environments.ts): staging → pre-production → production by
     * default. Each environment is a stack of its own (`cdk deploy` into its account); the last one
     * keeps the pipeline's own stack name and prefix, the others add `-<name>`.
     */
    /** The bake after 100% (core/bake.ts): watched against the previous version before it is released. */
    bake: BakePolicySchema.prefault({}),
    /** The recovery check after every rollback (core/bake.ts). */
    recovery: RecoveryPolicySchema.prefault({}),
    /** Incidents (core/incidents.ts): a status update every `updateEveryMinutes` while a P0/P1 is unacknowledged; the schedule looks every `checkEveryMinutes`. */
    incidents: IncidentPolicySchema.prefault({}),
    environments: EnvironmentsSchema.default(DEFAULT_ENVIRONMENTS.map((e) => EnvironmentsSchema.element.parse(e))),
  })
  .superRefine((c, ctx) => {
    for (const issue of checkSmokeSchemas(c.deployment.smoke)) {
      const path = issue.path
        .replace(/\[(\d+)\]/g, '.$1')
        .split('.')
        .map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
      ctx.addIssue({ code: 'custom', path, message: issue.message });
    }
    // Both execution histories within Step Functions' limit (core/budgets.ts).
    for (const issue of historyBudgetIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    // The hotfix plan runs in the machines `phases` sizes: an environment's own config counts its hooks and drill (lib/stack.ts).
    const own = c.environments.length === 1 ? c.environments[0]! : null;
    const hotfixIssues = [...hotfixPlanIssues(c), ...hotfixHookIssues(own?.hooks ?? [], c.hotfixPhases)];
    for (const issue of hotfixIssues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    // Each earlier environment's physical prefix `<prefix>-<name>` must still be a valid prefix.
    c.environments.forEach((e, i) => {
      if (i < c.environments.length - 1 && `${c.prefix}-${e.name}`.length > 30) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'name'], message: `"${c.prefix}-${e.name}" (the prefix of its resources) is over 30 chars: shorten the name or the prefix` });
      }
    });
  });

export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;
export type PipelineConfig = z.output<typeof PipelineConfigSchema>;

/**
 * Parses a config object; throws {@link InvalidInputError} naming every offending field by path.
 *
 * @example parsePipelineConfig({ modelName: 'builderbrain', approvalTimeoutMinutes: 60 })
 */
export function parsePipelineConfig(input: unknown, source = 'pipeline config'): PipelineConfig {
  const result = PipelineConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new InvalidInputError(source, toFieldIssues(result.error));
  return result.data;
}

/** The defaults, for documentation and tests. */
export const DEFAULT_PIPELINE_CONFIG: PipelineConfig = parsePipelineConfig({});

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Objects merge key by key; arrays and scalars of `over` replace those of `base`. An object of
 * another `kind` (a discriminated union such as `router`) replaces the base's whole: a Lambda router
 * in the file must not inherit the SageMaker router's fields from cdk.json.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  if (over['kind'] !== undefined && over['kind'] !== base['kind']) return over;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** What a CDK construct node offers for reading context (kept minimal so tests can fake it). */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/**
 * Reads the config from the context (`builderbrain`) and the optional file (`builderbrainConfig`),
 * the file on top, and validates it.
 *
 * @example loadPipelineConfig(app.node) // in bin/app.ts
 */
export function loadPipelineConfig(node: ContextReader, cwd: string = process.cwd()): PipelineConfig {
  let fromContext = node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (typeof fromContext === 'string') fromContext = parseJson(fromContext, `context "${CONFIG_CONTEXT_KEY}"`);
  if (fromContext !== undefined && !isPlain(fromContext)) {
    throw new InvalidInputError(`context "${CONFIG_CONTEXT_KEY}"`, [{ path: '', message: 'must be a JSON object' }]);
  }
  const file = node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  let fromFile: unknown;
  let source = `pipeline config (context "${CONFIG_CONTEXT_KEY}")`;
  if (file !== undefined && file !== null && file !== '') {
    if (typeof file !== 'string') {
      throw new InvalidInputError(`context "${CONFIG_FILE_CONTEXT_KEY}"`, [{ path: '', message: 'must be a file path' }]);
    }
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new InvalidInputError(`pipeline config file ${path}`, [{ path: '', message: `cannot be read (${(err as Error).message})` }]);
    }
    fromFile = parseJson(text, `pipeline config file ${path}`);
    if (!isPlain(fromFile)) throw new InvalidInputError(`pipeline config file ${path}`, [{ path: '', message: 'must be a JSON object' }]);
    source = `pipeline config (context "${CONFIG_CONTEXT_KEY}" + file ${path})`;
  }
  return parsePipelineConfig(deepMerge(fromContext ?? {}, fromFile ?? {}), source);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(what, [{ path: '', message: `not valid JSON (${(err as Error).message})` }]);
  }
}

/**
 * What `cdk deploy` needs beyond what the local simulation does: a SageMaker endpoint's serving
 * image, execution role and instance type (the pipeline builds a Model per release from them).
 * Checked by bin/app.ts, so `cdk synth` fails naming the field instead of deploying a pipeline that
 * cannot deploy.
 */
export function deployabilityIssues(config: PipelineConfig): { path: string; message: string }[] {
  if (config.router.kind === 'sagemaker' && config.deployment.sagemaker === undefined) {
    return [
      {
        path: 'deployment.sagemaker',
        message:
          'required for a SageMaker endpoint: { "image": "<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>", "executionRoleArn": "arn:aws:iam::<account>:role/<name>", "instanceType": "ml.g5.xlarge", "instanceCount": 1 }',
      },
    ];
  }
  return [];
}

/** Physical names derived from the config (state machine names are needed before the machines exist). */
export function resourceNames(config: Pick<PipelineConfig, 'prefix' | 'modelName'>) {
  return {
    promotionStateMachine: `${config.prefix}-promotion`,
    canaryStateMachine: `${config.prefix}-canary`,
    dashboard: `${config.prefix}-release`,
  } as const;
}

/** Upper bound on one canary execution's duration, in minutes (core/budgets.ts). */
export { canaryTimeoutMinutes, promotionTimeoutMinutes } from '../core/budgets.js';

// ── the environment chain ───────────────────────────────────────────────────────────────────────

/** One environment of the chain, resolved: its own pipeline config and its neighbours. */
export interface EnvironmentPipeline {
  readonly environment: Environment;
  readonly index: number;
  /** The environment's own pipeline: stack name, prefix, router, phases, namespace, deployment, notifications resolved. */
  readonly config: PipelineConfig;
  readonly previous: { readonly name: string; readonly account: string | null; readonly prefix: string } | null;
  readonly next: { readonly name: string; readonly account: string | null; readonly region: string | null; readonly prefix: string } | null;
}

/** The router of an earlier environment in a one-account chain: its names suffixed with `-<env>`. */
function suffixedRouter(router: RouterConfig, env: string): RouterConfig {
  return router.kind === 'sagemaker'
    ? { ...router, endpointName: `${router.endpointName}-${env}` }
    : { ...router, functionName: `${router.functionName}-${env}` };
}

/**
 * Each environment's own pipeline. The last environment is the pipeline as configured (its stack
 * name and prefix); an earlier one adds `-<name>` to both. In a chain in one account (no account
 * named), an earlier environment's endpoint and metric namespace are also its own by default
 * (`<endpoint>-<name>`, `<namespace>/<name>`), so environments never share a fleet.
 *
 * @example environmentPipelines(parsePipelineConfig({})).map((p) => p.config.stackName) // ['BuilderBrainRelease-staging', 'BuilderBrainRelease-pre-production', 'BuilderBrainRelease']
 */
export function environmentPipelines(config: PipelineConfig): EnvironmentPipeline[] {
  const envs = config.environments;
  const oneAccount = envs.every((e) => e.account === undefined);
  const prefixOf = (i: number) => (i === envs.length - 1 ? config.prefix : `${config.prefix}-${envs[i]!.name}`);
  return envs.map((environment, index) => {
    const last = index === envs.length - 1;
    const shared = oneAccount && !last;
    const input = {
      ...config,
      stackName: last ? config.stackName : `${config.stackName}-${environment.name}`,
      prefix: prefixOf(index),
      router: environment.router ?? (shared ? suffixedRouter(config.router, environment.name) : config.router),
      phases: environment.phases ?? config.phases,
      // An environment with a plan of its own (staging, pre-production) runs it for hotfixes too; the expedited plan is the pipeline's.
      hotfixPhases: environment.phases === undefined ? config.hotfixPhases : null,
      metricsNamespace: environment.metricsNamespace ?? (shared ? `${config.metricsNamespace}/${environment.name}` : config.metricsNamespace),
      approvalTimeoutMinutes: environment.approvalTimeoutMinutes ?? config.approvalTimeoutMinutes,
      deployment: deepMerge(config.deployment, environment.deployment ?? {}),
      notifications: deepMerge(config.notifications, environment.notifications ?? {}),
      // Only the last environment bakes by default: the earlier ones hand over as soon as they promoted.
      bake: { ...config.bake, minutes: environment.bakeMinutes ?? (last ? config.bake.minutes : 0) },
      environments: [environment],
    };
    let own: PipelineConfig;
    try {
      own = parsePipelineConfig(input, `environment ${environment.name} (environments.${index})`);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      throw new InvalidInputError(`pipeline config`, err.issues.map((i) => ({ path: `environments.${index} (${environment.name}): ${i.path}`, message: i.message })));
    }
    const prev = index === 0 ? null : envs[index - 1]!;
    const next = last ? null : envs[index + 1]!;
    return {
      environment,
      index,
      config: own,
      previous: prev === null ? null : { name: prev.name, account: prev.account ?? null, prefix: prefixOf(index - 1) },
      next: next === null ? null : { name: next.name, account: next.account ?? null, region: next.region ?? null, prefix: prefixOf(index + 1) },
    };
  });
}

/** The pseudo parameters an environment's settings are written with: CloudFormation's in lib/, placeholders locally. */
export interface AccountContext {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
}

/** What the environment's handlers are told (BB_ENVIRONMENT_JSON); a pipeline outside a chain gets a one-environment chain. */
export function environmentSettings(p: EnvironmentPipeline | null, config: PipelineConfig, here: AccountContext): EnvironmentSettings {
  const router = (p?.config ?? config).router;
  const endpoint = router.kind === 'sagemaker' ? `sagemaker:${router.endpointName}` : `lambda:${router.functionName}:${router.liveAlias}`;
  if (p === null) return { name: 'production', index: 0, of: 1, previous: null, next: null, endpoint, hooks: [], drillMinutes: null };
  const nextAccount = p.next?.account ?? here.account;
  const nextRegion = p.next?.region ?? here.region;
  return {
    name: p.environment.name,
    index: p.index,
    of: config.environments.length,
    // A one-account chain names no account: the previous environment is this account.
    previous: p.previous === null ? null : { name: p.previous.name, account: p.previous.account ?? here.account },
    next: p.next === null ? null : { name: p.next.name, eventBusArn: `arn:${here.partition}:events:${nextRegion}:${nextAccount}:event-bus/${handoverBusName(p.next.prefix)}` },
    endpoint,
    hooks: p.environment.hooks,
    drillMinutes: p.environment.rollbackDrill ? p.environment.drillMinutes : null,
  };
}
