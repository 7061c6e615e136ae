/**
 * Acknowledgments of validation findings: cdk-nag 3's AwsSolutions rules and AWS Control Tower's
 * proactive controls (CloudFormation Guard rules run by @cdklabs/cdk-validator-cfnguard, in the test
 * suite). Every acknowledgment names one rule (or one finding of it, e.g.
 * `AwsSolutions-IAM5[Resource::*]`) on one construct and says why; a short or empty reason is a
 * programming error, caught at synth.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Shortest reason accepted: a sentence, not a shrug. */
export const MIN_REASON_LENGTH = 40;

/** The plugin name (and acknowledgment namespace) of @cdklabs/cdk-validator-cfnguard. */
export const GUARD_PLUGIN = 'cdk-validator-cfnguard';

/**
 * Acknowledges a cdk-nag rule on `scope` (and everything below it).
 *
 * @example acknowledge(fn.role, 'AwsSolutions-IAM5[Resource::*]', 'cloudwatch:GetMetricData supports no resource-level permissions')
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`acknowledgment of ${id} at ${scope.node.path} needs a reason of at least ${MIN_REASON_LENGTH} characters`);
  }
  const rendered = renderPseudoParameters(scope, id);
  // Qualified with the plugin's namespace, as cdk-nag 3 prints it ("Acknowledge with 'AwsSolutions::…'").
  Validations.of(scope).acknowledge({ id: rendered.startsWith('AwsSolutions-') ? `AwsSolutions::${rendered}` : rendered, reason });
}

const PSEUDO_PARAMETERS = {
  '<AWS::Partition>': (s: Stack) => s.partition,
  '<AWS::Region>': (s: Stack) => s.region,
  '<AWS::AccountId>': (s: Stack) => s.account,
} as const;

/**
 * A finding id as cdk-nag renders it for the stack of `scope`: an ARN the stack formats shows its
 * partition, region and account as `<AWS::Region>`-style placeholders in an environment-agnostic
 * stack, but as the literals in a stack deployed to a named account and region (the environment
 * chain's, lib/synth.ts addEnvironmentStacks). Acknowledgments are written with the placeholders.
 */
function renderPseudoParameters(scope: IConstruct, id: string): string {
  if (!id.includes('<AWS::')) return id;
  const stack = scope.node.scopes.findLast((c) => Stack.isStack(c));
  if (stack === undefined) return id;
  let out = id;
  for (const [placeholder, of] of Object.entries(PSEUDO_PARAMETERS)) {
    const value = of(stack);
    if (!Token.isUnresolved(value)) out = out.split(placeholder).join(value);
  }
  return out;
}

/**
 * Acknowledges a Control Tower proactive control (its cfn-guard rule name, as the validator prints
 * it: "Acknowledge with 'cdk-validator-cfnguard::<rule>'") on `scope` and everything below it.
 *
 * @example acknowledgeGuard(fn, 'lambda_inside_vpc_check', 'The function calls only AWS APIs ...')
 */
export function acknowledgeGuard(scope: IConstruct, rule: string, reason: string): void {
  if (!/^[a-z0-9_]+$/.test(rule)) throw new Error(`acknowledgeGuard: "${rule}" is not a cfn-guard rule name (e.g. lambda_inside_vpc_check)`);
  acknowledge(scope, `${GUARD_PLUGIN}::${rule}`, reason);
}

/** The log retention Control Tower's CT.CLOUDWATCH.PR.2 asks for. */
export const GUARD_MIN_LOG_RETENTION_DAYS = 365;

/**
 * A log group kept less than a year is the operator's choice (`retention.logRetentionDays`): the
 * exemption is recorded exactly when the retention is below CT.CLOUDWATCH.PR.2's year.
 */
export function acknowledgeLogRetention(logGroup: IConstruct, days: number): void {
  if (days >= GUARD_MIN_LOG_RETENTION_DAYS) return;
  acknowledgeGuard(
    logGroup,
    'cloudwatch_log_group_retention_period_check',
    `Retention is the operator's choice (retention.logRetentionDays, here ${days} days): these are operational logs, the audit record is the ledger table. Set ${GUARD_MIN_LOG_RETENTION_DAYS} or more where Control Tower's CT.CLOUDWATCH.PR.2 is enforced.`,
  );
}
