/** Incident severities of policy.md §4, P0 the most severe. */
export const SEVERITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rollback reason codes of policy.md §3. */
export const REASON_CODES = [
  'safety_violation',
  'error_rate_increase',
  'constraint_violations',
  'performance_degradation',
  'alarm',
  'manual',
  'task_failure',
  'rollback_failed',
  /** A verification hook failed or did not answer during or after a phase. */
  'verification_failed',
  /** The rollback drill could not show the baseline serving alone again. */
  'drill_failed',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

/** Negative when `a` is more severe than `b` (sort ascending = worst first). */
export function compareSeverity(a: Severity, b: Severity): number {
  return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b);
}
