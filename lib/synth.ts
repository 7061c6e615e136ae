/**
 * Building the CDK app in-process: bin/app.ts (for `cdk synth`/`deploy`), the construct tests, and
 * the embedded runtime, which takes the two state machine definitions from the synthesized template
 * (the very definitions `cdk deploy` ships) and runs them locally.
 */
import { createRequire } from 'node:module';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STATE_NAMES } from '../core/contracts.js';
import { CANARY_START_STATE } from './canary-state-machine.js';
import { InvalidInputError } from '../core/errors.js';
import { environmentPipelines, type PipelineConfig } from './config.js';
import { STEP_NAMES } from '../core/steps.js';
import { STEP_METADATA_KEY, type HandlerName } from './pipeline-functions.js';
import { BuilderBrainReleaseStack } from './stack.js';

const require = createRequire(import.meta.url);

/**
 * The feature flags aws-cdk-lib recommends for new apps, applied as context defaults so the CLI and
 * in-process synthesis produce the same template (cdk.json context still overrides them).
 */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = require('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;

export interface AppOptions {
  /**
   * Bundle the Lambda code (esbuild). Off: assets are not built (`aws:cdk:bundling-stacks: []`),
   * which is what tests and the embedded runtime want.
   *
   * @default true
   */
  readonly bundling?: boolean;
  /**
   * aws-cdk-lib's built-in CloudFormation template validation.
   *
   * @default true
   */
  readonly builtinValidation?: boolean;
  /**
   * Run cdk-nag's AwsSolutions checks at synth (violations fail synthesis).
   *
   * @default false
   */
  readonly nag?: boolean;
  /** @default - a temporary directory, or the CLI's */
  readonly outdir?: string;
  /** Extra context (overrides the feature flags). */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** A CDK App with the project's feature flags and options. */
export function createApp(options: AppOptions = {}): App {
  const app = new App({
    context: {
      ...FEATURE_FLAGS,
      ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
      ...options.context,
    },
    outdir: options.outdir,
    builtinCloudFormationValidation: options.builtinValidation ?? true,
  });
  if (options.nag === true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Adds the pipeline stack for `config` to `app`: a standalone pipeline (one environment, no chain). */
export function addReleaseStack(app: App, config: PipelineConfig): BuilderBrainReleaseStack {
  return new BuilderBrainReleaseStack(app, config.stackName, { config });
}

/** The context key naming the environments `cdk synth`/`deploy` builds (comma-separated; default: all). */
export const ENVIRONMENTS_CONTEXT_KEY = 'builderbrainEnvironments';

/**
 * The environments a comma-separated list names, in chain order; every name must be one of the
 * chain's. Undefined or empty: every environment.
 *
 * @example selectEnvironments(config, 'staging,production') // ['staging', 'production']
 */
export function selectEnvironments(config: PipelineConfig, names: unknown): string[] {
  const all = config.environments.map((e) => e.name);
  if (names === undefined || names === null || names === '') return all;
  if (typeof names !== 'string') {
    throw new InvalidInputError(`context "${ENVIRONMENTS_CONTEXT_KEY}"`, [{ path: '', message: `must be a comma-separated list of environment names (${all.join(', ')})` }]);
  }
  const wanted = names.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = wanted.filter((n) => !all.includes(n));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new InvalidInputError(`context "${ENVIRONMENTS_CONTEXT_KEY}"`, [
      { path: '', message: `${unknown.length > 0 ? `no environment named ${unknown.map((n) => `"${n}"`).join(', ')}` : 'names no environment'}: the chain's are ${all.join(', ')}` },
    ]);
  }
  return all.filter((n) => wanted.includes(n));
}

/**
 * Adds one stack per environment of the chain (lib/config.ts environmentPipelines) to `app`, or only
 * those `only` names: each its own pipeline (stack name and prefix `-<name>` but the last's), in its
 * account and region where the environment names them (`env`), environment-agnostic otherwise.
 * Throws {@link InvalidInputError} naming the field when an environment's own pipeline is invalid.
 *
 * @example addEnvironmentStacks(app, config).map((s) => s.stackName) // ['BuilderBrainRelease-staging', 'BuilderBrainRelease-pre-production', 'BuilderBrainRelease']
 */
export function addEnvironmentStacks(app: App, config: PipelineConfig, only?: readonly string[]): BuilderBrainReleaseStack[] {
  return environmentPipelines(config)
    .filter((p) => only === undefined || only.includes(p.environment.name))
    .map((chain) => {
      const { account, region } = chain.environment;
      const env = account === undefined && region === undefined ? undefined : { account, region };
      return new BuilderBrainReleaseStack(app, chain.config.stackName, { config, chain, env });
    });
}

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
  readonly Outputs?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

export interface SynthesizeOptions extends Pick<AppOptions, 'bundling' | 'outdir'> {
  /**
   * The environment of the chain whose stack to synthesize (its own pipeline, its place in the
   * chain). Absent: the standalone pipeline of `config`.
   *
   * @default - the standalone stack
   */
  readonly environment?: string;
}

/**
 * Synthesizes the stack in-process (bundling off by default, no validation plugins) and returns its
 * template: the standalone pipeline, or with `environment` that environment's stack of the chain.
 *
 * @example const template = synthesizeTemplate(parsePipelineConfig({}), { bundling: false });
 * @example const staging = synthesizeTemplate(parsePipelineConfig({}), { environment: 'staging' });
 */
export function synthesizeTemplate(config: PipelineConfig, options: SynthesizeOptions = { bundling: false }): CfnTemplate {
  const app = createApp({ bundling: options.bundling ?? false, builtinValidation: false, outdir: options.outdir });
  const stack = options.environment === undefined ? addReleaseStack(app, config) : addEnvironmentStacks(app, config, selectEnvironments(config, options.environment))[0]!;
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** Placeholder account and region of resolved ARNs. */
export const PLACEHOLDER_ENV = { partition: 'aws', region: 'us-east-1', account: '000000000000', urlSuffix: 'amazonaws.com' } as const;

/** An ASL document, as parsed JSON. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
  readonly [key: string]: unknown;
}

export interface MachineDefinition {
  /** Logical id of the AWS::StepFunctions::StateMachine. */
  readonly logicalId: string;
  readonly name: string;
  /** Placeholder ARN of the machine. */
  readonly arn: string;
  readonly definition: AslDefinition;
  /** Task state name → the handler it invokes (Lambda tasks only). */
  readonly handlerForTask: Readonly<Record<string, HandlerName>>;
}

export interface MachineDefinitions {
  readonly promotion: MachineDefinition;
  readonly canary: MachineDefinition;
  /** Placeholder ARN → handler name, for every pipeline function. */
  readonly functionArns: Readonly<Record<string, HandlerName>>;
}

/**
 * The two state machine definitions of a synthesized template as ASL objects, with CloudFormation
 * tokens resolved to placeholder ARNs: a Lambda function is
 * `arn:aws:lambda:us-east-1:000000000000:function:<logicalId>`, a state machine
 * `arn:aws:states:us-east-1:000000000000:stateMachine:<name>`.
 *
 * @example const { canary } = stateMachineDefinitions(synthesizeTemplate(config)); canary.definition.StartAt // 'InitCanary'
 */
export function stateMachineDefinitions(template: CfnTemplate): MachineDefinitions {
  const resources = template.Resources;
  const handlerOf = stepFunctions(resources);
  const placeholders = new Placeholders(resources);
  const machines: MachineDefinition[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const definition = JSON.parse(placeholders.resolve(r.Properties?.['DefinitionString'])) as AslDefinition;
    machines.push({ logicalId: id, name: placeholders.machineName(id), arn: placeholders.arnOf(id), definition, handlerForTask: tasksOf(definition, handlerOf) });
  }
  const find = (startAt: string) => {
    const found = machines.filter((m) => m.definition.StartAt === startAt);
    if (found.length !== 1) throw new Error(`stateMachineDefinitions: expected one state machine starting at ${startAt}, found ${found.length}`);
    return found[0]!;
  };
  const functionArns: Record<string, HandlerName> = {};
  for (const [id, handler] of handlerOf) functionArns[placeholders.arnOf(id)] = handler;
  return { promotion: find(STATE_NAMES.promotion.validate), canary: find(CANARY_START_STATE), functionArns };
}

/** The pipeline's functions (logical id → step), by the step each one's metadata names (lib/pipeline-functions.ts). */
function stepFunctions(resources: CfnTemplate['Resources']): Map<string, HandlerName> {
  const handlerOf = new Map<string, HandlerName>();
  for (const [id, r] of Object.entries(resources)) {
    const step = r.Type === 'AWS::Lambda::Function' ? r.Metadata?.[STEP_METADATA_KEY] : undefined;
    if (typeof step === 'string' && (STEP_NAMES as readonly string[]).includes(step)) handlerOf.set(id, step as HandlerName);
  }
  return handlerOf;
}

/** Task state name → the handler its Lambda task invokes. */
function tasksOf(definition: AslDefinition, handlerOf: ReadonlyMap<string, HandlerName>): Record<string, HandlerName> {
  const handlerForTask: Record<string, HandlerName> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state['Type'] !== 'Task') continue;
    const params = state['Parameters'] as Record<string, unknown> | undefined;
    const target = String(params?.['FunctionName'] ?? state['Resource'] ?? '');
    const m = /:function:([^:]+)/.exec(target);
    const handler = m === null ? undefined : handlerOf.get(m[1]!);
    if (handler !== undefined) handlerForTask[stateName] = handler;
  }
  return handlerForTask;
}

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': PLACEHOLDER_ENV.partition,
  'AWS::Region': PLACEHOLDER_ENV.region,
  'AWS::AccountId': PLACEHOLDER_ENV.account,
  'AWS::URLSuffix': PLACEHOLDER_ENV.urlSuffix,
};

/** CloudFormation tokens of a template resolved to placeholder names and ARNs ({@link PLACEHOLDER_ENV}). */
class Placeholders {
  public constructor(private readonly resources: CfnTemplate['Resources']) {}

  public machineName(id: string): string {
    const r = this.resources[id];
    return String((r?.Properties?.['StateMachineName'] as string | undefined) ?? id);
  }

  public arnOf(id: string): string {
    const r = this.resources[id];
    if (r === undefined) throw new Error(`stateMachineDefinitions: unknown resource ${id}`);
    const { partition, region, account } = PLACEHOLDER_ENV;
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return `arn:${partition}:lambda:${region}:${account}:function:${id}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${partition}:states:${region}:${account}:stateMachine:${this.machineName(id)}`;
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${account}:${id}`;
      case 'AWS::DynamoDB::Table':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${id}`;
      default:
        return `arn:${partition}:cloudformation:${region}:${account}:resource/${id}`;
    }
  }

  /** A string, or a Ref / Fn::GetAtt / Fn::Join of them, as a string. */
  public resolve(v: unknown): string {
    if (typeof v === 'string') return v;
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    if ('Ref' in o) {
      const ref = String(o['Ref']);
      if (ref in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[ref]!;
      // Ref of a function is its name, of a state machine its ARN.
      return this.resources[ref]?.Type === 'AWS::Lambda::Function' ? ref : this.arnOf(ref);
    }
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      if (attr === 'Arn') return this.arnOf(id);
      if (attr === 'Name') return this.machineName(id);
      throw new Error(`stateMachineDefinitions: cannot resolve Fn::GetAtt ${id}.${attr}`);
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => this.resolve(p)).join(sep);
    }
    throw new Error(`stateMachineDefinitions: cannot resolve ${JSON.stringify(v)}`);
  }
}
