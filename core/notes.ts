import type { ReleaseManifest } from './manifest.js';

/** Display name of a model in titles: the product name for `builderbrain`, the model name otherwise. */
export function displayName(model: string): string {
  return model === 'builderbrain' ? 'BuilderBrain' : model;
}

const signedPct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`;

/** The "📊 Performance Impact" lines, measured by the shadow evaluation (candidate vs baseline). */
export function performanceImpact(m: ReleaseManifest): string[] {
  const s = m.shadowEvaluation;
  const lines: string[] = [];
  const perf = (s.performance.candidate - s.performance.baseline) / s.performance.baseline;
  lines.push(`Performance score: ${signedPct(perf)} (${s.performance.candidate} vs ${s.performance.baseline})`);
  const dv = s.riskEnergy.candidate - s.riskEnergy.baseline;
  const rel = s.riskEnergy.baseline > 0 ? ` (${signedPct(dv / s.riskEnergy.baseline)})` : '';
  lines.push(`Risk energy (V_s): ${dv >= 0 ? '+' : '−'}${Math.abs(dv).toFixed(3)}${rel}, ${s.riskEnergy.candidate} vs ${s.riskEnergy.baseline}`);
  lines.push(`Constraint satisfaction: ${(s.constraintSatisfaction * 100).toFixed(1)}%`);
  if (s.grammarCompliance !== undefined) lines.push(`Grammar compliance: ${(s.grammarCompliance * 100).toFixed(1)}%`);
  if (s.planExecutionSuccess !== undefined) lines.push(`Plan execution success: ${(s.planExecutionSuccess * 100).toFixed(1)}%`);
  lines.push(`Tests: ${s.tests.passed} passed, ${s.tests.failed} failed`);
  return lines;
}

/**
 * Release notes in the format of RELEASE.md §9.1: a section only when it has entries; breaking
 * changes end with the migration guide; the performance impact comes from the shadow evaluation.
 */
export function releaseNotes(m: ReleaseManifest): string {
  const out: string[] = [`# ${displayName(m.model)} v${m.version} Release Notes`];
  const section = (title: string, items: readonly string[] | undefined, extra: string[] = []): void => {
    const lines = [...(items ?? []), ...extra];
    if (lines.length === 0) return;
    out.push('', `## ${title}`, ...lines.map((l) => `- ${l}`));
  };
  section('🚀 New Features', m.changelog.features);
  section('🔧 Improvements', m.changelog.improvements);
  section('🐛 Bug Fixes', m.changelog.fixes);
  section('⚠️ Breaking Changes', m.changelog.breaking, m.migrationGuide ? [`Migration guide: ${m.migrationGuide}`] : []);
  section('📊 Performance Impact', performanceImpact(m));
  section('🔒 Security Updates', m.changelog.security);
  return `${out.join('\n')}\n`;
}
