/**
 * The registry of the pipeline's steps: one entry per Lambda handler, saying what the step is and
 * what it needs — the ports its use case is given, the deploy-time settings it reads, the
 * environment variables they come from, its size and the AWS permissions its adapters use. Pure
 * data, no AWS import. Derived from it:
 *
 * - the handlers' deps type ({@link StepDeps}), which each `lambdas/<name>/handler.ts` must accept;
 * - the Lambda entries' environment (`lambdas/shared/entry.ts` parses exactly {@link StepSpec.env});
 * - the CDK functions, their environment and their grants (lib/pipeline-functions.ts);
 * - the embedded runtime's task map (local/runtime.ts: each step's handler given the in-memory
 *   ports and settings its {@link StepSpec.ports} and {@link StepSpec.settings} name);
 * - how lib/synth.ts maps a Lambda task to its step (the function's `builderbrain:step` metadata).
 *
 * Adding a step: a `STEP_<NAME>` constant here (and its line in {@link STEPS}),
 * `lambdas/<name>/handler.ts` (its input schema and use case), `lambdas/<name>/index.ts` (its AWS
 * adapters), and one line in lambdas/handlers.ts; then its Task in a state machine of lib/.
 */
import type { BakePolicy, RecoveryPolicy } from './bake.js';
import type { EnvironmentSettings } from './environment-settings.js';
import type { AuditLedger, ArtifactStore, Clock, Executions, HandoverBus, HookInvoker, MetricsSource, Notifier, ReleaseLock, ServingTarget, TrafficRouter, UpstreamArtifacts } from './ports.js';
import type { CanaryPolicy, GatePolicy } from './policy.js';
import type { IncidentPolicy } from './incidents.js';
import type { ENV, ServingSettingsConfig } from './runtime-config.js';

/** The ports a use case can be given (core/ports.ts), by the name its deps know them by. */
export interface StepPorts {
  readonly ledger: AuditLedger;
  readonly lock: ReleaseLock;
  readonly clock: Clock;
  readonly notifier: Notifier;
  readonly router: TrafficRouter;
  readonly executions: Executions;
  readonly artifacts: ArtifactStore;
  readonly metrics: MetricsSource;
  readonly target: ServingTarget;
  /** The team's verification hooks (Lambda functions by ARN). */
  readonly hooks: HookInvoker;
  /** The next environment's hand-over bus. */
  readonly bus: HandoverBus;
  /** The previous environment's artifacts, copied into this pipeline's bucket. */
  readonly upstream: UpstreamArtifacts;
}

/** The deploy-time settings a use case can read (from its environment when deployed). */
export interface StepSettings {
  /** The model this pipeline releases (BB_MODEL). */
  readonly model: string;
  readonly gatePolicy: GatePolicy;
  readonly canaryPolicy: CanaryPolicy;
  /** How candidates are deployed (BB_SERVING_JSON). */
  readonly settings: ServingSettingsConfig;
  /** The pipeline's artifact bucket (BB_ARTIFACT_BUCKET). */
  readonly bucket: string;
  /** The alarm path's warm-up (BB_ALARM_WARMUP_JSON). */
  readonly warmup: { readonly minutes: number; readonly evaluationMinutes: number };
  /** Where this pipeline stands in the environment chain (BB_ENVIRONMENT_JSON, core/environments.ts). */
  readonly environment: EnvironmentSettings;
  /** The bake after 100% (BB_BAKE_JSON, core/bake.ts). */
  readonly bake: BakePolicy;
  /** The recovery check after a rollback (BB_RECOVERY_JSON, core/bake.ts). */
  readonly recovery: RecoveryPolicy;
  /** Incidents' status updates (BB_INCIDENTS_JSON, core/incidents.ts). */
  readonly incidents: IncidentPolicy;
}

export type StepPort = keyof StepPorts;
export type StepSetting = keyof StepSettings;
/** A variable of core/runtime-config.ts ENV, by its key. */
export type EnvKey = keyof typeof ENV;

/** DynamoDB data-plane actions a role may get on the ledger (without the `dynamodb:` prefix). */
export type LedgerAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query';
/** The topics a step may publish to. */
export type PublishableTopic = 'incident' | 'approvals';

/** What a step's adapters call on AWS, beyond its own log group (lib/ turns each into a grant). */
export interface StepPermissions {
  /**
   * DynamoDB actions on the ledger: what the use case's ledger and lock calls become in
   * lambdas/adapters/dynamodb-ledger.ts. Every step that appends events gets GetItem and Query too:
   * an append reads its eventId's marker and the tail of the release's hash chain
   * (core/ledger-chain.ts); no step lists releases (the CLI does).
   */
  readonly ledger?: readonly LedgerAction[];
  readonly publishes?: readonly PublishableTopic[];
  /** cloudwatch:GetMetricData (canary and baseline datapoints). */
  readonly readsMetrics?: boolean;
  /** The traffic router's endpoint or function. */
  readonly routesTraffic?: boolean;
  /** Reads the router's split only (DescribeEndpoint, GetAlias): never changes it. */
  readonly readsTraffic?: boolean;
  /** states:StartExecution on the promotion machine (a duplicate's ARN is derived, never described). */
  readonly startsPromotion?: boolean;
  /** states:StopExecution on the canary machine's executions. */
  readonly stopsCanary?: boolean;
  /** Builds, invokes and removes candidates on the serving target (SageMaker models/configs/endpoint, or Lambda versions). */
  readonly deploysModels?: boolean;
  /** Reads manifests and artifacts under `models/` of the artifact bucket. */
  readonly readsArtifacts?: boolean;
  /** Writes the pipeline's own reports under `analysis/` of the artifact bucket (s3:PutObject there only). */
  readonly writesAnalysis?: boolean;
  /** lambda:InvokeFunction on the environment's hook functions (their ARNs, nothing else). */
  readonly invokesHooks?: boolean;
  /** events:PutEvents on the next environment's hand-over bus (its ARN). */
  readonly sendsHandover?: boolean;
  /**
   * Reads the previous environment's promoted artifacts (s3:GetObject in its account, kms:Decrypt
   * through S3) and writes them and the release.json into this pipeline's bucket.
   */
  readonly copiesUpstream?: boolean;
  /** dynamodb:Query on the ledger's release index (`RELEASES` only): the reminder schedule finds incidents there. */
  readonly listsReleases?: boolean;
}

/** What one step is, needs and may do. */
export interface StepSpec {
  /** The step's name: its handler folder (lambdas/<name>/) and its key in {@link STEPS}. */
  readonly name: string;
  /** The Lambda function's description. */
  readonly description: string;
  /** The step's name in its logs (Powertools `step` key). */
  readonly logName: string;
  /** The ports its use case is given. */
  readonly ports: readonly StepPort[];
  /** The settings its use case reads. */
  readonly settings: readonly StepSetting[];
  /** The environment variables it reads (its ports' configuration and its settings). */
  readonly env: readonly EnvKey[];
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly permissions: StepPermissions;
}

const MINUTES = 60;

// One constant per step: a Lambda entry imports its own step's, so its bundle holds that entry only
// (esbuild drops the others). STEPS gathers them. Router calls wait for a SageMaker endpoint to
// settle, hence the longer timeouts of start-phase, promote and rollback.

export const STEP_INTAKE = {
  name: 'intake',
  description: 'Starts the promotion execution of an uploaded release.json (deterministic name)',
  logName: 'Intake',
  ports: ['executions', 'clock'],
  settings: ['model'],
  env: ['model', 'promotionStateMachineArn'],
  memoryMb: 256,
  timeoutSeconds: 30,
  permissions: { startsPromotion: true },
} as const satisfies StepSpec;

export const STEP_VALIDATE_MANIFEST = {
  name: 'validate-manifest',
  description: 'Reads and validates the uploaded manifest; records the release',
  logName: 'ValidateManifest',
  // An emergency rollback release pages P0 as soon as it is seen.
  ports: ['artifacts', 'ledger', 'clock', 'notifier'],
  // A receiving environment admits only versions its previous environment handed over (core/handover.ts upstreamIssue).
  settings: ['environment'],
  env: ['tableName', 'environment', 'incidentTopicArn'],
  memoryMb: 512,
  timeoutSeconds: 30,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsArtifacts: true, publishes: ['incident'] },
} as const satisfies StepSpec;

export const STEP_RELEASE_LOCK = {
  name: 'release-lock',
  description: 'Acquires or releases the per-model release lock',
  logName: 'ReleaseLock',
  ports: ['lock', 'ledger', 'clock'],
  settings: [],
  env: ['tableName'],
  memoryMb: 256,
  timeoutSeconds: 15,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'] },
} as const satisfies StepSpec;

export const STEP_RUN_GATES = {
  name: 'run-gates',
  description: 'Runs the promotion gates and records each check',
  logName: 'RunGates',
  ports: ['ledger', 'clock'],
  settings: ['gatePolicy'],
  env: ['tableName', 'gatePolicy'],
  memoryMb: 256,
  timeoutSeconds: 30,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'] },
} as const satisfies StepSpec;

export const STEP_VERIFY_ARTIFACT = {
  name: 'verify-artifact',
  description: 'Verifies the uploaded artifact: in the release folder, present, SHA-256 as the manifest says',
  logName: 'VerifyArtifact',
  ports: ['artifacts', 'ledger', 'clock'],
  settings: ['bucket'],
  env: ['tableName', 'artifactBucket'],
  // A full vCPU for SHA-256 over multi-gigabyte artifacts (bench/artifact-digest.bench.ts), 15 minutes at most.
  memoryMb: 1769,
  timeoutSeconds: 15 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsArtifacts: true },
} as const satisfies StepSpec;

export const STEP_SERVING = {
  name: 'serving',
  description: 'Deploys, smoke-tests, converges and removes the candidate on the serving target',
  logName: 'Serving',
  ports: ['target', 'ledger', 'clock'],
  settings: ['settings'],
  env: ['tableName', 'serving'],
  memoryMb: 512,
  // A Lambda target's apply waits for the function's configuration update (up to a minute per wait).
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], deploysModels: true },
} as const satisfies StepSpec;

export const STEP_REJECT_RELEASE = {
  name: 'reject-release',
  description: 'Records a rejection and publishes its incident (P3; P2 for a failed deployment or smoke test)',
  logName: 'RejectRelease',
  ports: ['ledger', 'notifier', 'clock'],
  settings: [],
  env: ['tableName', 'incidentTopicArn'],
  memoryMb: 256,
  timeoutSeconds: 30,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], publishes: ['incident'] },
} as const satisfies StepSpec;

export const STEP_START_PHASE = {
  name: 'start-phase',
  description: 'Shifts traffic to the phase weight and plans its monitor loop',
  logName: 'StartPhase',
  ports: ['router', 'ledger', 'clock'],
  settings: [],
  env: ['tableName', 'router'],
  memoryMb: 256,
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], routesTraffic: true },
} as const satisfies StepSpec;

export const STEP_ANALYZE_CANARY = {
  name: 'analyze-canary',
  description: 'One look: canary vs baseline metrics, verdict, next monitor action; pages a hold once',
  logName: 'AnalyzeCanary',
  // A hold (fleet-wide incident, metrics unavailable) pages once, P1, on the incident topic.
  ports: ['metrics', 'ledger', 'clock', 'notifier'],
  settings: ['canaryPolicy'],
  env: ['tableName', 'metricsNamespace', 'canaryPolicy', 'incidentTopicArn'],
  memoryMb: 1024,
  timeoutSeconds: 60,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsMetrics: true, publishes: ['incident'] },
} as const satisfies StepSpec;

export const STEP_REQUEST_APPROVAL = {
  name: 'request-approval',
  description: 'Stores the task token and asks approvers (approvals topic)',
  logName: 'RequestApproval',
  ports: ['ledger', 'notifier', 'clock'],
  settings: [],
  env: ['tableName', 'approvalTopicArn'],
  memoryMb: 256,
  timeoutSeconds: 30,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], publishes: ['approvals'] },
} as const satisfies StepSpec;

export const STEP_PROMOTE = {
  name: 'promote',
  description: 'Makes the candidate the new baseline, records the promotion, tells the approvers',
  logName: 'Promote',
  // Info notifications go to the approvals topic (see SnsNotifier).
  ports: ['router', 'ledger', 'notifier', 'clock'],
  settings: [],
  env: ['tableName', 'router', 'approvalTopicArn'],
  memoryMb: 256,
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], routesTraffic: true, publishes: ['approvals'] },
} as const satisfies StepSpec;

export const STEP_ROLLBACK = {
  name: 'rollback',
  description: 'Restores the baseline, stops the canary, publishes the incident (state machines, alarms, operators)',
  logName: 'Rollback',
  // Only stops executions (the canary's, by ARN); never starts one.
  ports: ['ledger', 'lock', 'router', 'executions', 'notifier', 'clock'],
  // The artifact bucket only names the post-rollback analysis in the incident (the recovery step writes it).
  settings: ['model', 'warmup', 'bucket'],
  env: ['model', 'tableName', 'router', 'incidentTopicArn', 'alarmWarmup', 'artifactBucket'],
  memoryMb: 256,
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'], routesTraffic: true, publishes: ['incident'], stopsCanary: true },
} as const satisfies StepSpec;

export const STEP_EXECUTION_ENDED = {
  name: 'execution-ended',
  description: 'A promotion execution ended ABORTED, TIMED_OUT or FAILED: rolls its release back if in flight, then releases the lock',
  logName: 'ExecutionEnded',
  // Only stops executions (the canary's, by ARN); never starts one.
  ports: ['ledger', 'lock', 'router', 'executions', 'notifier', 'clock'],
  settings: [],
  env: ['tableName', 'router', 'incidentTopicArn'],
  memoryMb: 256,
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'], routesTraffic: true, publishes: ['incident'], stopsCanary: true },
} as const satisfies StepSpec;

export const STEP_RUN_HOOKS = {
  name: 'run-hooks',
  description: "Invokes the environment's verification hooks of one stage and judges their answers",
  logName: 'RunHooks',
  ports: ['hooks', 'ledger', 'clock'],
  settings: ['environment'],
  env: ['tableName', 'environment'],
  memoryMb: 256,
  // A hook may take up to 840 s (core/environments.ts MAX_HOOK_TIMEOUT_SECONDS); the answer is recorded after.
  timeoutSeconds: 15 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], invokesHooks: true },
} as const satisfies StepSpec;

export const STEP_DRILL = {
  name: 'drill',
  description: 'Rollback drill: rolls the candidate back on purpose, verifies the baseline serves alone, restores the candidate',
  logName: 'RollbackDrill',
  ports: ['router', 'metrics', 'ledger', 'clock'],
  settings: ['environment'],
  env: ['tableName', 'router', 'metricsNamespace', 'environment'],
  memoryMb: 256,
  timeoutSeconds: 5 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], routesTraffic: true, readsMetrics: true },
} as const satisfies StepSpec;

export const STEP_HAND_OVER = {
  name: 'hand-over',
  description: "Hands a promoted version over to the next environment (an event on its bus, the artifact's digest, the trail)",
  logName: 'HandOver',
  ports: ['ledger', 'artifacts', 'bus', 'clock'],
  settings: ['environment'],
  env: ['tableName', 'environment'],
  memoryMb: 256,
  timeoutSeconds: 60,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsArtifacts: true, sendsHandover: true },
} as const satisfies StepSpec;

export const STEP_ACCEPT_HANDOVER = {
  name: 'accept-handover',
  description: "Accepts the previous environment's hand-over: checks the sender, copies the artifact checking its SHA-256, starts the release",
  logName: 'AcceptHandover',
  ports: ['upstream', 'ledger', 'notifier', 'clock'],
  settings: ['model', 'environment', 'bucket'],
  env: ['model', 'tableName', 'environment', 'artifactBucket', 'incidentTopicArn'],
  // Streams and hashes multi-gigabyte artifacts (as verify-artifact does).
  memoryMb: 1769,
  timeoutSeconds: 15 * MINUTES,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], copiesUpstream: true, publishes: ['incident'] },
} as const satisfies StepSpec;

export const STEP_BAKE = {
  name: 'bake',
  description: 'The bake after 100%: the released version against the previous one a day (or week) before; released, or rolled back',
  logName: 'Bake',
  // The clean end tells the approvers (info notifications go to the approvals topic).
  ports: ['metrics', 'ledger', 'notifier', 'clock'],
  settings: ['bake', 'canaryPolicy'],
  env: ['tableName', 'metricsNamespace', 'bake', 'canaryPolicy', 'approvalTopicArn'],
  memoryMb: 1024,
  timeoutSeconds: 60,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsMetrics: true, publishes: ['approvals'] },
} as const satisfies StepSpec;

export const STEP_RECOVERY = {
  name: 'recovery',
  description: 'After a rollback: whether the restored version is healthy again; P0 when not',
  logName: 'VerifyRecovery',
  // Also writes the post-rollback analysis (core/app/post-rollback-analysis.ts): reads the manifest, writes analysis/<releaseId>.json.
  ports: ['metrics', 'router', 'ledger', 'notifier', 'clock', 'artifacts'],
  settings: ['recovery', 'bucket'],
  env: ['tableName', 'metricsNamespace', 'router', 'recovery', 'incidentTopicArn', 'artifactBucket'],
  memoryMb: 512,
  timeoutSeconds: 60,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], readsMetrics: true, readsTraffic: true, publishes: ['incident'], readsArtifacts: true, writesAnalysis: true },
} as const satisfies StepSpec;

export const STEP_INCIDENTS = {
  name: 'incidents',
  description: "Incidents' status updates every few minutes (schedule) while a P0/P1 is unacknowledged; operators' acknowledge, resolve, close",
  logName: 'Incidents',
  ports: ['ledger', 'notifier', 'clock'],
  settings: ['incidents'],
  env: ['tableName', 'incidentTopicArn', 'incidents'],
  memoryMb: 256,
  timeoutSeconds: 60,
  permissions: { ledger: ['GetItem', 'PutItem', 'UpdateItem', 'Query'], listsReleases: true, publishes: ['incident'] },
} as const satisfies StepSpec;

/** The steps, by name, in the order the functions are created. */
export const STEPS = {
  intake: STEP_INTAKE,
  'validate-manifest': STEP_VALIDATE_MANIFEST,
  'release-lock': STEP_RELEASE_LOCK,
  'run-gates': STEP_RUN_GATES,
  'verify-artifact': STEP_VERIFY_ARTIFACT,
  serving: STEP_SERVING,
  'reject-release': STEP_REJECT_RELEASE,
  'start-phase': STEP_START_PHASE,
  'analyze-canary': STEP_ANALYZE_CANARY,
  'request-approval': STEP_REQUEST_APPROVAL,
  promote: STEP_PROMOTE,
  rollback: STEP_ROLLBACK,
  'execution-ended': STEP_EXECUTION_ENDED,
  bake: STEP_BAKE,
  recovery: STEP_RECOVERY,
  incidents: STEP_INCIDENTS,
  'run-hooks': STEP_RUN_HOOKS,
  drill: STEP_DRILL,
  'hand-over': STEP_HAND_OVER,
  'accept-handover': STEP_ACCEPT_HANDOVER,
} as const;

export type StepName = keyof typeof STEPS;

/** Every step, in registry order. */
export const STEP_NAMES = /* @__PURE__ */ Object.keys(STEPS) as StepName[];

/** A step's spec. */
export function stepSpec(name: StepName): StepSpec {
  return STEPS[name];
}

/** What the use case of a step spec is given: exactly the ports and settings the spec lists. */
export type StepDepsOf<S extends StepSpec> = Pick<StepPorts, S['ports'][number]> & Pick<StepSettings, S['settings'][number]>;

/**
 * What a step's use case is given: exactly the ports and settings its registry entry lists. Each
 * handler's `createHandler` must accept it, so the registry cannot name fewer than the use case needs.
 */
export type StepDeps<N extends StepName> = StepDepsOf<(typeof STEPS)[N]>;

/**
 * A step's deps picked from a full set of ports and settings (the embedded runtime's in-memory ones).
 *
 * @example const deps = pickStepDeps('run-gates', { ...ports, ...settings }) // { ledger, clock, gatePolicy }
 */
export function pickStepDeps<N extends StepName>(name: N, all: StepPorts & StepSettings): StepDeps<N> {
  const spec: StepSpec = STEPS[name];
  const deps: Record<string, unknown> = {};
  for (const key of [...spec.ports, ...spec.settings]) deps[key] = all[key];
  return deps as StepDeps<N>;
}

/** The steps whose permissions include `permission`, in registry order. */
export function stepsWith(permission: keyof StepPermissions): StepName[] {
  return STEP_NAMES.filter((name) => {
    const p: StepPermissions = STEPS[name].permissions;
    const v = p[permission];
    return Array.isArray(v) ? v.length > 0 : v === true;
  });
}
