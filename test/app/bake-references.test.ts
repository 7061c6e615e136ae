/**
 * A bake look reads the reference it will judge against, and only what it needs: the day before
 * first; the week before only when the day does not cover enough of the bake (core/bake.ts
 * MIN_REFERENCE_COVERAGE) — the same choice judgeBake makes, one GetMetricData call fewer per look.
 */
import { describe, expect, it } from 'vitest';
import { bakeStep } from '../../core/app/bake.js';
import type { MetricsQuery } from '../../core/ports.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { BakePolicySchema } from '../../core/bake.js';
import { MODEL, minute, releaseInCanary, world } from './helpers.js';

const DAY = 24 * 60;

async function look(referenceDaysBack: number) {
  const w = world('2025-03-08T10:00:00.000Z');
  const { releaseId } = await releaseInCanary(w);
  const start = w.clock.now().getTime();
  // 30 minutes of the released version, and the same minutes `referenceDaysBack` days before.
  for (let i = 0; i < 30; i++) {
    w.metrics.put(MODEL, new Date(start + i * 60_000), { canary: minute(6000, i), baseline: minute(0, i) });
    w.metrics.put(MODEL, new Date(start - referenceDaysBack * DAY * 60_000 + i * 60_000), { canary: minute(0, i), baseline: minute(6000, i + 3) });
  }
  w.clock.advanceMinutes(30);
  const windows: MetricsQuery[] = [];
  const metrics = { window: (q: MetricsQuery) => (windows.push(q), w.metrics.window(q)) };
  const bake = { startedAt: new Date(start).toISOString(), endsAt: new Date(start + DAY * 60_000).toISOString(), minutes: DAY, lookEverySeconds: 600, iteration: 0, action: 'continue' as const, verdict: null, reference: null };
  const state = await bakeStep({ action: 'watch', releaseId, model: MODEL, version: '2.1.0', bake }, { ...w, metrics, bake: BakePolicySchema.parse({}), canaryPolicy: DEFAULT_POLICY.canary });
  const daysBack = windows.map((q) => Math.round((start - q.from.getTime()) / (DAY * 60_000)));
  return { state, daysBack };
}

describe('a bake look reads only the references it needs', () => {
  it('the day before covers the bake: two windows (the bake, the day), judged against the day', async () => {
    const { state, daysBack } = await look(1);
    expect(daysBack).toEqual([0, 1]);
    expect(state).toMatchObject({ reference: 'day', action: 'continue' });
  });

  it('the day before is missing: the week before is read too, and judged against', async () => {
    const { state, daysBack } = await look(7);
    expect(daysBack).toEqual([0, 1, 7]);
    expect(state.reference).toBe('week');
  });
});
