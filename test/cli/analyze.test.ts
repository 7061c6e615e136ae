/** `builderbrain analyze`: the post-rollback analysis of a release, stored or computed from the ledger. */
import { describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../cli/commands/analyze.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { run as runCli } from '../../cli/program.js';
import { analysisKey, PostRollbackReportSchema } from '../../core/post-rollback.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';
import { ledgerBackend } from '../support/backend.js';
import { terminal } from '../support/terminal.js';

async function after(name: string, withBucket: boolean): Promise<OperatorBackend> {
  const r = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === name)!, phaseMinutes: name === 'healthy' ? 10 : undefined });
  const backend = ledgerBackend('the test ledger', r.runtime.ledger);
  return withBucket ? { ...backend, artifacts: { bucket: r.runtime.bucket, store: r.runtime.artifacts } } : backend;
}
const args = { local: false, stack: 'S', stateDir: '.x' };

describe('builderbrain analyze', () => {
  it('prints the report the pipeline stored: failure mode, onset, signals, the rule that fired, candidate causes, timeline', async () => {
    const { io, out } = terminal();
    expect(await analyzeCommand(io, await after('error-spike-at-10pct', true), 'builderbrain@2.1.0', args)).toBe(0);
    const md = out.stdout;
    expect(md).toMatch(/^# Post-rollback analysis: builderbrain 2\.1\.0\n/);
    expect(md).toMatch(/reliability — from reason error_rate_increase\./);
    expect(md).toMatch(/minute \d+ of the window, .* \(phase 2 at 10%\), 13 min before the rollback; located on error_rate, confidence (99\.\d|100\.0)%/);
    expect(md).toMatch(/\| error_rate \| .* \| 2\.\d\d× \|/);
    expect(md).toMatch(/- ✗ error_rate: error rate/);
    expect(md).toMatch(/- \[fixes\] Fixed memory leak in dual-rail fusion/);
    expect(md).toContain('## Timeline (from the audit ledger)');
    expect(out.stderr).toBe('');
  }, 60_000);

  it('--json --out: the report, parsed by its schema; without a bucket it is computed from the ledger (no onset, said so)', async () => {
    const written: { path: string; text: string }[] = [];
    const { io, out } = terminal();
    const code = await analyzeCommand({ ...io, writeFile: async (path, text) => void written.push({ path, text }) }, await after('constraint-surge', false), 'builderbrain@2.1.0', { ...args, json: true, out: 'a.json' });
    expect(code).toBe(0);
    expect(out.stdout).toMatch(/Post-rollback analysis of builderbrain-2_1_0-[0-9a-f]{8} \(computed from the ledger\) → a\.json/);
    const report = PostRollbackReportSchema.parse(JSON.parse(written[0]!.text));
    expect(report.failureMode.mode).toBe('quality');
    expect(report.onset).toBeNull();
    expect(report.notes).toContain('metrics were not available: the onset was not estimated');
  }, 60_000);

  it('a stored report that cannot be read: computed instead, and the note says why', async () => {
    const backend = await after('latency-regression', true);
    const broken = { ...backend, artifacts: { bucket: 'bb', store: { getObjectText: async () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDenied' })) } } };
    const { io, out } = terminal();
    expect(await analyzeCommand(io, broken, 'builderbrain@2.1.0', { ...args, json: true })).toBe(0);
    const report = PostRollbackReportSchema.parse(JSON.parse(out.stdout));
    expect(report.failureMode.mode).toBe('performance');
    expect(report.notes.at(-1)).toMatch(/the stored report s3:\/\/bb\/analysis\/.* could not be read \(denied\): computed from the ledger/);
  }, 60_000);

  it('a release that was not rolled back: exit 1, one sentence, no stack trace', async () => {
    const { io, out } = terminal();
    expect(await analyzeCommand(io, await after('healthy', true), 'builderbrain', args)).toBe(1);
    expect(out.stderr).toMatch(/^error: release builderbrain-2_1_0-[0-9a-f]{8} was not rolled back \(it is (promoted|released)\): there is nothing to analyse\. `builderbrain retro/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('a release the ledger does not know: exit 1', async () => {
    const { io, out } = terminal();
    expect(await analyzeCommand(io, await after('healthy', false), 'builderbrain-9_9_9-00000000', args)).toBe(1);
    expect(out.stderr).toMatch(/release builderbrain-9_9_9-00000000 is not in the audit ledger of the test ledger/);
  }, 60_000);

  it('bad input is refused before anything is read (exit 2), and the command is registered', async () => {
    const { io, out } = terminal();
    expect(await runCli(['analyze', 'Not A Release!'], io)).toBe(2);
    expect(out.stderr).toMatch(/'Not A Release!' names no release/);
    const help = terminal();
    expect(await runCli(['analyze', '--help'], help.io)).toBe(0);
    expect(help.out.stdout).toMatch(/--json/);
    expect(help.out.stdout).toMatch(/--local/);
    expect(analysisKey('x')).toBe('analysis/x.json');
  });
});

describe('builderbrain retro uses the analysis', () => {
  it('a rolled-back release: failure mode, onset and candidate causes prefilled', async () => {
    const { retroCommand } = await import('../../cli/commands/retro.js');
    const { io, out } = terminal();
    expect(await retroCommand(io, await after('error-spike-at-10pct', true), 'builderbrain@2.1.0', args)).toBe(0);
    expect(out.stdout).toMatch(/## Post-rollback analysis\n\n- Failure mode: reliability \(from reason error_rate_increase\)\.\n- Estimated onset: minute \d+ of the window/);
    expect(out.stdout).toMatch(/- Candidate cause \[fixes\]: Fixed memory leak in dual-rail fusion \(mentions memory\)/);
    expect(out.stdout).toMatch(/- \[ \] Find the cause of error_rate_increase in 2\.1\.0 \(see the evidence above and the candidate causes of the analysis\)/);
  }, 60_000);
});
