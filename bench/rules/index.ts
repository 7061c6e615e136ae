/** The rules the detection benchmark compares, each with its documented defaults. */
import { argoRule } from './argo.js';
import { builderbrainRule } from './builderbrain.js';
import { codeDeployRule } from './codedeploy.js';
import { flaggerRule } from './flagger.js';
import { kayentaRule } from './kayenta.js';
import type { Rule } from './types.js';

export const RULE_NAMES = ['builderbrain', 'flagger', 'argo', 'codedeploy-alarms', 'kayenta'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Fresh instances of every rule (rules are stateful: one instance per concurrent scan). */
export function createRules(): Rule[] {
  return [builderbrainRule(), flaggerRule(), argoRule(), codeDeployRule(), kayentaRule()];
}

export type { Decision, PhaseContext, Rule } from './types.js';
