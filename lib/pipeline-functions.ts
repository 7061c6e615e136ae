/**
 * The pipeline's Lambda functions, one per step of the registry (core/steps.ts: description, size,
 * environment, permissions; the entry is lambdas/<name>/index.ts), each with its own role that
 * gets exactly what its adapters call, scoped to one resource: the table and its one index, one
 * topic and the key, the router's endpoint or function, one state machine's executions. The
 * exceptions AWS imposes (no resource-level permissions) are acknowledged where they are granted.
 *
 * Bundling: esbuild (local, no Docker), ESM for Node 22, minified with names kept (the error
 * classes' names are what Step Functions and the CLI match), with source maps; the AWS SDK v3
 * clients are bundled (not taken from the runtime) so the code runs against the SDK versions the
 * adapters were tested with, tree-shaken to what they use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { CanaryPolicy, GatePolicy } from '../core/policy.js';
import { sageMakerNamePrefix } from '../core/deployment.js';
import { ENV, type RouterConfig, type ServingSettingsConfig } from '../core/runtime-config.js';
import { STEP_NAMES, STEPS, type EnvKey, type StepName, type StepPermissions, type StepSpec } from '../core/steps.js';
import type { AuditLedger } from './audit-ledger.js';
import type { IncidentTopics } from './incident-topics.js';
import { allowLogsService } from './kms.js';
import { acknowledge, acknowledgeGuard, acknowledgeLogRetention } from './nag.js';

/** The steps' names (core/steps.ts), in the order the functions are created. */
export const HANDLER_NAMES: readonly HandlerName[] = STEP_NAMES;
export type HandlerName = StepName;
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
   * Directory holding `lambdas/` and the lock file.
   *
   * @default - the repository root
   */
  readonly projectRoot?: string;
  /** @default 'builderbrain-release' */
  readonly serviceName?: string;
}

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Makes bundled CommonJS dependencies that call `require` work inside an ESM bundle. */
const ESM_REQUIRE_SHIM = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/**
 * How every handler is bundled: local esbuild, ESM for Node 22, minified but keeping function and
 * class names, source maps, the AWS SDK included.
 */
export function handlerBundling(projectRoot: string): nodejs.BundlingOptions {
  return {
    forceDockerBundling: false,
    format: nodejs.OutputFormat.ESM,
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    // Error classes' names are a contract (core/app/errors.ts: the errorType Step Functions and the CLI match).
    keepNames: true,
    sourceMap: true,
    sourcesContent: false,
    externalModules: [],
    bundleAwsSDK: true,
    banner: ESM_REQUIRE_SHIM,
    tsconfig: join(projectRoot, 'tsconfig.json'),
  };
}

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
  public readonly functions: Record<HandlerName, nodejs.NodejsFunction>;
  public readonly logGroups: Record<HandlerName, logs.LogGroup>;
  /** Variables some function reads whose value did not exist yet (see {@link provideEnvironment}). */
  private readonly pending = new Set<EnvKey>();

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
    const functions = {} as Record<HandlerName, nodejs.NodejsFunction>;
    const logGroups = {} as Record<HandlerName, logs.LogGroup>;
    for (const name of STEP_NAMES) [functions[name], logGroups[name]] = this.stepFunction(name, ctx);
    this.functions = functions;
    this.logGroups = logGroups;
    this.node.addValidation({ validate: () => [...this.pending].map((key) => `PipelineFunctions: ${ENV[key]} was never provided (provideEnvironment)`) });
  }

  /** One handler's function. */
  public fn(name: HandlerName): nodejs.NodejsFunction {
    return this.functions[name];
  }

  /**
   * Sets a variable that did not exist when the functions were created (the artifact bucket's name:
   * the bucket's trigger needs the intake function first) on every function whose step reads it.
   */
  public provideEnvironment(key: EnvKey, value: string): void {
    for (const name of STEP_NAMES) {
      const env: readonly EnvKey[] = STEPS[name].env;
      if (env.includes(key)) this.functions[name].addEnvironment(ENV[key], value);
    }
    this.pending.delete(key);
  }

  /** A step's function: its log group, its role, its environment, its grants. */
  private stepFunction(name: HandlerName, ctx: FunctionContext): [nodejs.NodejsFunction, logs.LogGroup] {
    const spec: StepSpec = STEPS[name];
    const cid = stepConstructId(name);
    const entry = join(ctx.projectRoot, 'lambdas', name, 'index.ts');
    if (!existsSync(entry)) throw new Error(`PipelineFunctions: handler ${name} has no entry file ${entry}`);
    const logGroup = this.stepLogGroup(cid, ctx);
    const role = stepRole(this, cid, name, logGroup);
    const fn = new nodejs.NodejsFunction(this, cid, {
      entry,
      handler: 'handler',
      description: spec.description,
      projectRoot: ctx.projectRoot,
      depsLockFilePath: join(ctx.projectRoot, 'package-lock.json'),
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
      bundling: handlerBundling(ctx.projectRoot),
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
    checkEnvironmentSize(name, environment);
    return environment;
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
    alarmWarmup: JSON.stringify(props.alarmWarmup ?? { minutes: 0, evaluationMinutes: 1 }),
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
  if (permissions.ledger !== undefined) props.ledger.grantActions(role, permissions.ledger);
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
  if (permissions.deploysModels === true) grantServing(role, props.serving, stack);
  if (permissions.startsPromotion === true) {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [ctx.promotionArn] }));
  }
  if (permissions.stopsCanary === true) grantStopCanary(role, props.canaryStateMachineName, stack);
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

function acknowledgeFunction(fn: nodejs.NodejsFunction): void {
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
function grantRouter(role: iam.Role, router: RouterConfig, stack: Stack): void {
  if (router.kind === 'sagemaker') {
    // SageMaker ARNs carry the endpoint name in lower case.
    const endpointArn = stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: router.endpointName.toLowerCase() });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'], resources: [endpointArn] }),
    );
  } else {
    const functionArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: router.functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:GetAlias', 'lambda:UpdateAlias'], resources: [functionArn, `${functionArn}:*`] }),
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

/** Checked at synth, in bytes: a deploy must not discover it. */
function checkEnvironmentSize(handler: string, environment: Record<string, string>): void {
  const bytes = Object.entries(environment).reduce((n, [k, v]) => n + Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8'), 0);
  if (bytes > LAMBDA_ENVIRONMENT_MAX_BYTES) {
    throw new Error(
      `PipelineFunctions: the ${handler} function's environment is ${bytes} bytes, over Lambda's limit of ${LAMBDA_ENVIRONMENT_MAX_BYTES}: shorten deployment.sagemaker.environment or the policy`,
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
