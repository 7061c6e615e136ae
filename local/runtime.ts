/**
 * The embedded runtime: runs the state machine definitions that CDK synthesizes, with a real ASL
 * interpreter (aws-local-stepfunctions), the real Lambda handler code on in-memory ports, a virtual
 * clock and a simulated serving fleet.
 *
 * What the interpreter lacks is implemented here, in the task layer, never by editing definitions:
 * - Lambda tasks (`lambda:invoke`): the task's FunctionName is mapped to the handler it deploys
 *   (lib/synth.ts `handlerForTask`) and the handler is called with the Payload; the result comes back
 *   as the integration's `{ Payload, StatusCode }`.
 * - `.waitForTaskToken`: each such task gets a fresh token from the Context Object; the task resolves
 *   when that token is answered through the Executions port (SendTaskSuccess/Failure) or fails with
 *   `States.Timeout` when the task's TimeoutSeconds of virtual time pass.
 * - `states:startExecution.sync:2`: the child state machine runs in this runtime and its output
 *   comes back as `{ Output, Status, ExecutionArn }`; a failed or stopped child fails the task with
 *   `States.TaskFailed`.
 * - Wait states: the interpreter's wait is overridden to 0 ms; the virtual clock moves when time
 *   matters — before each look of the monitor loop to the look's due time (phase start + looks ×
 *   the Wait's SecondsPath), and minute by minute while an approval is pending. Every simulated
 *   minute produces the fleet's datapoints and evaluates the CloudWatch alarm rules; an ALARM invokes
 *   the rollback handler with the EventBridge event, as deployed.
 * - Retry intervals are overridden to 0 (retries still happen, in no wall time).
 */
import { createHash } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { alarmRules, alarmState, type AlarmPolicy, type AlarmRule } from '../core/alarms.js';
import { answerApproval } from '../core/app/answer-approval.js';
import type { RollbackInput } from '../core/contracts.js';
import type { Notification } from '../core/ports.js';
import { canaryAlarmName } from '../core/runtime-config.js';
import { ManualClock, MemoryArtifactStore, MemoryLedger, MemoryLock, MemoryMetricsSource, MemoryNotifier, MemoryExecutions, type RouterOperation, type TaskAnswer } from './memory.js';
import { SimulatedEndpoint } from './endpoint.js';
import { servingSettingsOf } from '../core/runtime-config.js';
import { parseManifestText } from '../core/manifest.js';
import { createHandler as createVerifyArtifact } from '../lambdas/verify-artifact/handler.js';
import { createHandler as createServing } from '../lambdas/serving/handler.js';
import { hasData } from './cloudwatch.js';
import { SimulatedFleet, periodValues, type FleetPort } from './fleet.js';
import { LOCAL_ARTIFACT_BUCKET, type Scenario } from './scenario.js';
import type { PipelineConfig } from '../lib/config.js';
import { stateMachineDefinitions, synthesizeTemplate, type MachineDefinition, type MachineDefinitions } from '../lib/synth.js';
import type { HandlerName } from '../lib/pipeline-functions.js';
import { createHandler as createIntake } from '../lambdas/intake/handler.js';
import { createHandler as createValidate } from '../lambdas/validate-manifest/handler.js';
import { createHandler as createLock } from '../lambdas/release-lock/handler.js';
import { createHandler as createGates } from '../lambdas/run-gates/handler.js';
import { createHandler as createReject } from '../lambdas/reject-release/handler.js';
import { createHandler as createStartPhase } from '../lambdas/start-phase/handler.js';
import { createHandler as createAnalyze } from '../lambdas/analyze-canary/handler.js';
import { createHandler as createRequestApproval } from '../lambdas/request-approval/handler.js';
import { createHandler as createPromote } from '../lambdas/promote/handler.js';
import { createHandler as createRollback } from '../lambdas/rollback/handler.js';
import { createHandler as createExecutionEnded } from '../lambdas/execution-ended/handler.js';

const MINUTE_MS = 60_000;
/** Virtual time of a simulation's start: fixed, so runs are reproducible byte for byte. */
export const SIMULATION_EPOCH = '2026-01-05T09:00:00.000Z';
export const ARTIFACT_BUCKET = LOCAL_ARTIFACT_BUCKET;

type Handler = (event: unknown) => Promise<unknown>;

/** A handler failure injected by tests (fault injection). */
export interface InjectedFault {
  readonly handler: HandlerName;
  /** `transient`: a Lambda service error the state machine retries; `permanent`: an error it does not. */
  readonly kind: 'transient' | 'permanent';
  /** How many invocations fail, from the first. */
  readonly times: number;
}

/** Who answers approvals. `auto` approves at once; a function decides (and may take virtual minutes). */
export type ApprovalResponder =
  | 'auto'
  | ((request: PendingApproval, runtime: EmbeddedRuntime) => Promise<'approve' | 'reject' | 'wait'>);

export interface PendingApproval {
  readonly releaseId: string;
  readonly phase: number;
  readonly weight: number;
  /** Virtual minutes the approval has waited so far. */
  readonly waitedMinutes: number;
  readonly verdictSummary: string;
}

export interface ProgressEvent {
  readonly minute: number;
  readonly kind: 'phase' | 'verdict' | 'approval' | 'rollback' | 'promoted' | 'rejected' | 'alarm' | 'step' | 'deploy';
  readonly text: string;
  readonly weight: number;
}

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
}

interface RunningExecution {
  readonly arn: string;
  readonly name: string;
  readonly machine: MachineDefinition;
  abort: () => void;
  stopped: boolean;
  readonly result: Promise<unknown>;
  transitions: number;
  /** States entered, by state type (Task, Wait, Choice, ...): the basis of history-event estimates. */
  enteredByType: Record<string, number>;
  readonly logs: Promise<void>;
}

const definitionsCache = new Map<string, MachineDefinitions>();

/** The synthesized definitions for a config (synthesis takes seconds: cached per config). */
export function definitionsFor(config: PipelineConfig): MachineDefinitions {
  const key = JSON.stringify(config);
  let defs = definitionsCache.get(key);
  if (defs === undefined) {
    defs = stateMachineDefinitions(synthesizeTemplate(config, { bundling: false }));
    definitionsCache.set(key, defs);
  }
  return defs;
}

/** What a task of a stopped execution settles with (the aborted interpreter runs no further state). */
function stoppedError(executionArn: string): Error {
  return statesError('ExecutionAborted', `execution ${executionArn} was stopped`);
}

/** Error raised into the interpreter with a Step Functions error name. */
function statesError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/**
 * One embedded pipeline: ports, handlers, fleet, clock and the executions it runs.
 */
export class EmbeddedRuntime {
  public readonly clock = new ManualClock(SIMULATION_EPOCH);
  public readonly ledger: MemoryLedger;
  public readonly lock = new MemoryLock();
  public readonly notifier = new MemoryNotifier();
  /** The simulated SageMaker endpoint: the pipeline's serving target and traffic router. */
  public readonly router: SimulatedEndpoint;
  public readonly artifacts = new MemoryArtifactStore();
  public readonly metrics = new MemoryMetricsSource();
  public readonly executions: MemoryExecutions;
  public readonly fleet: FleetPort;
  public readonly definitions: MachineDefinitions;
  public readonly progress: ProgressEvent[] = [];
  /** Alarm state changes to ALARM, by minute. */
  public readonly alarmsFired: { minute: number; alarmName: string }[] = [];
  private readonly handlers: Record<HandlerName, Handler>;
  private readonly running = new Map<string, RunningExecution>();
  private readonly stoppedArns = new Set<string>();
  private readonly finished: RunningExecution[] = [];
  /** Execution-ended events on their way to the ExecutionEnded handler. */
  private readonly deliveries = new Set<Promise<void>>();
  private readonly answers = new Map<string, TaskAnswer>();
  private readonly faultCounts = new Map<HandlerName, number>();
  private readonly alarmHistory = new Map<string, number[]>();
  private readonly alarmStates = new Map<string, 'OK' | 'ALARM'>();
  private readonly rules: AlarmRule[];
  private tokenCounter = 0;
  private executionCounter = 0;

  public constructor(private readonly options: RuntimeOptions) {
    this.ledger = options.ledger ?? new MemoryLedger();
    const failures = new Set(options.routerFailures ?? []);
    const d = options.scenario.deployment;
    const serving = localServingSettings(options.config);
    const { plan } = serving;
    this.router = new SimulatedEndpoint({
      endpointName: plan.endpointName,
      baselineVariant: plan.baselineVariant,
      canaryVariant: plan.canaryVariant,
      image: plan.serving.image,
      clock: this.clock,
      provisionMinutes: d.provisionMinutes,
      deployFailure: d.failure,
      smoke: d.smoke,
      initialModel: d.firstRelease ? null : `${plan.endpointName}-baseline-model`,
      instanceType: plan.serving.instanceType,
      fail: (op) => (failures.has(op) ? statesError('ServiceUnavailable', `traffic router: ${op} failed (injected)`) : undefined),
    });
    this.executions = new MemoryExecutions({
      starter: (name, input) => this.startPromotion(name, input),
      onAnswer: (answer) => {
        this.answers.set(answer.token, answer);
      },
    });
    const stop = this.executions.stop.bind(this.executions);
    this.executions.stop = async (executionArn: string, cause: string) => {
      await stop(executionArn, cause);
      const run = this.running.get(executionArn);
      this.stoppedArns.add(executionArn);
      if (run !== undefined && !run.stopped) {
        run.stopped = true;
        run.abort();
      }
    };
    this.fleet = options.fleet ?? new SimulatedFleet(options.scenario);
    this.definitions = definitionsFor(options.config);
    this.rules = alarmRules(alarmPolicyOf(options.config));
    const c = options.config;
    const base = { clock: this.clock, ledger: this.ledger };
    this.handlers = {
      intake: createIntake({ executions: this.executions, clock: this.clock, model: c.modelName }) as Handler,
      'validate-manifest': createValidate({ ...base, artifacts: this.artifacts }) as Handler,
      'release-lock': createLock({ ...base, lock: this.lock }) as Handler,
      'run-gates': createGates({ ...base, gatePolicy: c.policy.gates }) as Handler,
      'verify-artifact': createVerifyArtifact({ ...base, artifacts: this.artifacts, bucket: ARTIFACT_BUCKET }) as Handler,
      serving: createServing({ ...base, target: this.router, settings: serving }) as Handler,
      'reject-release': createReject({ ...base, notifier: this.notifier }) as Handler,
      'start-phase': createStartPhase({ ...base, router: this.router }) as Handler,
      'analyze-canary': createAnalyze({ ...base, metrics: this.metrics, canaryPolicy: c.policy.canary, notifier: this.notifier }) as Handler,
      'request-approval': createRequestApproval({ ...base, notifier: this.notifier }) as Handler,
      promote: createPromote({ ...base, router: this.router, notifier: this.notifier }) as Handler,
      rollback: createRollback({
        ...base,
        lock: this.lock,
        router: this.router,
        executions: this.executions,
        notifier: this.notifier,
        model: c.modelName,
        warmup: { minutes: c.policy.canary.warmupMinutes, evaluationMinutes: c.alarms.evaluationPeriods },
      }) as Handler,
      'execution-ended': createExecutionEnded({ ...base, lock: this.lock, router: this.router, executions: this.executions, notifier: this.notifier }) as Handler,
    };
  }

  /** Minutes of virtual time since the simulation started. */
  public get minute(): number {
    return Math.round((this.clock.now().getTime() - new Date(SIMULATION_EPOCH).getTime()) / MINUTE_MS);
  }

  /** Uploads a manifest and delivers the S3 "Object Created" event to the intake handler, as EventBridge does. */
  public async upload(manifestText: string, options: { version: string; versionId: string; model?: string; deliveries?: number }): Promise<unknown[]> {
    const model = options.model ?? this.options.config.modelName;
    const key = `models/${model}/${options.version}/release.json`;
    this.artifacts.put(ARTIFACT_BUCKET, key, manifestText, options.versionId);
    this.putArtifactOf(manifestText);
    const event = s3ObjectCreatedEvent(ARTIFACT_BUCKET, key, options.versionId, Buffer.byteLength(manifestText), this.clock.now());
    const results: unknown[] = [];
    for (let i = 0; i < (options.deliveries ?? 1); i++) results.push(await this.invoke('intake', event));
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
    while (this.running.size > 0 || this.deliveries.size > 0) {
      await Promise.allSettled([...[...this.running.values()].map((r) => r.result), ...this.deliveries]);
    }
  }

  /** Every execution that ran, with its outcome. */
  public get executionsRun(): readonly RunningExecution[] {
    return this.finished;
  }

  /** States entered across every execution. */
  public get stateTransitions(): number {
    return this.finished.reduce((n, r) => n + r.transitions, 0);
  }

  public get incidents(): Notification[] {
    return this.notifier.notifications.filter((n) => n.channel === 'incident');
  }

  /** Answers a pending approval through the same path as the CLI (token from the ledger, SendTask*). */
  public async answer(releaseId: string, decision: 'approve' | 'reject', identity: string, reason = 'rejected by operator'): Promise<void> {
    await answerApproval(
      releaseId,
      decision === 'approve' ? { decision: 'approved', identity } : { decision: 'rejected', identity, reason },
      { ledger: this.ledger, executions: this.executions, clock: this.clock },
    );
  }

  /** Invokes the rollback handler, as the alarm path does (an operator's `builderbrain rollback --local`). */
  public async rollback(input: RollbackInput): Promise<unknown> {
    const result = await this.invoke('rollback', input);
    this.reportStep('rollback', result);
    return result;
  }

  private emit(kind: ProgressEvent['kind'], text: string, weight?: number): void {
    const event: ProgressEvent = { minute: this.minute, kind, text, weight: weight ?? this.currentWeight() };
    this.progress.push(event);
    this.options.onProgress?.(event);
  }

  private currentWeight(): number {
    const last = this.fleet.minutes[this.fleet.minutes.length - 1];
    return last?.weight ?? 0;
  }

  /** Calls a handler as Lambda would, with injected faults first. */
  private async invoke(name: HandlerName, payload: unknown): Promise<unknown> {
    const fault = this.options.faults?.find((f) => f.handler === name);
    if (fault !== undefined) {
      const n = this.faultCounts.get(name) ?? 0;
      if (n < fault.times) {
        this.faultCounts.set(name, n + 1);
        throw fault.kind === 'transient'
          ? statesError('Lambda.ServiceException', `${name}: Lambda service error (injected, transient)`)
          : statesError('InjectedFault', `${name}: handler failed (injected, permanent)`);
      }
    }
    // Lambda returns JSON: what the handler returns is serialized, as on AWS.
    return JSON.parse(JSON.stringify((await this.handlers[name](structuredClone(payload))) ?? null)) as unknown;
  }

  private startPromotion(name: string, input: unknown): string {
    const run = this.startExecution(this.definitions.promotion, name, input);
    // EventBridge's "Step Functions Execution Status Change" of a promotion that ends ABORTED or
    // FAILED (the stack's rule), delivered to the ExecutionEnded handler.
    const delivery = run.result.then(
      () => undefined,
      async (err: unknown) => {
        const status = run.stopped || this.isStopped(run.arn) ? 'ABORTED' : 'FAILED';
        const result = await this.invoke('execution-ended', {
          'detail-type': 'Step Functions Execution Status Change',
          source: 'aws.states',
          time: this.clock.now().toISOString(),
          detail: {
            executionArn: run.arn,
            stateMachineArn: this.definitions.promotion.arn,
            name: run.name,
            status,
            error: err instanceof Error ? err.name : null,
            cause: err instanceof Error ? err.message : null,
          },
        }).catch((e: unknown) => ({ outcome: 'failed', message: e instanceof Error ? e.message : String(e) }));
        this.reportStep('execution-ended', result);
      },
    );
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
    return run.arn;
  }

  private startExecution(machine: MachineDefinition, name: string, input: unknown): RunningExecution {
    const arn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const sm = new StateMachine(machine.definition as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const tasks: Record<string, (input: unknown) => Promise<unknown>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(machine.definition.States)) {
      if (state['Type'] === 'Wait') waits[stateName] = 0;
      if (Array.isArray(state['Retry'])) retries[stateName] = 0;
      if (state['Type'] === 'Task') tasks[stateName] = (taskInput) => this.runTask(machine, stateName, state, taskInput, arn);
    }
    const runtime = this;
    const context = {
      Execution: { Id: arn, Name: name, StartTime: this.clock.now().toISOString(), Input: input },
      StateMachine: { Id: machine.arn, Name: machine.name },
      // `.waitForTaskToken`: every read of $$.Task.Token mints the token of that task.
      Task: {
        get Token(): string {
          runtime.tokenCounter += 1;
          return `local-task-token-${String(runtime.tokenCounter).padStart(4, '0')}`;
        },
      },
    };
    const execution = sm.run(input as never, {
      context: context as never,
      overrides: { taskResourceLocalHandlers: tasks as never, waitTimeOverrides: waits, retryIntervalOverrides: retries },
    });
    let transitions = 0;
    const enteredByType: Record<string, number> = {};
    const logs = (async () => {
      for await (const event of execution.eventLogs as AsyncGenerator<{ type: string; state?: { type?: string } }>) {
        if (event.type !== 'StateEntered') continue;
        transitions += 1;
        const type = event.state?.type ?? 'Unknown';
        enteredByType[type] = (enteredByType[type] ?? 0) + 1;
      }
    })().catch(() => undefined);
    const run: RunningExecution = {
      arn,
      name,
      machine,
      abort: () => execution.abort(),
      stopped: false,
      transitions: 0,
      enteredByType,
      logs,
      result: execution.result.finally(async () => {
        await logs;
        run.transitions = transitions;
        this.running.delete(arn);
        this.finished.push(run);
      }),
    };
    run.result.catch(() => undefined);
    this.running.set(arn, run);
    this.executionCounter += 1;
    return run;
  }

  /** The task layer: one Task state's work. */
  private async runTask(machine: MachineDefinition, stateName: string, state: Record<string, unknown>, input: unknown, executionArn: string): Promise<unknown> {
    const resource = String(state['Resource']);
    const params = (input ?? {}) as Record<string, unknown>;
    if (resource.includes(':states:::states:startExecution')) return this.runChild(params, resource);
    const handler = machine.handlerForTask[stateName];
    if (handler === undefined) throw statesError('States.Runtime', `embedded runtime: no handler for task ${stateName} (${resource})`);
    const payload = resource.includes(':states:::lambda:invoke') ? params['Payload'] : params;
    if (handler === 'analyze-canary') await this.advanceToLook(payload, executionArn);
    if (handler === 'serving') await this.advanceToServingCheck(payload, executionArn);
    // Stopped: the interpreter has aborted and leaves the loop after this state. The task must still
    // settle, or the interpreter's (wall-clock) task timer is never cleared and keeps the process alive.
    if (this.isStopped(executionArn)) throw stoppedError(executionArn);
    if (resource.endsWith('.waitForTaskToken')) {
      const timeoutSeconds = typeof state['TimeoutSeconds'] === 'number' ? state['TimeoutSeconds'] : 365 * 24 * 3600;
      return this.waitForToken(handler, payload as Record<string, unknown>, executionArn, timeoutSeconds);
    }
    const result = await this.invoke(handler, payload);
    this.reportStep(handler, result);
    return resource.includes(':states:::lambda:invoke') ? { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result;
  }

  private isStopped(executionArn: string): boolean {
    return this.stoppedArns.has(executionArn);
  }

  private async runChild(params: Record<string, unknown>, resource: string): Promise<unknown> {
    const machine = this.definitions.canary;
    const name = String(params['Name'] ?? `${machine.name}-${this.executionCounter + 1}`);
    const child = this.startExecution(machine, name, params['Input']);
    try {
      const output = await child.result;
      const out = { ExecutionArn: child.arn, Status: 'SUCCEEDED', StartDate: 0, StopDate: 0 };
      return resource.endsWith(':2') ? { ...out, Output: output } : { ...out, Output: JSON.stringify(output) };
    } catch (err) {
      const status = child.stopped ? 'ABORTED' : 'FAILED';
      throw statesError('States.TaskFailed', `child execution ${child.arn} ${status}: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }

  /** A serving loop's Wait (TimestampPath `$.serving.nextCheckAt`) in virtual time: the bake period, provisioning. */
  private async advanceToServingCheck(payload: unknown, executionArn: string): Promise<void> {
    const p = payload as { action?: string; progress?: { nextCheckAt?: string } };
    if ((p.action !== 'apply' && p.action !== 'check') || p.progress?.nextCheckAt === undefined) return;
    await this.advanceTo(new Date(p.progress.nextCheckAt).getTime(), executionArn);
  }

  /** Moves virtual time to the due time of the look the monitor loop is about to take. */
  private async advanceToLook(payload: unknown, executionArn: string): Promise<void> {
    const phase = (payload as { phase?: { startedAt?: string; iteration?: number; lookEverySeconds?: number } }).phase;
    if (phase?.startedAt === undefined || phase.iteration === undefined || phase.lookEverySeconds === undefined) return;
    const due = new Date(phase.startedAt).getTime() + (phase.iteration + 1) * phase.lookEverySeconds * 1000;
    await this.advanceTo(due, executionArn);
  }

  /** Simulates minute after minute until `target` (ms), or until `executionArn` is stopped. */
  public async advanceTo(target: number, executionArn?: string): Promise<void> {
    while (this.clock.now().getTime() < target) {
      if (executionArn !== undefined && this.isStopped(executionArn)) return;
      await this.simulateMinute();
    }
  }

  /**
   * One minute of traffic: what the fleet emitted, as CloudWatch computes it, into the metric store
   * (a minute without data stays a gap), then the alarms' evaluation (missing data not breaching).
   */
  private async simulateMinute(): Promise<void> {
    const model = this.options.config.modelName;
    const at = this.clock.now();
    const { candidate } = await this.router.current(model);
    const m = this.fleet.step(this.minute, candidate);
    if (hasData(m.emitted)) this.metrics.put(model, at, m.datapoint, m.emitted);
    this.clock.advance(MINUTE_MS);
    if (candidate > 0) await this.evaluateAlarms(periodValues(m.datapoint));
  }

  private async evaluateAlarms(values: ReturnType<typeof periodValues>): Promise<void> {
    const c = this.options.config;
    for (const rule of this.rules) {
      const alarmName = canaryAlarmName(c.prefix, c.modelName, rule.suffix);
      const history = this.alarmHistory.get(alarmName) ?? [];
      history.push(rule.evaluate(values));
      this.alarmHistory.set(alarmName, history.slice(-rule.evaluationPeriods));
      const state = alarmState(rule, history);
      const previous = this.alarmStates.get(alarmName) ?? 'OK';
      this.alarmStates.set(alarmName, state);
      if (state === 'ALARM' && previous !== 'ALARM') {
        this.alarmsFired.push({ minute: this.minute, alarmName });
        this.emit('alarm', `alarm ${alarmName} → ALARM (${rule.description})`);
        const result = (await this.invoke('rollback', alarmStateChangeEvent(alarmName, rule, this.clock.now()))) as { outcome?: string; message?: string };
        this.reportStep('rollback', result);
      }
    }
  }

  /** `.waitForTaskToken`: run the handler, then wait (in virtual time) for the token's answer. */
  private async waitForToken(handler: HandlerName, payload: Record<string, unknown>, executionArn: string, timeoutSeconds: number): Promise<unknown> {
    const token = String(payload['taskToken']);
    await this.invoke(handler, payload);
    const phase = payload['phase'] as { index: number; weight: number; verdict?: { summary?: string } | null };
    const releaseId = String(payload['releaseId']);
    this.emit('approval', `phase ${phase.index + 1} (${phase.weight}%) waits for approval`, phase.weight);
    const started = this.clock.now().getTime();
    const responder = this.options.approvals ?? 'auto';
    for (;;) {
      const answer = this.answers.get(token);
      if (answer !== undefined) {
        if (answer.kind === 'success') {
          this.emit('approval', `phase ${phase.index + 1} approved`, phase.weight);
          return answer.output;
        }
        this.emit('approval', `phase ${phase.index + 1} rejected: ${answer.cause}`, phase.weight);
        throw statesError(answer.error, answer.cause);
      }
      if (this.isStopped(executionArn)) throw stoppedError(executionArn);
      const waited = (this.clock.now().getTime() - started) / MINUTE_MS;
      if (waited * 60 >= timeoutSeconds) throw statesError('States.Timeout', `approval of phase ${phase.index + 1} timed out after ${waited} minutes`);
      const decision =
        responder === 'auto'
          ? 'approve'
          : await responder({ releaseId, phase: phase.index, weight: phase.weight, waitedMinutes: waited, verdictSummary: phase.verdict?.summary ?? '' }, this);
      if (decision === 'approve') await this.answer(releaseId, 'approve', 'local-operator');
      else if (decision === 'reject') await this.answer(releaseId, 'reject', 'local-operator', 'rejected at the terminal');
      else {
        if (this.options.approvalPaceMs) await new Promise((r) => setTimeout(r, this.options.approvalPaceMs));
        await this.simulateMinute();
      }
    }
  }

  private reportStep(handler: HandlerName, result: unknown): void {
    const r = (result ?? {}) as Record<string, unknown>;
    switch (handler) {
      case 'start-phase':
        this.emit('phase', `phase ${Number(r['index']) + 1}: ${String(r['weight'])}% of traffic on the candidate`, Number(r['weight']));
        break;
      case 'analyze-canary': {
        const v = r['verdict'] as { verdict?: string; summary?: string } | undefined;
        if (v?.verdict === 'fail' || r['action'] !== 'continue') this.emit('verdict', `${v?.verdict ?? '?'}: ${v?.summary ?? ''}`, Number(r['weight']));
        break;
      }
      case 'rollback':
        if (r['outcome'] === 'rolled_back') this.emit('rollback', String(r['message'] ?? 'rolled back'), 0);
        break;
      case 'execution-ended':
        if (r['outcome'] === 'rolled_back_and_unlocked') this.emit('rollback', String(r['message']), 0);
        break;
      case 'promote':
        this.emit('promoted', `${String(r['model'])} ${String(r['version'])} promoted`, 100);
        break;
      case 'reject-release':
        this.emit('rejected', `release rejected (${String(r['cause'])})`, 0);
        break;
      case 'verify-artifact':
        this.emit('deploy', `artifact ${r['ok'] === true ? 'verified' : 'rejected'}: ${String(r['message'])}`, 0);
        break;
      case 'serving':
        if (typeof r['summary'] === 'string') this.emit('deploy', `smoke test ${r['passed'] === true ? 'passed' : 'failed'}: ${r['summary']}`);
        else if (r['next'] === 'done' || r['next'] === 'failed' || (r['next'] === 'check' && r['checks'] === 1)) this.emit('deploy', String(r['message']));
        break;
      default:
        break;
    }
  }
}

/** What the simulated endpoint serves with when the config names no SageMaker serving (the simulation never calls AWS). */
export const LOCAL_SERVING = {
  image: '000000000000.dkr.ecr.us-east-1.amazonaws.com/builderbrain-serving:local',
  executionRoleArn: 'arn:aws:iam::000000000000:role/builderbrain-serving-local',
  instanceType: 'ml.g5.xlarge',
  instanceCount: 2,
} as const;

/** The serving settings a simulation runs with: the config's, with a local SageMaker serving when it has none. */
export function localServingSettings(config: PipelineConfig) {
  // The simulator simulates a SageMaker endpoint whatever the router: a Lambda-alias config is run on it too.
  const router = config.router.kind === 'sagemaker' ? config.router : { kind: 'sagemaker' as const, endpointName: 'builderbrain', baselineVariant: 'baseline', canaryVariant: 'canary' };
  const settings = servingSettingsOf(router, config.deployment);
  if (settings.plan.kind !== 'sagemaker') throw new Error('embedded runtime: the simulated endpoint needs a SageMaker plan');
  return { ...settings, plan: { ...settings.plan, serving: settings.plan.serving ?? { ...LOCAL_SERVING, allowedInstanceTypes: [], environment: {} } } };
}

/** The alarm policy of a pipeline config. */
export function alarmPolicyOf(config: PipelineConfig): AlarmPolicy {
  return config.alarms;
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

/** The EventBridge event CloudWatch sends when an alarm goes to ALARM. */
export function alarmStateChangeEvent(alarmName: string, rule: AlarmRule, at: Date): unknown {
  return {
    version: '0',
    id: `local-alarm-${alarmName}-${at.getTime()}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '000000000000',
    time: at.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:000000000000:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: 'ALARM',
        reason: `Threshold Crossed: ${rule.datapointsToAlarm} out of the last ${rule.evaluationPeriods} datapoints were greater than the threshold (${rule.threshold}): ${rule.description}`,
        timestamp: at.toISOString(),
      },
      previousState: { value: 'OK', reason: '', timestamp: at.toISOString() },
      configuration: { description: rule.description },
    },
  };
}
