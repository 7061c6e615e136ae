/**
 * The embedded runtime: runs the state machine definitions that CDK synthesizes, with a real ASL
 * interpreter, the real Lambda handler code on in-memory ports, a virtual clock and a simulated
 * serving fleet. It composes three parts, each with its own module:
 *
 * - the task bridge (local/task-bridge.ts): executions on the interpreter, every Lambda task mapped
 *   to its step's handler (core/steps.ts, lambdas/handlers.ts), child executions, stops;
 * - the simulated world (local/world.ts): the clock, the endpoint, the fleet, the metric store and
 *   the alarms; an alarm's event is delivered to the rollback handler, as deployed;
 * - the progress (local/progress.ts), and the approvals (local/approvals.ts).
 *
 * They meet through hooks: the bridge asks the world for a task's virtual time before it runs and
 * tells the progress what each step answered; the Executions port tells the bridge of a stop
 * (MemoryExecutions `onStop`) and the approvals of an answer (`onAnswer`).
 */
import { createHash } from 'node:crypto';
import { answerApproval } from '../core/app/answer-approval.js';
import { setFreezeState } from '../core/app/freeze.js';
import { incidentOfNotification } from '../core/app/incidents.js';
import type { RollbackInput } from '../core/contracts.js';
import { parseManifestText } from '../core/manifest.js';
import type { Notification } from '../core/ports.js';
import { pickStepDeps, STEP_NAMES, type StepName, type StepPorts, type StepSettings } from '../core/steps.js';
import { HANDLER_FACTORIES, type StepHandler } from '../lambdas/handlers.js';
import { environmentSettings, type PipelineConfig } from '../lib/config.js';
import type { EnvironmentSettings } from '../core/environments.js';
import type { HandoverBus, HookInvoker, UpstreamArtifacts } from '../core/ports.js';
import { LOCAL_ACCOUNT, NO_NEXT_ENVIRONMENT, NO_PREVIOUS_ENVIRONMENT, PASSING_HOOKS } from './chain-ports.js';
import type { MachineDefinitions } from '../lib/synth.js';
import { definitionsFor } from './definitions-cache.js';
import { ApprovalDesk, type ApprovalResponder as Responder } from './approvals.js';
import type { SimulatedEndpoint } from './endpoint.js';
import type { FleetPort } from './fleet.js';
import { MemoryArtifactStore, MemoryExecutions, MemoryLedger, MemoryLock, MemoryNotifier, type ManualClock, type MemoryMetricsSource, type RouterOperation } from './memory.js';
import { ProgressLog, type MonitorLook, type ProgressEvent } from './progress.js';
import { LOCAL_ARTIFACT_BUCKET, type Scenario } from './scenario.js';
import { TaskBridge, type InjectedFault, type RunningExecution } from './task-bridge.js';
import { SimulatedWorld } from './world.js';

export { alarmStateChangeEvent, LOCAL_SERVING, localServingSettings, SIMULATION_EPOCH } from './world.js';
export type { PendingApproval } from './approvals.js';
export type { MonitorLook, ProgressEvent } from './progress.js';
export type { InjectedFault, RunningExecution } from './task-bridge.js';

export const ARTIFACT_BUCKET = LOCAL_ARTIFACT_BUCKET;

/** Who answers approvals. `auto` approves at once; a function decides (and may take virtual minutes). */
export type ApprovalResponder = Responder<EmbeddedRuntime>;

export interface RuntimeOptions {
  readonly config: PipelineConfig;
  readonly scenario: Scenario;
  readonly approvals?: ApprovalResponder;
  readonly faults?: readonly InjectedFault[];
  /** Make the router fail these operations (e.g. restoreBaseline: the rollback itself fails). */
  readonly routerFailures?: readonly RouterOperation[];
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Wall-clock milliseconds per virtual minute while an approval waits (a person at a terminal). */
  readonly approvalPaceMs?: number;
  /** The ledger to run on (e.g. one persisted for the operator commands, local/state-dir.ts); a fresh one by default. */
  readonly ledger?: MemoryLedger;
  /** What serves traffic each minute: the scenario's simulated fleet by default, a recording in a replay (local/replay.ts). */
  readonly fleet?: FleetPort;
  /**
   * The environment of a chain this runtime plays (local/chain.ts): its definitions are the
   * chain's stack for it (hooks, drill, hand-over states), its handlers are told its settings.
   * Absent: a pipeline of its own, as `cdk synth` of one stack.
   */
  readonly chain?: { readonly config: PipelineConfig; readonly environment: string; readonly settings: EnvironmentSettings };
  /** This pipeline's artifact bucket (default {@link ARTIFACT_BUCKET}), and its store (default: a fresh one). */
  readonly bucket?: string;
  readonly artifacts?: MemoryArtifactStore;
  /** The team's verification hooks (default: every hook passes at once). */
  readonly hooks?: HookInvoker;
  /** The next environment's hand-over bus (default: none; a hand-over fails). */
  readonly bus?: HandoverBus;
  /** The previous environment's artifacts (default: none; an accepted hand-over cannot copy). */
  readonly upstream?: UpstreamArtifacts;
  /** Virtual time the runtime starts at (default SIMULATION_EPOCH). */
  readonly startAt?: string;
}

// The synthesized definitions, cached per source version and config (local/definitions-cache.ts):
// construct a runtime after `await loadDefinitions(config)` (or `(config, environment)` in a chain).
export { definitionsFor, loadDefinitions } from './definitions-cache.js';

/**
 * One embedded pipeline: the in-memory ports, the simulated world, the executions it runs.
 */
export class EmbeddedRuntime {
  public readonly ledger: MemoryLedger;
  public readonly lock = new MemoryLock();
  public readonly notifier = new MemoryNotifier();
  public readonly artifacts: MemoryArtifactStore;
  public readonly executions: MemoryExecutions;
  public readonly definitions: MachineDefinitions;
  private readonly world: SimulatedWorld;
  private readonly bridge: TaskBridge;
  private readonly progressLog: ProgressLog;
  private readonly approvals: ApprovalDesk<EmbeddedRuntime>;

  public constructor(private readonly options: RuntimeOptions) {
    this.ledger = options.ledger ?? new MemoryLedger();
    this.artifacts = options.artifacts ?? new MemoryArtifactStore();
    this.world = new SimulatedWorld({
      config: options.config,
      scenario: options.scenario,
      fleet: options.fleet,
      routerFailures: options.routerFailures,
      startAt: options.startAt,
      onMinute: async () => {
        await this.remindIncidents();
        await this.scheduledFreeze();
      },
      alarms: {
        raised: (alarmName, rule) => this.progressLog.emit('alarm', `alarm ${alarmName} → ALARM (${rule.description})`),
        deliver: (event) => this.bridge.invoke('rollback', event),
        answered: (result) => this.progressLog.step('rollback', result),
      },
    });
    this.progressLog = new ProgressLog(() => ({ minute: this.world.minute, weight: this.world.currentWeight }), options.onProgress);
    this.executions = new MemoryExecutions({
      starter: (name, input) => this.bridge.startPromotion(name, input),
      onAnswer: (answer) => this.approvals.receive(answer),
      onStop: (executionArn) => this.bridge.stopped(executionArn),
    });
    this.definitions = options.chain === undefined ? definitionsFor(options.config) : definitionsFor(options.chain.config, options.chain.environment);
    this.approvals = new ApprovalDesk<EmbeddedRuntime>({
      world: this.world,
      progress: this.progressLog,
      responder: options.approvals ?? 'auto',
      runtime: this,
      answer: (releaseId, decision, identity, reason) => this.answer(releaseId, decision, identity, reason),
      isStopped: (executionArn) => this.bridge.isStopped(executionArn),
      paceMs: options.approvalPaceMs,
    });
    this.bridge = new TaskBridge({
      definitions: this.definitions,
      handlers: this.stepHandlers(),
      clock: this.world.clock,
      faults: options.faults,
      hooks: {
        beforeTask: (handler, payload, stopped) => this.timeBefore(handler, payload, stopped),
        afterTask: (handler, result) => this.progressLog.step(handler, result),
        awaitAnswer: (request, payload, executionArn, timeoutSeconds) => this.approvals.waitFor(request, payload, executionArn, timeoutSeconds),
      },
    });
  }

  /** Every step's handler on the in-memory ports, with the deps its registry entry lists (core/steps.ts). */
  private stepHandlers(): Record<StepName, StepHandler> {
    const c = this.options.config;
    const ports: StepPorts & StepSettings = {
      ledger: this.ledger,
      lock: this.lock,
      clock: this.world.clock,
      notifier: this.notifier,
      router: this.world.endpoint,
      executions: this.executions,
      artifacts: this.artifacts,
      metrics: this.world.metrics,
      target: this.world.endpoint,
      model: c.modelName,
      gatePolicy: c.policy.gates,
      canaryPolicy: c.policy.canary,
      settings: this.world.servingSettings,
      bucket: this.bucket,
      warmup: { minutes: c.policy.canary.warmupMinutes, evaluationMinutes: c.alarms.evaluationPeriods },
      environment: this.environment,
      bake: c.bake,
      recovery: c.recovery,
      incidents: c.incidents,
      hooks: this.options.hooks ?? PASSING_HOOKS,
      bus: this.options.bus ?? NO_NEXT_ENVIRONMENT,
      upstream: this.options.upstream ?? NO_PREVIOUS_ENVIRONMENT,
    };
    const handler = <N extends StepName>(name: N): StepHandler => HANDLER_FACTORIES[name](pickStepDeps(name, ports));
    return Object.fromEntries(STEP_NAMES.map((name) => [name, handler(name)])) as Record<StepName, StepHandler>;
  }

  /** The virtual time a task waits for: a monitor look's due time, a serving loop's next check. */
  private timeBefore(handler: StepName, payload: unknown, stopped: () => boolean): Promise<void> | undefined {
    if (handler === 'analyze-canary') return this.world.advanceToLook(payload, stopped);
    if (handler === 'serving') return this.world.advanceToServingCheck(payload, stopped);
    if (handler === 'drill') return this.world.advanceToDrillVerdict(payload, this.environment.drillMinutes, stopped);
    if (handler === 'bake') return this.world.advanceToBakeLook(payload, stopped);
    if (handler === 'recovery') return this.world.advanceToRecoveryCheck(payload, stopped);
    return undefined;
  }

  /** This pipeline's artifact bucket. */
  public get bucket(): string {
    return this.options.bucket ?? ARTIFACT_BUCKET;
  }

  /** Where this pipeline stands in the chain (a pipeline of its own: a one-environment chain). */
  public get environment(): EnvironmentSettings {
    return this.options.chain?.settings ?? environmentSettings(null, this.options.config, LOCAL_ACCOUNT);
  }

  /** Virtual time the runtime started at (its minute 0). */
  public get startedAt(): string {
    return this.world.epoch;
  }

  public get clock(): ManualClock {
    return this.world.clock;
  }

  /** The simulated SageMaker endpoint: the pipeline's serving target and traffic router. */
  public get router(): SimulatedEndpoint {
    return this.world.endpoint;
  }

  public get metrics(): MemoryMetricsSource {
    return this.world.metrics;
  }

  public get fleet(): FleetPort {
    return this.world.fleet;
  }

  public get progress(): ProgressEvent[] {
    return this.progressLog.events;
  }

  /** Every monitor look with its verdict and each rule's evidence (the report's evidence charts). */
  public get looks(): readonly MonitorLook[] {
    return this.progressLog.looks;
  }

  /** Alarm state changes to ALARM, by minute. */
  public get alarmsFired(): { minute: number; alarmName: string }[] {
    return this.world.alarmsFired;
  }

  /** Minutes of virtual time since the simulation started. */
  public get minute(): number {
    return this.world.minute;
  }

  /** Uploads a manifest and delivers the S3 "Object Created" event to the intake handler, as EventBridge does. */
  public async upload(manifestText: string, options: { version: string; versionId: string; model?: string; deliveries?: number }): Promise<unknown[]> {
    const model = options.model ?? this.options.config.modelName;
    const key = `models/${model}/${options.version}/release.json`;
    this.artifacts.put(this.bucket, key, manifestText, options.versionId);
    this.putArtifactOf(manifestText);
    return this.objectCreated(key, options.versionId, Buffer.byteLength(manifestText), options.deliveries);
  }

  /** Delivers the S3 "Object Created" event of an object already in the bucket (a hand-over's release.json) to the intake handler. */
  public async objectCreated(key: string, versionId: string, size: number, deliveries = 1): Promise<unknown[]> {
    const event = s3ObjectCreatedEvent(this.bucket, key, versionId, size, this.clock.now());
    const results: unknown[] = [];
    for (let i = 0; i < deliveries; i++) results.push(await this.bridge.invoke('intake', event));
    return results;
  }

  /**
   * Uploads the model artifact a manifest names (before the manifest, as a team does): its digest
   * as S3 would report it, or a different one / none when the scenario says the upload went wrong.
   */
  private putArtifactOf(manifestText: string): void {
    const parsed = parseManifestText(manifestText);
    if (!parsed.ok) return;
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(parsed.value.artifact.uri);
    if (m === null) return;
    const how = this.options.scenario.deployment.artifact;
    if (how === 'missing') return;
    const sha256 = how === 'match' ? parsed.value.artifact.sha256 : createHash('sha256').update(`tampered ${parsed.value.artifact.sha256}`).digest('hex');
    // The same bytes uploaded again (another manifest naming the same artifact) keep the object as it is.
    const existing = this.artifacts.peekArtifact(m[1]!, m[2]!);
    if (existing?.sha256 === sha256) return;
    this.artifacts.putArtifact(m[1]!, m[2]!, { size: 7_400_000_000, sha256 }, `artifact-${parsed.value.version}`);
  }

  /** Waits until every execution has ended (including those started while waiting). */
  public async settle(): Promise<void> {
    await this.bridge.settle();
  }

  /** Every execution that ran, with its outcome. */
  public get executionsRun(): readonly RunningExecution[] {
    return this.bridge.executionsRun;
  }

  /** States entered across every execution. */
  public get stateTransitions(): number {
    return this.bridge.executionsRun.reduce((n, r) => n + r.transitions, 0);
  }

  /** The pages: incident notifications, less the status updates and transitions of an incident's thread. */
  public get incidents(): Notification[] {
    return this.notifier.notifications.filter((n) => n.channel === 'incident' && (incidentOfNotification(n)?.event ?? 'opened') === 'opened');
  }

  /**
   * The incidents' reminder rule (lib/incident-reminders.ts), as EventBridge runs it: every
   * `incidents.checkEveryMinutes` of virtual time, a "Scheduled Event" to the incidents handler.
   */
  public async remindIncidents(): Promise<void> {
    if (this.world.minute % this.options.config.incidents.checkEveryMinutes !== 0) return;
    const at = this.clock.now().toISOString();
    await this.bridge.invoke('incidents', { version: '0', id: `local-schedule-${at}`, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', time: at, region: 'us-east-1', resources: [], detail: {} });
  }

  /** The scenario's emergency freeze (core/app/freeze.ts), set and lifted at its minutes as `builderbrain freeze` / `unfreeze` would. */
  private async scheduledFreeze(): Promise<void> {
    const f = this.options.scenario.freeze;
    if (f === undefined) return;
    const deps = { ledger: this.ledger, clock: this.clock };
    if (this.world.minute === f.atMinute) {
      const out = await setFreezeState({ action: 'freeze', reason: f.reason, identity: f.by }, deps);
      if (out.changed) this.progressLog.emit('freeze', `releases FROZEN by ${f.by}: ${f.reason}`);
    }
    if (this.world.minute === f.untilMinute) {
      const out = await setFreezeState({ action: 'unfreeze', reason: 'the incident is resolved', identity: f.by }, deps);
      if (out.changed) this.progressLog.emit('freeze', `releases unfrozen by ${f.by}`);
    }
  }

  /** Answers a pending approval through the same path as the CLI (token from the ledger, SendTask*). */
  public async answer(releaseId: string, decision: 'approve' | 'reject', identity: string, reason = 'rejected by operator'): Promise<void> {
    await answerApproval(
      releaseId,
      decision === 'approve' ? { decision: 'approved', identity } : { decision: 'rejected', identity, reason },
      { ledger: this.ledger, executions: this.executions, clock: this.clock },
    );
  }

  /**
   * Calls a step's handler as Lambda would (JSON in and out, injected faults first), as an EventBridge
   * rule or a direct invocation does; nothing is reported to the progress.
   */
  public invoke(step: StepName, event: unknown): Promise<unknown> {
    return this.bridge.invoke(step, event);
  }

  /** Invokes the rollback handler, as the alarm path does (an operator's `builderbrain rollback --local`). */
  public async rollback(input: RollbackInput): Promise<unknown> {
    const result = await this.bridge.invoke('rollback', input);
    this.progressLog.step('rollback', result);
    return result;
  }

  /** Simulates minute after minute until `target` (ms), or until `executionArn` is stopped. */
  public async advanceTo(target: number, executionArn?: string): Promise<void> {
    await this.world.advanceTo(target, executionArn === undefined ? undefined : () => this.bridge.isStopped(executionArn));
  }
}

/** The EventBridge event S3 sends for a new object (detail as documented by Amazon S3). */
export function s3ObjectCreatedEvent(bucket: string, key: string, versionId: string, size: number, at: Date): unknown {
  return {
    version: '0',
    id: `local-${versionId}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: at.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key, size, etag: `etag-${versionId}`, 'version-id': versionId, sequencer: '0' },
      'request-id': `req-${versionId}`,
      requester: '000000000000',
      reason: 'PutObject',
    },
  };
}
