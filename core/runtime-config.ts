/**
 * What every handler is told at deploy time (Lambda environment, set by lib/; the embedded runtime
 * builds the same object). Parsed once per container with zod: an unset or bad variable fails the
 * cold start with its name, never a silent default.
 */
import * as z from 'zod';
import { ModelNameSchema } from './manifest.js';
import { CanaryPolicySchema, GatePolicySchema } from './policy.js';
import { LambdaServingSchema, SageMakerServingSchema } from './deployment.js';
import { BakePolicySchema, RecoveryPolicySchema } from './bake.js';
import { EnvironmentSettingsSchema } from './environment-settings.js';
import { IncidentPolicySchema } from './incidents.js';
import { RouterConfigSchema, type RouterConfig } from './router-config.js';
import type { CanaryRule } from './analysis.js';

export { RouterConfigSchema, type RouterConfig } from './router-config.js';

/**
 * What the serving handler needs to plan and drive deployments (BB_SERVING_JSON): the target, how a
 * candidate is built, and the loop's timing. Lambda's environment is 4 KB in all, so lib/ checks
 * its size in bytes at synth.
 */
export const ServingSettingsSchema = z.strictObject({
  plan: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('sagemaker'),
      endpointName: z.string().min(1),
      baselineVariant: z.string().min(1),
      canaryVariant: z.string().min(1),
      /** Null when the config has no deployment.sagemaker (synth for tests and the simulator only; bin/app.ts refuses it). */
      serving: SageMakerServingSchema.nullable(),
    }),
    z.strictObject({
      kind: z.literal('lambda'),
      functionName: z.string().min(1),
      liveAlias: z.string().min(1),
      candidateAlias: z.string().min(1),
      delivery: LambdaServingSchema.shape.delivery,
    }),
  ]),
  timeoutMinutes: z.number().int().min(1),
  pollSeconds: z.number().int().min(1),
  bakeMinutes: z.number().int().min(0),
});
export type ServingSettingsConfig = z.output<typeof ServingSettingsSchema>;

/** The serving settings of a router and deployment config. */
export function servingSettingsOf(
  router: RouterConfig,
  deployment: { sagemaker?: z.output<typeof SageMakerServingSchema> | undefined; lambda: z.output<typeof LambdaServingSchema>; timeoutMinutes: number; pollSeconds: number; bakeMinutes: number },
): ServingSettingsConfig {
  const timing = { timeoutMinutes: deployment.timeoutMinutes, pollSeconds: deployment.pollSeconds, bakeMinutes: deployment.bakeMinutes };
  return router.kind === 'sagemaker'
    ? { plan: { kind: 'sagemaker', endpointName: router.endpointName, baselineVariant: router.baselineVariant, canaryVariant: router.canaryVariant, serving: deployment.sagemaker ?? null }, ...timing }
    : { plan: { kind: 'lambda', functionName: router.functionName, liveAlias: router.liveAlias, candidateAlias: router.candidateAlias, delivery: deployment.lambda.delivery }, ...timing };
}

/** Environment variable names (lib/ sets them, lambdas/ read them). */
export const ENV = {
  model: 'BB_MODEL',
  tableName: 'BB_TABLE_NAME',
  incidentTopicArn: 'BB_INCIDENT_TOPIC_ARN',
  approvalTopicArn: 'BB_APPROVAL_TOPIC_ARN',
  metricsNamespace: 'BB_METRICS_NAMESPACE',
  router: 'BB_ROUTER_JSON',
  gatePolicy: 'BB_GATE_POLICY_JSON',
  canaryPolicy: 'BB_CANARY_POLICY_JSON',
  promotionStateMachineArn: 'BB_PROMOTION_STATE_MACHINE_ARN',
  stackName: 'BB_STACK_NAME',
  artifactBucket: 'BB_ARTIFACT_BUCKET',
  serving: 'BB_SERVING_JSON',
  alarmWarmup: 'BB_ALARM_WARMUP_JSON',
  environment: 'BB_ENVIRONMENT_JSON',
  bake: 'BB_BAKE_JSON',
  recovery: 'BB_RECOVERY_JSON',
  incidents: 'BB_INCIDENTS_JSON',
} as const;

/** The alarm path's warm-up (core/rollback.ts alarmDuringWarmup): the canary policy's warm-up and the alarms' evaluation periods. */
export const AlarmWarmupSchema = z.strictObject({ minutes: z.number().int().min(0), evaluationMinutes: z.number().int().min(1) });

const json = <S extends z.ZodType>(schema: S) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON' });
      return z.NEVER;
    }
  }).pipe(schema);

/** Each handler picks the variables it needs from this schema with `.pick()`. */
export const RuntimeEnvSchema = z.object({
  [ENV.model]: ModelNameSchema,
  [ENV.tableName]: z.string().min(1),
  [ENV.incidentTopicArn]: z.string().startsWith('arn:'),
  [ENV.approvalTopicArn]: z.string().startsWith('arn:'),
  [ENV.metricsNamespace]: z.string().min(1),
  [ENV.router]: json(RouterConfigSchema),
  [ENV.gatePolicy]: json(GatePolicySchema),
  [ENV.canaryPolicy]: json(CanaryPolicySchema),
  [ENV.promotionStateMachineArn]: z.string().startsWith('arn:'),
  [ENV.stackName]: z.string().min(1),
  [ENV.artifactBucket]: z.string().min(3),
  [ENV.serving]: json(ServingSettingsSchema),
  [ENV.alarmWarmup]: json(AlarmWarmupSchema),
  [ENV.environment]: json(EnvironmentSettingsSchema),
  [ENV.bake]: json(BakePolicySchema),
  [ENV.recovery]: json(RecoveryPolicySchema),
  [ENV.incidents]: json(IncidentPolicySchema),
});

/** Metric contract of the serving fleet (README "Metric contract"). */
export const METRIC_NAMES = {
  requests: 'Requests',
  errors: 'Errors',
  latency: 'Latency',
  riskEnergy: 'RiskEnergy',
  constraintViolations: 'ConstraintViolations',
  safetyIncidents: 'SafetyIncidents',
} as const;
export const DEFAULT_METRICS_NAMESPACE = 'BuilderBrain/Serving';
export const VARIANTS = { baseline: 'baseline', canary: 'canary' } as const;

/** Canary alarms, by the reason code each one watches; alarm names end with `-canary-<suffix>`. */
export const CANARY_ALARMS = {
  'error-rate': 'error_rate_increase',
  'latency-p99': 'performance_degradation',
  'risk-energy': 'safety_violation',
  'constraint-violations': 'constraint_violations',
  'safety-incidents': 'safety_violation',
} as const;

/** The canary analysis rule each alarm watches (core/analysis.ts CANARY_RULES). */
export const CANARY_ALARM_RULES = {
  'error-rate': 'error_rate',
  'latency-p99': 'latency_p99',
  'risk-energy': 'risk_energy',
  'constraint-violations': 'constraint_violations',
  'safety-incidents': 'safety_incidents',
} as const satisfies Record<keyof typeof CANARY_ALARMS, CanaryRule>;

/** The canary rule an alarm watches, from its name; null for alarms that are not canary rules. */
export function alarmRule(alarmName: string): CanaryRule | null {
  const suffix = canaryAlarmSuffix(alarmName);
  return suffix === null ? null : CANARY_ALARM_RULES[suffix];
}

/** The alarm name of a model's canary rule. */
export function canaryAlarmName(prefix: string, model: string, suffix: keyof typeof CANARY_ALARMS): string {
  return `${prefix}-${model}-canary-${suffix}`;
}

/** The canary rule of an alarm, from its name (`…-canary-<suffix>`); null for other alarms. */
export function canaryAlarmSuffix(alarmName: string): keyof typeof CANARY_ALARMS | null {
  const m = /-canary-([a-z0-9-]+)$/.exec(alarmName);
  return m !== null && Object.hasOwn(CANARY_ALARMS, m[1]!) ? (m[1] as keyof typeof CANARY_ALARMS) : null;
}

/** The reason code an alarm watches, from its name; null for alarms that are not canary rules. */
export function alarmWatches(alarmName: string): (typeof CANARY_ALARMS)[keyof typeof CANARY_ALARMS] | null {
  const suffix = canaryAlarmSuffix(alarmName);
  return suffix === null ? null : CANARY_ALARMS[suffix];
}

/**
 * The stack's output keys (and, prefixed with `<prefix>-`, its export names): the contract between
 * lib/stack.ts, which declares them, and the CLI, which finds a deployed pipeline through them.
 */
export const STACK_OUTPUT_KEYS = {
  model: 'ModelName',
  bucket: 'ArtifactBucketName',
  table: 'AuditTableName',
  promotion: 'PromotionStateMachineArn',
  canary: 'CanaryStateMachineArn',
  incidentTopic: 'IncidentTopicArn',
  approvalsTopic: 'ApprovalsTopicArn',
  pipelineAlarmsTopic: 'PipelineAlarmsTopicArn',
  rollbackFunction: 'RollbackFunctionName',
  incidentFunction: 'IncidentFunctionName',
  dashboard: 'DashboardName',
} as const;
