/** core/post-rollback.ts: failure modes, change points (unit and property), the report, its size and text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyVariantMinute, type MinuteDatapoint, type VariantMinute } from '../../core/analysis.js';
import type { StoredAuditEvent } from '../../core/audit.js';
import {
  analysisWindow,
  buildPostRollbackReport,
  candidateCauses,
  classifyFailure,
  countChangePoint,
  fitReport,
  ONSET_ALPHA,
  PostRollbackReportSchema,
  REASON_FAILURE_MODE,
  renderPostRollbackReport,
  RULE_FAILURE_MODE,
  shiftChangePoint,
} from '../../core/post-rollback.js';
import type { ReleaseRecord } from '../../core/release-record.js';
import { REASON_CODES } from '../../core/severity.js';
import { rng } from '../support/rng.js';

// ── a seeded synthetic fleet ───────────────────────────────────────────────────────────────────

function poisson(u: () => number, lambda: number): number {
  // Knuth for small means, a rounded normal for large ones.
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(u)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= u();
  } while (p > l);
  return k - 1;
}
function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const variant = (requests: number, errors: number, p99: number, extra: Partial<VariantMinute> = {}): VariantMinute => ({
  ...emptyVariantMinute(),
  requests,
  errors,
  latencyP50: p99 / 3.6,
  latencyP95: p99 / 1.55,
  latencyP99: p99,
  riskEnergy: 0.3,
  ...extra,
});

/** `minutes` minutes at 10%: the canary's error rate ×`errorRatio` and its p99 ×`latencyRatio` from minute `k` (k ≥ minutes: never). */
function fleet(seed: number, minutes: number, k: number, errorRatio: number, latencyRatio = 1): MinuteDatapoint[] {
  const u = rng(seed);
  const [nc, nb, rate] = [600, 5400, 0.005];
  return Array.from({ length: minutes }, (_, m) => {
    const after = m >= k;
    const cP99 = 640 * Math.exp(0.08 * normal(u)) * (after ? latencyRatio : 1);
    const bP99 = 640 * Math.exp(0.02 * normal(u));
    return { minute: m, canary: variant(nc, poisson(u, nc * rate * (after ? errorRatio : 1)), cP99), baseline: variant(nb, poisson(u, nb * rate), bP99) };
  });
}

const logRatios = (points: readonly MinuteDatapoint[]) =>
  points.map((p) => ({ minute: p.minute, y: Math.log(p.canary.latencyP99! / p.baseline.latencyP99!), w: 1 / (1 / p.canary.requests + 1 / p.baseline.requests) }));

// ── failure mode ───────────────────────────────────────────────────────────────────────────────

describe('classifyFailure (RELEASE.md §5.1)', () => {
  it.each([
    ['safety_violation', null, [], 'safety'],
    ['error_rate_increase', null, [], 'reliability'],
    ['constraint_violations', null, [], 'quality'],
    ['performance_degradation', null, [], 'performance'],
    ['task_failure', null, [], 'reliability'],
    ['rollback_failed', null, [], 'reliability'],
    ['drill_failed', null, [], 'reliability'],
    ['verification_failed', null, [], 'quality'],
    // an alarm: the rule it watches, by its name
    ['alarm', 'builderbrain-builderbrain-canary-latency-p99', [], 'performance'],
    ['alarm', 'builderbrain-builderbrain-canary-error-rate', [], 'reliability'],
    ['alarm', 'builderbrain-builderbrain-canary-safety-incidents', [], 'safety'],
    // an unknown alarm, an operator: the rule failing at the deciding look, else nobody can say
    ['alarm', 'someone-elses-alarm', ['constraint_violations'], 'quality'],
    ['manual', null, ['risk_energy'], 'safety'],
    ['manual', null, ['latency_p95'], 'performance'],
    ['manual', null, [], 'unclassified'],
    [null, null, [], 'unclassified'],
  ] as const)('%s (alarm %s, failed %j) → %s', (reason, alarmName, failedRules, mode) => {
    expect(classifyFailure({ reason, alarmName, failedRules }).mode).toBe(mode);
  });

  it('every reason code and every rule has a class (the tables are total)', () => {
    expect(Object.keys(REASON_FAILURE_MODE).sort()).toEqual([...REASON_CODES].sort());
    expect(Object.values(RULE_FAILURE_MODE).every((m) => ['safety', 'performance', 'reliability', 'quality'].includes(m))).toBe(true);
  });
});

// ── change points ──────────────────────────────────────────────────────────────────────────────

describe('change points', () => {
  it('a tripled error rate from minute 40 of 60 is found there, significant', () => {
    const cp = countChangePoint(fleet(7, 60, 40, 3), (v) => v.errors)!;
    expect(Math.abs(cp.minute - 40)).toBeLessThanOrEqual(2);
    expect(cp.pValue).toBeLessThan(ONSET_ALPHA / 10);
    expect(cp.after / cp.before).toBeGreaterThan(2);
  });

  it('a p99 30% worse from minute 25 of 60 is found there, significant', () => {
    const cp = shiftChangePoint(logRatios(fleet(11, 60, 25, 1, 1.3)))!;
    expect(Math.abs(cp.minute - 25)).toBeLessThanOrEqual(2);
    expect(cp.pValue).toBeLessThan(1e-6);
    expect(cp.after / cp.before).toBeCloseTo(1.3, 1);
  });

  it('a change towards better is not an onset (one-sided)', () => {
    const cp = countChangePoint(fleet(13, 60, 30, 0.2), (v) => v.errors);
    expect(cp === null || cp.pValue > ONSET_ALPHA).toBe(true);
  });

  it('safety incidents with none on the baseline: the canary\'s own rate locates them', () => {
    const points = fleet(3, 40, 40, 1).map((p, m) => ({ ...p, canary: { ...p.canary, safetyIncidents: m >= 30 ? 2 : 0 } }));
    const cp = countChangePoint(points, (v) => v.safetyIncidents)!;
    expect(cp.minute).toBe(30);
    expect(cp.method).toMatch(/Poisson/);
    expect(cp.pValue).toBeLessThan(ONSET_ALPHA);
  });

  it('too few minutes: no change point', () => {
    expect(countChangePoint([], (v) => v.errors)).toBeNull();
    expect(shiftChangePoint(logRatios(fleet(1, 5, 99, 1)))).toBeNull();
  });

  it('property: a step planted at minute k (×3 errors, ×1.3 p99) is found within 3 minutes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 12, max: 48 }), (seed, k) => {
        const points = fleet(seed, 60, k, 3, 1.3);
        const errors = countChangePoint(points, (v) => v.errors)!;
        const p99 = shiftChangePoint(logRatios(points))!;
        return Math.abs(errors.minute - k) <= 3 && errors.pValue <= ONSET_ALPHA && Math.abs(p99.minute - k) <= 3 && p99.pValue <= ONSET_ALPHA;
      }),
      { seed: 20260105, numRuns: 60 },
    );
  });

  it('property: with no change, no significant onset', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const points = fleet(seed, 60, 60, 1);
        const errors = countChangePoint(points, (v) => v.errors);
        const p99 = shiftChangePoint(logRatios(points));
        return (errors === null || errors.pValue > ONSET_ALPHA) && (p99 === null || p99.pValue > ONSET_ALPHA);
      }),
      { seed: 20260106, numRuns: 100 },
    );
  });
});

// ── the report ─────────────────────────────────────────────────────────────────────────────────

const T0 = Date.parse('2026-01-05T09:00:00.000Z');
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
const RELEASE = 'builderbrain-2_1_0-0123abcd';

function ev(minute: number, type: string, actor: string, detail: Record<string, unknown>, extra: Record<string, unknown> = {}): StoredAuditEvent {
  return { releaseId: RELEASE, eventId: `${type}-${minute}`, at: at(minute), type, actor, detail, ...extra } as unknown as StoredAuditEvent;
}

const record: ReleaseRecord = {
  releaseId: RELEASE,
  model: 'builderbrain',
  version: '2.1.0',
  status: 'rolled_back',
  artifact: null,
  manifestSha256: 'x',
  source: { bucket: 'b', key: 'models/builderbrain/2.1.0/release.json', versionId: null },
  receivedAt: at(0),
  updatedAt: at(61),
  canaryExecutionArn: null,
  phase: 1,
  weight: 0,
  lastVerdict: null,
  approvers: [],
  outcome: { status: 'rolled_back', reason: 'error_rate_increase', severity: 'P1', at: at(61) },
  incidentPublished: true,
};

const timeline: StoredAuditEvent[] = [
  ev(0, 'received', 's3://b/models/builderbrain/2.1.0/release.json', { bucket: 'b', key: 'models/builderbrain/2.1.0/release.json' }),
  ev(1, 'phase_started', 'step:StartPhase', { monitorMinutes: 30, looks: 30, requiresApproval: true }, { phase: 0, weight: 1 }),
  ev(31, 'phase_started', 'step:StartPhase', { monitorMinutes: 60, looks: 60, requiresApproval: true }, { phase: 1, weight: 10 }),
  ...Array.from({ length: 29 }, (_, i) => ev(32 + i, 'analysis', 'step:AnalyzeCanary', { verdict: 'pass', summary: 'fine', evidence: [] }, { phase: 1, weight: 10 })),
  ev(60, 'analysis', 'step:AnalyzeCanary', {
    verdict: 'fail',
    summary: 'error_rate_increase (P1): error rate 1.5% vs 0.5%',
    evidence: [
      { rule: 'error_rate', failed: true, message: 'error rate 1.5% vs baseline 0.5% (3.00×)' },
      { rule: 'latency_p99', failed: false, message: 'p99 fine' },
    ],
  }, { phase: 1, weight: 10 }),
  ev(61, 'rollback', 'step:AnalyzeCanary', { reason: 'error_rate_increase', severity: 'P1', trigger: 'verdict', immediate: false, title: '[P1] BuilderBrain 2.1.0 rolled back: error_rate_increase in phase 2 at 10% canary traffic' }, { phase: 1, weight: 10 }),
  ev(78, 'recovery', 'step:VerifyRecovery', { recovered: true, message: 'healthy again' }),
];

/** The window from the first phase (minute 1): the canary triples its errors from minute 46 (window minute 45). */
const metrics = { from: at(1), comparedWith: 'baseline' as const, points: fleet(5, 61, 45, 3) };
const changelog = { features: ['Enhanced grammar parsing'], improvements: ['15% reduction in inference latency'], fixes: ['Fixed retry on upstream timeout errors'], breaking: [], security: [] };

describe('buildPostRollbackReport', () => {
  const report = buildPostRollbackReport({ record, timeline, metrics, changelog, generatedAt: at(80) });

  it('parses with its own schema', () => {
    expect(PostRollbackReportSchema.parse(report)).toEqual(report);
  });

  it('the rollback, the rule that fired, the failure mode', () => {
    expect(report.rolledBack).toMatchObject({ at: at(61), reason: 'error_rate_increase', severity: 'P1', trigger: 'verdict', actor: 'step:AnalyzeCanary', weight: 10, phase: 1 });
    expect(report.evidence.lookAt).toBe(at(60));
    expect(report.evidence.rules).toContainEqual({ rule: 'error_rate', failed: true, message: 'error rate 1.5% vs baseline 0.5% (3.00×)' });
    expect(report.failureMode).toEqual({ mode: 'reliability', basis: 'reason error_rate_increase' });
  });

  it('the onset: on the rule that fired, where it was planted, with the phase it fell in and the time to the rollback', () => {
    expect(report.onset).toMatchObject({ signal: 'error_rate', significant: true, phase: 1, weight: 10 });
    expect(Math.abs(report.onset!.minute - 45)).toBeLessThanOrEqual(2);
    expect(report.onset!.minutesBeforeRollback).toBe(61 - 1 - report.onset!.minute);
    const errors = report.signals.find((s) => s.signal === 'error_rate')!;
    expect(errors.before.ratio!).toBeLessThan(1.5);
    expect(errors.after.ratio!).toBeGreaterThan(2);
    expect(errors.change!).toBeGreaterThan(2);
    expect(report.signals.find((s) => s.signal === 'latency_p99')!.change!).toBeCloseTo(1, 0);
  });

  it('candidate causes: the failure mode\'s words first', () => {
    expect(report.candidateCauses[0]).toEqual({ section: 'fixes', entry: 'Fixed retry on upstream timeout errors', matched: ['error', 'timeout', 'retry'] });
    expect(report.candidateCauses.map((c) => c.section)).toEqual(['fixes', 'features', 'improvements']);
  });

  it('the timeline folds the monitor loop\'s looks into the deciding one', () => {
    expect(report.timeline.filter((e) => e.type === 'analysis')).toHaveLength(1);
    expect(report.omittedEvents).toBe(29);
    expect(report.recovery).toEqual({ recovered: true, message: 'healthy again' });
  });

  it('without metrics or changelog: no onset, and the notes say why', () => {
    const bare = buildPostRollbackReport({ record, timeline, metrics: null, changelog: null, generatedAt: at(80) });
    expect(bare.onset).toBeNull();
    expect(bare.signals).toEqual([]);
    expect(bare.notes).toEqual(['metrics were not available: the onset was not estimated', "the manifest's changelog could not be read: no candidate causes"]);
    expect(renderPostRollbackReport(bare)).toMatch(/no onset estimated \(metrics were not available/);
  });

  it('a first release (no baseline minute): no onset', () => {
    const alone = metrics.points.map((p) => ({ ...p, baseline: emptyVariantMinute() }));
    const r = buildPostRollbackReport({ record, timeline, metrics: { ...metrics, points: alone }, changelog, generatedAt: at(80) });
    expect(r.onset).toBeNull();
    expect(r.notes[0]).toMatch(/no minute where both the candidate and its comparison served/);
  });

  it('renders the sections as Markdown', () => {
    const md = renderPostRollbackReport(report);
    expect(md.split('\n')[0]).toBe('# Post-rollback analysis: builderbrain 2.1.0');
    for (const h of ['## Failure mode (RELEASE.md §5.1)', '## Estimated onset', '## How each signal moved from the onset', '## The rule that fired', "## Candidate causes (the manifest's changelog)", '## Recovery', '## Timeline (from the audit ledger)']) expect(md).toContain(h);
    expect(md).toMatch(/located on error_rate, confidence 100\.0%/);
    expect(md).toMatch(/\| error_rate \| 0\.\d\d% \/ 0\.\d\d% \(\d\.\d\d×\) \| 1\.\d\d% \/ 0\.\d\d% \(\d\.\d\d×\) \|/);
    expect(md).toContain('- ✗ error_rate: error rate 1.5% vs baseline 0.5% (3.00×)');
  });
});

describe('analysisWindow', () => {
  it('the canary: from the first phase to the minute after the rollback', () => {
    expect(analysisWindow(record, timeline)).toEqual({ from: new Date(at(1)), to: new Date(at(62)), kind: 'canary', reference: null });
  });
  it('a bake regression: the bake, against its reference', () => {
    const baked = { ...record, bake: { startedAt: at(100), endsAt: at(340), watchedMinutes: 30, plannedMinutes: 240, reference: 'day' as const, lastVerdict: null } };
    const t = [...timeline.slice(0, 2), ev(130, 'bake', 'step:WatchBake', { state: 'regressed' }), ev(131, 'rollback', 'step:WatchBake', { trigger: 'bake_regression' })];
    expect(analysisWindow(baked, t)).toEqual({ from: new Date(at(100)), to: new Date(at(132)), kind: 'bake', reference: 'day' });
  });
  it('no rollback, no phase: nothing to analyse', () => {
    expect(analysisWindow({ ...record, outcome: null }, timeline.filter((e) => e.type !== 'rollback'))).toBeNull();
    expect(analysisWindow(record, timeline.filter((e) => e.type !== 'phase_started'))).toBeNull();
  });
});

describe('fitReport', () => {
  it('cuts the oldest timeline entries first, counts them, and says so', () => {
    const big = buildPostRollbackReport({ record, timeline: [...timeline, ...Array.from({ length: 300 }, (_, i) => ev(62 + i, 'hook', 'hook:x', { hook: 'x', message: 'y'.repeat(500) }))], metrics, changelog, generatedAt: at(80) });
    const fitted = fitReport(big, 64 * 1024);
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(64 * 1024);
    expect(fitted.timeline.length).toBeLessThan(big.timeline.length);
    expect(fitted.omittedEvents).toBe(big.omittedEvents + big.timeline.length - fitted.timeline.length);
    expect(fitted.timeline.at(-1)).toEqual(big.timeline.at(-1));
    expect(fitted.notes.at(-1)).toBe('cut to fit 65536 bytes');
    expect(fitReport(big)).toBe(big);
  });
});

describe('candidateCauses', () => {
  it('unclassified: every entry, in the changelog\'s order (breaking first)', () => {
    expect(candidateCauses({ features: ['a'], breaking: ['b'] }, 'unclassified').map((c) => c.entry)).toEqual(['b', 'a']);
  });
});
