/**
 * ServingTarget on a Lambda function (core/ports.ts): a release is a published version whose
 * environment names the artifact, behind two aliases.
 *
 * - live alias: what clients call; its version is the baseline, RoutingConfig sends a share to the
 *   candidate (LambdaAliasRouter moves that share; promotion points the alias at the candidate).
 * - candidate alias: the version under test (smoke requests go to the version itself).
 *
 * `candidate_deployed` is resumable: a version published for the release is found again by its
 * description (`builderbrain <releaseId>`) and its environment, so a retried step publishes nothing
 * twice. Otherwise $LATEST gets the artifact's variables (merged into the function's own), the
 * update is waited out, and exactly that revision is published (PublishVersion with RevisionId: a
 * concurrent change of $LATEST cannot slip into the release's version).
 *
 * Lambda refuses a change while another update of the function is in flight
 * (ResourceConflictException): that is retried every `pollMs` until `maxWaitMs`; each wait (for an
 * update to settle, for a conflict to clear) is bounded by `maxWaitMs` on its own, so the handler's
 * timeout must allow a few of them.
 */
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { ConfigurationError } from '../../core/app/errors.js';
import type { Deployment, DeploymentGoal, LambdaServing, ServingSlot, ServingState, SmokeResponse, SmokeSample } from '../../core/deployment.js';
import { ReleaseError } from '../../core/errors.js';
import type { ServingTarget } from '../../core/ports.js';
import { AwsCallError, call, errorName, isAwsError, realSleep, sendWhileSettling, type Sleep, type WaitOptions } from './aws-errors.js';

/** Lambda: "the total size of the set [of environment variables] does not exceed 4 KB". */
export const MAX_ENVIRONMENT_BYTES = 4 * 1024;
/** Lambda: 6 MB request payload of a synchronous (RequestResponse) invocation. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface LambdaTargetConfig {
  readonly functionName: string;
  readonly liveAlias: string;
  readonly candidateAlias: string;
  readonly delivery: LambdaServing['delivery'];
}

/** The update of the function failed (LastUpdateStatus Failed): the candidate cannot serve. Permanent. */
export class DeploymentFailedError extends ReleaseError {
  public constructor(
    public readonly resource: string,
    /** Lambda's LastUpdateStatusReason. */
    public readonly failureReason: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'DeploymentFailed';
  }
}

/** The function was still updating after `maxWaitMs`; nothing failed, a retried step resumes where this one stopped. */
export class DeploymentPendingError extends ReleaseError {
  public constructor(
    public readonly resource: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeploymentPending';
  }
}

/** UTF-8 bytes of the names and values of an environment (what the 4 KB limit counts). */
export function environmentBytes(variables: Readonly<Record<string, string>>): number {
  return Object.entries(variables).reduce((n, [k, v]) => n + Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8'), 0);
}

const LATEST = '$LATEST';
const pct = (fraction: number): number => Math.round(fraction * 10_000) / 100;

export class LambdaTarget implements ServingTarget {
  public readonly kind = 'lambda' as const;
  private readonly wait: { readonly maxWaitMs: number; readonly pollMs: number; readonly sleep: Sleep };

  public constructor(
    private readonly client: LambdaClient,
    private readonly config: LambdaTargetConfig,
    options: WaitOptions = {},
  ) {
    this.wait = { maxWaitMs: options.maxWaitMs ?? 60_000, pollMs: options.pollMs ?? 2_000, sleep: options.sleep ?? realSleep };
  }

  private get fn(): string {
    return this.config.functionName;
  }

  /** The live alias: its version with what RoutingConfig leaves it, and one slot per routed version. */
  public async observe(): Promise<ServingState> {
    const live = await this.getAlias(this.config.liveAlias);
    if (live === null) return { exists: false, status: 'idle', config: null, failureReason: null, slots: [] };
    const routed = Object.entries(live.weights);
    const slot = (name: string, weight: number): ServingSlot => ({ name, model: null, weight, instanceType: null, instanceCount: null });
    const slots = [
      slot(live.version, Math.max(0, pct(1 - routed.reduce((n, [, w]) => n + w, 0)))),
      ...routed.map(([version, w]) => slot(version, pct(w))),
    ];
    const latest = await this.functionConfiguration();
    const status = latest.LastUpdateStatus === 'InProgress' ? 'busy' : latest.LastUpdateStatus === 'Failed' ? 'failed' : 'idle';
    return { exists: true, status, config: live.version, failureReason: status === 'failed' ? (latest.LastUpdateStatusReason ?? null) : null, slots };
  }

  public async apply(goal: DeploymentGoal, d: Deployment): Promise<Deployment> {
    if (d.target !== 'lambda') throw new ConfigurationError(`the Lambda target cannot apply a ${d.target} deployment`);
    switch (goal) {
      case 'candidate_deployed':
        return this.deployCandidate(d);
      case 'converged':
        // Promotion (LambdaAliasRouter.promoteCandidate) already pointed the live alias at the candidate.
        return d;
      case 'candidate_removed':
        await this.removeCandidate(d);
        return d;
    }
  }

  /** One synchronous request to the candidate version itself (not an alias). Failures are returned, never thrown. */
  public async invoke(d: Deployment, sample: SmokeSample): Promise<SmokeResponse> {
    const version = d.candidate.version;
    if (version === null) return { error: 'no candidate version has been published', body: '', latencyMs: 0 };
    const payload = Buffer.from(sample.body, 'utf8');
    if (payload.byteLength > MAX_SYNC_PAYLOAD_BYTES) {
      return { error: `the request is ${payload.byteLength} bytes, over Lambda's ${MAX_SYNC_PAYLOAD_BYTES}-byte (6 MB) limit of a synchronous invocation`, body: '', latencyMs: 0 };
    }
    const t0 = performance.now();
    try {
      const out = await this.client.send(new InvokeCommand({ FunctionName: this.fn, Qualifier: version, InvocationType: 'RequestResponse', Payload: payload }));
      const latencyMs = performance.now() - t0;
      const body = out.Payload === undefined ? '' : Buffer.from(out.Payload).toString('utf8');
      if (out.FunctionError !== undefined && out.FunctionError !== '') return { error: `FunctionError ${out.FunctionError}: ${body}`, body, latencyMs };
      return { error: null, body, latencyMs };
    } catch (err) {
      return { error: `${errorName(err)}: ${err instanceof Error ? err.message : String(err)}`, body: '', latencyMs: performance.now() - t0 };
    }
  }

  // ---- candidate_deployed ------------------------------------------------------------------------

  private async deployCandidate(d: Deployment): Promise<Deployment> {
    const version = (await this.findPublished(d)) ?? (await this.publish(d));
    await this.pointAlias(this.config.candidateAlias, version, 'create');
    // A first release: nothing serves yet, the live alias starts on the candidate.
    if ((await this.getAlias(this.config.liveAlias)) === null) await this.createAlias(this.config.liveAlias, version);
    return { ...d, candidate: { ...d.candidate, version, model: null } };
  }

  private description(d: Deployment): string {
    return `builderbrain ${d.releaseId}`;
  }

  private carries(cfg: FunctionConfiguration, d: Deployment): boolean {
    const vars = cfg.Environment?.Variables ?? {};
    return vars[this.config.delivery.uriVariable] === d.artifact.uri && vars[this.config.delivery.sha256Variable] === d.artifact.sha256;
  }

  /** The version an earlier attempt of this release published, if any. */
  private async findPublished(d: Deployment): Promise<string | null> {
    let marker: string | undefined;
    do {
      const page = await call('Lambda.ListVersionsByFunction', this.fn, () =>
        this.client.send(new ListVersionsByFunctionCommand({ FunctionName: this.fn, ...(marker === undefined ? {} : { Marker: marker }) })),
      );
      const found = (page.Versions ?? []).find((v) => v.Version !== undefined && v.Version !== LATEST && v.Description === this.description(d) && this.carries(v, d));
      if (found !== undefined) return found.Version!;
      marker = page.NextMarker;
    } while (marker !== undefined && marker !== '');
    return null;
  }

  /**
   * Puts the artifact into $LATEST (unless it is there already), waits for the update, and publishes
   * exactly that revision. A change of $LATEST by someone else in between (PreconditionFailed on the
   * RevisionId, ResourceConflict, our variables gone) starts over from a fresh read, until `maxWaitMs`.
   */
  private async publish(d: Deployment): Promise<string> {
    let waited = 0;
    for (;;) {
      let latest = await this.settledConfiguration();
      if (!this.carries(latest, d)) {
        await this.updateEnvironment(latest, d);
        latest = await this.settledConfiguration();
      }
      if (latest.LastUpdateStatus === 'Failed') {
        const reason = latest.LastUpdateStatusReason ?? null;
        throw new DeploymentFailedError(
          this.fn,
          reason,
          `the update of function ${this.fn} to ${d.artifact.uri} failed${latest.LastUpdateStatusReasonCode === undefined ? '' : ` (${latest.LastUpdateStatusReasonCode})`}: ${reason ?? 'Lambda gave no reason'}`,
        );
      }
      let conflict: unknown = null;
      if (this.carries(latest, d)) {
        try {
          const out = await this.client.send(
            new PublishVersionCommand({ FunctionName: this.fn, Description: this.description(d), ...(latest.RevisionId === undefined ? {} : { RevisionId: latest.RevisionId }) }),
          );
          if (out.Version === undefined) throw new Error('PublishVersion returned no version');
          return out.Version;
        } catch (err) {
          if (!isAwsError(err, 'ResourceConflictException', 'PreconditionFailedException')) throw new AwsCallError('Lambda.PublishVersion', this.fn, err);
          conflict = err;
        }
      }
      if (waited >= this.wait.maxWaitMs) {
        if (conflict !== null) throw new AwsCallError('Lambda.PublishVersion', this.fn, conflict);
        throw new DeploymentPendingError(this.fn, `function ${this.fn}: $LATEST kept changing under the release for ${waited} ms; its artifact variables were replaced`);
      }
      await this.wait.sleep(this.wait.pollMs);
      waited += this.wait.pollMs;
    }
  }

  /** $LATEST's variables with the artifact's: Environment.Variables replaces the whole set, so the function's own are kept. */
  private async updateEnvironment(latest: FunctionConfiguration, d: Deployment): Promise<void> {
    const { uriVariable, sha256Variable, versionVariable } = this.config.delivery;
    const variables = { ...(latest.Environment?.Variables ?? {}), [uriVariable]: d.artifact.uri, [sha256Variable]: d.artifact.sha256, [versionVariable]: d.version };
    const bytes = environmentBytes(variables);
    if (bytes > MAX_ENVIRONMENT_BYTES) {
      throw new ConfigurationError(
        `function ${this.fn}: with ${uriVariable}, ${sha256Variable} and ${versionVariable} its environment variables would be ${bytes} bytes, over Lambda's 4 KB (${MAX_ENVIRONMENT_BYTES}-byte) limit on all variables together; shorten or remove some of the function's variables`,
      );
    }
    const command = new UpdateFunctionConfigurationCommand({ FunctionName: this.fn, Environment: { Variables: variables } });
    await sendWhileSettling(() => this.client.send(command), (err) => isAwsError(err, 'ResourceConflictException'), this.wait, 'Lambda.UpdateFunctionConfiguration', this.fn);
  }

  private async functionConfiguration(): Promise<FunctionConfiguration> {
    return call('Lambda.GetFunctionConfiguration', `${this.fn}:${LATEST}`, () =>
      this.client.send(new GetFunctionConfigurationCommand({ FunctionName: this.fn, Qualifier: LATEST })),
    );
  }

  /** $LATEST once no update is in progress (polled every `pollMs`, at most `maxWaitMs`). */
  private async settledConfiguration(): Promise<FunctionConfiguration> {
    let waited = 0;
    for (;;) {
      const cfg = await this.functionConfiguration();
      if (cfg.LastUpdateStatus !== 'InProgress' && cfg.State !== 'Pending') return cfg;
      if (waited >= this.wait.maxWaitMs) {
        throw new DeploymentPendingError(this.fn, `function ${this.fn} was still updating after ${waited} ms (LastUpdateStatus ${cfg.LastUpdateStatus ?? '?'}, State ${cfg.State ?? '?'})`);
      }
      await this.wait.sleep(this.wait.pollMs);
      waited += this.wait.pollMs;
    }
  }

  // ---- candidate_removed ---------------------------------------------------------------------------

  /**
   * No traffic to the candidate: the live alias's routing is cleared (a promotion that already
   * happened is undone: the alias goes back to the baseline version), and the candidate alias goes
   * back to the baseline, as before the release.
   */
  private async removeCandidate(d: Deployment): Promise<void> {
    const candidate = d.candidate.version;
    const baseline = d.baseline?.config ?? null;
    const live = await this.getAlias(this.config.liveAlias);
    if (live !== null && candidate !== null && d.baseline === null && live.version === candidate) {
      // A first release taken back: the live alias this release created goes (there is no previous version to serve).
      try {
        await this.client.send(new DeleteAliasCommand({ FunctionName: this.fn, Name: this.config.liveAlias }));
      } catch (err) {
        if (!isAwsError(err, 'ResourceNotFoundException')) throw new AwsCallError('Lambda.DeleteAlias', `${this.fn}:${this.config.liveAlias}`, err);
      }
      return;
    }
    if (live !== null && candidate !== null) {
      if (live.version === candidate && baseline !== null && baseline !== candidate) {
        await this.updateAlias(this.config.liveAlias, { FunctionVersion: baseline, RoutingConfig: { AdditionalVersionWeights: {} } });
      } else if ((live.weights[candidate] ?? 0) > 0) {
        await this.updateAlias(this.config.liveAlias, { RoutingConfig: { AdditionalVersionWeights: {} } });
      }
    }
    if (baseline !== null) await this.pointAlias(this.config.candidateAlias, baseline, 'skip');
  }

  // ---- aliases ------------------------------------------------------------------------------------------

  /** The alias's version and routing; null when the alias does not exist. */
  private async getAlias(name: string): Promise<{ version: string; weights: Record<string, number> } | null> {
    try {
      const out = await this.client.send(new GetAliasCommand({ FunctionName: this.fn, Name: name }));
      if (out.FunctionVersion === undefined) throw new ConfigurationError(`alias ${this.fn}:${name} has no version`);
      return { version: out.FunctionVersion, weights: out.RoutingConfig?.AdditionalVersionWeights ?? {} };
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      if (isAwsError(err, 'ResourceNotFoundException')) return null;
      throw new AwsCallError('Lambda.GetAlias', `${this.fn}:${name}`, err);
    }
  }

  /** Points an alias at `version` (nothing when it already does); a missing alias is created or left alone. */
  private async pointAlias(name: string, version: string, whenMissing: 'create' | 'skip'): Promise<void> {
    const alias = await this.getAlias(name);
    if (alias === null) {
      if (whenMissing === 'create') await this.createAlias(name, version);
      return;
    }
    if (alias.version !== version) await this.updateAlias(name, { FunctionVersion: version });
  }

  private async createAlias(name: string, version: string): Promise<void> {
    await call('Lambda.CreateAlias', `${this.fn}:${name}`, () =>
      this.client.send(new CreateAliasCommand({ FunctionName: this.fn, Name: name, FunctionVersion: version })),
    );
  }

  private async updateAlias(name: string, change: { FunctionVersion?: string; RoutingConfig?: { AdditionalVersionWeights: Record<string, number> } }): Promise<void> {
    const command = new UpdateAliasCommand({ FunctionName: this.fn, Name: name, ...change });
    await sendWhileSettling(() => this.client.send(command), (err) => isAwsError(err, 'ResourceConflictException'), this.wait, 'Lambda.UpdateAlias', `${this.fn}:${name}`);
  }
}
