/**
 * The simulation's progress: what the terminal prints while a release runs and what the report's
 * timeline shows, one event per notable step, each at its virtual minute and the traffic weight of
 * the moment. Derived from the handlers' results ({@link describeStep}); never read back by the
 * pipeline.
 */
import * as z from 'zod';
import { CanaryVerdictSchema, type CanaryVerdict } from '../core/analysis.js';
import type { StepName } from '../core/steps.js';

export interface ProgressEvent {
  readonly minute: number;
  readonly kind: 'phase' | 'verdict' | 'approval' | 'rollback' | 'promoted' | 'rejected' | 'alarm' | 'step' | 'deploy' | 'freeze';
  readonly text: string;
  readonly weight: number;
}

/** A progress event before it is placed in time: the weight when the step itself says it. */
export interface StepProgress {
  readonly kind: ProgressEvent['kind'];
  readonly text: string;
  readonly weight?: number;
}

/** The bake's start and end are worth a line each (its looks are not, unless one regresses). */
function bakeProgress(r: Record<string, unknown>): StepProgress | null {
  // No bake configured: the release is released at once, nothing to show.
  if (r['minutes'] === 0) return null;
  const verdict = r['verdict'] as { summary?: string } | null | undefined;
  if (r['iteration'] === 0 && r['action'] === 'continue') return { kind: 'phase', text: `bake: watching the released version for ${String(r['minutes'])} min against the previous version`, weight: 100 };
  if (r['action'] === 'rollback') return { kind: 'verdict', text: `bake regressed: ${verdict?.summary ?? ''}`, weight: 100 };
  if (r['action'] === 'released') return { kind: 'promoted', text: `bake ended clean: released${verdict?.summary ? ` (${verdict.summary})` : ''}`, weight: 100 };
  return null;
}

/**
 * The progress line a handler's result is worth, if any.
 *
 * @example describeStep('promote', { model: 'builderbrain', version: '2.1.0' }) // { kind: 'promoted', text: 'builderbrain 2.1.0 promoted', weight: 100 }
 */
export function describeStep(handler: StepName, result: unknown): StepProgress | null {
  const r = (result ?? {}) as Record<string, unknown>;
  switch (handler) {
    case 'start-phase':
      return { kind: 'phase', text: `phase ${Number(r['index']) + 1}: ${String(r['weight'])}% of traffic on the candidate`, weight: Number(r['weight']) };
    case 'analyze-canary': {
      const v = r['verdict'] as { verdict?: string; summary?: string } | undefined;
      return v?.verdict === 'fail' || r['action'] !== 'continue' ? { kind: 'verdict', text: `${v?.verdict ?? '?'}: ${v?.summary ?? ''}`, weight: Number(r['weight']) } : null;
    }
    case 'rollback':
      return r['outcome'] === 'rolled_back' ? { kind: 'rollback', text: String(r['message'] ?? 'rolled back'), weight: 0 } : null;
    case 'run-hooks': {
      const results = (r['results'] as { hook?: string; passed?: boolean; message?: string }[] | undefined) ?? [];
      if (results.length === 0) return null;
      const failure = r['failure'] as { hook?: string; message?: string } | null | undefined;
      return { kind: failure ? 'rollback' : 'step', text: failure ? `verification hook ${failure.hook} FAILED (${String(r['stage'])}): ${failure.message}` : `hooks passed (${String(r['stage'])}): ${results.map((x) => x.hook).join(', ')}` };
    }
    case 'drill':
      return { kind: r['action'] === 'verify' && r['passed'] !== true ? 'rollback' : 'deploy', text: `rollback drill ${String(r['action'])}: ${String(r['message'])}` };
    case 'hand-over':
      return r['sent'] === true ? { kind: 'promoted', text: `handed over to ${String(r['to'])} (${String(r['bytes'])} bytes)` } : null;
    case 'accept-handover':
      return { kind: r['outcome'] === 'refused' ? 'rejected' : 'deploy', text: `hand-over ${String(r['outcome'])}${r['reason'] ? `: ${String(r['reason'])}` : ''}` };
    case 'execution-ended':
      return r['outcome'] === 'rolled_back_and_unlocked' ? { kind: 'rollback', text: String(r['message']), weight: 0 } : null;
    case 'promote':
      return { kind: 'promoted', text: `${String(r['model'])} ${String(r['version'])} promoted`, weight: 100 };
    case 'bake':
      return bakeProgress(r);
    case 'recovery':
      return r['recovered'] === null || r['recovered'] === undefined ? null : { kind: r['recovered'] === true ? 'deploy' : 'rollback', text: `recovery ${r['recovered'] === true ? 'verified' : 'NOT verified (P0)'}: ${String(r['message'])}` };
    case 'reject-release':
      return { kind: 'rejected', text: `release rejected (${String(r['cause'])})`, weight: 0 };
    case 'verify-artifact':
      return { kind: 'deploy', text: `artifact ${r['ok'] === true ? 'verified' : 'rejected'}: ${String(r['message'])}`, weight: 0 };
    case 'serving':
      return describeServing(r);
    default:
      return null;
  }
}

function describeServing(r: Record<string, unknown>): StepProgress | null {
  if (typeof r['summary'] === 'string') return { kind: 'deploy', text: `smoke test ${r['passed'] === true ? 'passed' : 'failed'}: ${r['summary']}` };
  if (r['next'] === 'done' || r['next'] === 'failed' || (r['next'] === 'check' && r['checks'] === 1)) return { kind: 'deploy', text: String(r['message']) };
  return null;
}

/**
 * One look of a monitor loop — the canary's AnalyzeCanary or the bake's — with the verdict the step
 * returned, every rule's full evidence included (the audited `analysis` event keeps only each rule's
 * message): what the report charts over time.
 */
export interface MonitorLook {
  readonly minute: number;
  readonly weight: number;
  readonly loop: 'canary' | 'bake';
  /** The canary phase's index; null for the bake. */
  readonly phase: number | null;
  readonly iteration: number;
  /** What the loop did next (core/plan.ts MONITOR_ACTIONS; the bake's continue / rollback / released). */
  readonly action: string;
  readonly verdict: CanaryVerdict;
}

/** The parts of AnalyzeCanary's and Bake's results a look needs (the results are the steps' own state: parsed, not cast). */
const CanaryLookSchema = z.object({ index: z.number().int(), iteration: z.number().int(), action: z.string(), verdict: CanaryVerdictSchema });
const BakeLookSchema = z.object({ iteration: z.number().int(), action: z.string(), verdict: CanaryVerdictSchema });

/** The look a handler's result is, if it is one. */
export function monitorLook(handler: StepName, result: unknown): Omit<MonitorLook, 'minute' | 'weight'> | null {
  if (handler === 'analyze-canary') {
    const r = CanaryLookSchema.safeParse(result);
    return r.success ? { loop: 'canary', phase: r.data.index, iteration: r.data.iteration, action: r.data.action, verdict: r.data.verdict } : null;
  }
  if (handler === 'bake') {
    const r = BakeLookSchema.safeParse(result);
    return r.success ? { loop: 'bake', phase: null, iteration: r.data.iteration, action: r.data.action, verdict: r.data.verdict } : null;
  }
  return null;
}

/** Where progress events go: kept in order, and passed to a listener (the terminal). */
export class ProgressLog {
  public readonly events: ProgressEvent[] = [];
  /** Every monitor look, in order (the report's evidence charts). */
  public readonly looks: MonitorLook[] = [];

  /**
   * @param now The virtual minute and the traffic weight of the moment.
   * @param listener Called with each event as it happens.
   */
  public constructor(
    private readonly now: () => { readonly minute: number; readonly weight: number },
    private readonly listener?: (event: ProgressEvent) => void,
  ) {}

  public emit(kind: ProgressEvent['kind'], text: string, weight?: number): void {
    const at = this.now();
    const event: ProgressEvent = { minute: at.minute, kind, text, weight: weight ?? at.weight };
    this.events.push(event);
    this.listener?.(event);
  }

  /** The progress of a handler's result, if it is worth one. */
  public step(handler: StepName, result: unknown): void {
    const look = monitorLook(handler, result);
    if (look !== null) {
      const at = this.now();
      this.looks.push({ minute: at.minute, weight: at.weight, ...look });
    }
    const p = describeStep(handler, result);
    if (p !== null) this.emit(p.kind, p.text, p.weight);
  }
}
