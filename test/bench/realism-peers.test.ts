/**
 * The calibrated peer comparison (bench/realism-peers.bench.ts): the bisection on a synthetic
 * monotone knob, and that every peer's knob at its documented default decides exactly as the rule
 * without options, minute by minute, on phases of the realistic fleet.
 */
import { describe, expect, it } from 'vitest';
import type { MinuteDatapoint } from '../../core/analysis.js';
import { generatePhase } from '../../local/fleet.js';
import { ScenarioSchema } from '../../local/scenario.js';
import { KNOBS, PEERS, calibrate, makeRule, scanPhases, summarizeDetection, targetRollbacks, wallClockPhase } from '../../bench/realism-peers.bench.js';
import { BASE, ONSET, PHASE_MINUTES, REGRESSIONS, WEIGHTS, healthySeed, regressionScenario, regressionSeed } from '../../bench/realism-classes.js';
import { argoRule } from '../../bench/rules/argo.js';
import { codeDeployRule } from '../../bench/rules/codedeploy.js';
import { flaggerRule } from '../../bench/rules/flagger.js';
import { kayentaRule } from '../../bench/rules/kayenta.js';
import type { Decision, Rule } from '../../bench/rules/types.js';

describe('calibrate', () => {
  it('finds the strictest continuous setting with at most the target', async () => {
    const f = (x: number) => Math.max(0, Math.ceil(100 - 10 * x)); // non-increasing
    const c = await calibrate(f, 25, { lo: 0, hi: 20, integer: false, iterations: 40 });
    expect(c.x).not.toBeNull();
    expect(c.x!).toBeCloseTo(7.5, 6);
    expect(f(c.x!)).toBeLessThanOrEqual(25);
    expect(f(c.x! - 1e-6)).toBeGreaterThan(25);
    expect(c.rolledBack).toBe(f(c.x!));
    expect(c.atStrictEnd).toBe(false);
  });

  it('finds the smallest integer with at most the target, with few evaluations', async () => {
    let calls = 0;
    const f = (n: number) => {
      calls++;
      return Math.max(0, 50 - n);
    };
    const c = await calibrate(f, 10, { lo: 0, hi: 1000, integer: true });
    expect(c.x).toBe(40);
    expect(c.rolledBack).toBe(10);
    expect(calls).toBe(c.evaluations);
    expect(calls).toBeLessThanOrEqual(12);
  });

  it('reports a floor when even the lenient end is above the target, and the strict end when it already meets it', async () => {
    const floor = await calibrate(() => 30, 5, { lo: 1, hi: 100, integer: false });
    expect(floor.x).toBeNull();
    expect(floor.rolledBack).toBe(30);
    const strict = await calibrate(async () => 0, 5, { lo: 1, hi: 100, integer: true });
    expect(strict).toMatchObject({ x: 1, atStrictEnd: true, rolledBack: 0 });
  });

  it('targets our count, at least one when ours is zero', () => {
    expect(targetRollbacks(0.0125, 2000)).toBe(25);
    expect(targetRollbacks(0.0125, 300)).toBe(3);
    expect(targetRollbacks(0, 300)).toBe(1);
  });
});

/** Every minute's decision of `rule` over the phases (no stop at a rollback), state carried. */
function decisions(rule: Rule, phases: readonly (readonly MinuteDatapoint[])[], firstIndex = 0): Decision[] {
  rule.reset();
  const out: Decision[] = [];
  phases.forEach((points, k) => {
    const index = firstIndex + k;
    for (let m = 1; m <= points.length; m++) {
      out.push(rule.observe(points.slice(0, m), { index, weight: WEIGHTS[index]!, plannedMinutes: PHASE_MINUTES, releaseMinute: index * PHASE_MINUTES + m - 1 }));
    }
  });
  return out;
}

describe('peer knobs at their documented defaults', () => {
  const releases = [0, 1].map((release) => WEIGHTS.map((w, i) => wallClockPhase(generatePhase(BASE, w, PHASE_MINUTES, healthySeed(BASE, release, i)).datapoints)));
  const regressions = [REGRESSIONS[0]!, REGRESSIONS[1]!].map((r) => [
    wallClockPhase(generatePhase(ScenarioSchema.parse(regressionScenario(r)), r.weight, PHASE_MINUTES, regressionSeed(3)).datapoints),
  ]);
  const cases: [readonly (readonly MinuteDatapoint[])[], number][] = [...releases.map((p): [MinuteDatapoint[][], number] => [p, 0]), ...regressions.map((p): [MinuteDatapoint[][], number] => [p, 1])];

  it('wall-clock phases have one datapoint per minute', () => {
    for (const [phases] of cases) for (const p of phases) expect(p.map((d) => d.minute)).toEqual(Array.from({ length: PHASE_MINUTES }, (_, m) => m));
    const gappy = wallClockPhase([{ ...releases[0]![0]![0]!, minute: 2 }], 4);
    expect(gappy.map((d) => d.canary.requests > 0)).toEqual([false, false, true, false]);
  });

  it('thresholdScale 1 and the knobs at their default coordinate decide minute by minute as the rules without options', () => {
    const pairs: [Rule, Rule][] = [
      [flaggerRule(), flaggerRule({ thresholdScale: 1 })],
      [argoRule(), argoRule({ thresholdScale: 1 })],
      [codeDeployRule(), codeDeployRule({ thresholdScale: 1 })],
      [kayentaRule(), kayentaRule({ classifier: { confLevel: 0.98 } })],
      ...KNOBS.map((k): [Rule, Rule] => [makeRule({ rule: k.rule }), k.make(k.defaultX)]),
    ];
    let rollbacks = 0;
    for (const [phases, first] of cases) {
      for (const [a, b] of pairs) {
        const da = decisions(a, phases, first);
        expect(decisions(b, phases, first)).toEqual(da);
        rollbacks += da.filter((d) => d === 'rollback').length;
      }
    }
    expect(rollbacks).toBeGreaterThan(0); // the comparison saw rollbacks, not only 'continue'
    expect(KNOBS.map((k) => k.value(k.defaultX))).toEqual([1, 5, 1, 0, 1, 3, expect.closeTo(0.98, 12)]);
    expect(new Set(KNOBS.map((k) => k.rule))).toEqual(new Set(PEERS));
  });

  it('every knob is monotone: a more lenient setting never rolls back earlier', () => {
    for (const k of KNOBS) {
      const strictX = k.defaultX;
      const lenientX = k.integer ? k.defaultX + 2 : k.defaultX * 1.5;
      for (const [phases, first] of cases) {
        const strict = scanPhases(k.make(strictX), phases, first);
        const lenient = scanPhases(k.make(lenientX), phases, first);
        if (strict === null) expect(lenient).toBeNull();
        else if (lenient !== null) expect(lenient.phase * 100 + lenient.atMinute).toBeGreaterThanOrEqual(strict.phase * 100 + strict.atMinute);
      }
    }
  });
});

describe('summarizeDetection', () => {
  it('counts rollbacks at or before the onset as early, the rest from the onset', () => {
    const s = summarizeDetection([null, ONSET, ONSET - 5, ONSET + 1, ONSET + 3, ONSET + 10]);
    expect(s).toEqual({ seeds: 6, detected: 3, rate: 0.5, early: 2, medianMinutes: 3, p90Minutes: 10 });
    expect(summarizeDetection([null, null])).toMatchObject({ detected: 0, rate: 0, medianMinutes: null, p90Minutes: null });
  });
});
