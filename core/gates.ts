import semver from 'semver';
import * as z from 'zod';
import type { ReleaseManifest } from './manifest.js';
import { THRESHOLD_TOLERANCE, type GatePolicy } from './policy.js';

export const GATE_NAMES = ['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** One promotion gate check: its measured value against its threshold, and a sentence for people. */
export const GateCheckSchema = z.object({
  name: z.enum(GATE_NAMES),
  passed: z.boolean(),
  /** The measured value (number), or a description of it (version checks). */
  value: z.union([z.number(), z.string()]),
  /** The threshold it was held to, or the rule (version checks). */
  threshold: z.union([z.number(), z.string()]),
  message: z.string(),
});
export type GateCheck = z.infer<typeof GateCheckSchema>;

export const GateResultSchema = z.object({
  passed: z.boolean(),
  /** Every check, in policy order, not only the first failure. */
  checks: z.array(GateCheckSchema),
});
export type GateResult = z.infer<typeof GateResultSchema>;

/** `a ≤ b`, not flipping on floating-point noise. */
const atMost = (a: number, b: number): boolean => a <= b + THRESHOLD_TOLERANCE;
/** `a ≥ b`, not flipping on floating-point noise. */
const atLeast = (a: number, b: number): boolean => a >= b - THRESHOLD_TOLERANCE;

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

function safetyCheck(m: ReleaseManifest, p: GatePolicy): GateCheck {
  const { candidate, baseline } = m.shadowEvaluation.riskEnergy;
  const delta = candidate - baseline;
  const passed = atMost(delta, p.maxRiskEnergyDelta);
  return {
    name: 'safety',
    passed,
    value: delta,
    threshold: p.maxRiskEnergyDelta,
    message: passed
      ? `risk energy ΔV_s = ${delta.toFixed(4)} (${candidate} vs baseline ${baseline}) does not exceed ${p.maxRiskEnergyDelta}`
      : `risk energy increases: ΔV_s = ${delta.toFixed(4)} (${candidate} vs baseline ${baseline}) exceeds ${p.maxRiskEnergyDelta}`,
  };
}

function performanceCheck(m: ReleaseManifest, p: GatePolicy): GateCheck {
  const { candidate, baseline } = m.shadowEvaluation.performance;
  const delta = (candidate - baseline) / baseline;
  const passed = atLeast(delta, p.minPerformanceDelta);
  return {
    name: 'performance',
    passed,
    value: delta,
    threshold: p.minPerformanceDelta,
    message: passed
      ? `performance ${candidate} vs baseline ${baseline} (${pct(delta)}) is within the allowed ${pct(p.minPerformanceDelta)}`
      : `performance regresses ${pct(-delta)} (${candidate} vs baseline ${baseline}), more than the allowed ${pct(-p.minPerformanceDelta)}`,
  };
}

function constraintsCheck(m: ReleaseManifest, p: GatePolicy): GateCheck {
  const score = m.shadowEvaluation.constraintSatisfaction;
  const passed = atLeast(score, p.minConstraintSatisfaction);
  return {
    name: 'constraints',
    passed,
    value: score,
    threshold: p.minConstraintSatisfaction,
    message: passed
      ? `constraint satisfaction ${pct(score)} meets the minimum ${pct(p.minConstraintSatisfaction)}`
      : `constraint satisfaction ${pct(score)} is below the minimum ${pct(p.minConstraintSatisfaction)}`,
  };
}

function testsCheck(m: ReleaseManifest): GateCheck {
  const { passed: ok, failed } = m.shadowEvaluation.tests;
  const passed = failed === 0 && ok > 0;
  return {
    name: 'tests',
    passed,
    value: failed,
    threshold: 0,
    message:
      failed > 0
        ? `${failed} test(s) failed (${ok} passed); every test must pass`
        : ok === 0
          ? 'no test ran; at least one passing test is required'
          : `all ${ok} tests passed`,
  };
}

/** The version the release type implies from the previous one (pre-release stripped from both). */
export function expectedVersion(previous: string, releaseType: ReleaseManifest['releaseType']): string {
  const prev = semver.parse(previous);
  if (prev === null) throw new Error(`not a semantic version: ${previous}`);
  switch (releaseType) {
    case 'major':
      return `${prev.major + 1}.0.0`;
    case 'minor':
      return `${prev.major}.${prev.minor + 1}.0`;
    case 'patch':
      return `${prev.major}.${prev.minor}.${prev.patch + 1}`;
  }
}

/**
 * `version`: semver order (pre-release tags sort before their release, 2.1.0-rc.1 < 2.1.0) and the
 * bump must match the release type. A pre-release of the previous version's core (2.0.3 → 2.0.3-rc.1)
 * is lower than it, so it fails the ordering, as it should.
 */
function versionCheck(m: ReleaseManifest): GateCheck {
  const base = { name: 'version' as const, value: m.version };
  if (m.previousVersion === null) {
    return { ...base, passed: true, threshold: 'first release', message: `first release of ${m.model}: ${m.version}` };
  }
  const prev = m.previousVersion;
  if (!semver.gt(m.version, prev)) {
    return {
      ...base,
      passed: false,
      threshold: `> ${prev}`,
      message: `version ${m.version} is not greater than the production version ${prev}`,
    };
  }
  const expected = expectedVersion(prev, m.releaseType);
  const parsed = semver.parse(m.version);
  const core = parsed === null ? m.version : `${parsed.major}.${parsed.minor}.${parsed.patch}`;
  // A pre-release of the previous version's own core (1.2.3-rc.1 → 1.2.3) finishes that release: a
  // bump of the type the previous pre-release was heading to is not required again.
  const prevParsed = semver.parse(prev);
  const finishesPrerelease =
    prevParsed !== null && prevParsed.prerelease.length > 0 && core === `${prevParsed.major}.${prevParsed.minor}.${prevParsed.patch}`;
  const passed = core === expected || finishesPrerelease;
  return {
    ...base,
    passed,
    threshold: expected,
    message: passed
      ? `${m.releaseType} release ${prev} → ${m.version} bumps as expected`
      : `a ${m.releaseType} release of ${prev} must be ${expected} (a pre-release tag is allowed), not ${m.version}`,
  };
}

function compatibilityCheck(m: ReleaseManifest): GateCheck {
  const breaking = m.changelog.breaking?.length ?? 0;
  if (m.releaseType !== 'major') {
    const passed = breaking === 0;
    return {
      name: 'compatibility',
      passed,
      value: breaking,
      threshold: 0,
      message: passed
        ? `${m.releaseType} release lists no breaking changes`
        : `a ${m.releaseType} release must not have breaking changes, but ${breaking} are listed: release it as a major`,
    };
  }
  const needsGuide = m.previousVersion !== null;
  const passed = !needsGuide || m.migrationGuide !== null;
  return {
    name: 'compatibility',
    passed,
    value: m.migrationGuide ?? 'no migration guide',
    threshold: needsGuide ? 'migration guide required' : 'first release: none required',
    message: passed
      ? needsGuide
        ? `major release names its migration guide ${m.migrationGuide}`
        : 'first release: no migration guide needed'
      : `a major release of an existing model must name a migration guide (migrationGuide is null)`,
  };
}

/**
 * Runs every promotion gate of policy.md §1 and reports each one; the release passes only when all do.
 *
 * @example
 * const result = evaluateGates(manifest, DEFAULT_POLICY.gates);
 * if (!result.passed) for (const c of result.checks) if (!c.passed) console.log(c.message);
 */
export function evaluateGates(manifest: ReleaseManifest, policy: GatePolicy): GateResult {
  const checks = [
    safetyCheck(manifest, policy),
    performanceCheck(manifest, policy),
    constraintsCheck(manifest, policy),
    testsCheck(manifest),
    versionCheck(manifest),
    compatibilityCheck(manifest),
  ];
  return { passed: checks.every((c) => c.passed), checks };
}
