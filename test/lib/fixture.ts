/**
 * One synthesized stack per test file (bundling off: `aws:cdk:bundling-stacks: []`, no built-in
 * CloudFormation validation), shared by its tests.
 */
import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { parsePipelineConfig, type PipelineConfig, type PipelineConfigInput } from '../../lib/config.js';
import type { HandlerName } from '../../lib/pipeline-functions.js';
import type { BuilderBrainReleaseStack } from '../../lib/stack.js';
import { addReleaseStack, createApp, type CfnTemplate } from '../../lib/synth.js';

export interface Synthesized {
  readonly config: PipelineConfig;
  readonly stack: BuilderBrainReleaseStack;
  readonly template: Template;
  readonly json: CfnTemplate;
}

export function synth(input: PipelineConfigInput = {}): Synthesized {
  const config = parsePipelineConfig(input);
  const app = createApp({ bundling: false, builtinValidation: false });
  const stack = addReleaseStack(app, config);
  const template = Template.fromStack(stack);
  return { config, stack, template, json: template.toJSON() as CfnTemplate };
}

/** Resources of one type, by logical id. */
export function resourcesOf(json: CfnTemplate, type: string): [string, { Type: string; Properties?: Record<string, any> }][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type) as [string, { Type: string; Properties?: Record<string, any> }][];
}

// ---- configs ----------------------------------------------------------------------------------

/** A complete `deployment.sagemaker` (the team's serving image, execution role and instance type). */
export const SAGEMAKER_SERVING = {
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb:1',
  executionRoleArn: 'arn:aws:iam::123456789012:role/bb-serving',
  instanceType: 'ml.g5.xlarge',
} as const;

/** A Lambda-alias router. */
export const LAMBDA_ROUTER = { kind: 'lambda-alias', functionName: 'builderbrain-serving', liveAlias: 'live', candidateAlias: 'candidate' } as const;

// ---- IAM ----------------------------------------------------------------------------------------

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: Record<string, unknown>;
  NotAction?: unknown;
  NotResource?: unknown;
}

export const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());

/** The logical id of a handler's function. */
export function functionId(json: CfnTemplate, handler: HandlerName): string {
  const found = resourcesOf(json, 'AWS::Lambda::Function').filter(([id]) => new RegExp(`^Functions${pascal(handler)}[0-9A-F]{8}$`).test(id));
  if (found.length !== 1) throw new Error(`expected one function for ${handler}, found ${found.length}`);
  return found[0]![0];
}

/** The statements of the one identity policy attached to a handler's role. */
export function handlerStatements(json: CfnTemplate, handler: HandlerName): Statement[] {
  const found = resourcesOf(json, 'AWS::IAM::Policy').filter(([, p]) => {
    const roles = p.Properties!['Roles'] as { Ref: string }[];
    return roles.length === 1 && new RegExp(`^Functions${pascal(handler)}Role[0-9A-F]{8}$`).test(roles[0]!.Ref);
  });
  if (found.length !== 1) throw new Error(`expected one policy for the ${handler} role, found ${found.length}`);
  return found[0]![1].Properties!['PolicyDocument'].Statement as Statement[];
}

/**
 * A CloudFormation value as cdk-nag renders it in finding ids: `{Ref: X}` → `<X>`,
 * `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`, `Fn::Join` joined, any other intrinsic as its JSON.
 */
export function nagText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o['Ref'] === 'string') return `<${o['Ref']}>`;
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(nagText).join(sep);
    }
  }
  return JSON.stringify(v);
}

/** Action → the resources it is allowed on (nag-rendered, sorted), over a policy's statements. */
export function grants(statements: readonly Statement[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const st of statements) {
    for (const a of list(st.Action)) out[a] = [...(out[a] ?? []), ...list(st.Resource).map(nagText)].sort();
  }
  return out;
}

/** The construct of a CloudFormation resource, by logical id. */
export function constructOf(stack: Stack, logicalId: string): IConstruct {
  const found = stack.node.findAll().find((c) => c instanceof CfnElement && stack.getLogicalId(c) === logicalId);
  if (found === undefined) throw new Error(`no construct for ${logicalId}`);
  return found;
}

/** The cdk-nag findings acknowledged on a construct or any of its ancestors (ids without the plugin namespace). */
export function acknowledgedOn(construct: IConstruct): Set<string> {
  const ids = new Set<string>();
  for (const c of construct.node.scopes) {
    for (const m of c.node.metadata.filter((x) => x.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const id of Object.keys(m.data as Record<string, string>)) ids.add(id.replace(/^AwsSolutions::/, ''));
    }
  }
  return ids;
}
