/**
 * TrafficRouter on a Lambda function's aliases. Clients call the live alias; the pipeline's serving
 * step (lambda-target.ts) publishes the candidate version and points the candidate alias at it.
 *
 * - weight w: the live alias keeps its version (the baseline) and routes w% to the candidate
 *   alias's version (RoutingConfig.AdditionalVersionWeights, 0.0–1.0; 100% is weight 1.0, so the
 *   baseline stays recorded on the alias until promotion).
 * - promote: the live alias points at the candidate version, with no routing.
 * - restore (rollback): the routing is cleared; the live alias's own version is the baseline.
 *
 * UpdateAlias answers ResourceConflictException while another update of the function is in flight;
 * that is retried every `pollMs` until `maxWaitMs`.
 */
import { GetAliasCommand, UpdateAliasCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { TrafficRouter, TrafficSplit } from '../../core/ports.js';
import { ConfigurationError } from '../../core/app/errors.js';
import { AwsCallError, isAwsError, realSleep, sendWhileSettling, type Sleep, type WaitOptions } from './aws-errors.js';

export interface LambdaAliasRouterConfig {
  readonly functionName: string;
  readonly liveAlias: string;
  readonly candidateAlias: string;
}

export class LambdaAliasRouter implements TrafficRouter {
  private readonly wait: { readonly maxWaitMs: number; readonly pollMs: number; readonly sleep: Sleep };

  public constructor(
    private readonly client: LambdaClient,
    private readonly config: LambdaAliasRouterConfig,
    options: WaitOptions = {},
  ) {
    this.wait = { maxWaitMs: options.maxWaitMs ?? 60_000, pollMs: options.pollMs ?? 2_000, sleep: options.sleep ?? realSleep };
  }

  private async alias(name: string): Promise<{ version: string; weights: Record<string, number> }> {
    try {
      const out = await this.client.send(new GetAliasCommand({ FunctionName: this.config.functionName, Name: name }));
      if (out.FunctionVersion === undefined) throw new ConfigurationError(`alias ${this.config.functionName}:${name} has no version`);
      return { version: out.FunctionVersion, weights: out.RoutingConfig?.AdditionalVersionWeights ?? {} };
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      throw new AwsCallError('Lambda.GetAlias', `${this.config.functionName}:${name}`, err);
    }
  }

  private async candidateVersion(): Promise<string> {
    return (await this.alias(this.config.candidateAlias)).version;
  }

  public async setCandidateWeight(_model: string, weight: number): Promise<void> {
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be 0-100, got ${weight}`);
    const [live, candidate] = await Promise.all([this.alias(this.config.liveAlias), this.candidateVersion()]);
    // A first release: the pipeline created the live alias on the candidate, which serves everything already.
    if (candidate === live.version) return;
    await this.updateLive({ AdditionalVersionWeights: weight === 0 ? {} : { [candidate]: weight / 100 } });
  }

  public async promoteCandidate(_model: string): Promise<void> {
    const candidate = await this.candidateVersion();
    await this.updateLive({ AdditionalVersionWeights: {} }, candidate);
  }

  public async restoreBaseline(_model: string): Promise<void> {
    await this.updateLive({ AdditionalVersionWeights: {} });
  }

  public async current(_model: string): Promise<TrafficSplit> {
    const live = await this.alias(this.config.liveAlias);
    const routed = Object.values(live.weights).reduce((a, b) => a + b, 0);
    const candidate = Math.round(routed * 10_000) / 100;
    return { baseline: Math.round((100 - candidate) * 100) / 100, candidate };
  }

  private async updateLive(routing: { AdditionalVersionWeights: Record<string, number> }, functionVersion?: string): Promise<void> {
    const command = new UpdateAliasCommand({
      FunctionName: this.config.functionName,
      Name: this.config.liveAlias,
      ...(functionVersion === undefined ? {} : { FunctionVersion: functionVersion }),
      RoutingConfig: routing,
    });
    await sendWhileSettling(
      () => this.client.send(command),
      (err) => isAwsError(err, 'ResourceConflictException'),
      this.wait,
      'Lambda.UpdateAlias',
      `${this.config.functionName}:${this.config.liveAlias}`,
    );
  }
}
