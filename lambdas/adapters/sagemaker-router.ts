/**
 * TrafficRouter on a SageMaker real-time endpoint with two production variants: the baseline and
 * the canary (candidate). Weights are set with UpdateEndpointWeightsAndCapacities (percent, the two
 * summing to 100); the current split is read from DescribeEndpoint.
 *
 * - promote: canary 100 / baseline 0. The canary variant then serves the new baseline; redeploying
 *   the baseline variant with the promoted model (so the next release can use the canary variant
 *   again) is an endpoint-config change outside this pipeline.
 * - restore (rollback): baseline 100 / canary 0. The canary variant's instances stay provisioned
 *   (a variant cannot go below one instance); weight 0 stops every request reaching them.
 *
 * SageMaker refuses an update while the endpoint is still Updating from the previous one
 * (ValidationException "Cannot update in-progress endpoint"); that is retried here every
 * `pollMs` until `maxWaitMs` — a rollback must not fail because the previous phase's shift is still
 * settling. The Lambda timeout must exceed `maxWaitMs`.
 */
import {
  DescribeEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
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

  /** The endpoint serves one model (the stack's); `model` is not needed to address it. */
  public async setCandidateWeight(_model: string, weight: number): Promise<void> {
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be 0-100, got ${weight}`);
    await this.setWeights(100 - weight, weight);
  }

  public async promoteCandidate(_model: string): Promise<void> {
    await this.setWeights(0, 100);
  }

  public async restoreBaseline(_model: string): Promise<void> {
    await this.setWeights(100, 0);
  }

  public async current(_model: string): Promise<TrafficSplit> {
    let out;
    try {
      out = await this.client.send(new DescribeEndpointCommand({ EndpointName: this.config.endpointName }));
    } catch (err) {
      throw new AwsCallError('SageMaker.DescribeEndpoint', this.resource, err);
    }
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

  private async setWeights(baseline: number, canary: number): Promise<void> {
    const command = new UpdateEndpointWeightsAndCapacitiesCommand({
      EndpointName: this.config.endpointName,
      DesiredWeightsAndCapacities: [
        { VariantName: this.config.baselineVariant, DesiredWeight: baseline },
        { VariantName: this.config.canaryVariant, DesiredWeight: canary },
      ],
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
