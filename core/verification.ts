/**
 * Verification hooks and the rollback drill (RELEASE.md §2.2, §8.2): the pure judgments. A hook is
 * a team's Lambda, asked with a {@link HookRequest} and answering a {@link HookAnswer}; the adapter
 * reports what came back (an answer, a timeout, an error) and {@link judgeHooks} decides. The drill
 * rolls the candidate back on purpose and {@link judgeDrill} decides whether the baseline served
 * alone again. No AWS import.
 */
import * as z from 'zod';
import type { MinuteDatapoint } from './analysis.js';
import type { Hook, HookStage } from './environment-settings.js';
import type { TrafficSplit } from './ports.js';
import type { Severity } from './severity.js';

/** What a hook is invoked with (its Lambda's event). */
export interface HookRequest {
  readonly releaseId: string;
  readonly model: string;
  readonly version: string;
  readonly environment: string;
  /** The endpoint or function under test. */
  readonly endpoint: string;
  readonly stage: HookStage;
  readonly hook: string;
  /** 0-based phase index and its weight; null before traffic. */
  readonly phase: number | null;
  readonly weight: number | null;
}

/** What a hook must answer: Flagger's webhook contract, with metrics for the audit trail. */
export const HookAnswerSchema = z.object({
  status: z.enum(['passed', 'failed']),
  message: z.string().max(2000).optional(),
  metrics: z.record(z.string().max(128), z.number()).optional(),
});
export type HookAnswer = z.infer<typeof HookAnswerSchema>;

/** What invoking a hook gave (core/ports.ts HookInvoker). */
export type HookCall =
  | { readonly kind: 'answered'; readonly payload: unknown; readonly durationMs: number }
  | { readonly kind: 'timed_out'; readonly durationMs: number }
  /** The function failed (FunctionError), could not be invoked (permissions, not found), or threw. */
  | { readonly kind: 'error'; readonly message: string; readonly durationMs: number };

/** One hook's result, as audited. */
export interface HookResult {
  readonly hook: string;
  readonly functionArn: string;
  readonly stage: HookStage;
  readonly passed: boolean;
  readonly message: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

/** The verdict on a stage's hooks. */
export interface HooksVerdict {
  readonly passed: boolean;
  readonly results: readonly HookResult[];
  /** The first failure, as the incident names it; null when all passed. */
  readonly failure: { readonly hook: string; readonly message: string } | null;
  readonly severity: Severity | null;
}

/**
 * A failure's severity by when it happened: before any traffic nobody was exposed (P3); during a
 * phase users are exposed to a candidate that fails its verification now (P1); after a phase the
 * exposure is over but the candidate must not go further (P2).
 */
export const HOOK_FAILURE_SEVERITY: { readonly [S in HookStage]: Severity } = { before_traffic: 'P3', during_phase: 'P1', after_phase: 'P2' };

const MAX_MESSAGE_CHARS = 500;
const clip = (s: string) => (s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS - 1)}…` : s);

/** One call judged: an answer that is not the contract's shape is a failure, never a pass (fail closed). */
export function judgeHookCall(hook: Hook, call: HookCall): HookResult {
  const base = { hook: hook.name, functionArn: hook.functionArn, stage: hook.stage, durationMs: call.durationMs };
  if (call.kind === 'timed_out') {
    return { ...base, passed: false, message: `no answer within ${hook.timeoutSeconds} s`, metrics: {} };
  }
  if (call.kind === 'error') return { ...base, passed: false, message: clip(`the hook failed: ${call.message}`), metrics: {} };
  const answer = HookAnswerSchema.safeParse(call.payload);
  if (!answer.success) {
    const issues = answer.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ...base, passed: false, message: clip(`answer is not { status: "passed" | "failed", message?, metrics? } (${issues})`), metrics: {} };
  }
  const { status, message, metrics } = answer.data;
  return { ...base, passed: status === 'passed', message: clip(message ?? status), metrics: metrics ?? {} };
}

/**
 * The stage's verdict: every hook must pass. No hooks for the stage: passed.
 *
 * @example judgeHooks('before_traffic', [result]).passed
 */
export function judgeHooks(stage: HookStage, results: readonly HookResult[]): HooksVerdict {
  const failed = results.find((r) => !r.passed);
  if (failed === undefined) return { passed: true, results, failure: null, severity: null };
  return { passed: false, results, failure: { hook: failed.hook, message: failed.message }, severity: HOOK_FAILURE_SEVERITY[stage] };
}

// ── the rollback drill ──────────────────────────────────────────────────────────────────────────

/** The drill's verdict, with what it saw. */
export interface DrillVerdict {
  readonly passed: boolean;
  readonly message: string;
  readonly split: TrafficSplit;
  /** Minutes judged (after the first, while traffic drains), and the requests each variant served in them. */
  readonly minutes: number;
  readonly baselineRequests: number;
  readonly candidateRequests: number;
  readonly baselineErrorRate: number | null;
}

/**
 * Did the rollback path work? After the candidate was rolled back on purpose: the router sends it
 * nothing; once the first minute drained, the candidate served no request and the baseline served
 * every one, with an error rate within `maxErrorRate` (the gate's own absolute limit). Minutes with
 * no data count as not served: a drill that cannot see the baseline serving has not proved it does.
 *
 * @example judgeDrill({ baseline: 100, candidate: 0 }, window, 0.05).passed
 */
export function judgeDrill(split: TrafficSplit, window: readonly MinuteDatapoint[], maxErrorRate: number): DrillVerdict {
  const judged = window.slice(1);
  const baselineRequests = judged.reduce((n, m) => n + m.baseline.requests, 0);
  const candidateRequests = judged.reduce((n, m) => n + m.canary.requests, 0);
  const baselineErrors = judged.reduce((n, m) => n + m.baseline.errors, 0);
  const baselineErrorRate = baselineRequests > 0 ? baselineErrors / baselineRequests : null;
  const seen = { split, minutes: judged.length, baselineRequests, candidateRequests, baselineErrorRate };
  const fail = (message: string): DrillVerdict => ({ passed: false, message, ...seen });
  if (split.candidate !== 0) return fail(`the router still sends ${split.candidate}% of traffic to the candidate after the rollback`);
  if (judged.length === 0) return fail('no minute of metrics after the rollback to judge');
  const silent = judged.filter((m) => m.baseline.requests === 0).length;
  if (silent > 0) return fail(`the baseline served no request in ${silent} of ${judged.length} minute(s) after the rollback`);
  if (candidateRequests > 0) return fail(`the candidate still served ${candidateRequests} request(s) after the rollback`);
  if (baselineErrorRate !== null && baselineErrorRate > maxErrorRate) {
    return fail(`the baseline served with an error rate of ${(baselineErrorRate * 100).toFixed(2)}%, over ${(maxErrorRate * 100).toFixed(2)}%`);
  }
  return {
    passed: true,
    message: `the baseline served all ${baselineRequests} request(s) alone for ${judged.length} minute(s) (error rate ${((baselineErrorRate ?? 0) * 100).toFixed(2)}%)`,
    ...seen,
  };
}
