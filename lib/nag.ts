/**
 * cdk-nag 3 acknowledgments. Every acknowledgment names one rule (or one finding of it, e.g.
 * `AwsSolutions-IAM5[Resource::*]`) on one construct and says why; a short or empty reason is a
 * programming error, caught at synth.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Shortest reason accepted: a sentence, not a shrug. */
export const MIN_REASON_LENGTH = 40;

/**
 * Acknowledges a cdk-nag rule on `scope` (and everything below it).
 *
 * @example acknowledge(fn.role, 'AwsSolutions-IAM5[Resource::*]', 'cloudwatch:GetMetricData supports no resource-level permissions')
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(`acknowledgment of ${id} at ${scope.node.path} needs a reason of at least ${MIN_REASON_LENGTH} characters`);
  }
  // Qualified with the plugin's namespace, as cdk-nag 3 prints it ("Acknowledge with 'AwsSolutions::…'").
  Validations.of(scope).acknowledge({ id: id.startsWith('AwsSolutions-') ? `AwsSolutions::${id}` : id, reason });
}
