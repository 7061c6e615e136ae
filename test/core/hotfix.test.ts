/** Hotfixes in the core: the plan a release runs, the checks of the hotfix plan, the two-person rule. */
import { describe, expect, it } from 'vitest';
import { canaryTimeoutMinutes } from '../../core/budgets.js';
import { DEFAULT_HOTFIX_PHASES, hotfixApprovalIssue, hotfixHookIssues, hotfixPlanIssues, planText } from '../../core/hotfix.js';
import { EMERGENCY_ROLLBACK_PLAN, releasePlan, type ReleaseManifest } from '../../core/manifest.js';
import { DEFAULT_PHASES, type Phase } from '../../core/plan.js';
import { rollbackManifest, sameIdentity, twoPeopleIssue } from '../../core/rollback.js';
import { defaultManifest } from '../../local/scenario.js';

const HOTFIX = { reason: 'plans skip the foundation step', incident: 'INC-2041', requestedBy: 'alice', overrideFreeze: false };
const ROLLBACK = { of: '2.2.0', reason: 'PII', emergency: false, requestedBy: 'alice', approvedBy: 'bob' };

describe('releasePlan', () => {
  it.each<[string, Pick<ReleaseManifest, 'rollback' | 'hotfix'>, readonly Phase[] | null | undefined, readonly Phase[]]>([
    ['a release runs the configured plan', {}, DEFAULT_HOTFIX_PHASES, DEFAULT_PHASES],
    ['a hotfix runs the hotfix plan', { hotfix: HOTFIX }, DEFAULT_HOTFIX_PHASES, DEFAULT_HOTFIX_PHASES],
    ['a hotfix without a hotfix plan (null) runs the configured plan', { hotfix: HOTFIX }, null, DEFAULT_PHASES],
    ['a hotfix without a hotfix plan (none given) runs the configured plan', { hotfix: HOTFIX }, undefined, DEFAULT_PHASES],
    ['a planned rollback release is no hotfix', { hotfix: HOTFIX, rollback: ROLLBACK }, DEFAULT_HOTFIX_PHASES, DEFAULT_PHASES],
    ['an emergency rollback release runs one 100% phase at once', { hotfix: HOTFIX, rollback: { ...ROLLBACK, emergency: true, approvedBy: null } }, DEFAULT_HOTFIX_PHASES, EMERGENCY_ROLLBACK_PLAN],
  ])('%s', (_, manifest, hotfixPhases, expected) => {
    expect(releasePlan(manifest, DEFAULT_PHASES, hotfixPhases)).toEqual(expected);
  });

  it('returns a copy, never the configured objects', () => {
    const plan = releasePlan({ hotfix: HOTFIX }, DEFAULT_PHASES, DEFAULT_HOTFIX_PHASES);
    plan[0]!.weight = 99;
    expect(DEFAULT_HOTFIX_PHASES[0]!.weight).toBe(10);
  });
});

describe('hotfixPlanIssues', () => {
  const config = { phases: DEFAULT_PHASES, hotfixPhases: DEFAULT_HOTFIX_PHASES, maxLooksPerPhase: 120, approvalTimeoutMinutes: 1440 };

  it('the default hotfix plan fits the default plan: 10% for 15 min (approval) → 100% for 15 min', () => {
    expect(hotfixPlanIssues(config)).toEqual([]);
    expect(planText(DEFAULT_HOTFIX_PHASES)).toBe('10% for 15 min (approval) → 100% for 15 min');
    expect(canaryTimeoutMinutes({ ...config, phases: DEFAULT_HOTFIX_PHASES })).toBeLessThan(canaryTimeoutMinutes(config));
  });

  it('null: hotfixes run `phases`, nothing to check', () => {
    expect(hotfixPlanIssues({ ...config, phases: [{ weight: 100, monitorMinutes: 5, requiresApproval: false }], hotfixPhases: null })).toEqual([]);
  });

  it.each<[string, Phase[]]>([
    ['no approval before 100%', [{ weight: 10, monitorMinutes: 15, requiresApproval: false }, { weight: 100, monitorMinutes: 15, requiresApproval: true }]],
    ['one 100% phase', [{ weight: 100, monitorMinutes: 15, requiresApproval: true }]],
  ])('refuses a plan with %s: the emergency review has no approval point before 100%', (_, hotfixPhases) => {
    expect(hotfixPlanIssues({ ...config, hotfixPhases })).toEqual([{ path: ['hotfixPhases'], message: expect.stringContaining('no phase before the last requires approval') }]);
  });

  it('a hotfix plan longer than the plan is no refusal: the canary timeout covers the longer of the two', () => {
    const phases = [{ weight: 50, monitorMinutes: 60, requiresApproval: true }, { weight: 100, monitorMinutes: 60, requiresApproval: false }];
    const hotfixPhases = [{ weight: 10, monitorMinutes: 200, requiresApproval: true }, { weight: 100, monitorMinutes: 15, requiresApproval: false }];
    expect(hotfixPlanIssues({ ...config, phases, hotfixPhases })).toEqual([]);
    // 120 + 2 × 1440 + 60 + 20 = 3080 for the plan; 215 + 2 × 1440 + 60 + 20 = 3175 for the hotfix plan
    expect(canaryTimeoutMinutes({ ...config, phases })).toBe(3080);
    expect(canaryTimeoutMinutes({ ...config, phases, hotfix: { phases: hotfixPhases } })).toBe(3175);
    expect(canaryTimeoutMinutes({ ...config, phases, hotfix: null })).toBe(3080);
    // Each plan with its own verification: a 4000-minute hook at 25% only counts for the plan that has 25%.
    const hooks = (p: readonly Phase[]) => ({ beforeTraffic: 0, inPhases: p.some((x) => x.weight === 25) ? 4000 : 0, drill: 0 });
    const quarter = [{ weight: 25, monitorMinutes: 15, requiresApproval: true }, { weight: 100, monitorMinutes: 15, requiresApproval: false }];
    expect(canaryTimeoutMinutes({ ...config, phases, verification: hooks(phases), hotfix: { phases: quarter, verification: hooks(quarter) } })).toBe(30 + 2 * 1440 + 4000 + 80);
  });

  it('refuses a plan over the history budget', () => {
    const many = [1, 2, 3, 4, 5, 6, 7, 8, 9, 100].map((weight) => ({ weight, monitorMinutes: 600, requiresApproval: weight < 100 }));
    const issues = hotfixPlanIssues({ ...config, phases: many, hotfixPhases: many, maxLooksPerPhase: 600 });
    expect(issues).toEqual([{ path: ['hotfixPhases'], message: expect.stringMatching(/history events, over the canary execution's budget of 5000/) }]);
  });
});

describe('the two-person rule', () => {
  it.each([
    ['alice', 'alice', true],
    ['alice', 'Alice', true],
    ['alice@example.com', 'arn:aws:sts::111111111111:assumed-role/ReleaseApprover/alice', true],
    ['alice', 'arn:aws:iam::111111111111:user/alice', true],
    ['alice', 'local:alice', true],
    ['arn:aws:sts::111111111111:assumed-role/Ci/alice', 'arn:aws:sts::111111111111:assumed-role/Approver/alice', true],
    ['alice', 'bob', false],
    ['alice', 'arn:aws:sts::111111111111:assumed-role/ReleaseApprover/bob', false],
    ['local-operator', 'local-second-operator', false],
  ])('%s and %s are the same person: %s', (a, b, same) => {
    expect(sameIdentity(a, b)).toBe(same);
  });

  it('one message for rollbacks and hotfixes', () => {
    expect(twoPeopleIssue('alice', 'alice')).toBe('alice requested this rollback and cannot also approve it: a second identity must');
    expect(twoPeopleIssue('alice', 'bob')).toBeNull();
    expect(hotfixApprovalIssue(HOTFIX, 'alice')).toBe('alice requested hotfix INC-2041 and cannot also approve it: a second identity must');
    expect(hotfixApprovalIssue(HOTFIX, 'bob')).toBeNull();
    expect(hotfixApprovalIssue(null, 'alice')).toBeNull();
    expect(hotfixApprovalIssue(undefined, 'alice')).toBeNull();
  });

  it('a rollback release of a version released as a hotfix is not a hotfix again', () => {
    const previous = defaultManifest({ hotfix: HOTFIX });
    const manifest = rollbackManifest(previous, { ...ROLLBACK, of: '2.2.0' });
    expect(manifest.hotfix).toBeUndefined();
    expect(manifest.rollback).toEqual({ ...ROLLBACK, of: '2.2.0' });
  });
});

describe('hotfixHookIssues: a hotfix skips no verification hook', () => {
  it.each<[string, { name: string; stage: 'before_traffic' | 'during_phase' | 'after_phase'; phases?: number[] }, number]>([
    ['a hook of every phase', { name: 'load', stage: 'during_phase' }, 0],
    ['a before-traffic hook', { name: 'it', stage: 'before_traffic' }, 0],
    ['a hook at a weight the plan has', { name: 'report', stage: 'after_phase', phases: [10] }, 0],
    ['a hook at a weight the plan lacks', { name: 'load', stage: 'during_phase', phases: [10, 50] }, 1],
  ])('%s', (_, hook, issues) => {
    const found = hotfixHookIssues([hook], DEFAULT_HOTFIX_PHASES);
    expect(found).toHaveLength(issues);
    if (issues > 0) expect(found[0]).toEqual({ path: ['hotfixPhases'], message: 'hook "load" runs at 50%, which the hotfix plan (10% → 100%) has no phase of: a hotfix would skip it; add the weight to hotfixPhases or let the hook run in every phase' });
    expect(hotfixHookIssues([hook], null)).toEqual([]);
  });
});
