/**
 * Path tests: the synthesized definitions run on the local ASL interpreter the embedded runtime uses
 * (aws-local-stepfunctions), every task replaced by a stub keyed by state name. Each stub parses the
 * payload it receives with the contract schema of core/contracts.ts: the state machines build
 * exactly the payloads the handlers parse.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzeInputSchema,
  ApprovalRequestSchema,
  CanaryInputSchema,
  GatesInputSchema,
  LockInputSchema,
  PromoteInputSchema,
  RejectInputSchema,
  RollbackInputSchema,
  STATE_NAMES,
  StartPhaseInputSchema,
  ValidateInputSchema,
  type PhaseState,
} from '../../core/contracts.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { parsePipelineConfig } from '../../lib/config.js';
import { stateMachineDefinitions, synthesizeTemplate, type MachineDefinitions } from '../../lib/synth.js';

const P = STATE_NAMES.promotion;
const C = STATE_NAMES.canary;

let defs: MachineDefinitions;
beforeAll(() => {
  defs = stateMachineDefinitions(synthesizeTemplate(parsePipelineConfig({}), { bundling: false }));
});

type Handler = (input: any) => Promise<unknown>;

const machines = new Map<unknown, StateMachine>();
/** One interpreter per definition (constructing one validates the definition, as the embedded runtime will). */
function machineFor(definition: unknown): StateMachine {
  let sm = machines.get(definition);
  if (sm === undefined) {
    sm = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(definition, sm);
  }
  return sm;
}

/** Runs a definition; returns its output or its failure, and the states' received payloads in order. */
async function run(definition: unknown, input: unknown, handlers: Record<string, Handler>) {
  const calls: { state: string; input: any }[] = [];
  const wrapped = Object.fromEntries(
    Object.entries(handlers).map(([state, h]) => [
      state,
      async (i: unknown) => {
        calls.push({ state, input: i });
        return h(i);
      },
    ]),
  );
  const sm = machineFor(definition);
  const states = (definition as { States: Record<string, { Retry?: unknown }> }).States;
  const noRetryPause = Object.fromEntries(Object.keys(states).filter((n) => states[n]!.Retry !== undefined).map((n) => [n, 0]));
  const execution = sm.run(input as never, {
    overrides: { taskResourceLocalHandlers: wrapped as never, waitTimeOverrides: { [C.wait]: 0 }, retryIntervalOverrides: noRetryPause },
    context: { Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:builderbrain-canary:rel-1' }, Task: { Token: 'token-123' } },
  });
  try {
    return { output: (await execution.result) as any, error: null, calls };
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    return { output: null, error: { name: cause?.name ?? (err as Error).name, message: cause?.message ?? (err as Error).message }, calls };
  }
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

// ---- promotion --------------------------------------------------------------------------------
const promotionInput = {
  releaseId: 'builderbrain-2_1_0-abcdef12',
  source: { bucket: 'artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1', etag: null },
  receivedAt: '2025-01-01T00:00:00.000Z',
};
const manifest = {
  model: 'builderbrain',
  version: '2.1.0',
  previousVersion: '2.0.3',
  releaseType: 'minor',
  artifact: { uri: 's3://artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: 'a'.repeat(64) },
  shadowEvaluation: {
    riskEnergy: { candidate: 0.41, baseline: 0.43 },
    performance: { candidate: 0.812, baseline: 0.82 },
    constraintSatisfaction: 0.97,
    tests: { passed: 10, failed: 0 },
  },
  changelog: {},
  migrationGuide: null,
  owner: 'ml-platform',
};
const validation = (valid: boolean) => ({
  valid,
  model: 'builderbrain',
  version: '2.1.0',
  manifest: valid ? manifest : null,
  manifestSha256: 'b'.repeat(64),
  issues: valid ? [] : [{ path: 'version', message: 'bad' }],
});
const gate = (passed: boolean) => ({ passed, checks: [] });

function promotionHandlers(over: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  return {
    [P.validate]: async (i) => (ValidateInputSchema.parse(i), validation(true)),
    [P.acquireLock]: async (i) => (expect(LockInputSchema.parse(i).action).toBe('acquire'), { acquired: true, holder: i.releaseId }),
    [P.gates]: async (i) => (GatesInputSchema.parse(i), gate(true)),
    [P.runCanary]: async (i) => {
      CanaryInputSchema.parse(stripParent(i.Input));
      expect(i.Name).toBe(promotionInput.releaseId);
      return { Output: { outcome: 'promoted', releaseId: i.Input.releaseId, version: '2.1.0' }, ExecutionArn: 'arn:canary-exec' };
    },
    [P.releaseLock]: async (i) => (expect(LockInputSchema.parse(i).action).toBe('release'), { acquired: false, holder: null }),
    [P.rejectedReleaseLock]: async (i) => (expect(LockInputSchema.parse(i).action).toBe('release'), { acquired: false, holder: null }),
    [P.releaseLockAfterFailure]: async (i) => (expect(LockInputSchema.parse(i).action).toBe('release'), { acquired: false, holder: null }),
    [P.reject]: async (i) => ({ outcome: 'rejected', cause: RejectInputSchema.parse(i).cause }),
    [P.rollbackOnFailure]: async (i) => {
      const r = RollbackInputSchema.parse(i);
      expect(r.stopExecution).toBe(true);
      return { outcome: 'rolled_back', releaseId: r.releaseId, reason: 'task_failure', severity: 'P1', message: 'rolled back' };
    },
    ...over,
  } as Record<string, Handler>;
}

/** RunCanary's input carries the parent execution id (associateWithParent) besides CanaryInput. */
function stripParent(input: Record<string, unknown>) {
  const { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent, ...rest } = input;
  expect(parent).toMatch(/^arn:/);
  return rest;
}

describe('promotion state machine paths', () => {
  it('happy path: validate, lock, gates, canary (.sync), release the lock', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers());
    expect(r.error).toBeNull();
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.acquireLock, P.gates, P.runCanary, P.releaseLock]);
    expect(r.output).toEqual({ outcome: 'promoted', releaseId: promotionInput.releaseId, canaryExecutionArn: 'arn:canary-exec' });
    const canaryInput = stripParent(r.calls.find((c) => c.state === P.runCanary)!.input.Input);
    expect(canaryInput).toEqual({ releaseId: promotionInput.releaseId, model: 'builderbrain', version: '2.1.0', phases: DEFAULT_PHASES, maxLooksPerPhase: 120 });
  });

  it('invalid manifest: rejected (P3 by the handler), no lock taken or released', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.validate]: async () => validation(false) }));
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.reject]);
    expect(RejectInputSchema.parse(r.calls[1]!.input)).toMatchObject({ cause: 'invalid_manifest', releaseId: promotionInput.releaseId });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'invalid_manifest' });
  });

  it('lock busy: rejected with the holder, the other release keeps its lock', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [P.acquireLock]: async () => ({ acquired: false, holder: 'other-release' }) }),
    );
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.acquireLock, P.reject]);
    expect(RejectInputSchema.parse(r.calls[2]!.input)).toMatchObject({ cause: 'lock_busy', lock: { acquired: false, holder: 'other-release' } });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'lock_busy' });
  });

  it('gates failed: rejected, then the lock is released', async () => {
    const r = await run(defs.promotion.definition, promotionInput, promotionHandlers({ [P.gates]: async () => gate(false) }));
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.acquireLock, P.gates, P.reject, P.rejectedReleaseLock]);
    expect(RejectInputSchema.parse(r.calls[3]!.input)).toMatchObject({ cause: 'gates_failed', gate: gate(false) });
    expect(r.output).toEqual({ outcome: 'rejected', cause: 'gates_failed' });
  });

  it('canary failure: rollback (stopExecution, step named), lock released, execution fails', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({ [P.runCanary]: async () => Promise.reject(named('States.TaskFailed', 'canary failed')) }),
    );
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.acquireLock, P.gates, P.runCanary, P.rollbackOnFailure, P.releaseLockAfterFailure]);
    expect(RollbackInputSchema.parse(r.calls[4]!.input)).toEqual({
      releaseId: promotionInput.releaseId,
      model: 'builderbrain',
      trigger: { kind: 'task_failure', step: P.runCanary, error: 'States.TaskFailed' },
      stopExecution: true,
    });
    expect(r.error).toEqual({ name: 'PromotionFailed', message: expect.any(String) });
  });

  it('canary stopped by the alarm path: already rolled back, lock released, execution succeeds as a rollback', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.runCanary]: async () => Promise.reject(named('States.TaskFailed', 'execution aborted')),
        [P.rollbackOnFailure]: async (i) => ({ outcome: 'already_rolled_back', releaseId: i.releaseId, reason: 'alarm', severity: 'P1', message: 'already' }),
      }),
    );
    expect(r.calls.at(-1)!.state).toBe(P.releaseLockAfterFailure);
    expect(r.error).toBeNull();
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId: promotionInput.releaseId, rollback: { outcome: 'already_rolled_back' } });
  });

  it('a failed rollback still releases the lock, and fails the execution', async () => {
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.gates]: async () => Promise.reject(named('GateCrashed', 'boom')),
        [P.rollbackOnFailure]: async () => Promise.reject(named('RollbackFailed', 'router down')),
      }),
    );
    expect(r.calls.map((c) => c.state)).toEqual([P.validate, P.acquireLock, P.gates, P.rollbackOnFailure, P.releaseLockAfterFailure]);
    expect(r.calls[3]!.input.trigger).toEqual({ kind: 'task_failure', step: P.gates, error: 'GateCrashed' });
    expect(r.error!.name).toBe('PromotionFailed');
  });

  it('retries a throttled handler, then goes on', async () => {
    let attempts = 0;
    const r = await run(
      defs.promotion.definition,
      promotionInput,
      promotionHandlers({
        [P.gates]: async () => {
          attempts += 1;
          if (attempts < 3) throw named('Lambda.TooManyRequestsException', 'slow down');
          return gate(true);
        },
      }),
    );
    expect(attempts).toBe(3);
    expect(r.output).toMatchObject({ outcome: 'promoted' });
  });
});

// ---- canary -----------------------------------------------------------------------------------
const twoPhases = [
  { weight: 10, monitorMinutes: 2, requiresApproval: true },
  { weight: 100, monitorMinutes: 2, requiresApproval: false },
];
const canaryInput = { releaseId: 'builderbrain-2_1_0-abcdef12', model: 'builderbrain', version: '2.1.0', phases: twoPhases, maxLooksPerPhase: 120 };

function phaseState(index: number, over: Partial<PhaseState> = {}): PhaseState {
  const p = twoPhases[index]!;
  return {
    index,
    weight: p.weight,
    monitorMinutes: p.monitorMinutes,
    requiresApproval: p.requiresApproval,
    lookEveryMinutes: 1,
    lookEverySeconds: 60,
    looks: 2,
    iteration: 0,
    startedAt: '2025-01-01T00:00:00.000Z',
    isLast: index === twoPhases.length - 1,
    nextIndex: index + 1,
    action: null,
    verdict: null,
    ...over,
  };
}

const verdict = (v: 'pass' | 'fail') => ({ verdict: v, reason: v === 'fail' ? 'error_rate_increase' : null, severity: v === 'fail' ? 'P1' : null, immediate: false, summary: v, evidence: [], sample: { minutes: 2, canaryRequests: 100, baselineRequests: 900 } });

/** Analysis stub: `continue` until the last look, then the phase-end action. */
function analyzer(endAction: (phase: PhaseState) => PhaseState['action']): Handler {
  return async (i) => {
    const { phase } = AnalyzeInputSchema.parse(i);
    const iteration = phase.iteration + 1;
    const action = iteration < phase.looks ? 'continue' : endAction(phase);
    return { ...phase, iteration, action, verdict: verdict('pass') };
  };
}

function canaryHandlers(over: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  const rollback: Handler = async (i) => {
    const r = RollbackInputSchema.parse(i);
    expect(r.stopExecution).toBe(false);
    return { outcome: 'rolled_back', releaseId: r.releaseId, reason: 'x', severity: 'P1', message: 'rolled back' };
  };
  return {
    [C.startPhase]: async (i) => {
      const input = StartPhaseInputSchema.parse(i);
      return phaseState(input.phaseIndex);
    },
    [C.analyze]: analyzer((p) => (p.requiresApproval ? 'await_approval' : 'advance')),
    [C.requestApproval]: async (i) => {
      expect(i.FunctionName).toMatch(/:function:/);
      ApprovalRequestSchema.parse(i.Payload);
      return { approvedBy: 'alice', at: '2025-01-01T01:00:00.000Z' };
    },
    [C.promote]: async (i) => (PromoteInputSchema.parse(i), { outcome: 'promoted' }),
    [C.rollbackOnVerdict]: rollback,
    [C.rollbackOnRejection]: rollback,
    [C.rollbackOnTimeout]: rollback,
    [C.rollbackOnFailure]: rollback,
    ...over,
  } as Record<string, Handler>;
}

describe('canary state machine paths', () => {
  it('happy path: two phases, bounded looks, one approval, promotion', async () => {
    const r = await run(defs.canary.definition, canaryInput, canaryHandlers());
    expect(r.error).toBeNull();
    expect(r.output).toEqual({ outcome: 'promoted', releaseId: canaryInput.releaseId, version: '2.1.0' });
    expect(r.calls.map((c) => c.state)).toEqual([
      C.startPhase, C.analyze, C.analyze, C.requestApproval,
      C.startPhase, C.analyze, C.analyze, C.promote,
    ]);
    const starts = r.calls.filter((c) => c.state === C.startPhase).map((c) => StartPhaseInputSchema.parse(c.input));
    expect(starts.map((s) => s.phaseIndex)).toEqual([0, 1]);
    expect(starts[0]!.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:builderbrain-canary:rel-1');
    const approval = ApprovalRequestSchema.parse(r.calls.find((c) => c.state === C.requestApproval)!.input.Payload);
    expect(approval.taskToken).toBe('token-123');
  });

  it('a failing verdict rolls back (trigger verdict) and ends rolled_back', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'rollback', verdict: verdict('fail') }) }),
    );
    expect(r.calls.map((c) => c.state)).toEqual([C.startPhase, C.analyze, C.rollbackOnVerdict]);
    expect(r.calls[2]!.input.trigger).toEqual({ kind: 'verdict', verdict: verdict('fail') });
    expect(r.output).toMatchObject({ outcome: 'rolled_back', releaseId: canaryInput.releaseId });
  });

  it('a rejected approval rolls back with the approver as actor', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('Rejected', JSON.stringify({ actor: 'bob', note: 'latency looks off' }))) }),
    );
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnRejection);
    expect(RollbackInputSchema.parse(r.calls.at(-1)!.input).trigger).toEqual({ kind: 'manual', actor: 'bob', note: 'phase approval rejected: latency looks off' });
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it('a rejection without a JSON actor still rolls back, as an unknown operator', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('Rejected', '{}')) }),
    );
    expect(r.calls.at(-1)!.input.trigger).toEqual({ kind: 'manual', actor: 'unknown operator', note: 'phase approval rejected: ' });
  });

  it('an approval timeout rolls back', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.requestApproval]: async () => Promise.reject(named('States.Timeout', 'no answer')) }),
    );
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnTimeout);
    expect(r.calls.at(-1)!.input.trigger).toMatchObject({ kind: 'approval_timeout', minutes: expect.any(Number) });
    expect(r.output).toMatchObject({ outcome: 'rolled_back' });
  });

  it.each([C.startPhase, C.analyze, C.promote])('a failing %s rolls back (task_failure, step named) and fails', async (state) => {
    const handlers = canaryHandlers({ [state]: async () => Promise.reject(named('Boom', 'crashed')) });
    const r = await run(defs.canary.definition, canaryInput, handlers);
    expect(r.calls.at(-1)!.state).toBe(C.rollbackOnFailure);
    expect(RollbackInputSchema.parse(r.calls.at(-1)!.input).trigger).toEqual({ kind: 'task_failure', step: state, error: 'Boom' });
    expect(r.error!.name).toBe('CanaryStepFailed');
  });

  it('a monitor action nobody knows fails closed into a rollback', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({ [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'dance' }) }),
    );
    expect(r.calls.at(-1)!.input.trigger).toEqual({ kind: 'task_failure', step: C.decide, error: 'UnknownMonitorAction' });
    expect(r.error!.name).toBe('CanaryStepFailed');
  });

  it('a rollback that fails ends in the RollbackFailed state', async () => {
    const r = await run(
      defs.canary.definition,
      canaryInput,
      canaryHandlers({
        [C.analyze]: async (i) => ({ ...i.phase, iteration: 1, action: 'rollback', verdict: verdict('fail') }),
        [C.rollbackOnVerdict]: async () => Promise.reject(named('RollbackFailed', 'router unreachable')),
      }),
    );
    expect(r.error).toEqual({ name: 'RollbackFailed', message: expect.stringContaining('P0') });
  });
});
