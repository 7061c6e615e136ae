/**
 * The environment chain synthesized in-process (bundling off, no built-in CloudFormation
 * validation): staging → pre-production → production, each in its own account, one stack each
 * (lib/synth.ts addEnvironmentStacks), for test/lib/chain*.test.ts and test/lib/iam.test.ts.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_ENVIRONMENTS, type EnvironmentInput } from '../../core/environments.js';
import { parsePipelineConfig, type PipelineConfig, type PipelineConfigInput } from '../../lib/config.js';
import type { BuilderBrainReleaseStack } from '../../lib/stack.js';
import { addEnvironmentStacks, createApp, type AppOptions, type CfnTemplate } from '../../lib/synth.js';

/** Each environment's account. */
export const ACCOUNTS = { staging: '111111111111', 'pre-production': '222222222222', production: '333333333333' } as const;
export type EnvName = keyof typeof ACCOUNTS;
export const ENV_NAMES = Object.keys(ACCOUNTS) as EnvName[];
export const REGION = 'eu-west-1';

/** Hooks of pre-production: one before traffic (an alias: that very ARN), one during phases (another account, unqualified). */
export const HOOKS: readonly HookInput[] = [
  { name: 'e2e', functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:bb-e2e:live', stage: 'before_traffic' },
  { name: 'load test', functionArn: 'arn:aws:lambda:eu-west-1:444444444444:function:bb-load', stage: 'during_phase', phases: [50] },
];
type HookInput = NonNullable<EnvironmentInput['hooks']>[number];

/** The default chain (core/environments.ts DEFAULT_ENVIRONMENTS), each environment in its account and region; `extra` per environment. */
export function chainEnvironments(extra: Partial<Record<EnvName, Partial<EnvironmentInput>>> = {}): EnvironmentInput[] {
  return DEFAULT_ENVIRONMENTS.map((e) => ({ ...e, account: ACCOUNTS[e.name as EnvName], region: REGION, ...extra[e.name as EnvName] }));
}

export interface ChainStack {
  readonly stack: BuilderBrainReleaseStack;
  readonly template: Template;
  readonly json: CfnTemplate;
}

export interface SynthesizedChain {
  readonly config: PipelineConfig;
  readonly stacks: Readonly<Record<string, ChainStack>>;
}

/** The chain's stacks by environment name. */
export function synthChain(input: PipelineConfigInput = { environments: chainEnvironments() }, options: Pick<AppOptions, 'nag' | 'outdir'> = {}): SynthesizedChain {
  const config = parsePipelineConfig(input);
  const app = createApp({ bundling: false, builtinValidation: false, ...options });
  const stacks: Record<string, ChainStack> = {};
  for (const stack of addEnvironmentStacks(app, config)) {
    const template = Template.fromStack(stack);
    stacks[stack.chain!.environment.name] = { stack, template, json: template.toJSON() as CfnTemplate };
  }
  return { config, stacks };
}
