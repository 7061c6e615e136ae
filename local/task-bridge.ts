/**
 * The task layer of the embedded runtime: runs the synthesized state machine definitions with a
 * real ASL interpreter (aws-local-stepfunctions) and implements, here and never by editing the
 * definitions, what the interpreter lacks:
 *
 * - Lambda tasks (`lambda:invoke`): the task's FunctionName is mapped to the step it deploys
 *   (lib/synth.ts `handlerForTask`) and the step's handler is called with the Payload, as Lambda
 *   would (JSON in, JSON out, injected faults first); the result comes back as the integration's
 *   `{ Payload, StatusCode }`.
 * - `.waitForTaskToken`: each such task gets a fresh token from the Context Object; waiting for its
 *   answer is {@link TaskHooks.awaitAnswer}'s (local/approvals.ts).
 * - `states:startExecution.sync:2`: the child state machine runs here and its output comes back as
 *   `{ Output, Status, ExecutionArn }`; a failed or stopped child fails the task with `States.TaskFailed`.
 * - Wait states and Retry intervals are overridden to 0: virtual time moves in
 *   {@link TaskHooks.beforeTask} (local/world.ts), retries happen in no wall time.
 * - A promotion that ends ABORTED or FAILED is reported to the ExecutionEnded step, as the stack's
 *   EventBridge rule does.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import type { Clock } from '../core/ports.js';
import type { StepName } from '../core/steps.js';
import type { StepHandler } from '../lambdas/handlers.js';
import type { MachineDefinition, MachineDefinitions } from '../lib/synth.js';
import { statesError, stoppedError } from './states-error.js';

/** A handler failure injected by tests (fault injection). */
export interface InjectedFault {
  readonly handler: StepName;
  /** `transient`: a Lambda service error the state machine retries; `permanent`: an error it does not. */
  readonly kind: 'transient' | 'permanent';
  /** How many invocations fail, from the first. */
  readonly times: number;
}

export interface RunningExecution {
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

/** What the runtime around the bridge does at a task's edges. */
export interface TaskHooks {
  /**
   * Before a Lambda task's handler runs: the virtual time it waits for (the Wait before it), or
   * undefined when it waits for none. Resolves early once `stopped` says the execution was stopped.
   */
  beforeTask(handler: StepName, payload: unknown, stopped: () => boolean): Promise<void> | undefined;
  /** A handler answered a task. */
  afterTask(handler: StepName, result: unknown): void;
  /** `.waitForTaskToken`: runs `request` (the handler), then resolves with the token's answer. */
  awaitAnswer(request: () => Promise<unknown>, payload: Record<string, unknown>, executionArn: string, timeoutSeconds: number): Promise<unknown>;
}

export interface TaskBridgeOptions {
  readonly definitions: MachineDefinitions;
  /** Every step's handler, by step name. */
  readonly handlers: Readonly<Record<StepName, StepHandler>>;
  readonly clock: Clock;
  readonly faults?: readonly InjectedFault[];
  readonly hooks: TaskHooks;
}

export class TaskBridge {
  private readonly running = new Map<string, RunningExecution>();
  private readonly stoppedArns = new Set<string>();
  private readonly finished: RunningExecution[] = [];
  /** Execution-ended events on their way to the ExecutionEnded handler. */
  private readonly deliveries = new Set<Promise<void>>();
  private readonly faultCounts = new Map<StepName, number>();
  private tokenCounter = 0;
  private executionCounter = 0;

  public constructor(private readonly options: TaskBridgeOptions) {}

  /** Every execution that ran, with its outcome. */
  public get executionsRun(): readonly RunningExecution[] {
    return this.finished;
  }

  /** Waits until every execution has ended (including those started while waiting). */
  public async settle(): Promise<void> {
    while (this.running.size > 0 || this.deliveries.size > 0) {
      await Promise.allSettled([...[...this.running.values()].map((r) => r.result), ...this.deliveries]);
    }
  }

  public isStopped(executionArn: string): boolean {
    return this.stoppedArns.has(executionArn);
  }

  /** An execution was stopped (StopExecution): its interpreter is aborted, its waiting task fails. */
  public stopped(executionArn: string): void {
    const run = this.running.get(executionArn);
    this.stoppedArns.add(executionArn);
    if (run !== undefined && !run.stopped) {
      run.stopped = true;
      run.abort();
    }
  }

  /** Calls a handler as Lambda would, with injected faults first. */
  public async invoke(name: StepName, payload: unknown): Promise<unknown> {
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
    return JSON.parse(JSON.stringify((await this.options.handlers[name](structuredClone(payload))) ?? null)) as unknown;
  }

  /** StartExecution of the promotion machine (the intake's Executions port). */
  public startPromotion(name: string, input: unknown): string {
    const { definitions, clock } = this.options;
    const run = this.startExecution(definitions.promotion, name, input);
    // EventBridge's "Step Functions Execution Status Change" of a promotion that ends ABORTED or
    // FAILED (the stack's rule), delivered to the ExecutionEnded handler.
    const delivery = run.result.then(
      () => undefined,
      async (err: unknown) => {
        const status = run.stopped || this.isStopped(run.arn) ? 'ABORTED' : 'FAILED';
        const result = await this.invoke('execution-ended', {
          'detail-type': 'Step Functions Execution Status Change',
          source: 'aws.states',
          time: clock.now().toISOString(),
          detail: {
            executionArn: run.arn,
            stateMachineArn: definitions.promotion.arn,
            name: run.name,
            status,
            error: err instanceof Error ? err.name : null,
            cause: err instanceof Error ? err.message : null,
          },
        }).catch((e: unknown) => ({ outcome: 'failed', message: e instanceof Error ? e.message : String(e) }));
        this.options.hooks.afterTask('execution-ended', result);
      },
    );
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
    return run.arn;
  }

  private startExecution(machine: MachineDefinition, name: string, input: unknown): RunningExecution {
    const arn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    // Checked (asl-validator) once, when synthesized (local/definitions-cache.ts): a check here compiled its schema again at every execution.
    const sm = new StateMachine(machine.definition as never, { validationOptions: { noValidate: true } });
    const execution = sm.run(input as never, {
      context: this.contextObject(machine, arn, name, input) as never,
      overrides: this.overrides(machine, arn) as never,
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

  /** The interpreter's overrides: every Task state runs here; Waits and Retry intervals take no wall time. */
  private overrides(machine: MachineDefinition, executionArn: string) {
    const tasks: Record<string, (input: unknown) => Promise<unknown>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(machine.definition.States)) {
      if (state['Type'] === 'Wait') waits[stateName] = 0;
      if (Array.isArray(state['Retry'])) retries[stateName] = 0;
      if (state['Type'] === 'Task') tasks[stateName] = (taskInput) => this.runTask(machine, stateName, state, taskInput, executionArn);
    }
    return { taskResourceLocalHandlers: tasks, waitTimeOverrides: waits, retryIntervalOverrides: retries };
  }

  /** The Context Object; `.waitForTaskToken`: every read of $$.Task.Token mints the token of that task. */
  private contextObject(machine: MachineDefinition, arn: string, name: string, input: unknown) {
    const bridge = this;
    return {
      Execution: { Id: arn, Name: name, StartTime: this.options.clock.now().toISOString(), Input: input },
      StateMachine: { Id: machine.arn, Name: machine.name },
      Task: {
        get Token(): string {
          bridge.tokenCounter += 1;
          return `local-task-token-${String(bridge.tokenCounter).padStart(4, '0')}`;
        },
      },
    };
  }

  /** One Task state's work. */
  private async runTask(machine: MachineDefinition, stateName: string, state: Record<string, unknown>, input: unknown, executionArn: string): Promise<unknown> {
    const resource = String(state['Resource']);
    const params = (input ?? {}) as Record<string, unknown>;
    if (resource.includes(':states:::states:startExecution')) return this.runChild(params, resource);
    const handler = machine.handlerForTask[stateName];
    if (handler === undefined) throw statesError('States.Runtime', `embedded runtime: no handler for task ${stateName} (${resource})`);
    const payload = resource.includes(':states:::lambda:invoke') ? params['Payload'] : params;
    const waiting = this.options.hooks.beforeTask(handler, payload, () => this.isStopped(executionArn));
    if (waiting !== undefined) await waiting;
    // Stopped: the interpreter has aborted and leaves the loop after this state. The task must still
    // settle, or the interpreter's (wall-clock) task timer is never cleared and keeps the process alive.
    if (this.isStopped(executionArn)) throw stoppedError(executionArn);
    if (resource.endsWith('.waitForTaskToken')) {
      const timeoutSeconds = typeof state['TimeoutSeconds'] === 'number' ? state['TimeoutSeconds'] : 365 * 24 * 3600;
      return this.options.hooks.awaitAnswer(() => this.invoke(handler, payload), payload as Record<string, unknown>, executionArn, timeoutSeconds);
    }
    const result = await this.invoke(handler, payload);
    this.options.hooks.afterTask(handler, result);
    return resource.includes(':states:::lambda:invoke') ? { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result;
  }

  private async runChild(params: Record<string, unknown>, resource: string): Promise<unknown> {
    const machine = this.options.definitions.canary;
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
}
