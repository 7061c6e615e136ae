/**
 * This project's rule, as the deployed pipeline applies it: the monitor loop runs `analyzeCanary`
 * on the phase's datapoints at every planned look (`planLooks`: every minute for a 60-minute phase)
 * and `monitorStep` turns the verdict into an action; OR-ed with the CloudWatch alarm fast path
 * (`alarmRules(DEFAULT_ALARM_POLICY)` evaluated on every minute's `periodValues`, M-of-N via
 * `alarmState`, one continuous history per alarm across the release, as CloudWatch keeps it).
 * Whichever fires first rolls the canary back.
 */
import { analyzeCanary, type MinuteDatapoint } from '../../core/analysis.js';
import { DEFAULT_ALARM_POLICY, alarmRules, alarmState, type AlarmPolicy, type AlarmRule } from '../../core/alarms.js';
import { DEFAULT_MAX_LOOKS_PER_PHASE, DEFAULT_PHASES, monitorStep, planLooks } from '../../core/plan.js';
import { DEFAULT_POLICY, type CanaryPolicy } from '../../core/policy.js';
import { periodValues } from '../../local/fleet.js';
import type { Decision, PhaseContext, Rule } from './types.js';

/**
 * analyzeCanary is pure, so the verdict of a phase window depends only on the window. The benchmark
 * scans the same simulated phase several times (whole release, then the phase alone); this cache
 * avoids recomputing it. Entries are found by the window's first datapoint object and checked
 * element by element (by identity), so two different windows never share a verdict.
 */
const verdictCache = new WeakMap<MinuteDatapoint, Map<string, { items: readonly MinuteDatapoint[]; fails: boolean }>>();
const sameItems = (a: readonly MinuteDatapoint[], b: readonly MinuteDatapoint[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export interface BuilderbrainOptions {
  readonly policy?: CanaryPolicy;
  readonly alarmPolicy?: AlarmPolicy;
  readonly maxLooksPerPhase?: number;
  /** Evaluate the alarm fast path (default true); false gives the monitor loop alone. */
  readonly alarms?: boolean;
}

export function builderbrainRule(options: BuilderbrainOptions = {}): Rule {
  const policy = options.policy ?? DEFAULT_POLICY.canary;
  const rules: AlarmRule[] = options.alarms === false ? [] : alarmRules(options.alarmPolicy ?? DEFAULT_ALARM_POLICY);
  const maxLooks = options.maxLooksPerPhase ?? DEFAULT_MAX_LOOKS_PER_PHASE;
  const cacheable = options.policy === undefined && options.maxLooksPerPhase === undefined;
  let histories: number[][] = [];

  const monitorFails = (points: readonly MinuteDatapoint[], ctx: PhaseContext, lookEvery: number): boolean => {
    const key = `${points.length}/${ctx.plannedMinutes}`;
    const first = points[0]!;
    const cached = cacheable ? verdictCache.get(first)?.get(key) : undefined;
    if (cached !== undefined && sameItems(cached.items, points)) return cached.fails;
    const verdict = analyzeCanary({ datapoints: [...points], plannedMinutes: ctx.plannedMinutes, lookEveryMinutes: lookEvery, canaryWeightPct: ctx.weight }, policy);
    const looks = Math.ceil(ctx.plannedMinutes / lookEvery);
    const iteration = Math.ceil(points.length / lookEvery);
    const requiresApproval = DEFAULT_PHASES[ctx.index]?.requiresApproval ?? false;
    const fails = monitorStep(verdict, iteration, looks, requiresApproval) === 'rollback';
    if (cacheable) {
      let m = verdictCache.get(first);
      if (!m) verdictCache.set(first, (m = new Map()));
      m.set(key, { items: points, fails });
    }
    return fails;
  };

  return {
    name: 'builderbrain',
    reset() {
      histories = rules.map(() => []);
    },
    observe(points, ctx): Decision {
      const newest = points[points.length - 1];
      if (!newest) return 'continue';
      const values = periodValues(newest);
      let alarm = false;
      rules.forEach((r, i) => {
        histories[i]!.push(r.evaluate(values));
        if (alarmState(r, histories[i]!) === 'ALARM') alarm = true;
      });
      if (alarm) return 'rollback';
      const { lookEveryMinutes } = planLooks(ctx.plannedMinutes, maxLooks);
      if (points.length % lookEveryMinutes !== 0 && points.length !== ctx.plannedMinutes) return 'continue';
      return monitorFails(points, ctx, lookEveryMinutes) ? 'rollback' : 'continue';
    },
  };
}
