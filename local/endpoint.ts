/**
 * A simulated SageMaker real-time endpoint for the embedded runtime: Models, EndpointConfigs,
 * production variants with weights, and updates that take virtual minutes to provision — with the
 * failure modes a real endpoint has (image pull, model load, capacity), each reported the way
 * SageMaker reports it (the update is rolled back: the endpoint stays InService on its previous
 * config, with a FailureReason). It is both the pipeline's ServingTarget (deploy, converge, remove,
 * smoke requests) and its TrafficRouter (variant weights), so the two act on one endpoint as they do
 * on AWS.
 *
 * Time comes from the runtime's clock; nothing here sleeps. Smoke requests are answered from the
 * scenario's `deployment.smoke` knob.
 */
import {
  goalConfig,
  goalReached,
  type Deployment,
  type DeploymentGoal,
  type ServingState,
  type SmokeResponse,
  type SmokeSample,
} from '../core/deployment.js';
import type { Clock, ServingTarget, TrafficRouter, TrafficSplit } from '../core/ports.js';
import type { RouterOperation } from './memory.js';

export type DeployFailure = 'image_pull' | 'model_load' | 'capacity';
export type SmokeBehaviour = 'ok' | 'error' | 'shape' | 'slow';

/** SageMaker's own words for each failure (DescribeEndpoint FailureReason). */
export const FAILURE_REASONS: Record<DeployFailure, (variant: string, image: string) => string> = {
  image_pull: (variant, image) =>
    `Failed to pull the container image ${image} for production variant ${variant}: CannotPullContainerError: the repository does not exist or the execution role lacks ecr:BatchGetImage.`,
  model_load: (variant) =>
    `The primary container for production variant ${variant} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`,
  capacity: () => 'Unable to provision requested ML compute capacity. Please retry using a different ML instance type.',
};

export interface SimulatedEndpointOptions {
  readonly endpointName: string;
  readonly baselineVariant: string;
  readonly canaryVariant: string;
  readonly image: string;
  readonly clock: Clock;
  /** Virtual minutes an update takes to provision instances. */
  readonly provisionMinutes: number;
  /** The candidate's deployment fails this way (a release's Model is the candidate when it is not the serving one). */
  readonly deployFailure: DeployFailure | null;
  readonly smoke: SmokeBehaviour;
  /** The model serving before the first simulated release (null: no endpoint yet, a first release). */
  readonly initialModel: string | null;
  readonly instanceType: string;
  /** Router outages injected by tests. */
  readonly fail?: (op: RouterOperation, model: string) => Error | undefined;
}

interface Variant {
  name: string;
  model: string;
  instanceType: string;
  instanceCount: number;
  weight: number;
}

interface PendingUpdate {
  readonly config: string | null;
  readonly readyAt: number;
  readonly failure: string | null;
}

/** One change of what the endpoint serves, for the report. */
export interface EndpointChange {
  readonly at: string;
  readonly what: string;
}

export class SimulatedEndpoint implements ServingTarget, TrafficRouter {
  public readonly kind = 'sagemaker' as const;
  public readonly models = new Map<string, { image: string; artifact: string }>();
  public readonly configs = new Map<string, Variant[]>();
  public readonly changes: EndpointChange[] = [];
  public readonly log: { op: RouterOperation; model: string; weight?: number }[] = [];
  private exists: boolean;
  private config: string | null;
  private variants: Variant[];
  private pending: PendingUpdate | null = null;
  private failureReason: string | null = null;
  /** The Model of the latest candidate deployed: its share of traffic is the "candidate" split. */
  private candidateModel: string | null = null;

  public constructor(private readonly options: SimulatedEndpointOptions) {
    const initial = options.initialModel;
    this.exists = initial !== null;
    this.config = initial === null ? null : `${options.endpointName}-initial-config`;
    this.variants = initial === null ? [] : [{ name: options.baselineVariant, model: initial, instanceType: options.instanceType, instanceCount: 1, weight: 1 }];
    if (initial !== null) {
      this.models.set(initial, { image: options.image, artifact: 'initial' });
      this.configs.set(this.config!, structuredClone(this.variants));
    }
  }

  private get now(): number {
    return this.options.clock.now().getTime();
  }

  private note(what: string): void {
    this.changes.push({ at: this.options.clock.now().toISOString(), what });
  }

  /** Finishes an update whose provisioning time has passed. */
  private settle(): void {
    const p = this.pending;
    if (p === null || this.now < p.readyAt) return;
    this.pending = null;
    if (p.config === null) {
      this.exists = false;
      this.config = null;
      this.variants = [];
      this.note(`endpoint ${this.options.endpointName} deleted`);
      return;
    }
    if (p.failure !== null) {
      this.failureReason = p.failure;
      if (this.config === null) {
        this.note(`creating endpoint ${this.options.endpointName} failed: ${p.failure}`);
      } else {
        this.note(`update to ${p.config} failed and was rolled back to ${this.config}: ${p.failure}`);
      }
      return;
    }
    this.config = p.config;
    this.variants = structuredClone(this.configs.get(p.config) ?? []);
    this.failureReason = null;
    this.note(`in service on ${p.config}: ${this.variants.map((v) => `${v.name}=${v.model} (${v.instanceCount}× ${v.instanceType})`).join(', ')}`);
  }

  public async observe(): Promise<ServingState> {
    this.settle();
    if (!this.exists) return { exists: false, status: 'idle', config: null, failureReason: null, slots: [] };
    const busy = this.pending !== null;
    const failed = !busy && this.config === null;
    const total = this.variants.reduce((n, v) => n + v.weight, 0);
    return {
      exists: true,
      status: busy ? 'busy' : failed ? 'failed' : 'idle',
      config: this.config,
      failureReason: this.failureReason,
      slots: this.variants.map((v) => ({
        name: v.name,
        model: v.model,
        weight: total > 0 ? Math.round((v.weight / total) * 10_000) / 100 : 0,
        instanceType: v.instanceType,
        instanceCount: v.instanceCount,
      })),
    };
  }

  public async apply(goal: DeploymentGoal, d: Deployment): Promise<Deployment> {
    this.settle();
    if (d.configs === null) throw new Error('the simulated endpoint serves SageMaker deployments only');
    const want = goalConfig(goal, d);
    const o = this.options;
    if (goal === 'candidate_deployed') {
      const model = d.candidate.model!;
      if (!this.models.has(model)) this.models.set(model, { image: o.image, artifact: d.artifact.uri });
      this.candidateModel = model;
      if (!this.configs.has(d.configs.candidate)) {
        const canary = { name: o.canaryVariant, model, instanceType: d.candidate.instanceType ?? o.instanceType, instanceCount: d.candidate.instanceCount ?? 1 };
        const variants: Variant[] =
          d.baseline === null
            ? [{ ...canary, weight: 1 }]
            : [
                { name: o.baselineVariant, model: d.baseline.model!, instanceType: d.baseline.instanceType!, instanceCount: d.baseline.instanceCount!, weight: 1 },
                { ...canary, weight: 0 },
              ];
        this.configs.set(d.configs.candidate, variants);
      }
    } else if (goal === 'converged') {
      if (!this.configs.has(d.configs.converged)) {
        this.configs.set(d.configs.converged, [
          { name: o.baselineVariant, model: d.candidate.model!, instanceType: d.candidate.instanceType!, instanceCount: d.candidate.instanceCount!, weight: 1 },
        ]);
      }
    } else if (want !== null && !this.configs.has(want)) {
      this.configs.set(want, [{ name: o.baselineVariant, model: d.baseline!.model!, instanceType: d.baseline!.instanceType!, instanceCount: d.baseline!.instanceCount!, weight: 1 }]);
    }
    // Idempotent: on the goal already, or changing (ours or not): nothing to ask for.
    if (this.pending !== null || goalReached(goal, d, await this.observe())) return d;
    if (want === null) {
      if (!this.exists) return d;
      this.pending = { config: null, readyAt: this.now + 60_000, failure: null };
      this.note(`deleting endpoint ${o.endpointName} (a first release taken back)`);
      return d;
    }
    if (this.exists && this.config === want) return d;
    // The failure knob hits the deployment of the candidate, never a converge or a removal.
    const failure = goal === 'candidate_deployed' && o.deployFailure !== null ? FAILURE_REASONS[o.deployFailure](o.canaryVariant, o.image) : null;
    this.exists = true;
    this.pending = { config: want, readyAt: this.now + o.provisionMinutes * 60_000, failure };
    this.note(`${this.config === null ? 'creating' : 'updating'} endpoint ${o.endpointName} to ${want} (${o.provisionMinutes} min to provision)`);
    return d;
  }

  public async invoke(d: Deployment, sample: SmokeSample): Promise<SmokeResponse> {
    this.settle();
    if (!this.variants.some((v) => v.name === d.candidate.slot)) {
      return { error: `ValidationException: The variant ${d.candidate.slot} does not exist on endpoint ${this.options.endpointName}`, body: '', latencyMs: 3 };
    }
    switch (this.options.smoke) {
      case 'error':
        return { error: `ModelError: Received server error (500) from primary with message "RuntimeError: CUDA error: device-side assert triggered" (sample ${sample.name})`, body: '', latencyMs: 240 };
      case 'shape':
        return { error: null, body: JSON.stringify({ output: null, detail: 'tokenizer returned an empty sequence' }), latencyMs: 180 };
      case 'slow':
        return { error: null, body: JSON.stringify({ answer: 'ok', plan: { steps: ['parse', 'plan', 'execute'] } }), latencyMs: sample.expect.maxLatencyMs + 2_500 };
      case 'ok':
        return { error: null, body: JSON.stringify({ answer: 'ok', plan: { steps: ['parse', 'plan', 'execute'] } }), latencyMs: 142 };
    }
  }

  // ---- TrafficRouter: variant weights of the endpoint as it is -----------------------------------

  private check(op: RouterOperation, model: string): void {
    const err = this.options.fail?.(op, model);
    if (err !== undefined) throw err;
  }

  private setWeights(weights: Record<string, number>): void {
    this.settle();
    for (const v of this.variants) if (weights[v.name] !== undefined) v.weight = weights[v.name]!;
  }

  private has(name: string): boolean {
    this.settle();
    return this.variants.some((v) => v.name === name);
  }

  public async setCandidateWeight(model: string, weight: number): Promise<void> {
    this.check('setCandidateWeight', model);
    const { baselineVariant: b, canaryVariant: c } = this.options;
    if (!this.has(b)) this.setWeights({ [c]: weight > 0 ? 100 : 0 });
    else this.setWeights({ [b]: 100 - weight, [c]: weight });
    this.log.push({ op: 'setCandidateWeight', model, weight });
  }

  public async promoteCandidate(model: string): Promise<void> {
    this.check('promoteCandidate', model);
    if (this.has(this.options.canaryVariant)) this.setWeights({ [this.options.baselineVariant]: 0, [this.options.canaryVariant]: 100 });
    this.log.push({ op: 'promoteCandidate', model });
  }

  public async restoreBaseline(model: string): Promise<void> {
    this.check('restoreBaseline', model);
    if (this.has(this.options.canaryVariant) && this.has(this.options.baselineVariant)) {
      this.setWeights({ [this.options.baselineVariant]: 100, [this.options.canaryVariant]: 0 });
    }
    this.log.push({ op: 'restoreBaseline', model });
  }

  /** The split between the latest candidate's Model and everything else (after converging, the candidate is the baseline variant's model). */
  public async current(_model: string): Promise<TrafficSplit> {
    this.settle();
    const total = this.variants.reduce((n, v) => n + v.weight, 0);
    if (total <= 0) return { baseline: 100, candidate: 0 };
    const share = this.variants.filter((v) => v.model === this.candidateModel).reduce((n, v) => n + v.weight, 0) / total;
    const candidate = Math.round(share * 10_000) / 100;
    return { baseline: Math.round((100 - candidate) * 100) / 100, candidate };
  }

  /** Variants in service now, for summaries and tests. */
  public get serving(): readonly { name: string; model: string; weight: number; instanceCount: number }[] {
    this.settle();
    return this.variants.map((v) => ({ name: v.name, model: v.model, weight: v.weight, instanceCount: v.instanceCount }));
  }

  public get endpointConfig(): string | null {
    this.settle();
    return this.config;
  }

  public get endpointExists(): boolean {
    this.settle();
    return this.exists;
  }
}
