/**
 * The pipeline's Lambda functions, one per step of the registry (core/steps.ts: description, size,
 * environment, permissions; the entry is lambdas/<name>/index.ts), each with its own role that
 * gets exactly what its adapters call, scoped to one resource: the table and its one index, one
 * topic and the key, the router's endpoint or function, one state machine's executions. The
 * exceptions AWS imposes (no resource-level permissions) are acknowledged where they are granted.
 *
 * Bundling (lib/bundler.ts, lib/handler-bundle.ts): esbuild (local, no Docker), every handler of the
 * registry in one bundling process per synthesis, ESM for Node 22, minified without kept names (the
 * error classes name themselves: their names are what Step Functions and the CLI match), with source
 * maps of our own code; the AWS SDK v3 clients are
 * bundled (not taken from the runtime) so the code runs against the SDK versions the adapters were
 * tested with, tree-shaken to what they use, and loads faster than the runtime's copy.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnResource, Duration, RemovalPolicy, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BakePolicy, RecoveryPolicy } from '../core/bake.js';
import type { EnvironmentSettings } from '../core/environments.js';
import type { CanaryPolicy, GatePolicy } from '../core/policy.js';
import { DEFAULT_INCIDENT_POLICY, type IncidentPolicy } from '../core/incidents.js';
import { sageMakerNamePrefix } from '../core/deployment.js';
import { ENV, type RouterConfig, type ServingSettingsConfig } from '../core/runtime-config.js';
import { STEP_NAMES, STEPS, type EnvKey, type StepName, type StepPermissions, type StepSpec } from '../core/steps.js';
import type { AuditLedger } from './audit-ledger.js';
import { handlerEntries } from './bundler.js';
import { HANDLER, handlerCode } from './handler-bundle.js';
import type { IncidentTopics } from './incident-topics.js';
import { allowLogsService } from './kms.js';
import { acknowledge, acknowledgeGuard, acknowledgeLogRetention } from './nag.js';

export type HandlerName = StepName;

/**
 * The steps of the environment chain (core/environments.ts): their functions exist only where the
 * environment needs them (lib/stack.ts chainSteps): run-hooks where it has hooks, drill where it
 * drills, hand-over where a next environment exists, accept-handover where a previous one does.
 */
export const CHAIN_HANDLER_NAMES = ['run-hooks', 'drill', 'hand-over', 'accept-handover'] as const satisfies readonly StepName[];

/** The steps every pipeline has (core/steps.ts, less the chain's), in the order the functions are created. */
export const HANDLER_NAMES: readonly HandlerName[] = STEP_NAMES.filter((n) => !(CHAIN_HANDLER_NAMES as readonly string[]).includes(n));
export type { EnvKey };

/** What one handler is, needs and may do: its registry entry (core/steps.ts) in CDK terms. */
export interface HandlerSpec extends StepPermissions {
  readonly description: string;
  /** Variables of core/runtime-config.ts ENV it reads. */
  readonly env: readonly EnvKey[];
  readonly memoryMb: number;
  readonly timeout: Duration;
}

/** The handlers' needs, from the step registry. */
export const HANDLER_SPECS: Readonly<Record<HandlerName, HandlerSpec>> = Object.fromEntries(
  STEP_NAMES.map((name) => {
    const { description, env, memoryMb, timeoutSeconds, permissions }: StepSpec = STEPS[name];
    return [name, { description, env, memoryMb, timeout: Duration.seconds(timeoutSeconds), ...permissions }];
  }),
) as Record<HandlerName, HandlerSpec>;

/** Metadata key naming the step of a pipeline function (lib/synth.ts maps Lambda tasks to handlers by it). */
export const STEP_METADATA_KEY = 'builderbrain:step';

/** The construct id of a step's function (`run-gates` → `RunGates`). */
export function stepConstructId(name: HandlerName): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
}

export interface PipelineFunctionsProps {
  /** The model the pipeline releases (BB_MODEL). */
  readonly model: string;
  readonly router: RouterConfig;
  readonly gatePolicy: GatePolicy;
  readonly canaryPolicy: CanaryPolicy;
  /** CloudWatch namespace of the serving fleet's metrics. */
  readonly metricsNamespace: string;
  readonly ledger: AuditLedger;
  readonly topics: IncidentTopics;
  /**
   * The alarm path's warm-up (BB_ALARM_WARMUP_JSON of the rollback function).
   *
   * @default - none: every alarm counts
   */
  readonly alarmWarmup?: { readonly minutes: number; readonly evaluationMinutes: number };
  /** How candidates are deployed (BB_SERVING_JSON of the serving function). */
  readonly serving: ServingSettingsConfig;
  /** The environment's bake after 100% (BB_BAKE_JSON of the bake function; core/bake.ts). */
  readonly bake: BakePolicy;
  /** The recovery check after every rollback (BB_RECOVERY_JSON of the recovery function; core/bake.ts). */
  readonly recovery: RecoveryPolicy;
  /**
   * Incidents' status updates (BB_INCIDENTS_JSON of the incidents function; core/incidents.ts).
   *
   * @default DEFAULT_INCIDENT_POLICY - every 15 minutes, looked at every 5
   */
  readonly incidents?: IncidentPolicy;
  /**
   * Where this pipeline stands in the environment chain (BB_ENVIRONMENT_JSON of the steps that read
   * it; CloudFormation tokens allowed, resolved at deploy); its hooks and next bus are what run-hooks
   * and hand-over may call.
   */
  readonly environment: EnvironmentSettings;
  /**
   * The steps to create a function for, in registry order.
   *
   * @default HANDLER_NAMES - every pipeline's steps, none of the chain's
   */
  readonly steps?: readonly HandlerName[];
  /**
   * The previous environment of the chain, whose promoted artifacts the accept-handover function
   * copies; required when a step that `copiesUpstream` is created.
   *
   * @default - none
   */
  readonly upstream?: UpstreamSource;
  /** Name of the promotion state machine (its ARN is derived, so no dependency cycle arises). */
  readonly promotionStateMachineName: string;
  /** Name of the canary state machine (the rollback function stops its executions). */
  readonly canaryStateMachineName: string;
  /** Encrypts the log groups. */
  readonly encryptionKey: kms.IKey;
  /** @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency of the rollback function. Opt-in: Lambda keeps 100 of the account's
   * concurrency unreserved, so an account at the default quota (10) refuses any reservation.
   *
   * @default - unreserved
   */
  readonly rollbackReservedConcurrency?: number;
  /**
   * Directory holding `lambdas/`, `tsconfig.json` and `node_modules/` (esbuild, the bundled packages).
   *
   * @default - the repository root
   */
  readonly projectRoot?: string;
  /** @default 'builderbrain-release' */
  readonly serviceName?: string;
}

/** Where the previous environment keeps its promoted artifacts: its account and region. */
export interface UpstreamSource {
  /** A 12-digit account id, or `Aws.ACCOUNT_ID` in a chain in one account. */
  readonly account: string;
  /** Its region (the region of its bucket and key). */
  readonly region: string;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));


/** What every function of the stack shares, resolved once. */
interface FunctionContext {
  readonly props: PipelineFunctionsProps;
  readonly projectRoot: string;
  readonly retention: logs.RetentionDays;
  /** The value of each variable known when the functions are created (the others are provided later). */
  readonly envValues: Partial<Record<EnvKey, string>>;
  readonly promotionArn: string;
}

export class PipelineFunctions extends Construct {
  /** The functions created (see {@link PipelineFunctionsProps.steps}), by step. */
  public readonly functions: Readonly<Partial<Record<HandlerName, lambda.Function>>>;
  public readonly logGroups: Readonly<Partial<Record<HandlerName, logs.LogGroup>>>;
  /** The steps whose function exists, in registry order. */
  public readonly steps: readonly HandlerName[];
  /** Variables some function reads whose value did not exist yet (see {@link provideEnvironment}). */
  private readonly pending = new Set<EnvKey>();
  /** Each function's variables as set, for the size check when one is provided later. */
  private readonly environments: Partial<Record<HandlerName, Record<string, string>>> = {};

  public constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    if (props.rollbackReservedConcurrency !== undefined && !(Number.isInteger(props.rollbackReservedConcurrency) && props.rollbackReservedConcurrency >= 1)) {
      throw new Error(`PipelineFunctions: rollbackReservedConcurrency must be a positive integer, got ${props.rollbackReservedConcurrency}`);
    }
    allowLogsService(props.encryptionKey);
    const promotionArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.promotionStateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const ctx: FunctionContext = {
      props,
      projectRoot: props.projectRoot ?? REPO_ROOT,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      envValues: environmentValues(props, Stack.of(this).stackName, promotionArn),
      promotionArn,
    };
    const wanted = new Set(props.steps ?? HANDLER_NAMES);
    const unknown = [...wanted].filter((n) => !STEP_NAMES.includes(n));
    if (unknown.length > 0) throw new Error(`PipelineFunctions: no step named ${unknown.join(', ')} (core/steps.ts)`);
    this.steps = STEP_NAMES.filter((n) => wanted.has(n));
    const functions: Partial<Record<HandlerName, lambda.Function>> = {};
    const logGroups: Partial<Record<HandlerName, logs.LogGroup>> = {};
    for (const name of this.steps) [functions[name], logGroups[name]] = this.stepFunction(name, ctx);
    this.functions = functions;
    this.logGroups = logGroups;
    this.node.addValidation({ validate: () => [...this.pending].map((key) => `PipelineFunctions: ${ENV[key]} was never provided (provideEnvironment)`) });
  }

  /** One handler's function; throws when the step has none in this stack. */
  public fn(name: HandlerName): lambda.Function {
    const fn = this.functions[name];
    if (fn === undefined) throw new Error(`PipelineFunctions: no ${name} function in this pipeline (steps: ${this.steps.join(', ')})`);
    return fn;
  }

  /** A handler's function, or undefined when this pipeline has none (the chain's steps). */
  public tryFn(name: HandlerName): lambda.Function | undefined {
    return this.functions[name];
  }

  /** Whether the step has a function in this pipeline. */
  public has(name: HandlerName): boolean {
    return this.functions[name] !== undefined;
  }

  /**
   * Sets a variable that did not exist when the functions were created (the artifact bucket's name:
   * the bucket's trigger needs the intake function first) on every function whose step reads it.
   */
  public provideEnvironment(key: EnvKey, value: string): void {
    for (const name of this.steps) {
      const env: readonly EnvKey[] = STEPS[name].env;
      if (!env.includes(key)) continue;
      this.fn(name).addEnvironment(ENV[key], value);
      const environment = this.environments[name]!;
      environment[ENV[key]] = value;
      checkEnvironmentSize(this, name, environment);
    }
    this.pending.delete(key);
  }

  /** A step's function: its log group, its role, its environment, its grants. */
  private stepFunction(name: HandlerName, ctx: FunctionContext): [lambda.Function, logs.LogGroup] {
    const spec: StepSpec = STEPS[name];
    const cid = stepConstructId(name);
    const entries = handlerEntries(ctx.projectRoot);
    const entry = entries[name];
    if (!existsSync(entry)) throw new Error(`PipelineFunctions: handler ${name} has no entry file ${entry}`);
    const logGroup = this.stepLogGroup(cid, ctx);
    const role = stepRole(this, cid, name, logGroup);
    const fn = new lambda.Function(this, cid, {
      code: handlerCode(ctx.projectRoot, name, entries),
      handler: HANDLER,
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: this.stepEnvironment(name, spec, ctx),
      reservedConcurrentExecutions: name === 'rollback' ? ctx.props.rollbackReservedConcurrency : undefined,
    });
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata(STEP_METADATA_KEY, name);
    grantPermissions(role, spec.permissions, ctx);
    acknowledgeFunction(fn);
    return [fn, logGroup];
  }

  /** A generated name; kept when the stack is deleted, removed again when its first creation fails. */
  private stepLogGroup(cid: string, ctx: FunctionContext): logs.LogGroup {
    const logGroup = new logs.LogGroup(this, `${cid}Logs`, {
      retention: ctx.retention,
      encryptionKey: ctx.props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledgeLogRetention(logGroup, ctx.retention);
    return logGroup;
  }

  /** Powertools' settings and the step's variables (those known now; the others are pending). */
  private stepEnvironment(name: HandlerName, spec: StepSpec, ctx: FunctionContext): Record<string, string> {
    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: ctx.props.serviceName ?? 'builderbrain-release',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const key of spec.env) {
      const value = ctx.envValues[key];
      if (value === undefined) this.pending.add(key);
      else environment[ENV[key]] = value;
    }
    checkEnvironmentSize(this, name, environment);
    this.environments[name] = environment;
    return { ...environment };
  }
}

/** The variables' values the props determine (the artifact bucket's name comes later: {@link PipelineFunctions.provideEnvironment}). */
function environmentValues(props: PipelineFunctionsProps, stackName: string, promotionArn: string): Partial<Record<EnvKey, string>> {
  return {
    model: props.model,
    tableName: props.ledger.table.tableName,
    incidentTopicArn: props.topics.incidentTopic.topicArn,
    approvalTopicArn: props.topics.approvalsTopic.topicArn,
    metricsNamespace: props.metricsNamespace,
    router: JSON.stringify(props.router),
    gatePolicy: JSON.stringify(props.gatePolicy),
    canaryPolicy: JSON.stringify(props.canaryPolicy),
    promotionStateMachineArn: promotionArn,
    stackName,
    serving: JSON.stringify(props.serving),
    bake: JSON.stringify(props.bake),
    recovery: JSON.stringify(props.recovery),
    incidents: JSON.stringify(props.incidents ?? DEFAULT_INCIDENT_POLICY),
    alarmWarmup: JSON.stringify(props.alarmWarmup ?? { minutes: 0, evaluationMinutes: 1 }),
    // Tokens (the chain's accounts, the next bus's ARN) inside the string resolve to an Fn::Join.
    environment: JSON.stringify(props.environment),
  };
}

/** A role of our own: no AWSLambdaBasicExecutionRole (logs:* on every log group), only this log group. */
function stepRole(scope: Construct, cid: string, name: HandlerName, logGroup: logs.LogGroup): iam.Role {
  const role = new iam.Role(scope, `${cid}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `BuilderBrain ${name} handler`,
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  return role;
}

/** The registry's permissions of a step (core/steps.ts StepPermissions) as grants, each scoped to one resource. */
function grantPermissions(role: iam.Role, permissions: StepPermissions, ctx: FunctionContext): void {
  const { props } = ctx;
  const stack = Stack.of(role);
  // The step that accepts hand-overs records them (HANDOVER# partition).
  if (permissions.ledger !== undefined) props.ledger.grantActions(role, permissions.ledger, { handovers: permissions.copiesUpstream === true });
  if (permissions.listsReleases === true) props.ledger.grantListReleases(role);
  for (const t of permissions.publishes ?? []) props.topics.grantPublish(t, role);
  if (permissions.readsMetrics === true) {
    // cloudwatch:GetMetricData supports no resource-level permissions: Resource must be "*".
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
  }
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    permissions.readsMetrics === true
      ? 'Resource "*" only for actions without resource-level permissions: cloudwatch:GetMetricData and the X-Ray xray:PutTraceSegments/PutTelemetryRecords that active tracing adds.'
      : 'Resource "*" only for the X-Ray actions xray:PutTraceSegments/PutTelemetryRecords that active tracing adds; X-Ray supports no resource-level permissions.',
  );
  if (permissions.routesTraffic === true) grantRouter(role, props.router, stack);
  else if (permissions.readsTraffic === true) grantRouter(role, props.router, stack, 'read');
  if (permissions.deploysModels === true) grantServing(role, props.serving, stack);
  if (permissions.startsPromotion === true) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [ctx.promotionArn] }));
  }
  if (permissions.stopsCanary === true) grantStopCanary(role, props.canaryStateMachineName, stack);
  if (permissions.invokesHooks === true) grantInvokeHooks(role, props.environment);
  if (permissions.sendsHandover === true) grantSendHandover(role, props.environment);
  if (permissions.copiesUpstream === true) grantReadUpstream(role, props.upstream, props.model);
}

/**
 * lambda:InvokeFunction on exactly the environment's hook functions, by the ARNs configured: an ARN
 * with an alias or version is granted as such (invoking it needs that very ARN), an unqualified one
 * covers the function's $LATEST only. A hook in another account also needs its own resource policy
 * to admit this account (the team's side).
 */
function grantInvokeHooks(role: iam.Role, environment: EnvironmentSettings): void {
  const arns = [...new Set(environment.hooks.map((h) => h.functionArn))];
  if (arns.length === 0) throw new Error(`PipelineFunctions: the run-hooks function is created only for an environment with hooks (${environment.name} has none)`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: arns }));
}

/** events:PutEvents on exactly the next environment's hand-over bus (whose policy admits this account). */
function grantSendHandover(role: iam.Role, environment: EnvironmentSettings): void {
  if (environment.next === null) throw new Error(`PipelineFunctions: the hand-over function is created only for an environment with a next one (${environment.name} is the last)`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [environment.next.eventBusArn] }));
}

/**
 * Reading the previous environment's promoted artifacts of `model`: s3:GetObject on
 * `models/<model>/*` of any bucket, but only of buckets in the previous environment's account
 * (s3:ResourceAccount); kms:Decrypt on that account's keys in its region, only through S3 there
 * (kms:ViaService). The previous environment's bucket and key are resources of another stack, often
 * of another account: their names are not known at synth, and the hand-over event names the bucket.
 * That account's bucket and key policies grant this account the same (lib/artifact-trigger.ts
 * grantReadToAccount), so both sides must agree.
 */
function grantReadUpstream(role: iam.Role, upstream: UpstreamSource | undefined, model: string): void {
  if (upstream === undefined) throw new Error('PipelineFunctions: the accept-handover function needs `upstream` (the previous environment)');
  const stack = Stack.of(role);
  const objects = `arn:${stack.partition}:s3:::*/models/${model}/*`;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects], conditions: { StringEquals: { 's3:ResourceAccount': upstream.account } } }),
  );
  const keys = `arn:${stack.partition}:kms:${upstream.region}:${upstream.account}:key/*`;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [keys], conditions: { StringEquals: { 'kms:ViaService': `s3.${upstream.region}.amazonaws.com` } } }),
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::*/models/${model}/*]`,
    "The previous environment's bucket is another stack's, usually in another account: its generated name is not known at synth (the hand-over event names it). s3:GetObject covers models/<model>/ objects only, of buckets owned by the previous environment's account only (condition s3:ResourceAccount), whose bucket policy grants this account the same prefix.",
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${nagValue(stack, upstream.region)}:${nagValue(stack, upstream.account)}:key/*]`,
    "The previous environment's key is another stack's, usually in another account: its id is not known at synth. kms:Decrypt covers that account's keys in its region only, and only through S3 there (kms:ViaService), as S3 decrypts the artifact being read; that key's policy grants this account the same.",
  );
}

/** A value as cdk-nag renders it in finding ids: a literal as is, a Ref as `<AWS::Region>` / `<LogicalId>`. */
function nagValue(stack: Stack, value: string): string {
  if (!Token.isUnresolved(value)) return value;
  const resolved: unknown = stack.resolve(value);
  if (typeof resolved === 'object' && resolved !== null && typeof (resolved as { Ref?: unknown }).Ref === 'string') return `<${(resolved as { Ref: string }).Ref}>`;
  throw new Error(`PipelineFunctions: cannot render ${JSON.stringify(resolved)} as cdk-nag does`);
}

/** states:StopExecution on the executions of the one canary state machine. */
function grantStopCanary(role: iam.Role, canaryStateMachineName: string, stack: Stack): void {
  const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${canaryStateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagArn('states', `execution:${canaryStateMachineName}:*`)}]`,
    'Execution names are release ids known only at run time: StopExecution is granted on the executions of the one canary state machine.',
  );
}

function acknowledgeFunction(fn: lambda.Function): void {
  acknowledge(
    fn,
    'AwsSolutions-L1',
    'Node.js 22 on purpose: it is the engine every test and the embedded runtime run on (package.json engines and the node devDependency), so production runs the runtime the code was tested with. Lambda supports it until 2027.',
  );
  acknowledgeGuard(
    fn,
    'lambda_inside_vpc_check',
    'The handlers reach only AWS APIs (DynamoDB, S3, SNS, SQS, Step Functions, CloudWatch, SageMaker, Lambda) over TLS with IAM, no private resource; a VPC would add NAT or a dozen interface endpoints that a rollback would then depend on.',
  );
}

/**
 * The router's calls (lambdas/adapters/*-router.ts; no handler reads the current split): SageMaker
 * variant weights on one endpoint, or the aliases of one function.
 */
function grantRouter(role: iam.Role, router: RouterConfig, stack: Stack, access: 'route' | 'read' = 'route'): void {
  const read = access === 'read';
  if (router.kind === 'sagemaker') {
    // SageMaker ARNs carry the endpoint name in lower case.
    const endpointArn = stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: router.endpointName.toLowerCase() });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: read ? ['sagemaker:DescribeEndpoint'] : ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'], resources: [endpointArn] }),
    );
  } else {
    const functionArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: router.functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: read ? ['lambda:GetAlias'] : ['lambda:GetAlias', 'lambda:UpdateAlias'], resources: [functionArn, `${functionArn}:*`] }),
    );
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagArn('lambda', `function:${router.functionName}:*`)}]`,
      'Alias actions may be authorized on the qualified ARN (function:name:alias): the grant covers the aliases of the one routed function.',
    );
  }
}

/** Lambda's limit on a function's environment: 4 KB over every key and value, in bytes. */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;

/**
 * The longest each CloudFormation pseudo parameter resolves to, in bytes: account ids are 12 digits;
 * the longest region code is 14 characters today (`ap-southeast-4`, `eusc-de-east-1`) and the
 * longest partition 10 (`aws-us-gov`), each given room to grow.
 */
const PSEUDO_PARAMETER_MAX_BYTES: Readonly<Record<string, number>> = {
  'AWS::AccountId': 12,
  'AWS::Region': 20,
  'AWS::Partition': 16,
  'AWS::URLSuffix': 24,
  'AWS::StackName': 128,
  'AWS::StackId': 256,
  'AWS::NoValue': 0,
};

/** An ARN of a service's resource whose own part is at most `resource` bytes. */
const arnMaxBytes = (service: string, resource: number) => 'arn:'.length + 16 + service.length + 2 + 20 + 1 + 12 + 1 + resource;

/** The longest a `Ref` of a resource of each type resolves to (its name, or for a topic its ARN), in bytes. */
const REF_MAX_BYTES: Readonly<Record<string, number>> = {
  'AWS::DynamoDB::Table': 255,
  'AWS::S3::Bucket': 63,
  'AWS::SNS::Topic': arnMaxBytes('sns', 256),
  'AWS::SQS::Queue': 'https://sqs..amazonaws.com//'.length + 20 + 12 + 80 + 8,
  'AWS::Lambda::Function': 64,
  'AWS::StepFunctions::StateMachine': arnMaxBytes('states', 'stateMachine:'.length + 80),
  'AWS::Events::EventBus': 256,
};

/** Any other attribute of a resource (an ARN, a generated name): an ARN's usual bound. */
const OTHER_TOKEN_MAX_BYTES = 2048;

/**
 * The most bytes `value` can take once CloudFormation resolves its tokens: literals as they are,
 * pseudo parameters and resource names at their longest (the values are known only at deploy).
 */
export function worstCaseBytes(stack: Stack, value: string): number {
  if (!Token.isUnresolved(value)) return Buffer.byteLength(value, 'utf8');
  const types = new Map<string, string>();
  for (const c of stack.node.findAll()) if (c instanceof CfnResource) types.set(stack.resolve(c.logicalId) as string, c.cfnResourceType);
  const bound = (v: unknown): number => {
    if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
    if (typeof v === 'number') return String(v).length;
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    if (typeof o['Ref'] === 'string') {
      const ref = o['Ref'];
      return PSEUDO_PARAMETER_MAX_BYTES[ref] ?? REF_MAX_BYTES[types.get(ref) ?? ''] ?? OTHER_TOKEN_MAX_BYTES;
    }
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.reduce((n: number, p) => n + bound(p), 0) + Buffer.byteLength(sep, 'utf8') * Math.max(0, parts.length - 1);
    }
    return OTHER_TOKEN_MAX_BYTES;
  };
  // Each token of the string at its longest, the literals between them as they are.
  let tokenBytes = 0;
  const literals: unknown = Tokenization.reverseString(value)
    .mapTokens({
      mapToken: (t) => {
        tokenBytes += bound(stack.resolve(t));
        return '';
      },
    })
    .join({ join: (l: unknown, r: unknown) => `${String(l)}${String(r)}` });
  return Buffer.byteLength(String(literals ?? ''), 'utf8') + tokenBytes;
}

/**
 * Checked at synth, in bytes, a token counted at the longest value it can resolve to
 * ({@link worstCaseBytes}): a deploy must not discover it.
 */
function checkEnvironmentSize(scope: Construct, handler: string, environment: Record<string, string>): void {
  const stack = Stack.of(scope);
  const sizes = Object.entries(environment).map(([k, v]) => [k, Buffer.byteLength(k, 'utf8') + worstCaseBytes(stack, v)] as const);
  const bytes = sizes.reduce((n, [, b]) => n + b, 0);
  if (bytes > LAMBDA_ENVIRONMENT_MAX_BYTES) {
    const largest = [...sizes].sort((x, y) => y[1] - x[1])[0]![0];
    const hint =
      largest === ENV.environment
        ? `shorten the environment's hooks (their names, ARNs and phases travel in ${ENV.environment}) or its endpoint name`
        : 'shorten deployment.sagemaker.environment or the policy';
    throw new Error(
      `PipelineFunctions: the ${handler} function's environment is ${bytes} bytes, over Lambda's limit of ${LAMBDA_ENVIRONMENT_MAX_BYTES}: ${hint} (CloudFormation values counted at their longest; the largest variable is ${largest})`,
    );
  }
}

/**
 * The serving target's calls (lambdas/adapters/*-target.ts). SageMaker: the Models and
 * EndpointConfigs the pipeline creates (their names start with the endpoint's prefix), the one
 * endpoint, and iam:PassRole of the one execution role, to SageMaker only. Lambda: the one function's
 * configuration, versions, aliases and invocation.
 */
function grantServing(role: iam.Role, serving: ServingSettingsConfig, stack: Stack): void {
  const p = serving.plan;
  if (p.kind === 'sagemaker') grantSageMakerServing(role, p, stack);
  else grantLambdaServing(role, p.functionName, stack);
}

function grantSageMakerServing(role: iam.Role, p: Extract<ServingSettingsConfig['plan'], { kind: 'sagemaker' }>, stack: Stack): void {
  const arn = (resource: string, name: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
  const prefix = sageMakerNamePrefix(p.endpointName).toLowerCase();
  const endpoint = arn('endpoint', p.endpointName.toLowerCase());
  const ours = (resource: string) => arn(resource, `${prefix}--*`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:CreateModel'], resources: [ours('model')] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:CreateEndpointConfig'], resources: [ours('endpoint-config')] }));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'], resources: [endpoint, ours('endpoint-config')] }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint', 'sagemaker:InvokeEndpoint'], resources: [endpoint] }),
  );
  // The endpoint's current config may be the team's own (the first one is made by hand): read-only.
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig'], resources: [arn('endpoint-config', '*')] }));
  if (p.serving !== null) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [p.serving.executionRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
  }
  for (const resource of ['model', 'endpoint-config']) {
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${nagArn('sagemaker', `${resource}/${prefix}--*`)}]`,
      `Each release creates its own ${resource} named <endpoint>-<version>-<hash>-<role> (core/deployment.ts sageMakerNames), known only at run time: the grant covers the names this pipeline makes for this one endpoint.`,
    );
  }
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagArn('sagemaker', 'endpoint-config/*')}]`,
    'sagemaker:DescribeEndpointConfig only (read): the endpoint the team made by hand serves from a config whose name the pipeline cannot know; every write is scoped to the names the pipeline makes.',
  );
}

function grantLambdaServing(role: iam.Role, functionName: string, stack: Stack): void {
  const functionArn = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: functionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionConfiguration',
        'lambda:PublishVersion',
        'lambda:ListVersionsByFunction',
        'lambda:GetAlias',
        'lambda:CreateAlias',
        'lambda:UpdateAlias',
        'lambda:DeleteAlias',
        'lambda:InvokeFunction',
      ],
      resources: [functionArn, `${functionArn}:*`],
    }),
  );
  acknowledge(
    role,
    `AwsSolutions-IAM5[Resource::${nagArn('lambda', `function:${functionName}:*`)}]`,
    'Versions and aliases are authorized on qualified ARNs (function:name:version): the grant covers the versions and aliases of the one served function.',
  );
}

/** An ARN of this stack's partition, region and account as cdk-nag renders it in finding ids. */
function nagArn(service: string, resource: string): string {
  return `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
}
