/**
 * ServingTarget on a SageMaker real-time endpoint (RELEASE.md §6.2, §7.1, §7.2). core/deployment.ts
 * plans the release and judges each goal from {@link SageMakerTarget.observe}; this adapter only
 * creates what a goal needs and points the endpoint at the goal's EndpointConfig:
 *
 * - `candidate_deployed`: the candidate Model, then a config holding the baseline (weight 1) and the
 *   candidate in the canary variant (weight 0; the router moves traffic later). A first release has
 *   no baseline: the config holds the canary alone and the endpoint is created.
 * - `converged`: a config holding the promoted model alone, in the baseline variant, so the next
 *   release finds the endpoint as this one did.
 * - `candidate_removed`: back to the baseline alone, on the restore config rebuilt from what the plan
 *   recorded of it (whichever config {@link goalConfig} names); a first release's endpoint is deleted.
 *
 * Every step is idempotent, so a retried or resumed step finds what the first attempt made: an
 * "already existing" Model or EndpointConfig counts as created (the names come from the release id),
 * and the endpoint is not updated again while it is on the goal's config or busy changing (maybe
 * with our own update; the state machine polls and core `judgeGoal` decides). Models and
 * EndpointConfigs are never deleted: they are what a later rollback needs.
 *
 * SageMaker reports a missing endpoint/config, an existing model/config and an endpoint busy with
 * another update all as ValidationException; they are told apart by message.
 */
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  UpdateEndpointCommand,
  type DescribeEndpointCommandOutput,
  type ProductionVariant,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ConfigurationError } from '../../core/app/errors.js';
import { goalConfig, goalReached, type Deployment, type DeploymentGoal, type ServingSlot, type ServingState, type SmokeResponse, type SmokeSample } from '../../core/deployment.js';
import type { ServingTarget } from '../../core/ports.js';
import { AwsCallError, errorName, isAwsError, type WaitOptions } from './aws-errors.js';

export interface SageMakerTargetConfig {
  readonly endpointName: string;
  /** Variant that serves the baseline (and, once converged, the promoted model). */
  readonly baselineVariant: string;
  /** Variant that serves the candidate during the canary. */
  readonly canaryVariant: string;
  /** Serving container image (ECR URI). */
  readonly image: string;
  /** Role SageMaker assumes to pull the image and read the artifact. */
  readonly executionRoleArn: string;
  /** Container environment, besides MODEL_URI / MODEL_SHA256 / MODEL_VERSION (set here, and winning). */
  readonly environment: Readonly<Record<string, string>>;
}

export type { WaitOptions };

const NOT_FOUND = /could not find/i;
const ALREADY_EXISTS = /already exist/i;
const IN_PROGRESS = /in-progress|in progress/i;

/** A ValidationException whose message matches `pattern` (SageMaker's way of saying "not found", "exists", "busy"). */
const isValidation = (err: unknown, pattern: RegExp): boolean =>
  isAwsError(err, 'ValidationException') && pattern.test(String((err as Error).message));

/**
 * SageMaker EndpointStatus → ServingState status. UpdateRollbackFailed serves a mix of the old and
 * new configs; OutOfService serves nothing: both need a person. A status this code does not know is
 * waited on (busy) until the goal's timeout rather than acted on.
 */
const STATUS: Readonly<Record<string, ServingState['status']>> = {
  InService: 'idle',
  Creating: 'busy',
  Updating: 'busy',
  SystemUpdating: 'busy',
  RollingBack: 'busy',
  Deleting: 'busy',
  Failed: 'failed',
  OutOfService: 'failed',
  UpdateRollbackFailed: 'failed',
};

const NO_ENDPOINT: ServingState = { exists: false, status: 'idle', config: null, failureReason: null, slots: [] };

/** The fields of a Deployment a SageMaker goal needs, checked once. */
interface SageMakerPlan {
  readonly configs: NonNullable<Deployment['configs']>;
  readonly model: string;
  readonly instanceType: string;
  readonly instanceCount: number;
}

export class SageMakerTarget implements ServingTarget {
  public readonly kind = 'sagemaker' as const;

  /**
   * `_options` is accepted for parity with the routers' constructors; nothing here waits: an
   * endpoint busy with another update is left to the state machine's poll.
   */
  public constructor(
    private readonly client: SageMakerClient,
    private readonly runtime: SageMakerRuntimeClient,
    private readonly config: SageMakerTargetConfig,
    _options: WaitOptions = {},
  ) {}

  private get resource(): string {
    return `endpoint ${this.config.endpointName}`;
  }

  public async observe(): Promise<ServingState> {
    const endpoint = await this.describeEndpoint();
    if (endpoint === null) return NO_ENDPOINT;
    const configName = endpoint.EndpointConfigName ?? null;
    const configured = configName === null ? new Map<string, ProductionVariant>() : await this.configVariants(configName);
    const variants = endpoint.ProductionVariants ?? [];
    const total = variants.reduce((sum, v) => sum + (v.CurrentWeight ?? 0), 0);
    const slots: ServingSlot[] = variants.map((v) => {
      const name = v.VariantName ?? '';
      const c = configured.get(name);
      return {
        name,
        model: c?.ModelName ?? null,
        weight: total > 0 ? Math.round(((v.CurrentWeight ?? 0) / total) * 10_000) / 100 : 0,
        instanceType: c?.InstanceType ?? null,
        instanceCount: v.CurrentInstanceCount ?? c?.InitialInstanceCount ?? null,
      };
    });
    return { exists: true, status: statusOf(endpoint), config: configName, failureReason: endpoint.FailureReason ?? null, slots };
  }

  public async apply(goal: DeploymentGoal, d: Deployment): Promise<Deployment> {
    const plan = this.check(d);
    // Already there by another road (SageMaker rolled a failed update back to the baseline alone):
    // no update, no instances provisioned for nothing.
    if (goal !== 'candidate_deployed' && goalReached(goal, d, await this.observe())) return d;
    switch (goal) {
      case 'candidate_deployed':
        await this.deployCandidate(d, plan);
        break;
      case 'converged':
        await this.createEndpointConfig(plan.configs.converged, [this.variant(this.config.baselineVariant, plan, 1)]);
        await this.moveTo(plan.configs.converged, false);
        break;
      case 'candidate_removed':
        await this.removeCandidate(d, plan);
        break;
    }
    return d;
  }

  public async invoke(d: Deployment, sample: SmokeSample): Promise<SmokeResponse> {
    this.check(d);
    const started = performance.now();
    try {
      const out = await this.runtime.send(
        new InvokeEndpointCommand({
          EndpointName: this.config.endpointName,
          TargetVariant: d.candidate.slot,
          ContentType: sample.contentType,
          Accept: 'application/json',
          Body: sample.body,
        }),
      );
      const latencyMs = performance.now() - started;
      return { error: null, body: out.Body === undefined ? '' : new TextDecoder('utf-8').decode(out.Body), latencyMs };
    } catch (err) {
      // Every failure is the candidate's answer to judge (judgeSmoke fails it), never an exception.
      const latencyMs = performance.now() - started;
      return { error: `${errorName(err)}: ${err instanceof Error ? err.message : String(err)}`, body: '', latencyMs };
    }
  }

  // ---- goals ------------------------------------------------------------------------------------

  private async deployCandidate(d: Deployment, plan: SageMakerPlan): Promise<void> {
    // Check the baseline before creating anything: the new config must carry it unchanged.
    const baseline = d.baseline === null ? null : this.baselineVariant(d, 1);
    await this.createModel(d, plan.model);
    const variants = baseline === null ? [this.variant(this.config.canaryVariant, plan, 1)] : [baseline, this.variant(this.config.canaryVariant, plan, 0)];
    await this.createEndpointConfig(plan.configs.candidate, variants);
    await this.moveTo(plan.configs.candidate, d.baseline === null);
  }

  private async removeCandidate(d: Deployment, plan: SageMakerPlan): Promise<void> {
    const want = goalConfig('candidate_removed', d);
    if (want === null) {
      await this.deleteEndpoint();
      return;
    }
    // The restore config is ours to build; any other config the core names (the pre-release one) exists.
    if (want === plan.configs.restore) await this.createEndpointConfig(want, [this.baselineVariant(d, 1)]);
    await this.moveTo(want, false);
  }

  /**
   * Points the endpoint at `want` unless it is on it already or busy (an update in flight, ours or
   * not: the poll waits and the judge decides). `create`: a first release, the endpoint may not exist yet.
   */
  private async moveTo(want: string, create: boolean): Promise<void> {
    const endpoint = await this.describeEndpoint();
    if (endpoint !== null && (statusOf(endpoint) === 'busy' || endpoint.EndpointConfigName === want)) return;
    const input = { EndpointName: this.config.endpointName, EndpointConfigName: want };
    if (endpoint === null && create) {
      await this.tolerating('SageMaker.CreateEndpoint', () => this.client.send(new CreateEndpointCommand(input)), [ALREADY_EXISTS, IN_PROGRESS]);
    } else {
      await this.tolerating('SageMaker.UpdateEndpoint', () => this.client.send(new UpdateEndpointCommand(input)), [IN_PROGRESS]);
    }
  }

  /** A first release taken back: its endpoint goes (a busy endpoint is left to the poll; Deleting is the goal anyway). */
  private async deleteEndpoint(): Promise<void> {
    const endpoint = await this.describeEndpoint();
    if (endpoint === null || statusOf(endpoint) === 'busy') return;
    await this.tolerating('SageMaker.DeleteEndpoint', () => this.client.send(new DeleteEndpointCommand({ EndpointName: this.config.endpointName })), [NOT_FOUND, IN_PROGRESS]);
  }

  // ---- resources --------------------------------------------------------------------------------

  private async createModel(d: Deployment, model: string): Promise<void> {
    const command = new CreateModelCommand({
      ModelName: model,
      ExecutionRoleArn: this.config.executionRoleArn,
      PrimaryContainer: {
        Image: this.config.image,
        ModelDataUrl: d.artifact.uri,
        Environment: { ...this.config.environment, MODEL_URI: d.artifact.uri, MODEL_SHA256: d.artifact.sha256, MODEL_VERSION: d.version },
      },
    });
    await this.tolerating('SageMaker.CreateModel', () => this.client.send(command), [ALREADY_EXISTS], `model ${model}`);
  }

  private async createEndpointConfig(name: string, variants: ProductionVariant[]): Promise<void> {
    const command = new CreateEndpointConfigCommand({ EndpointConfigName: name, ProductionVariants: variants });
    await this.tolerating('SageMaker.CreateEndpointConfig', () => this.client.send(command), [ALREADY_EXISTS], `endpoint config ${name}`);
  }

  /** The candidate's model in `variant`. */
  private variant(variant: string, plan: SageMakerPlan, weight: number): ProductionVariant {
    return { VariantName: variant, ModelName: plan.model, InstanceType: plan.instanceType as ProductionVariant['InstanceType'], InitialInstanceCount: plan.instanceCount, InitialVariantWeight: weight };
  }

  /** The baseline's model, instance type and count, in the baseline variant: rebuilt exactly as it served. */
  private baselineVariant(d: Deployment, weight: number): ProductionVariant {
    const b = d.baseline;
    if (b === null || b.model === null || b.instanceType === null || b.instanceCount === null) {
      throw new ConfigurationError(
        `release ${d.releaseId}: the baseline of endpoint ${d.resource} is not known in full (model ${b?.model ?? '?'}, instance type ${b?.instanceType ?? '?'}, count ${b?.instanceCount ?? '?'}): its variant cannot be rebuilt`,
      );
    }
    return { VariantName: this.config.baselineVariant, ModelName: b.model, InstanceType: b.instanceType as ProductionVariant['InstanceType'], InitialInstanceCount: b.instanceCount, InitialVariantWeight: weight };
  }

  // ---- SageMaker calls ----------------------------------------------------------------------------

  /** DescribeEndpoint; null when there is no such endpoint. */
  private async describeEndpoint(): Promise<DescribeEndpointCommandOutput | null> {
    try {
      return await this.client.send(new DescribeEndpointCommand({ EndpointName: this.config.endpointName }));
    } catch (err) {
      if (isValidation(err, NOT_FOUND)) return null;
      throw new AwsCallError('SageMaker.DescribeEndpoint', this.resource, err);
    }
  }

  /** The variants of an EndpointConfig by name; none when someone deleted it (what serves is still reported). */
  private async configVariants(name: string): Promise<Map<string, ProductionVariant>> {
    try {
      const out = await this.client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
      return new Map((out.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', v]));
    } catch (err) {
      if (isValidation(err, NOT_FOUND)) return new Map();
      throw new AwsCallError('SageMaker.DescribeEndpointConfig', `endpoint config ${name}`, err);
    }
  }

  /**
   * Sends a create/update/delete; a ValidationException matching one of `tolerated` means the work
   * is done ("already existing", "could not find" for a delete) or in hand ("in-progress": the
   * endpoint is changing, left to the poll). Anything else is an {@link AwsCallError}.
   */
  private async tolerating(operation: string, send: () => Promise<unknown>, tolerated: readonly RegExp[], resource = this.resource): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (tolerated.some((pattern) => isValidation(err, pattern))) return;
      throw new AwsCallError(operation, resource, err);
    }
  }

  /** The deployment must be this endpoint's SageMaker deployment, with the candidate sized. */
  private check(d: Deployment): SageMakerPlan {
    if (d.target !== 'sagemaker' || d.configs === null) {
      throw new ConfigurationError(`release ${d.releaseId}: a ${d.target} deployment${d.configs === null ? ' without EndpointConfig names' : ''} cannot be applied to SageMaker ${this.resource}`);
    }
    if (d.resource !== this.config.endpointName) {
      throw new ConfigurationError(`release ${d.releaseId}: the deployment is for endpoint ${d.resource}, this target serves ${this.config.endpointName}`);
    }
    const { model, instanceType, instanceCount } = d.candidate;
    if (model === null || instanceType === null || instanceCount === null) {
      throw new ConfigurationError(`release ${d.releaseId}: the candidate has no model name, instance type or instance count`);
    }
    return { configs: d.configs, model, instanceType, instanceCount };
  }
}

function statusOf(endpoint: DescribeEndpointCommandOutput): ServingState['status'] {
  return STATUS[endpoint.EndpointStatus ?? ''] ?? 'busy';
}
