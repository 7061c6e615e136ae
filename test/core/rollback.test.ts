import { describe, expect, it } from 'vitest';
import { analyzeCanary, type CanaryVerdict, type MinuteDatapoint, type VariantMinute } from '../../core/analysis.js';
import { evaluateGates } from '../../core/gates.js';
import { ReleaseManifestSchema } from '../../core/manifest.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import {
  alarmSeverity,
  decidePhaseEnd,
  decideRollback,
  rejectionIncident,
  type ReleaseContext,
  type RollbackTrigger,
} from '../../core/rollback.js';
import { REASON_CODES, type ReasonCode } from '../../core/severity.js';

const CTX: ReleaseContext = { model: 'builderbrain', version: '2.1.0', releaseId: 'builderbrain-2.1.0-r1', weight: 10, phase: 1 };

/** A variant-minute with a little deterministic wobble so the rank tests see real spreads. */
function minute(i: number, v: { requests: number; errors?: number; p99?: number; risk?: number; cv?: number; incidents?: number }, salt: number): VariantMinute {
  const w = (k: number) => 1 + 0.04 * Math.sin(i * 12.9898 + k * 78.233 + salt * 37.719);
  return {
    requests: v.requests,
    errors: v.errors ?? 0,
    latencyP50: 180 * w(1),
    latencyP95: 420 * w(2),
    latencyP99: (v.p99 ?? 650) * w(3),
    riskEnergy: (v.risk ?? 0.3) * w(4),
    constraintViolations: v.cv ?? Math.round(v.requests * 0.01),
    safetyIncidents: v.incidents ?? 0,
  };
}

function verdictOf(minutes: number, canary: Parameters<typeof minute>[1], baseline: Parameters<typeof minute>[1]): CanaryVerdict {
  const datapoints: MinuteDatapoint[] = Array.from({ length: minutes }, (_, i) => ({
    minute: i,
    canary: minute(i, canary, 1),
    baseline: minute(i, baseline, 2),
  }));
  // hand-built windows from minute 0: no warm-up, so the rule under test sees every minute
  return analyzeCanary({ datapoints, plannedMinutes: 60, lookEveryMinutes: 1 }, { ...DEFAULT_POLICY.canary, warmupMinutes: 0 });
}

/** Real verdicts of the analysis, one per fail kind of policy.md §3, and a pass and an inconclusive. */
const VERDICTS = {
  safety: verdictOf(5, { requests: 600, incidents: 1 }, { requests: 5400 }),
  error: verdictOf(10, { requests: 600, errors: 12 }, { requests: 5400, errors: 22 }),
  constraints: verdictOf(5, { requests: 600, cv: 60 }, { requests: 5400 }),
  latencyP1: verdictOf(30, { requests: 600, p99: 650 * 1.3 }, { requests: 5400 }),
  latencyP2: verdictOf(30, { requests: 600, p99: 650 * 1.15 }, { requests: 5400 }),
  pass: verdictOf(30, { requests: 600, errors: 2 }, { requests: 5400, errors: 22 }),
  inconclusive: verdictOf(2, { requests: 60 }, { requests: 5940 }),
};

describe('the verdicts used below are what they claim to be', () => {
  it.each([
    ['safety', 'fail', 'safety_violation', 'P0', true],
    ['error', 'fail', 'error_rate_increase', 'P1', false],
    ['constraints', 'fail', 'constraint_violations', 'P1', true],
    ['latencyP1', 'fail', 'performance_degradation', 'P1', true],
    ['latencyP2', 'fail', 'performance_degradation', 'P2', false],
    ['pass', 'pass', null, null, false],
    ['inconclusive', 'inconclusive', null, null, false],
  ] as const)('%s: %s %s %s immediate=%s', (key, verdict, reason, severity, immediate) => {
    const v = VERDICTS[key];
    expect(v.verdict).toBe(verdict);
    expect(v.reason).toBe(reason);
    expect(v.severity).toBe(severity);
    expect(v.immediate).toBe(immediate);
  });
});

describe('decideRollback: analysis verdicts (policy.md §3)', () => {
  it.each([
    ['safety', 'safety_violation', 'P0', true],
    ['error', 'error_rate_increase', 'P1', false],
    ['constraints', 'constraint_violations', 'P1', true],
    ['latencyP1', 'performance_degradation', 'P1', true],
    ['latencyP2', 'performance_degradation', 'P2', false],
  ] as const)('a %s fail passes through: %s %s immediate=%s', (key, reason, severity, immediate) => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS[key] }, CTX);
    expect(d.rollback).toBe(true);
    expect(d.reason).toBe(reason);
    expect(d.severity).toBe(severity);
    expect(d.immediate).toBe(immediate);
    expect(d.title).toBe(`[${severity}] BuilderBrain 2.1.0 rolled back: ${reason} in phase 2 at 10% canary traffic`);
    expect(d.text).toContain(`because of ${reason} (${immediate ? 'immediate' : 'automatic'} rollback)`);
  });

  it.each(['pass', 'inconclusive'] as const)('a %s verdict does not roll back', (key) => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS[key] }, CTX);
    expect(d.rollback).toBe(false);
    expect(d.immediate).toBe(false);
    expect(d.reason).toBeNull();
    expect(d.severity).toBeNull();
    expect(d.title).toContain(`canary ${key}`);
    expect(d.text).toBe(VERDICTS[key].summary);
  });

  it('the incident text names the reason, measured values, thresholds, phase, weight and every rule', () => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS.latencyP1 }, CTX);
    const p99 = VERDICTS.latencyP1.evidence.find((e) => e.rule === 'latency_p99')!;
    expect(d.text).toContain('performance_degradation');
    expect(d.text).toContain('phase 2 at 10% canary traffic');
    // measured values and the threshold
    expect(d.text).toContain(`p99 latency ${p99.canary!.toFixed(0)} ms vs baseline ${p99.baseline!.toFixed(0)} ms`);
    expect(d.text).toContain(`${p99.ratio!.toFixed(2)}×`);
    expect(d.text).toContain('P2 above 1.10×, P1 above 1.20×');
    // the sample and every rule's evidence, the failed one marked
    expect(d.text).toContain(`Evidence over 30 minute(s), ${VERDICTS.latencyP1.sample.canaryRequests} canary and ${VERDICTS.latencyP1.sample.baselineRequests} baseline request(s)`);
    for (const rule of ['safety_incidents', 'risk_energy', 'error_rate', 'constraint_violations', 'latency_p50', 'latency_p95']) {
      expect(d.text).toContain(`· ${rule}: `);
    }
    expect(d.text).toContain('✗ latency_p99: ');
    expect(d.text).toContain('Release: builderbrain-2.1.0-r1');
    expect(d.text).toContain('History: builderbrain history builderbrain-2.1.0-r1');
  });

  it('the error-rate incident names both rates, the ratio and the 1.5× threshold', () => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS.error }, { ...CTX, weight: 1, phase: 0 });
    expect(d.text).toContain('in phase 1 at 1% canary traffic');
    expect(d.text).toMatch(/error rate 2\.00% vs baseline 0\.41% \(4\.91×, rollback above 1\.50×/);
  });

  it('the constraint incident names the rate and the 5% ceiling', () => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS.constraints }, CTX);
    expect(d.text).toMatch(/constraint-violation rate 10\.00% \(baseline 1\.00%\), rollback above 5\.00%/);
  });

  it('the safety incident names the count and its threshold', () => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS.safety }, CTX);
    expect(d.text).toContain('5 safety incident(s) on the canary (baseline 0), rollback above 0');
  });

  it('a non-BuilderBrain model keeps its own name', () => {
    const d = decideRollback({ kind: 'verdict', verdict: VERDICTS.safety }, { ...CTX, model: 'plannerlm' });
    expect(d.title).toContain('plannerlm 2.1.0');
  });
});

describe('decideRollback: other triggers (policy.md §3)', () => {
  it.each([
    ['safety_violation', 'P0'],
    ['error_rate_increase', 'P1'],
    ['constraint_violations', 'P1'],
    ['performance_degradation', 'P1'],
    [null, 'P1'],
  ] as const)('an alarm watching %s → reason alarm, %s, immediate', (watches, severity) => {
    const d = decideRollback({ kind: 'alarm', alarmName: 'builderbrain-canary-errors', watches, detail: 'Threshold crossed: 3 datapoints' }, CTX);
    expect(d.rollback).toBe(true);
    expect(d.immediate).toBe(true);
    expect(d.reason).toBe('alarm');
    expect(d.severity).toBe(severity);
    expect(alarmSeverity(watches)).toBe(severity);
    expect(d.title).toBe(`[${severity}] BuilderBrain 2.1.0 rolled back: alarm builderbrain-canary-errors in phase 2 at 10% canary traffic`);
    expect(d.text).toContain('builderbrain-canary-errors');
    expect(d.text).toContain('Threshold crossed: 3 datapoints');
    expect(d.text).toContain('phase 2 at 10% canary traffic');
    if (watches !== null) expect(d.text).toContain(`watching ${watches}`);
  });

  it('alarm severity is P0 only for safety, P1 for every other reason code', () => {
    for (const code of REASON_CODES) {
      expect(alarmSeverity(code as ReasonCode)).toBe(code === 'safety_violation' ? 'P0' : 'P1');
    }
  });

  it('manual → P2, immediate, naming the operator and the note', () => {
    const d = decideRollback({ kind: 'manual', actor: 'alice@example.com', note: 'customer reports odd plans' }, CTX);
    expect(d).toMatchObject({ rollback: true, immediate: true, reason: 'manual', severity: 'P2' });
    expect(d.title).toBe('[P2] BuilderBrain 2.1.0 rolled back by alice@example.com in phase 2 at 10% canary traffic');
    expect(d.text).toContain('alice@example.com rolled BuilderBrain 2.1.0 back in phase 2 at 10% canary traffic: customer reports odd plans');
  });

  it('approval_timeout → a manual rollback (P2, immediate) naming the wait', () => {
    const d = decideRollback({ kind: 'approval_timeout', minutes: 1440 }, CTX);
    expect(d).toMatchObject({ rollback: true, immediate: true, reason: 'manual', severity: 'P2' });
    expect(d.title).toMatch(/approval timed out/);
    expect(d.text).toContain('within 1440 minutes');
  });

  it('task_failure → P1, immediate, naming the step and the error', () => {
    const d = decideRollback({ kind: 'task_failure', step: 'ShiftTraffic', error: 'ThrottlingException: rate exceeded' }, CTX);
    expect(d).toMatchObject({ rollback: true, immediate: true, reason: 'task_failure', severity: 'P1' });
    expect(d.title).toContain('pipeline step ShiftTraffic failed');
    expect(d.text).toContain('ShiftTraffic');
    expect(d.text).toContain('Error: ThrottlingException: rate exceeded');
  });

  it('rollback_failed → P0 page, and no further rollback', () => {
    const d = decideRollback({ kind: 'rollback_failed', error: 'UpdateEndpointWeightsAndCapacities: AccessDenied' }, CTX);
    expect(d.rollback).toBe(false);
    expect(d.reason).toBe('rollback_failed');
    expect(d.severity).toBe('P0');
    expect(d.title).toMatch(/^\[P0\] BuilderBrain 2\.1\.0: ROLLBACK FAILED in phase 2 at 10% canary traffic/);
    expect(d.text).toContain('Restore traffic by hand now');
    expect(d.text).toContain('AccessDenied');
  });

  it('before the canary, the text says so instead of a phase', () => {
    const d = decideRollback({ kind: 'task_failure', step: 'Deploy', error: 'boom' }, { ...CTX, phase: null, weight: 0 });
    expect(d.title).toContain('before the canary');
    expect(d.text).not.toContain('phase');
  });

  it('every trigger kind is decided, with a reason code of policy.md §3', () => {
    const triggers: RollbackTrigger[] = [
      { kind: 'verdict', verdict: VERDICTS.error },
      { kind: 'alarm', alarmName: 'a', watches: null, detail: '' },
      { kind: 'manual', actor: 'bob', note: '' },
      { kind: 'task_failure', step: 's', error: 'e' },
      { kind: 'rollback_failed', error: 'e' },
    ];
    for (const t of triggers) {
      const d = decideRollback(t, CTX);
      expect(REASON_CODES).toContain(d.reason);
      expect(d.title).toContain('BuilderBrain 2.1.0');
      expect(d.text).toContain('Release: builderbrain-2.1.0-r1');
    }
  });
});

describe('rejectionIncident (P3)', () => {
  const manifest = ReleaseManifestSchema.parse({
    model: 'builderbrain',
    version: '2.1.0',
    previousVersion: '2.0.3',
    releaseType: 'minor',
    artifact: { uri: 's3://example-artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: 'a'.repeat(64) },
    shadowEvaluation: {
      riskEnergy: { candidate: 0.45, baseline: 0.43 },
      performance: { candidate: 0.812, baseline: 0.82 },
      constraintSatisfaction: 0.9,
      tests: { passed: 1284, failed: 0 },
    },
    changelog: {},
    migrationGuide: null,
    owner: 'ml-platform',
  });
  const ctx = { model: 'builderbrain', version: '2.1.0', releaseId: 'builderbrain-2.1.0-r1' };

  it('lists exactly the failed gate checks', () => {
    const gate = evaluateGates(manifest, DEFAULT_POLICY.gates);
    const inc = rejectionIncident(ctx, { gate });
    expect(inc.severity).toBe('P3');
    expect(inc.reason).toBe('rejected');
    expect(inc.title).toBe('[P3] BuilderBrain 2.1.0 rejected: failed its promotion gates');
    expect(inc.text).toContain('no production traffic was touched');
    const failed = inc.text.split('\n').filter((l) => l.startsWith('✗ '));
    expect(failed).toEqual([
      `✗ safety: ${gate.checks[0]!.message}`,
      `✗ constraints: ${gate.checks[2]!.message}`,
    ]);
    expect(inc.text).not.toContain('performance:');
    expect(inc.text).toContain('Release: builderbrain-2.1.0-r1');
  });

  it('lists every invalid field by path, (root) for the document itself', () => {
    const inc = rejectionIncident(ctx, {
      invalid: [
        { path: 'shadowEvaluation.riskEnergy.candidate', message: 'Too small: expected number to be >=0' },
        { path: 'changelog.features[2]', message: 'must be a non-empty string' },
        { path: '', message: 'not valid JSON' },
      ],
    });
    expect(inc.severity).toBe('P3');
    expect(inc.title).toBe('[P3] BuilderBrain 2.1.0 rejected: has an invalid manifest');
    expect(inc.text.split('\n').filter((l) => l.startsWith('✗ '))).toEqual([
      '✗ shadowEvaluation.riskEnergy.candidate: Too small: expected number to be >=0',
      '✗ changelog.features[2]: must be a non-empty string',
      '✗ (root): not valid JSON',
    ]);
  });
});

describe('decidePhaseEnd', () => {
  it.each([
    ['fail', false, 'rollback'],
    ['fail', true, 'rollback'],
    ['inconclusive', false, 'await_approval'],
    ['inconclusive', true, 'await_approval'],
    ['pass', true, 'await_approval'],
    ['pass', false, 'advance'],
  ] as const)('%s, requiresApproval=%s → %s', (kind, requiresApproval, expected) => {
    const v = kind === 'fail' ? VERDICTS.latencyP2 : VERDICTS[kind];
    expect(v.verdict).toBe(kind);
    expect(decidePhaseEnd(v, requiresApproval)).toBe(expected);
  });

  it('an automatic (non-immediate) fail still rolls back at the end of the phase', () => {
    expect(VERDICTS.error.immediate).toBe(false);
    expect(decidePhaseEnd(VERDICTS.error, false)).toBe('rollback');
  });
});

describe('the rule that decided (issue 16: a field on every path)', () => {
  it('an alarm: the canary rule it watches, from its name; an alarm that is no canary rule: null', () => {
    const alarm = (alarmName: string) => decideRollback({ kind: 'alarm', alarmName, watches: null, detail: '' }, CTX).rule;
    expect(alarm('bb-builderbrain-canary-error-rate')).toBe('error_rate');
    expect(alarm('bb-builderbrain-canary-latency-p99')).toBe('latency_p99');
    expect(alarm('bb-builderbrain-canary-safety-incidents')).toBe('safety_incidents');
    expect(alarm('bb-builderbrain-canary-risk-energy')).toBe('risk_energy');
    expect(alarm('bb-builderbrain-canary-constraint-violations')).toBe('constraint_violations');
    expect(alarm('some-other-alarm')).toBeNull();
  });

  it("the loop's verdict: the failing rule that decided it (the worst finding); a manual rollback: null", () => {
    const minute = (i: number, errors: number): MinuteDatapoint => {
      const v = (requests: number, e: number): VariantMinute => ({ requests, errors: e, latencyP50: 180, latencyP95: 420, latencyP99: 650, riskEnergy: 0.3, constraintViolations: Math.round(requests * 0.01), safetyIncidents: 0 });
      return { minute: i, canary: v(600, errors), baseline: v(5400, 22) };
    };
    const verdict = analyzeCanary({ datapoints: Array.from({ length: 40 }, (_, i) => minute(i, i >= 10 ? 30 : 2)), plannedMinutes: 60, lookEveryMinutes: 1 }, DEFAULT_POLICY.canary);
    expect(verdict).toMatchObject({ verdict: 'fail', reason: 'error_rate_increase', rule: 'error_rate' });
    expect(decideRollback({ kind: 'verdict', verdict }, CTX).rule).toBe('error_rate');
    expect(decideRollback({ kind: 'manual', actor: 'alice', note: 'x' }, CTX).rule ?? null).toBeNull();
  });
});
