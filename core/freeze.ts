/**
 * The emergency freeze (RELEASE.md §11): while releases are frozen no new release starts and the
 * releases in flight hold at their next decision point — they keep being watched (a regression
 * still rolls back) but none gains traffic, is approved or is promoted — until someone unfreezes.
 * A hotfix whose manifest asks to override the freeze (`hotfix.overrideFreeze`) passes; its
 * approval by a second identity (core/app/answer-approval.ts) is the override's approval.
 *
 * Pure: what the freeze is, and what it means for an upload, a look of the monitor loop and an
 * approval. Where it is kept: the audit ledger (core/ports.ts AuditLedger.getFreeze/setFreeze).
 */
import * as z from 'zod';
import type { FieldIssue } from './errors.js';
import type { MonitorAction } from './plan.js';
import type { Hotfix } from './manifest.js';

/** The timeline of the pipeline's own decisions (freezes), kept apart from any release's: a release id of its own. */
export const CONTROL_LOG = 'pipeline-control';

export const FreezeSchema = z.strictObject({
  /** Why (the operator's words, audited and announced). */
  reason: z.string().min(1).max(500),
  /** Who froze (the caller's identity: an STS ARN on AWS). */
  by: z.string().min(1),
  /** When, ISO 8601. */
  at: z.string(),
});
export type Freeze = z.infer<typeof FreezeSchema>;

/** Whether a release passes a freeze: only a hotfix that asks to override it. */
export function exemptFromFreeze(hotfix: Pick<Hotfix, 'overrideFreeze'> | null | undefined): boolean {
  return hotfix?.overrideFreeze === true;
}

/** One phrase naming the freeze for people: since when, by whom, why. */
export function describeFreeze(f: Freeze): string {
  return `releases are frozen since ${f.at} by ${f.by}: ${f.reason}`;
}

/**
 * Why an upload may not start while `freeze` holds (null: it may): a freeze rejects every new
 * release but a hotfix overriding it. The issue names the freeze, who set it and the way out.
 */
export function freezeIssue(freeze: Freeze | null, hotfix: Pick<Hotfix, 'overrideFreeze'> | null | undefined): FieldIssue | null {
  if (freeze === null || exemptFromFreeze(hotfix)) return null;
  return {
    path: 'freeze',
    message: `${describeFreeze(freeze)}. No release starts until \`builderbrain unfreeze\`; a hotfix may pass with "hotfix": {"overrideFreeze": true}, approved by a second identity`,
  };
}

/** The monitor loop's moves that give the candidate more: held while frozen. */
const PROGRESS: ReadonlySet<MonitorAction> = new Set(['advance', 'await_approval']);

/**
 * The monitor loop's move under a freeze: a move that would give the candidate more traffic, ask
 * for an approval or promote becomes another look at the same weight (`held` true); watching and
 * rolling back go on as decided.
 */
export function heldByFreeze(action: MonitorAction, freeze: Freeze | null, exempt: boolean): { action: MonitorAction; held: boolean } {
  if (freeze === null || exempt || !PROGRESS.has(action)) return { action, held: false };
  return { action: 'continue', held: true };
}

/** Why an approval may not be given while frozen (null: it may); a rejection always may. */
export function approvalFrozenIssue(freeze: Freeze | null, exempt: boolean): string | null {
  if (freeze === null || exempt) return null;
  return `${describeFreeze(freeze)}; approvals wait until \`builderbrain unfreeze\` (nothing was changed; \`builderbrain reject\` still works)`;
}
