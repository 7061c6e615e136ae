/**
 * TrafficRouter on a SageMaker real-time endpoint with two production variants: the baseline and
 * the canary (candidate). Weights are set with UpdateEndpointWeightsAndCapacities (percent, the two
 * summing to 100); the current split is read from DescribeEndpoint.
 *
 * - promote: canary 100 / baseline 0. The canary variant then serves the new baseline; putting the
 *   promoted model into the baseline variant alone (so the next release can use the canary variant
 *   again) is the deployment's `converged` goal (sagemaker-target.ts), after the bake time.
 * - restore (rollback): baseline 100 / canary 0. The canary variant's instances stay provisioned
 *   (a variant cannot go below one instance); weight 0 stops every request reaching them.
 *
 * SageMaker refuses an update while the endpoint is still Updating from the previous one
 * (ValidationException "Cannot update in-progress endpoint"); that is retried here every
 * `pollMs` until `maxWaitMs` — a rollback must not fail because the previous phase's shift is still
 * settling. The Lambda timeout must exceed `maxWaitMs`.
 *
 * An endpoint does not always hold both variants (lambdas/adapters/sagemaker-target.ts): a first
 * release serves the `canary` variant alone until it converges, and after a clean-up only `baseline`
 * is left. Each change reads the variants first (DescribeEndpoint) and sends only those that exist:
 * a weight for a missing variant is refused by SageMaker and would fail a rollback.
 */
import {
  DescribeEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ConfigurationError } from '../../core/app/errors.js';
import type { TrafficRouter, TrafficSplit } from '../../core/ports.js';
import { AwsCallError, isAwsError, realSleep, sendWhileSettling, type Sleep, type WaitOptions } from './aws-errors.js';

export interface SageMakerRouterConfig {
  readonly endpointName: string;
  readonly baselineVariant: string;
  readonly canaryVariant: string;
}

export type { WaitOptions };

const IN_PROGRESS = /in-progress|in progress|updating/i;

export class SageMakerRouter implements TrafficRouter {
  private readonly wait: { readonly maxWaitMs: number; readonly pollMs: number; readonly sleep: Sleep };

  public constructor(
    private readonly client: SageMakerClient,
    private readonly config: SageMakerRouterConfig,
    options: WaitOptions = {},
  ) {
    this.wait = { maxWaitMs: options.maxWaitMs ?? 150_000, pollMs: options.pollMs ?? 5_000, sleep: options.sleep ?? realSleep };
  }

  private get resource(): string {
    return `endpoint ${this.config.endpointName}`;
  }

  /**
   * The endpoint serves one model (the stack's); `model` is not needed to address it. With the
   * canary alone (a first release) any weight above 0 is all of the traffic; with no canary variant
   * only 0 can be honoured.
   */
  public async setCandidateWeight(_model: string, weight: number): Promise<void> {
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be 0-100, got ${weight}`);
    const has = await this.variants();
    if (has.baseline && has.canary) return this.setWeights([this.config.baselineVariant, 100 - weight], [this.config.canaryVariant, weight]);
    if (weight === 0) return; // no canary: nothing reaches it; the canary alone cannot serve nothing.
    if (has.canary) return this.setWeights([this.config.canaryVariant, 100]);
    throw this.missing(this.config.canaryVariant, `route ${weight}% to the candidate`);
  }

  public async promoteCandidate(_model: string): Promise<void> {
    const has = await this.variants();
    if (!has.canary) throw this.missing(this.config.canaryVariant, 'promote the candidate');
    if (!has.baseline) return; // the canary already serves alone (a first release).
    await this.setWeights([this.config.baselineVariant, 0], [this.config.canaryVariant, 100]);
  }

  /**
   * No canary variant: nothing reaches a candidate, nothing to restore. No baseline variant (a first
   * release): there is nothing to restore to; taking the release back is the deployment's clean-up.
   */
  public async restoreBaseline(_model: string): Promise<void> {
    const has = await this.variants();
    if (!has.canary || !has.baseline) return;
    await this.setWeights([this.config.baselineVariant, 100], [this.config.canaryVariant, 0]);
  }

  public async current(_model: string): Promise<TrafficSplit> {
    const out = await this.describe();
    const weightOf = (name: string) => {
      const v = out.ProductionVariants?.find((p) => p.VariantName === name);
      return v?.CurrentWeight ?? v?.DesiredWeight ?? 0;
    };
    const b = weightOf(this.config.baselineVariant);
    const c = weightOf(this.config.canaryVariant);
    const total = b + c;
    if (total <= 0) return { baseline: 0, candidate: 0 };
    const candidate = Math.round((c / total) * 10_000) / 100;
    return { baseline: Math.round((100 - candidate) * 100) / 100, candidate };
  }

  private async describe() {
    try {
      return await this.client.send(new DescribeEndpointCommand({ EndpointName: this.config.endpointName }));
    } catch (err) {
      throw new AwsCallError('SageMaker.DescribeEndpoint', this.resource, err);
    }
  }

  /** Which of the two variants the endpoint holds now. */
  private async variants(): Promise<{ baseline: boolean; canary: boolean }> {
    const names = new Set((await this.describe()).ProductionVariants?.map((v) => v.VariantName) ?? []);
    return { baseline: names.has(this.config.baselineVariant), canary: names.has(this.config.canaryVariant) };
  }

  private missing(variant: string, what: string): ConfigurationError {
    return new ConfigurationError(`cannot ${what}: ${this.resource} has no ${variant} variant (the candidate is not deployed on it)`);
  }

  private async setWeights(...weights: [variant: string, weight: number][]): Promise<void> {
    const command = new UpdateEndpointWeightsAndCapacitiesCommand({
      EndpointName: this.config.endpointName,
      DesiredWeightsAndCapacities: weights.map(([VariantName, DesiredWeight]) => ({ VariantName, DesiredWeight })),
    });
    await sendWhileSettling(
      () => this.client.send(command),
      (err) => isAwsError(err, 'ValidationException') && IN_PROGRESS.test((err as Error).message),
      this.wait,
      'SageMaker.UpdateEndpointWeightsAndCapacities',
      this.resource,
    );
  }
}
