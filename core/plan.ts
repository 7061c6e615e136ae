/**
 * The canary plan: phases and their bounded monitor loops (policy.md §2, architecture.md "Scale").
 * A phase is analysed `looks` times, every `lookEveryMinutes`; the number of looks is capped so that
 * even four 24-hour phases stay far below Step Functions' 25,000-event history limit. Between looks
 * the CloudWatch alarms are the fast path.
 */
import * as z from 'zod';
import type { CanaryVerdict } from './analysis.js';
import { decidePhaseEnd } from './rollback.js';

export const PhaseSchema = z.strictObject({
  /** Percent of traffic on the candidate during the phase. */
  weight: z.number().int().min(1).max(100),
  /** How long the phase is watched before it can progress. */
  monitorMinutes: z.number().int().min(1).max(7 * 24 * 60),
  /** Progress to the next phase needs an operator's approval. */
  requiresApproval: z.boolean(),
});
export type Phase = z.infer<typeof PhaseSchema>;

export const PhasesSchema = z
  .array(PhaseSchema)
  .min(1)
  .max(10)
  .superRefine((phases, ctx) => {
    phases.forEach((p, i) => {
      if (i > 0 && p.weight <= phases[i - 1]!.weight) {
        ctx.addIssue({ code: 'custom', path: [i, 'weight'], message: `must be greater than the previous phase's ${phases[i - 1]!.weight}` });
      }
    });
    if (phases[phases.length - 1]?.weight !== 100) {
      ctx.addIssue({ code: 'custom', path: [phases.length - 1, 'weight'], message: 'the last phase must carry 100% of traffic' });
    }
  });

/** policy.md §2 defaults: 1 → 10 → 50 → 100 %, 60 minutes each, approval to leave every phase but the last. */
export const DEFAULT_PHASES: Phase[] = [
  { weight: 1, monitorMinutes: 60, requiresApproval: true },
  { weight: 10, monitorMinutes: 60, requiresApproval: true },
  { weight: 50, monitorMinutes: 60, requiresApproval: true },
  { weight: 100, monitorMinutes: 60, requiresApproval: false },
];

/** Upper bound on analyses of one phase (each costs ~9 history events: Wait, Task, Choice). */
export const DEFAULT_MAX_LOOKS_PER_PHASE = 120;

export interface LookPlan {
  readonly lookEveryMinutes: number;
  readonly looks: number;
}

/**
 * How often a phase is analysed: every minute when that fits in `maxLooks`, else evenly spaced.
 *
 * @example planLooks(60, 120) // { lookEveryMinutes: 1, looks: 60 }
 * @example planLooks(1440, 120) // { lookEveryMinutes: 12, looks: 120 }
 */
export function planLooks(monitorMinutes: number, maxLooks: number): LookPlan {
  const lookEveryMinutes = Math.max(1, Math.ceil(monitorMinutes / maxLooks));
  return { lookEveryMinutes, looks: Math.ceil(monitorMinutes / lookEveryMinutes) };
}

/** Upper bound on the canary execution's history events for a plan (see {@link planLooks}). */
export function estimateHistoryEvents(phases: readonly Phase[], maxLooks: number): number {
  const perLook = 9; // Wait entered/exited, Task entered/scheduled/started/succeeded/exited, Choice entered/exited
  const perPhase = 7 + 2 + 8; // StartPhase task + its Choice, approval task (entered..exited) and its Choice
  return 10 + phases.reduce((n, p) => n + perPhase + perLook * planLooks(p.monitorMinutes, maxLooks).looks, 0);
}

/**
 * What the monitor loop does after a look (AnalyzeCanary's `action`; the canary machine's
 * MonitorDecision dispatches on exactly these).
 */
export const MONITOR_ACTIONS = ['continue', 'rollback', 'advance', 'await_approval'] as const;
export type MonitorAction = (typeof MONITOR_ACTIONS)[number];

/**
 * The monitor loop's decision after look number `iteration` (1-based) of `looks`: roll back at once
 * on a fail (the policy's "automatic" rollbacks too: the loop is the next decision point); at the last
 * look, the phase-end rule; otherwise keep watching.
 */
export function monitorStep(verdict: CanaryVerdict, iteration: number, looks: number, requiresApproval: boolean): MonitorAction {
  if (verdict.verdict === 'fail') return 'rollback';
  // pass, inconclusive and hold all keep looking while looks remain
  if (iteration < looks) return 'continue';
  return decidePhaseEnd(verdict, requiresApproval);
}
