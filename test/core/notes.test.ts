import { describe, expect, it } from 'vitest';
import { ReleaseManifestSchema, type ReleaseManifest } from '../../core/manifest.js';
import { releaseNotes } from '../../core/notes.js';

/** The section headings of RELEASE.md §9.1, in order. */
const HEADINGS = [
  '## 🚀 New Features',
  '## 🔧 Improvements',
  '## 🐛 Bug Fixes',
  '## ⚠️ Breaking Changes',
  '## 📊 Performance Impact',
  '## 🔒 Security Updates',
];

function manifest(overrides: Partial<ReleaseManifest> = {}): ReleaseManifest {
  return ReleaseManifestSchema.parse({
    model: 'builderbrain',
    version: '3.0.0',
    previousVersion: '2.1.0',
    releaseType: 'major',
    artifact: { uri: 's3://example-artifacts/models/builderbrain/3.0.0/model.tar.gz', sha256: 'a'.repeat(64) },
    shadowEvaluation: {
      riskEnergy: { candidate: 0.38, baseline: 0.41 },
      performance: { candidate: 0.851, baseline: 0.812 },
      constraintSatisfaction: 0.98,
      tests: { passed: 1402, failed: 0 },
      grammarCompliance: 0.991,
      planExecutionSuccess: 0.962,
    },
    changelog: {
      features: ['Enhanced grammar parsing with CFG/PEG support', 'New domain-specific plan schemas'],
      improvements: ['15% reduction in inference latency'],
      fixes: ['Fixed memory leak in dual-rail fusion'],
      breaking: ['Updated API response format for plan execution'],
      security: ['Updated dependency vulnerabilities'],
    },
    migrationGuide: 'https://docs.example.com/builderbrain/migrating-to-3.0',
    owner: 'ml-platform',
    ...overrides,
  });
}

const headings = (notes: string): string[] => notes.split('\n').filter((l) => l.startsWith('## '));

/** The lines of one section, without its heading. */
function section(notes: string, heading: string): string[] {
  const lines = notes.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l === '' || l.startsWith('## '));
  return end < 0 ? rest : rest.slice(0, end);
}

describe('releaseNotes (RELEASE.md §9.1)', () => {
  it('has the title and every section, in the order and with the headings of §9.1', () => {
    const notes = releaseNotes(manifest());
    expect(notes.split('\n')[0]).toBe('# BuilderBrain v3.0.0 Release Notes');
    expect(headings(notes)).toEqual(HEADINGS);
    expect(section(notes, '## 🚀 New Features')).toEqual([
      '- Enhanced grammar parsing with CFG/PEG support',
      '- New domain-specific plan schemas',
    ]);
    expect(section(notes, '## 🔒 Security Updates')).toEqual(['- Updated dependency vulnerabilities']);
  });

  it('separates sections by one blank line and ends with a single newline', () => {
    const notes = releaseNotes(manifest());
    expect(notes.endsWith('\n')).toBe(true);
    expect(notes.endsWith('\n\n')).toBe(false);
    for (const h of HEADINGS) expect(notes).toContain(`\n\n${h}\n- `);
    expect(notes).not.toMatch(/\n\n\n/);
  });

  it('shows a section only when it has entries (Performance Impact always has some)', () => {
    const notes = releaseNotes(
      manifest({
        version: '2.1.1',
        previousVersion: '2.1.0',
        releaseType: 'patch',
        migrationGuide: null,
        changelog: { features: [], fixes: ['Corrected grammar energy computation'] },
      }),
    );
    expect(headings(notes)).toEqual(['## 🐛 Bug Fixes', '## 📊 Performance Impact']);
    expect(notes).not.toMatch(/## 🚀|## 🔧|## ⚠️|## 🔒/);
  });

  it('ends Breaking Changes with the migration guide line', () => {
    const notes = releaseNotes(manifest());
    expect(section(notes, '## ⚠️ Breaking Changes')).toEqual([
      '- Updated API response format for plan execution',
      '- Migration guide: https://docs.example.com/builderbrain/migrating-to-3.0',
    ]);
  });

  it('has no migration guide line when there is no guide', () => {
    const notes = releaseNotes(manifest({ migrationGuide: null }));
    expect(section(notes, '## ⚠️ Breaking Changes')).toEqual(['- Updated API response format for plan execution']);
    expect(notes).not.toContain('Migration guide');
  });

  it('reports the performance impact measured by the shadow evaluation', () => {
    const notes = releaseNotes(manifest());
    expect(section(notes, '## 📊 Performance Impact')).toEqual([
      '- Performance score: +4.8% (0.851 vs 0.812)',
      '- Risk energy (V_s): −0.030 (−7.3%), 0.38 vs 0.41',
      '- Constraint satisfaction: 98.0%',
      '- Grammar compliance: 99.1%',
      '- Plan execution success: 96.2%',
      '- Tests: 1402 passed, 0 failed',
    ]);
  });

  it('leaves out the optional scores when the shadow evaluation has none, and handles a zero baseline', () => {
    const m = manifest();
    const notes = releaseNotes({
      ...m,
      shadowEvaluation: {
        riskEnergy: { candidate: 0.05, baseline: 0 },
        performance: { candidate: 0.7, baseline: 0.8 },
        constraintSatisfaction: 0.955,
        tests: { passed: 10, failed: 0 },
      },
    });
    expect(section(notes, '## 📊 Performance Impact')).toEqual([
      '- Performance score: −12.5% (0.7 vs 0.8)',
      '- Risk energy (V_s): +0.050, 0.05 vs 0',
      '- Constraint satisfaction: 95.5%',
      '- Tests: 10 passed, 0 failed',
    ]);
  });

  it('uses the model name in the title of other models', () => {
    expect(releaseNotes(manifest({ model: 'planner-lite' })).split('\n')[0]).toBe('# planner-lite v3.0.0 Release Notes');
  });
});
