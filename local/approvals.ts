/**
 * Approvals in the embedded runtime: a `.waitForTaskToken` task waits, in virtual time, for its
 * token's answer (SendTaskSuccess/Failure through the Executions port, as the CLI sends them). Who
 * answers is the {@link ApprovalResponder}: at once (`auto`), or a function that may let virtual
 * minutes pass (a person at a terminal, another terminal through the state directory).
 */
import { ApprovalRefusedError } from '../core/app/errors.js';
import type { TaskAnswer } from './memory.js';
import type { ProgressLog } from './progress.js';
import { statesError, stoppedError } from './states-error.js';
import { MINUTE_MS, type SimulatedWorld } from './world.js';

/** Who the simulation's approvals come from (the auto-approver, a person at the simulation's terminal). */
export const LOCAL_APPROVER = 'local-operator';

export interface PendingApproval {
  readonly releaseId: string;
  readonly phase: number;
  readonly weight: number;
  /** Virtual minutes the approval has waited so far. */
  readonly waitedMinutes: number;
  readonly verdictSummary: string;
}

/**
 * Who answers approvals. `auto` approves at once; a function decides (and may take virtual minutes).
 * Its second argument is the runtime (local/runtime.ts EmbeddedRuntime).
 */
export type ApprovalResponder<R = unknown> = 'auto' | ((request: PendingApproval, runtime: R) => Promise<'approve' | 'reject' | 'wait'>);

export interface ApprovalDeskOptions<R> {
  readonly world: SimulatedWorld;
  readonly progress: ProgressLog;
  readonly responder: ApprovalResponder<R>;
  /** What the responder is given besides the request. */
  readonly runtime: R;
  /** Answers an approval as the CLI does (token from the ledger, SendTask*). */
  readonly answer: (releaseId: string, decision: 'approve' | 'reject', identity: string, reason?: string) => Promise<void>;
  /** Whether an execution was stopped (its waiting task then fails). */
  readonly isStopped: (executionArn: string) => boolean;
  /** Wall-clock milliseconds per virtual minute while an approval waits (a person at a terminal). */
  readonly paceMs?: number;
}

export class ApprovalDesk<R> {
  private readonly answers = new Map<string, TaskAnswer>();

  public constructor(private readonly options: ApprovalDeskOptions<R>) {}

  /** A task token's answer, as the Executions port delivers it (MemoryExecutions `onAnswer`). */
  public receive(answer: TaskAnswer): void {
    this.answers.set(answer.token, answer);
  }

  /**
   * `.waitForTaskToken`: runs the task's handler (`request`), then waits in virtual time for the
   * token's answer: its output, or its error; `States.Timeout` after the task's TimeoutSeconds.
   */
  public async waitFor(request: () => Promise<unknown>, payload: Record<string, unknown>, executionArn: string, timeoutSeconds: number): Promise<unknown> {
    const { world, progress } = this.options;
    const token = String(payload['taskToken']);
    await request();
    const phase = payload['phase'] as { index: number; weight: number; verdict?: { summary?: string } | null };
    const releaseId = String(payload['releaseId']);
    progress.emit('approval', `phase ${phase.index + 1} (${phase.weight}%) waits for approval`, phase.weight);
    const started = world.clock.now().getTime();
    const responder = this.options.responder;
    // The core may refuse the approver (a hotfix's two-person rule, a freeze): the approval then waits, asked again each minute.
    let refusal: string | null = null;
    for (;;) {
      const answer = this.answers.get(token);
      if (answer !== undefined) {
        if (answer.kind === 'success') {
          progress.emit('approval', `phase ${phase.index + 1} approved`, phase.weight);
          return answer.output;
        }
        progress.emit('approval', `phase ${phase.index + 1} rejected: ${answer.cause}`, phase.weight);
        throw statesError(answer.error, answer.cause);
      }
      if (this.options.isStopped(executionArn)) throw stoppedError(executionArn);
      const waited = (world.clock.now().getTime() - started) / MINUTE_MS;
      if (waited * 60 >= timeoutSeconds) throw statesError('States.Timeout', `approval of phase ${phase.index + 1} timed out after ${waited} minutes`);
      const decision =
        responder === 'auto'
          ? 'approve'
          : await responder({ releaseId, phase: phase.index, weight: phase.weight, waitedMinutes: waited, verdictSummary: phase.verdict?.summary ?? '' }, this.options.runtime);
      if (decision === 'reject') {
        await this.options.answer(releaseId, 'reject', LOCAL_APPROVER, 'rejected at the terminal');
        continue;
      }
      if (decision === 'approve') {
        try {
          await this.options.answer(releaseId, 'approve', LOCAL_APPROVER);
          continue;
        } catch (err) {
          if (!(err instanceof ApprovalRefusedError)) throw err;
          if (err.why !== refusal) progress.emit('approval', `phase ${phase.index + 1} approval by ${LOCAL_APPROVER} refused: ${err.why}`, phase.weight);
          refusal = err.why;
        }
      }
      if (this.options.paceMs) await new Promise((r) => setTimeout(r, this.options.paceMs));
      await world.simulateMinute();
    }
  }
}
