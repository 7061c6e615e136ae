/**
 * The pipeline's time and history budgets, decided from its config: how long a canary or promotion
 * execution may run, and whether its plan fits Step Functions' history limit. Pure: lib/config.ts
 * checks the budgets, lib/stack.ts sets the machines' timeouts from them.
 */
import type { BakePolicy, RecoveryPolicy } from './bake.js';
import { estimateHistoryEvents, type Phase } from './plan.js';

/** Step Functions Standard keeps at most 25,000 events per execution. */
export const STEP_FUNCTIONS_HISTORY_LIMIT = 25_000;
/** Share of that limit an execution may plan for (the rest is headroom for retries and approvals). */
export const HISTORY_BUDGET_SHARE = 0.2;
/** History events an execution may plan for: {@link HISTORY_BUDGET_SHARE} of the limit. */
export const HISTORY_BUDGET_EVENTS = STEP_FUNCTIONS_HISTORY_LIMIT * HISTORY_BUDGET_SHARE;

/** History events of one check of a serving loop: Wait (2), Task (5), Choice (2). */
export const SERVING_EVENTS_PER_CHECK = 9;

/** History events of one look of the bake: WaitForBakeLook (2), WatchBake (5), BakeDecision (2), as a canary look. */
export const BAKE_EVENTS_PER_LOOK = 9;
/**
 * History events of the bake and the recovery check besides the looks: StartBake and its Choice (7);
 * on a rollback, RollbackOnBake and BakeRolledBack (7), PlanRecovery, its Wait and VerifyRecovery (12).
 */
export const BAKE_FIXED_EVENTS = 7 + 7 + 12;

/** Slack of a canary execution's timeout for retries: an hour, plus ten minutes a phase. */
const CANARY_SLACK_MINUTES = 60;
const CANARY_SLACK_MINUTES_PER_PHASE = 10;
/** Slack of a promotion execution's timeout beyond the canary's and its serving loops'. */
const PROMOTION_SLACK_MINUTES = 120;

export interface CanaryPlan {
  readonly phases: readonly Phase[];
  readonly approvalTimeoutMinutes: number;
  /** An environment's verification (core/environments.ts verificationMinutes): its hooks' timeouts and its drill. */
  readonly verification?: VerificationMinutes;
  /** The plan a hotfix runs instead (core/hotfix.ts), with its verification: the machine's timeout covers the longer of the two. */
  readonly hotfix?: { readonly phases: readonly Phase[]; readonly verification?: VerificationMinutes } | null;
}

/** What the promotion waits for after the canary: the bake, and the recovery check after a rollback (core/bake.ts). */
export interface AfterCanaryPlan {
  /** @default - no bake */
  readonly bake?: Pick<BakePolicy, 'minutes'>;
  /** @default - no recovery check */
  readonly recovery?: Pick<RecoveryPolicy, 'minutes' | 'settleMinutes'>;
}

/** A promotion's plan: the canary's, and what follows it. */
export type PromotionPlan = CanaryPlan & AfterCanaryPlan;

/** The longest an environment's verification can add: hook timeouts (before traffic; in each phase) and the drill. */
export interface VerificationMinutes {
  readonly beforeTraffic: number;
  /** During and after the phases, summed over the phases. */
  readonly inPhases: number;
  readonly drill: number;
}

export interface ServingTiming {
  readonly timeoutMinutes: number;
  readonly pollSeconds: number;
  readonly bakeMinutes: number;
}

/** A budget exceeded, named by the config field to change. */
export interface BudgetIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/**
 * Upper bound on one canary execution's duration: every phase watched, an approval waited for at the
 * end of every phase (an inconclusive last look asks for one even where the phase needs none), plus
 * slack for retries — for the longer of the plan and the hotfix plan. Past it the execution times
 * out and the promotion machine rolls back.
 *
 * @example canaryTimeoutMinutes({ phases: DEFAULT_PHASES, approvalTimeoutMinutes: 1440 }) // 4 × 60 + 4 × 1440 + 60 + 40
 */
export function canaryTimeoutMinutes(plan: CanaryPlan): number {
  const own = phasesMinutes(plan.phases, plan.approvalTimeoutMinutes, plan.verification);
  return plan.hotfix == null ? own : Math.max(own, phasesMinutes(plan.hotfix.phases, plan.approvalTimeoutMinutes, plan.hotfix.verification));
}

/** One plan's share of {@link canaryTimeoutMinutes}. */
function phasesMinutes(phases: readonly Phase[], approvalTimeoutMinutes: number, verificationMinutes: VerificationMinutes | undefined): number {
  const monitoring = phases.reduce((n, p) => n + p.monitorMinutes, 0);
  const approvals = phases.length * approvalTimeoutMinutes;
  const verification = verificationMinutes === undefined ? 0 : verificationMinutes.inPhases + verificationMinutes.drill;
  return monitoring + approvals + verification + CANARY_SLACK_MINUTES + CANARY_SLACK_MINUTES_PER_PHASE * phases.length;
}

/**
 * Upper bound on one promotion execution's duration: the canary, plus deploying, converging (after
 * the bake period) or removing, each within the deployment's timeout, the bake at 100% (a regression
 * found at its last look still rolls back) and the recovery check's wait after that rollback
 * (`settleMinutes + minutes`), plus slack.
 *
 * @example promotionTimeoutMinutes({ ...plan, bake: { minutes: 1440 }, recovery: { minutes: 15, settleMinutes: 2 } }, deployment) - promotionTimeoutMinutes(plan, deployment) // 1457
 */
export function promotionTimeoutMinutes(plan: PromotionPlan, deployment: ServingTiming): number {
  const serving = 3 * deployment.timeoutMinutes + deployment.bakeMinutes;
  return canaryTimeoutMinutes(plan) + (plan.verification?.beforeTraffic ?? 0) + serving + afterCanaryMinutes(plan) + PROMOTION_SLACK_MINUTES;
}

/** The bake's minutes and the recovery check's wait (core/app/recovery.ts: the rollback's time plus settle and recovery minutes). */
export function afterCanaryMinutes(plan: AfterCanaryPlan): number {
  return (plan.bake?.minutes ?? 0) + (plan.recovery === undefined ? 0 : plan.recovery.settleMinutes + plan.recovery.minutes);
}

/**
 * History events of a promotion execution's serving loops: at most two on any path (deploy, then
 * converge or remove), each a Wait, a Task and a Choice per check.
 */
export function servingHistoryEvents(deployment: Pick<ServingTiming, 'timeoutMinutes' | 'pollSeconds'>): number {
  const checks = Math.ceil((deployment.timeoutMinutes * 60) / deployment.pollSeconds) + 2;
  return 2 * checks * SERVING_EVENTS_PER_CHECK;
}

/**
 * History events of a promotion execution's bake: a look every `lookEveryMinutes` for `minutes`
 * (one more when the last is cut short), plus StartBake and, on a regression, the rollback and the
 * recovery check ({@link BAKE_FIXED_EVENTS}).
 *
 * @example bakeHistoryEvents({ minutes: 1440, lookEveryMinutes: 10 }) // 144 × 9 + 26 = 1322
 */
export function bakeHistoryEvents(bake: Pick<BakePolicy, 'minutes' | 'lookEveryMinutes'>): number {
  return BAKE_FIXED_EVENTS + BAKE_EVENTS_PER_LOOK * Math.ceil(bake.minutes / bake.lookEveryMinutes);
}

/**
 * The budgets a config exceeds: the promotion's history, its serving loops (`deployment.pollSeconds`)
 * and then its bake's looks on top (`bake.lookEveryMinutes`); the canary plan's (`maxLooksPerPhase`).
 * Empty when all fit. Without `bake`, the promotion has no bake to count.
 */
export function historyBudgetIssues(config: {
  readonly phases: readonly Phase[];
  readonly maxLooksPerPhase: number;
  readonly deployment: ServingTiming;
  readonly bake?: Pick<BakePolicy, 'minutes' | 'lookEveryMinutes'>;
}): BudgetIssue[] {
  const issues: BudgetIssue[] = [];
  const { deployment, bake } = config;
  const servingEvents = servingHistoryEvents(deployment);
  if (servingEvents > HISTORY_BUDGET_EVENTS) {
    issues.push({
      path: ['deployment', 'pollSeconds'],
      message: `checking every ${deployment.pollSeconds} s for up to ${deployment.timeoutMinutes} min needs up to ${servingEvents} history events, over the budget of ${HISTORY_BUDGET_EVENTS}: poll less often or lower deployment.timeoutMinutes`,
    });
  } else if (bake !== undefined && servingEvents + bakeHistoryEvents(bake) > HISTORY_BUDGET_EVENTS) {
    // The promotion's one execution runs both: the bake gets what the serving loops leave.
    const bakeEvents = bakeHistoryEvents(bake);
    issues.push({
      path: ['bake', 'lookEveryMinutes'],
      message: `looking every ${bake.lookEveryMinutes} min during a ${bake.minutes}-minute bake needs up to ${bakeEvents} history events, which with the serving loops' ${servingEvents} is over the promotion's budget of ${HISTORY_BUDGET_EVENTS}: look less often or shorten bake.minutes`,
    });
  }
  const events = estimateHistoryEvents(config.phases, config.maxLooksPerPhase);
  if (events > HISTORY_BUDGET_EVENTS) {
    issues.push({
      path: ['maxLooksPerPhase'],
      message: `the canary plan needs up to ${events} history events, over the budget of ${HISTORY_BUDGET_EVENTS} (${HISTORY_BUDGET_SHARE * 100}% of ${STEP_FUNCTIONS_HISTORY_LIMIT}): lower maxLooksPerPhase or use fewer phases`,
    });
  }
  return issues;
}
