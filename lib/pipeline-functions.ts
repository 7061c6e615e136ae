/**
 * The twelve Lambda handlers of the pipeline (lambdas/<name>/index.ts), each with its own role that
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
import type { AuditLedger, LedgerAction } from './audit-ledger.js';
import type { IncidentTopics, PublishableTopic } from './incident-topics.js';
import { allowLogsService } from './kms.js';
import { acknowledge, acknowledgeGuard, acknowledgeLogRetention } from './nag.js';

export const HANDLER_NAMES = [
  'intake',
  'validate-manifest',
  'release-lock',
  'run-gates',
  'verify-artifact',
  'serving',
  'reject-release',
  'start-phase',
  'analyze-canary',
  'request-approval',
  'promote',
  'rollback',
  'execution-ended',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];
export type EnvKey = keyof typeof ENV;

/** What one handler is, needs and may do. */
export interface HandlerSpec {
  readonly description: string;
  /** Variables of core/runtime-config.ts ENV it reads. */
  readonly env: readonly EnvKey[];
  readonly memoryMb: number;
  readonly timeout: Duration;
  /**
   * DynamoDB actions on the ledger: what the use cases' ledger and lock calls become in
   * lambdas/adapters/dynamodb-ledger.ts (no handler lists or queries; the CLI does).
   */
  readonly ledger?: readonly LedgerAction[];
  readonly publishes?: readonly PublishableTopic[];
  /** cloudwatch:GetMetricData (canary and baseline datapoints). */
  readonly readsMetrics?: boolean;
  /** The traffic router's endpoint or function. */
  readonly routesTraffic?: boolean;
  /** states:StartExecution on the promotion machine (a duplicate's ARN is derived, never described). */
  readonly startsPromotion?: boolean;
  /** states:StopExecution on the canary machine's executions. */
  readonly stopsCanary?: boolean;
  /** Builds, invokes and removes candidates on the serving target (SageMaker models/configs/endpoint, or Lambda versions). */
  readonly deploysModels?: boolean;
}

/**
 * The handlers' needs. Router calls wait for a SageMaker endpoint to settle, hence the longer
 * timeouts of start-phase, promote and rollback.
 */
export const HANDLER_SPECS: Record<HandlerName, HandlerSpec> = {
  intake: {
    description: 'Starts the promotion execution of an uploaded release.json (deterministic name)',
    env: ['model', 'promotionStateMachineArn'],
    memoryMb: 256,
    timeout: Duration.seconds(30),
    startsPromotion: true,
  },
  'validate-manifest': {
    description: 'Reads and validates the uploaded manifest; records the release',
    env: ['tableName'],
    memoryMb: 512,
    timeout: Duration.seconds(30),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
  },
  'release-lock': {
    description: 'Acquires or releases the per-model release lock',
    env: ['tableName'],
    memoryMb: 256,
    timeout: Duration.seconds(15),
    ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
  },
  'run-gates': {
    description: 'Runs the promotion gates and records each check',
    env: ['tableName', 'gatePolicy'],
    memoryMb: 256,
    timeout: Duration.seconds(30),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
  },
  'verify-artifact': {
    description: 'Verifies the uploaded artifact: in the release folder, present, SHA-256 as the manifest says',
    env: ['tableName'],
    // A full vCPU for SHA-256 over multi-gigabyte artifacts (bench/artifact-digest.bench.ts), 15 minutes at most.
    memoryMb: 1769,
    timeout: Duration.minutes(15),
    ledger: ['PutItem', 'UpdateItem'],
  },
  serving: {
    description: 'Deploys, smoke-tests, converges and removes the candidate on the serving target',
    env: ['tableName', 'serving'],
    memoryMb: 512,
    // A Lambda target's apply waits for the function's configuration update (up to a minute per wait).
    timeout: Duration.minutes(5),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
    deploysModels: true,
  },
  'reject-release': {
    description: 'Records a rejection and publishes its incident (P3; P2 for a failed deployment or smoke test)',
    env: ['tableName', 'incidentTopicArn'],
    memoryMb: 256,
    timeout: Duration.seconds(30),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
    publishes: ['incident'],
  },
  'start-phase': {
    description: 'Shifts traffic to the phase weight and plans its monitor loop',
    env: ['tableName', 'router'],
    memoryMb: 256,
    timeout: Duration.minutes(5),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
    routesTraffic: true,
  },
  'analyze-canary': {
    description: 'One look: canary vs baseline metrics, verdict, next monitor action; pages a hold once',
    env: ['tableName', 'metricsNamespace', 'canaryPolicy', 'incidentTopicArn'],
    memoryMb: 1024,
    timeout: Duration.seconds(60),
    ledger: ['PutItem', 'UpdateItem'],
    readsMetrics: true,
    publishes: ['incident'],
  },
  'request-approval': {
    description: 'Stores the task token and asks approvers (approvals topic)',
    env: ['tableName', 'approvalTopicArn'],
    memoryMb: 256,
    timeout: Duration.seconds(30),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
    publishes: ['approvals'],
  },
  promote: {
    description: 'Makes the candidate the new baseline, records the promotion, tells the approvers',
    env: ['tableName', 'router', 'approvalTopicArn'],
    memoryMb: 256,
    timeout: Duration.minutes(5),
    ledger: ['GetItem', 'PutItem', 'UpdateItem'],
    routesTraffic: true,
    publishes: ['approvals'],
  },
  rollback: {
    description: 'Restores the baseline, stops the canary, publishes the incident (state machines, alarms, operators)',
    env: ['model', 'tableName', 'router', 'incidentTopicArn', 'alarmWarmup'],
    memoryMb: 256,
    timeout: Duration.minutes(5),
    ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
    routesTraffic: true,
    publishes: ['incident'],
    stopsCanary: true,
  },
  'execution-ended': {
    description: 'A promotion execution ended ABORTED, TIMED_OUT or FAILED: rolls its release back if in flight, then releases the lock',
    env: ['tableName', 'router', 'incidentTopicArn'],
    memoryMb: 256,
    timeout: Duration.minutes(5),
    ledger: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
    routesTraffic: true,
    publishes: ['incident'],
    stopsCanary: true,
  },
};

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

export class PipelineFunctions extends Construct {
  public readonly functions: Record<HandlerName, nodejs.NodejsFunction>;
  public readonly logGroups: Record<HandlerName, logs.LogGroup>;

  public constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    if (props.rollbackReservedConcurrency !== undefined && !(Number.isInteger(props.rollbackReservedConcurrency) && props.rollbackReservedConcurrency >= 1)) {
      throw new Error(`PipelineFunctions: rollbackReservedConcurrency must be a positive integer, got ${props.rollbackReservedConcurrency}`);
    }
    allowLogsService(props.encryptionKey);

    const promotionArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.promotionStateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsOf = (machine: string) =>
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${machine}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    const envValues: Record<Exclude<EnvKey, 'artifactBucket'>, string> = {
      model: props.model,
      tableName: props.ledger.table.tableName,
      incidentTopicArn: props.topics.incidentTopic.topicArn,
      approvalTopicArn: props.topics.approvalsTopic.topicArn,
      metricsNamespace: props.metricsNamespace,
      router: JSON.stringify(props.router),
      gatePolicy: JSON.stringify(props.gatePolicy),
      canaryPolicy: JSON.stringify(props.canaryPolicy),
      promotionStateMachineArn: promotionArn,
      stackName: stack.stackName,
      serving: JSON.stringify(props.serving),
      alarmWarmup: JSON.stringify(props.alarmWarmup ?? { minutes: 0, evaluationMinutes: 1 }),
    };

    const functions = {} as Record<HandlerName, nodejs.NodejsFunction>;
    const logGroups = {} as Record<HandlerName, logs.LogGroup>;
    for (const name of HANDLER_NAMES) {
      const spec = HANDLER_SPECS[name];
      const cid = pascal(name);
      const entry = join(projectRoot, 'lambdas', name, 'index.ts');
      if (!existsSync(entry)) throw new Error(`PipelineFunctions: handler ${name} has no entry file ${entry}`);

      const retention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
      // A generated name; kept when the stack is deleted, removed again when its first creation fails.
      const logGroup = new logs.LogGroup(this, `${cid}Logs`, {
        retention,
        encryptionKey: props.encryptionKey,
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      acknowledgeLogRetention(logGroup, retention);
      // A role of our own: no AWSLambdaBasicExecutionRole (logs:* on every log group), only this log group.
      const role = new iam.Role(this, `${cid}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `BuilderBrain ${name} handler`,
      });
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      );

      const environment: Record<string, string> = {
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'builderbrain-release',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      };
      for (const key of spec.env) environment[ENV[key]] = envValues[key as Exclude<EnvKey, 'artifactBucket'>];
      checkEnvironmentSize(name, environment);

      const fn = new nodejs.NodejsFunction(this, cid, {
        entry,
        handler: 'handler',
        description: spec.description,
        projectRoot,
        depsLockFilePath: join(projectRoot, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: spec.memoryMb,
        timeout: spec.timeout,
        tracing: lambda.Tracing.ACTIVE,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        environment,
        reservedConcurrentExecutions: name === 'rollback' ? props.rollbackReservedConcurrency : undefined,
        bundling: handlerBundling(projectRoot),
      });

      if (spec.ledger !== undefined) props.ledger.grantActions(role, spec.ledger);
      for (const t of spec.publishes ?? []) props.topics.grantPublish(t, role);
      if (spec.readsMetrics === true) {
        // cloudwatch:GetMetricData supports no resource-level permissions: Resource must be "*".
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
      }
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        spec.readsMetrics === true
          ? 'Resource "*" only for actions without resource-level permissions: cloudwatch:GetMetricData and the X-Ray xray:PutTraceSegments/PutTelemetryRecords that active tracing adds.'
          : 'Resource "*" only for the X-Ray actions xray:PutTraceSegments/PutTelemetryRecords that active tracing adds; X-Ray supports no resource-level permissions.',
      );
      if (spec.routesTraffic === true) grantRouter(role, props.router, stack);
      if (spec.deploysModels === true) grantServing(role, props.serving, stack);
      if (spec.startsPromotion === true) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [promotionArn] }));
      }
      if (spec.stopsCanary === true) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['states:StopExecution'],
            resources: [executionsOf(props.canaryStateMachineName)],
          }),
        );
        acknowledge(
          role,
          `AwsSolutions-IAM5[Resource::${nagArn('states', `execution:${props.canaryStateMachineName}:*`)}]`,
          'Execution names are release ids known only at run time: StopExecution is granted on the executions of the one canary state machine.',
        );
      }
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
      functions[name] = fn;
      logGroups[name] = logGroup;
    }
    this.functions = functions;
    this.logGroups = logGroups;
  }

  /** One handler's function. */
  public fn(name: HandlerName): nodejs.NodejsFunction {
    return this.functions[name];
  }
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
  if (p.kind === 'sagemaker') {
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
  } else {
    const functionArn = stack.formatArn({ service: 'lambda', resource: 'function', resourceName: p.functionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
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
      `AwsSolutions-IAM5[Resource::${nagArn('lambda', `function:${p.functionName}:*`)}]`,
      'Versions and aliases are authorized on qualified ARNs (function:name:version): the grant covers the versions and aliases of the one served function.',
    );
  }
}

/** An ARN of this stack's partition, region and account as cdk-nag renders it in finding ids. */
function nagArn(service: string, resource: string): string {
  return `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}`;
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
}
