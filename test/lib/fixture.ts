/**
 * One synthesized stack per test file (bundling off: `aws:cdk:bundling-stacks: []`, no built-in
 * CloudFormation validation), shared by its tests.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { parsePipelineConfig, type PipelineConfig, type PipelineConfigInput } from '../../lib/config.js';
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
