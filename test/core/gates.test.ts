import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluateGates, expectedVersion, type GateCheck, type GateName } from '../../core/gates.js';
import { ReleaseManifestSchema, type ReleaseManifest } from '../../core/manifest.js';
import { DEFAULT_POLICY, GatePolicySchema, PolicySchema, THRESHOLD_TOLERANCE, type GatePolicy } from '../../core/policy.js';
import { parseWith } from '../../core/validation.js';

/** A mutable deep copy of a manifest, for building test cases. */
type Draft = { -readonly [K in keyof ReleaseManifest]: ReleaseManifest[K] } & Record<string, unknown>;

const BASE: ReleaseManifest = ReleaseManifestSchema.parse(
  JSON.parse(readFileSync(fileURLToPath(new URL('../../examples/minor-pass.json', import.meta.url)), 'utf8')),
);

/** examples/minor-pass.json with `edit` applied, re-validated so every test manifest is a valid one. */
function manifest(edit: (m: Draft) => void = () => {}): ReleaseManifest {
  const m = structuredClone(BASE) as Draft;
  edit(m);
  return ReleaseManifestSchema.parse(m);
}

const GATES = DEFAULT_POLICY.gates;
const ORDER: GateName[] = ['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility'];

function check(m: ReleaseManifest, name: GateName, policy: GatePolicy = GATES): GateCheck {
  const c = evaluateGates(m, policy).checks.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no ${name} check`);
  return c;
}

describe('example manifest', () => {
  it('minor-pass.json passes every gate', () => {
    const r = evaluateGates(BASE, GATES);
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(ORDER);
    expect(r.checks.every((c) => c.passed)).toBe(true);
  });
});

describe('safety gate: ΔV_s = candidate − baseline ≤ 0', () => {
  it.each([
    ['ΔV_s = 0 (equal)', 0.43, 0.43, true],
    ['ΔV_s = +1e-6', 0.430001, 0.43, false],
    ['ΔV_s = −1e-6', 0.429999, 0.43, true],
    ['ΔV_s = +0.01', 0.44, 0.43, false],
    ['ΔV_s = −0.02 (example)', 0.41, 0.43, true],
    ['both zero', 0, 0, true],
  ])('%s → passed=%s', (_label, candidate, baseline, passed) => {
    const c = check(manifest((m) => (m.shadowEvaluation.riskEnergy = { candidate, baseline })), 'safety');
    expect(c.passed).toBe(passed);
    expect(c.value).toBeCloseTo(candidate - baseline, 12);
    expect(c.threshold).toBe(0);
    expect(c.message).toContain(String(candidate));
    expect(c.message).toContain(String(baseline));
    expect(c.message).toMatch(passed ? /does not exceed/ : /risk energy increases/);
  });
});

describe('performance gate: relative delta ≥ −0.05', () => {
  it.each([
    ['exactly −5% (0.95 vs 1.0)', 0.95, 1.0, true],
    ['exactly −5%, float-noisy (0.76 vs 0.8)', 0.76, 0.8, true],
    ['exactly −5%, float-noisy (0.779 vs 0.82)', 0.779, 0.82, true],
    ['−5.00001% (0.9499999 vs 1.0)', 0.9499999, 1.0, false],
    ['−4.9999% (0.950001 vs 1.0)', 0.950001, 1.0, true],
    ['−10%', 0.9, 1.0, false],
    ['improvement +5%', 1.05, 1.0, true],
    ['example −0.98%', 0.812, 0.82, true],
  ])('%s → passed=%s', (_label, candidate, baseline, passed) => {
    const c = check(manifest((m) => (m.shadowEvaluation.performance = { candidate, baseline })), 'performance');
    expect(c.passed).toBe(passed);
    expect(c.value).toBeCloseTo((candidate - baseline) / baseline, 12);
    expect(c.threshold).toBe(-0.05);
    expect(c.message).toContain(String(candidate));
    expect(c.message).toMatch(passed ? /within the allowed/ : /regresses/);
  });

  it('the float-noisy −5% cases really are off −0.05 in floating point (so the tolerance matters)', () => {
    // If these were exactly −0.05 the tolerance would not be exercised by the table above.
    expect((0.95 - 1.0) / 1.0).not.toBe(-0.05);
    expect((0.95 - 1.0) / 1.0).toBeLessThan(-0.05);
  });
});

describe('constraints gate: satisfaction ≥ 0.95', () => {
  it.each([
    [0.95, true],
    [0.9499999, false],
    [0.9500001, true],
    [0.94, false],
    [1, true],
    [0, false],
  ])('%s → passed=%s', (score, passed) => {
    const c = check(manifest((m) => (m.shadowEvaluation.constraintSatisfaction = score)), 'constraints');
    expect(c.passed).toBe(passed);
    expect(c.value).toBe(score);
    expect(c.threshold).toBe(0.95);
    expect(c.message).toMatch(passed ? /meets the minimum 95\.00%/ : /below the minimum 95\.00%/);
  });
});

describe('tests gate: failed = 0 and passed > 0', () => {
  it.each([
    [1284, 0, true, /all 1284 tests passed/],
    [1, 0, true, /all 1 tests passed/],
    [0, 0, false, /no test ran/],
    [1284, 1, false, /1 test\(s\) failed \(1284 passed\)/],
    [0, 3, false, /3 test\(s\) failed/],
  ])('passed=%s failed=%s → %s', (ok, failed, passed, message) => {
    const c = check(manifest((m) => (m.shadowEvaluation.tests = { passed: ok, failed })), 'tests');
    expect(c.passed).toBe(passed);
    expect(c.value).toBe(failed);
    expect(c.threshold).toBe(0);
    expect(c.message).toMatch(message);
  });
});

describe('threshold tolerance (policy.md §1: 1e-9)', () => {
  it('is 1e-9', () => {
    expect(THRESHOLD_TOLERANCE).toBe(1e-9);
  });

  it.each([
    ['safety ΔV_s = +5e-10 (inside the tolerance)', (m: Draft) => (m.shadowEvaluation.riskEnergy = { candidate: 0.5 + 5e-10, baseline: 0.5 }), 'safety', true],
    ['safety ΔV_s = +2e-9 (outside)', (m: Draft) => (m.shadowEvaluation.riskEnergy = { candidate: 0.5 + 2e-9, baseline: 0.5 }), 'safety', false],
    ['performance −0.05 − 5e-10 (inside)', (m: Draft) => (m.shadowEvaluation.performance = { candidate: 0.95 - 5e-10, baseline: 1 }), 'performance', true],
    ['performance −0.05 − 2e-9 (outside)', (m: Draft) => (m.shadowEvaluation.performance = { candidate: 0.95 - 2e-9, baseline: 1 }), 'performance', false],
    ['constraints 0.95 − 5e-10 (inside)', (m: Draft) => (m.shadowEvaluation.constraintSatisfaction = 0.95 - 5e-10), 'constraints', true],
    ['constraints 0.95 − 2e-9 (outside)', (m: Draft) => (m.shadowEvaluation.constraintSatisfaction = 0.95 - 2e-9), 'constraints', false],
  ] as const)('%s', (_label, edit, name, passed) => {
    expect(check(manifest(edit), name).passed).toBe(passed);
  });
});

describe('version gate: semver order and release-type bump', () => {
  type Row = [string, ReleaseManifest['releaseType'], string, string | null, boolean];
  const rows: Row[] = [
    // ordering, with pre-release tags
    ['pre-release of the next minor', 'minor', '2.1.0-rc.1', '2.0.3', true],
    ['finishing a pre-release', 'minor', '2.1.0', '2.1.0-rc.1', true],
    ['next pre-release of the same version', 'minor', '2.1.0-rc.2', '2.1.0-rc.1', true],
    ['pre-release of the production version (sorts below it)', 'patch', '2.0.3-rc.1', '2.0.3', false],
    ['equal version', 'minor', '2.0.3', '2.0.3', false],
    ['equal pre-release', 'minor', '2.1.0-rc.1', '2.1.0-rc.1', false],
    ['going back 2.1.0 → 2.0.9', 'patch', '2.0.9', '2.1.0', false],
    ['numeric, not lexical, order 1.9.0 → 1.10.0', 'minor', '1.10.0', '1.9.0', true],
    // bumps that match their type
    ['major 2.0.3 → 3.0.0', 'major', '3.0.0', '2.0.3', true],
    ['major pre-release 2.0.3 → 3.0.0-beta.1', 'major', '3.0.0-beta.1', '2.0.3', true],
    ['minor 2.0.3 → 2.1.0', 'minor', '2.1.0', '2.0.3', true],
    ['patch 2.0.3 → 2.0.4', 'patch', '2.0.4', '2.0.3', true],
    ['patch pre-release 2.0.3 → 2.0.4-rc.1', 'patch', '2.0.4-rc.1', '2.0.3', true],
    // wrong bumps
    ['major that skips 2.0.3 → 4.0.0', 'major', '4.0.0', '2.0.3', false],
    ['major that bumps only the minor', 'major', '2.1.0', '2.0.3', false],
    ['minor that skips 2.0.3 → 2.2.0', 'minor', '2.2.0', '2.0.3', false],
    ['minor that keeps the patch 2.0.3 → 2.1.3', 'minor', '2.1.3', '2.0.3', false],
    ['minor that bumps the major', 'minor', '3.0.0', '2.0.3', false],
    ['patch that bumps the minor', 'patch', '2.1.0', '2.0.3', false],
    ['patch that skips 2.0.3 → 2.0.5', 'patch', '2.0.5', '2.0.3', false],
    // first release
    ['first release', 'minor', '0.1.0', null, true],
    ['first release, pre-release tag', 'patch', '1.0.0-rc.1', null, true],
  ];

  it.each(rows)('%s (%s %s after %s) → passed=%s', (_label, releaseType, version, previousVersion, passed) => {
    const m = manifest((d) => {
      d.version = version;
      d.previousVersion = previousVersion;
      d.releaseType = releaseType;
      if (releaseType === 'major') d.migrationGuide = 'https://example.com/migrate';
    });
    const c = check(m, 'version');
    expect(c.passed).toBe(passed);
    expect(c.value).toBe(version);
    expect(String(c.threshold).length).toBeGreaterThan(0);
    expect(c.message).toContain(version);
    if (previousVersion !== null) expect(c.message).toContain(previousVersion);
  });

  it('a wrong bump names the expected version', () => {
    const c = check(manifest((d) => (d.version = '2.2.0')), 'version');
    expect(c.threshold).toBe('2.1.0');
    expect(c.message).toMatch(/must be 2\.1\.0/);
  });

  it('a version that is not greater says so', () => {
    const c = check(manifest((d) => (d.version = '2.0.3')), 'version');
    expect(c.threshold).toBe('> 2.0.3');
    expect(c.message).toMatch(/not greater than the production version 2\.0\.3/);
  });

  it.each([
    ['2.0.3', 'major', '3.0.0'],
    ['2.0.3', 'minor', '2.1.0'],
    ['2.0.3', 'patch', '2.0.4'],
    ['2.1.0-rc.1', 'minor', '2.2.0'],
    ['0.9.9', 'major', '1.0.0'],
  ] as const)('expectedVersion(%s, %s) = %s', (prev, type, expected) => {
    expect(expectedVersion(prev, type)).toBe(expected);
  });

  it('expectedVersion rejects a non-semver previous version', () => {
    expect(() => expectedVersion('two', 'minor')).toThrow(/not a semantic version/);
  });
});

describe('compatibility gate', () => {
  type Row = [string, ReleaseManifest['releaseType'], string, string | null, string[], string | null, boolean];
  const rows: Row[] = [
    ['patch without breaking changes', 'patch', '2.0.4', '2.0.3', [], null, true],
    ['patch with a breaking change', 'patch', '2.0.4', '2.0.3', ['Removed the v1 API'], null, false],
    ['minor without breaking changes', 'minor', '2.1.0', '2.0.3', [], null, true],
    ['minor with breaking changes', 'minor', '2.1.0', '2.0.3', ['Removed the v1 API', 'Renamed a field'], null, false],
    ['major with a migration guide', 'major', '3.0.0', '2.0.3', ['Removed the v1 API'], 'https://example.com/migrate-3', true],
    ['major of an existing model without a guide', 'major', '3.0.0', '2.0.3', ['Removed the v1 API'], null, false],
    ['first major release without a guide', 'major', '1.0.0', null, [], null, true],
  ];

  it.each(rows)('%s → passed=%s', (_label, releaseType, version, previousVersion, breaking, migrationGuide, passed) => {
    const m = manifest((d) => {
      d.releaseType = releaseType;
      d.version = version;
      d.previousVersion = previousVersion;
      d.changelog = { ...d.changelog, breaking };
      d.migrationGuide = migrationGuide;
    });
    const c = check(m, 'compatibility');
    expect(c.passed).toBe(passed);
    expect(c.value).toBeDefined();
    expect(String(c.threshold).length).toBeGreaterThan(0);
    expect(c.message.length).toBeGreaterThan(0);
    if (releaseType !== 'major') {
      expect(c.value).toBe(breaking.length);
      expect(c.threshold).toBe(0);
    }
    if (!passed && releaseType === 'major') expect(c.message).toMatch(/migration guide/);
    if (!passed && releaseType !== 'major') expect(c.message).toMatch(/must not have breaking changes/);
  });

  it('a missing breaking list counts as none', () => {
    const m = manifest((d) => {
      d.releaseType = 'patch';
      d.version = '2.0.4';
      d.changelog = { fixes: ['x'] };
    });
    expect(check(m, 'compatibility').passed).toBe(true);
  });
});

describe('every check is always reported', () => {
  const allBad = manifest((d) => {
    d.shadowEvaluation.riskEnergy = { candidate: 0.5, baseline: 0.4 };
    d.shadowEvaluation.performance = { candidate: 0.7, baseline: 0.8 };
    d.shadowEvaluation.constraintSatisfaction = 0.9;
    d.shadowEvaluation.tests = { passed: 10, failed: 2 };
    d.version = '2.0.3';
    d.changelog = { breaking: ['Removed the v1 API'] };
  });

  it('reports all 6 checks, in policy order, when all fail', () => {
    const r = evaluateGates(allBad, GATES);
    expect(r.passed).toBe(false);
    expect(r.checks.map((c) => c.name)).toEqual(ORDER);
    expect(r.checks.map((c) => c.passed)).toEqual([false, false, false, false, false, false]);
  });

  it('reports all 6 checks when only some fail, and fails the release', () => {
    const m = manifest((d) => {
      d.shadowEvaluation.constraintSatisfaction = 0.9;
      d.shadowEvaluation.tests = { passed: 10, failed: 1 };
    });
    const r = evaluateGates(m, GATES);
    expect(r.passed).toBe(false);
    expect(r.checks.map((c) => c.name)).toEqual(ORDER);
    expect(r.checks.map((c) => c.passed)).toEqual([true, true, false, false, true, true]);
  });

  it.each([['all failing', allBad], ['all passing', BASE]] as const)('each check has a value, a threshold and a message (%s)', (_l, m) => {
    for (const c of evaluateGates(m, GATES).checks) {
      expect(['number', 'string']).toContain(typeof c.value);
      expect(['number', 'string']).toContain(typeof c.threshold);
      if (typeof c.value === 'number') expect(Number.isFinite(c.value)).toBe(true);
      expect(c.message.trim().length).toBeGreaterThan(10);
    }
  });

  it.each([
    ['safety', (d: Draft): void => {
      d.shadowEvaluation.riskEnergy = { candidate: 0.44, baseline: 0.43 };
    }],
    ['performance', (d: Draft): void => {
      d.shadowEvaluation.performance = { candidate: 0.7, baseline: 0.8 };
    }],
    ['constraints', (d: Draft): void => {
      d.shadowEvaluation.constraintSatisfaction = 0.9;
    }],
    ['tests', (d: Draft): void => {
      d.shadowEvaluation.tests = { passed: 0, failed: 0 };
    }],
    ['version', (d: Draft): void => {
      d.version = '2.2.0';
    }],
    ['compatibility', (d: Draft): void => {
      d.changelog = { breaking: ['Removed the v1 API'] };
    }],
  ] as const)('a single failing %s check fails the release, and only that check fails', (name, edit) => {
    const r = evaluateGates(manifest(edit), GATES);
    expect(r.passed).toBe(false);
    expect(r.checks.map((c) => c.name)).toEqual(ORDER);
    expect(r.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([name]);
  });
});

describe('policy overrides', () => {
  it('a looser performance threshold lets an 8% regression pass', () => {
    const m = manifest((d) => (d.shadowEvaluation.performance = { candidate: 0.92, baseline: 1 }));
    expect(check(m, 'performance').passed).toBe(false);
    const loose = GatePolicySchema.parse({ minPerformanceDelta: -0.1 });
    const c = check(m, 'performance', loose);
    expect(c.passed).toBe(true);
    expect(c.threshold).toBe(-0.1);
    expect(evaluateGates(m, loose).passed).toBe(true);
  });

  it('a stricter constraint minimum fails the example', () => {
    const strict = GatePolicySchema.parse({ minConstraintSatisfaction: 0.99 });
    const c = check(BASE, 'constraints', strict);
    expect(c.passed).toBe(false);
    expect(c.threshold).toBe(0.99);
    expect(c.message).toMatch(/99\.00%/);
    expect(evaluateGates(BASE, strict).passed).toBe(false);
  });

  it('an allowed risk-energy increase lets a small ΔV_s pass, and the override is exact at its threshold', () => {
    const m = manifest((d) => (d.shadowEvaluation.riskEnergy = { candidate: 0.45, baseline: 0.43 }));
    expect(check(m, 'safety').passed).toBe(false);
    expect(check(m, 'safety', { ...GATES, maxRiskEnergyDelta: 0.02 }).passed).toBe(true);
    expect(check(m, 'safety', { ...GATES, maxRiskEnergyDelta: 0.0199 }).passed).toBe(false);
  });

  it('the full policy parses from {} to the documented defaults', () => {
    const p = PolicySchema.parse({});
    expect(p.gates).toEqual({ maxRiskEnergyDelta: 0, minPerformanceDelta: -0.05, minConstraintSatisfaction: 0.95 });
    // policy.md §3 thresholds, pinned to the spec's numbers (not to the schema's own output)
    expect(p.canary).toMatchObject({
      errorRateRatio: 1.5,
      maxConstraintViolationRate: 0.05,
      latencyRatioWarn: 1.1,
      latencyRatioCritical: 1.2,
      riskEnergyMinIncrease: 0,
      maxSafetyIncidents: 0,
    });
    expect(DEFAULT_POLICY).toEqual(p);
    expect(PolicySchema.parse({ gates: { minConstraintSatisfaction: 0.9 } }).gates).toEqual({
      maxRiskEnergyDelta: 0,
      minPerformanceDelta: -0.05,
      minConstraintSatisfaction: 0.9,
    });
  });
});

describe('PolicySchema rejects bad config, naming the field', () => {
  it.each([
    ['positive performance delta', { gates: { minPerformanceDelta: 0.1 } }, 'gates.minPerformanceDelta'],
    ['constraint minimum above 1', { gates: { minConstraintSatisfaction: 1.5 } }, 'gates.minConstraintSatisfaction'],
    ['non-number threshold', { gates: { maxRiskEnergyDelta: 'zero' } }, 'gates.maxRiskEnergyDelta'],
    ['infinite threshold', { gates: { maxRiskEnergyDelta: Number.POSITIVE_INFINITY } }, 'gates.maxRiskEnergyDelta'],
    ['unknown gate field', { gates: { maxRiskDelta: 0 } }, 'gates.maxRiskDelta'],
    ['unknown top-level field', { gate: {} }, 'gate'],
    ['error-rate ratio ≤ 1', { canary: { errorRateRatio: 1 } }, 'canary.errorRateRatio'],
    ['false-alarm budget too large', { canary: { falseAlarmRatePerPhase: 0.6 } }, 'canary.falseAlarmRatePerPhase'],
    ['fractional minimum requests', { canary: { minCanaryRequests: 2.5 } }, 'canary.minCanaryRequests'],
    ['violation ceiling of 1', { canary: { maxConstraintViolationRate: 1 } }, 'canary.maxConstraintViolationRate'],
  ])('%s → %s', (_label, config, path) => {
    const parsed = parseWith(PolicySchema, config);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => i.path)).toContain(path);
  });

  it('names every bad field at once', () => {
    const parsed = parseWith(PolicySchema, { gates: { minPerformanceDelta: 0.1, minConstraintSatisfaction: -1 }, canary: { latencyRatioWarn: 0.5 } });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => i.path).sort()).toEqual(
      ['canary.latencyRatioWarn', 'gates.minConstraintSatisfaction', 'gates.minPerformanceDelta'].sort(),
    );
  });
});
