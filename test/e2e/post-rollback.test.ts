/**
 * The post-rollback analysis end to end: every simulated regression is rolled back, the recovery
 * step writes the report the incident links, and the summary and the HTML report show it. The
 * onset is checked against the minute the scenario's regression really began.
 */
import { describe, expect, it } from 'vitest';
import { analysisUri, PostRollbackReportSchema, analysisKey } from '../../core/post-rollback.js';
import { renderReport } from '../../local/report.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { reportInput, simulate } from '../../local/simulate.js';

const run = (name: string) => simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === name)! });

/** Minutes the estimated onset may be off the scenario's own, and the failure mode expected. */
const REGRESSIONS = [
  ['error-spike-at-10pct', 'reliability', 'error_rate'],
  ['latency-regression', 'performance', null],
  ['safety-violation', 'safety', 'safety_incidents'],
  ['constraint-surge', 'quality', 'constraint_violations'],
  ['regression-under-load-at-50pct', null, null],
  ['risk-energy-drift', 'safety', 'risk_energy'],
  ['bake-regression', 'reliability', 'error_rate'],
] as const;
const TOLERANCE = 3;

describe('post-rollback analysis of the simulated regressions', () => {
  it.each(REGRESSIONS)('%s: onset within 3 minutes of the regression, failure mode %s', async (name, mode, signal) => {
    const r = await run(name);
    expect(r.summary.outcome).toBe('rolled_back');
    const a = r.summary.analysis!;
    expect(a.uri).toBe(analysisUri(r.runtime.bucket, r.releaseId!));
    if (mode !== null) expect(a.failureMode).toBe(mode);
    else expect(['reliability', 'performance']).toContain(a.failureMode);
    if (signal !== null) expect(a.onset!.signal).toBe(signal);
    const began = r.summary.rollback!.regressionStartedAtMinute!;
    expect(Math.abs(a.onset!.atMinute - began), `onset ${a.onset!.atMinute}, regression ${began}`).toBeLessThanOrEqual(TOLERANCE);
    expect(a.onset!.atMinute).toBeLessThanOrEqual(r.summary.rollback!.atMinute);
    // The stored report is what the summary says.
    const stored = PostRollbackReportSchema.parse(JSON.parse((await r.runtime.artifacts.getObjectText({ bucket: r.runtime.bucket, key: analysisKey(r.releaseId!), versionId: null }, 1e6)).text));
    expect(stored.failureMode.mode).toBe(a.failureMode);
    // The incident links it.
    expect(r.runtime.incidents[0]!.text).toContain(`Analysis: ${a.uri}`);
  }, 60_000);

  it('the HTML report has the Analysis section and an onset marker; the --json summary the analysis key', async () => {
    const r = await run('error-spike-at-10pct');
    const html = renderReport(reportInput(r, null));
    expect(html).toContain('<h2>Analysis</h2><table id="analysis"><tr><th>failure mode</th><td>reliability (from reason error_rate_increase)</td></tr>');
    expect(html).toMatch(/<tr><th>estimated onset<\/th><td>minute 86 on error_rate, confidence 100\.0%, 13 min before the rollback<\/td><\/tr>/);
    expect(html).toMatch(/estimated onset \(post-rollback analysis\): error_rate/);
    expect(Object.keys(r.summary).indexOf('analysis')).toBeGreaterThan(Object.keys(r.summary).indexOf('audit'));
    expect(r.summary.rollback!.regressionStartedAtMinute).toBe(86);
  }, 60_000);

  it('a healthy release has no analysis: no key, no section, nothing written', async () => {
    const r = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!, phaseMinutes: 10 });
    expect(r.summary).not.toHaveProperty('analysis');
    expect(renderReport(reportInput(r, null))).not.toContain('<h2>Analysis</h2>');
    await expect(r.runtime.artifacts.getObjectText({ bucket: r.runtime.bucket, key: analysisKey(r.releaseId!), versionId: null }, 1e6)).rejects.toThrow(/NoSuchKey/);
  }, 60_000);
});
