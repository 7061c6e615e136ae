/**
 * Hotfixes (RELEASE.md §10.2, issue 15): a release whose manifest carries `hotfix` (why, the incident
 * it fixes, who asks) runs the expedited plan the pipeline config gives hotfixes (`hotfixPhases`),
 * passes every gate, digest check, smoke test and canary rule any release passes, and needs an
 * emergency review: each approval of its phases comes from an identity other than the one that
 * asked for it (the two-person rule of core/rollback.ts twoPeopleIssue).
 *
 * Pure: lib/config.ts checks the plan against the budgets, core/app/validate-manifest.ts records and
 * announces the hotfix, core/app/answer-approval.ts refuses its requester's approval.
 */
import { HISTORY_BUDGET_EVENTS, type BudgetIssue } from './budgets.js';
import type { Hook } from './environment-settings.js';
import type { Hotfix, ReleaseManifest } from './manifest.js';
import { displayName } from './notes.js';
import { estimateHistoryEvents, type Phase } from './plan.js';
import { twoPeopleIssue } from './rollback.js';

/** The expedited plan by default: 10% watched for 15 minutes, approved by a second identity, then 100% for 15 minutes. */
export const DEFAULT_HOTFIX_PHASES: Phase[] = [
  { weight: 10, monitorMinutes: 15, requiresApproval: true },
  { weight: 100, monitorMinutes: 15, requiresApproval: false },
];

/** What the hotfix plan is checked against: the normal plan, which sets the canary machine's timeout. */
export interface HotfixPlanConfig {
  readonly phases: readonly Phase[];
  /** Null: hotfixes run `phases` (nothing to check). */
  readonly hotfixPhases: readonly Phase[] | null;
  readonly maxLooksPerPhase: number;
  readonly approvalTimeoutMinutes: number;
}

/**
 * Why a hotfix plan cannot be run, each named by `hotfixPhases`: no approval point before 100% (the
 * emergency review has nowhere to happen), or over the history budget. Its duration needs no check:
 * the canary machine's timeout covers the longer of the two plans (core/budgets.ts canaryTimeoutMinutes).
 *
 * @example hotfixPlanIssues({ phases: DEFAULT_PHASES, hotfixPhases: DEFAULT_HOTFIX_PHASES, maxLooksPerPhase: 120, approvalTimeoutMinutes: 1440 }) // []
 */
export function hotfixPlanIssues(config: HotfixPlanConfig): BudgetIssue[] {
  const hotfix = config.hotfixPhases;
  if (hotfix === null) return [];
  const issues: BudgetIssue[] = [];
  if (!hotfix.slice(0, -1).some((p) => p.requiresApproval)) {
    issues.push({
      path: ['hotfixPhases'],
      message: `no phase before the last requires approval: a hotfix's emergency review (an identity other than the manifest's hotfix.requestedBy approves it) needs an approval point before 100%, e.g. ${planText(DEFAULT_HOTFIX_PHASES)}`,
    });
  }
  const events = estimateHistoryEvents(hotfix, config.maxLooksPerPhase);
  if (events > HISTORY_BUDGET_EVENTS) {
    issues.push({
      path: ['hotfixPhases'],
      message: `the hotfix plan needs up to ${events} history events, over the canary execution's budget of ${HISTORY_BUDGET_EVENTS}: use fewer hotfix phases or lower maxLooksPerPhase`,
    });
  }
  return issues;
}

/**
 * Verification hooks a hotfix would skip: a during- or after-phase hook that names a weight the hotfix
 * plan has no phase of (hooks run in the phases they name). Every check that applies to a release
 * applies to a hotfix, so such a plan is refused, naming `hotfixPhases`.
 *
 * @example hotfixHookIssues([{ name: 'load', stage: 'during_phase', phases: [50] }], DEFAULT_HOTFIX_PHASES) // one issue: 50% is not in 10% → 100%
 */
export function hotfixHookIssues(hooks: readonly Pick<Hook, 'name' | 'stage' | 'phases'>[], hotfixPhases: readonly Phase[] | null): BudgetIssue[] {
  if (hotfixPhases === null) return [];
  const weights = hotfixPhases.map((p) => p.weight);
  return hooks.flatMap((h) => {
    const missing = h.stage === 'before_traffic' ? [] : (h.phases ?? []).filter((w) => !weights.includes(w));
    if (missing.length === 0) return [];
    return [{ path: ['hotfixPhases'], message: `hook "${h.name}" runs at ${missing.map((w) => `${w}%`).join(', ')}, which the hotfix plan (${weights.map((w) => `${w}%`).join(' → ')}) has no phase of: a hotfix would skip it; add the weight to hotfixPhases or let the hook run in every phase` }];
  });
}

/**
 * Why `identity` may not approve a phase of this release: it asked for the hotfix (two-person rule).
 * Null for anyone else, and for a release that is not a hotfix.
 *
 * @example hotfixApprovalIssue({ reason: 'x', incident: 'INC-7', requestedBy: 'alice', overrideFreeze: false }, 'alice') // 'alice requested hotfix INC-7 and cannot also approve it: a second identity must'
 */
export function hotfixApprovalIssue(hotfix: Hotfix | null | undefined, identity: string): string | null {
  return hotfix == null ? null : twoPeopleIssue(hotfix.requestedBy, identity, `hotfix ${hotfix.incident}`);
}

/**
 * A plan in one line.
 *
 * @example planText(DEFAULT_HOTFIX_PHASES) // '10% for 15 min (approval) → 100% for 15 min'
 */
export function planText(phases: readonly Phase[]): string {
  return phases.map((p) => `${p.weight}% for ${p.monitorMinutes} min${p.requiresApproval ? ' (approval)' : ''}`).join(' → ');
}

/**
 * The announcement of a hotfix (P3 on the incident topic, as ValidateManifest sees it): what, why,
 * the incident, the plan, and who may approve it.
 */
export function hotfixAnnouncement(releaseId: string, manifest: Pick<ReleaseManifest, 'model' | 'version'>, hotfix: Hotfix, plan: readonly Phase[] | null, configured: readonly Phase[] | null): { title: string; text: string } {
  const name = `${displayName(manifest.model)} ${manifest.version}`;
  const expedited = plan !== null && configured !== null && planText(plan) !== planText(configured) ? ` instead of ${planText(configured)}` : '';
  return {
    title: `[P3] ${name}: HOTFIX for ${hotfix.incident} requested by ${hotfix.requestedBy}; needs approval by another identity`,
    text: [
      `${name} is a hotfix for ${hotfix.incident}, requested by ${hotfix.requestedBy}: ${hotfix.reason}.`,
      `Plan: ${plan === null ? 'the configured phases' : planText(plan)}${expedited}. Every promotion gate, the artifact's digest check, the smoke test and the canary analysis still apply.`,
      `Emergency review: every approval needs an identity other than ${hotfix.requestedBy} (builderbrain approve ${releaseId}); anyone may reject it.`,
      ...(hotfix.overrideFreeze ? ['It asks to start even while releases are frozen (overrideFreeze).'] : []),
      '',
      `Release: ${releaseId}`,
      `History: builderbrain history ${releaseId}`,
    ].join('\n'),
  };
}
