/** `builderbrain audit export` (RELEASE.md §12.2): every release since a date and its events, JSON Lines or CSV. */
import { ledgerBackend } from '../support/backend.js';
import { describe, expect, it } from 'vitest';
import { auditExportCommand } from '../../cli/commands/audit.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { csvField, exportRows, formatExport } from '../../core/audit-export.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';
import { baseRecord } from '../local/ledger-fixtures.js';
import { cli } from '../support/cli.js';
import { terminal } from '../support/terminal.js';

describe('the export rows', () => {
  const older = { record: baseRecord('r-old', '2026-01-01T09:00:00.000Z', { version: '2.0.9', status: 'released' }), events: [] };
  const newer = {
    record: baseRecord('r-new', '2026-01-05T09:00:00.000Z', { status: 'rolled_back' }),
    events: [{ releaseId: 'r-new', eventId: 'x', at: '2026-01-05T09:01:00.000Z', type: 'approved' as const, actor: 'alice, "the approver"', phase: 0, weight: 1, detail: {} }],
  };

  it('keeps the releases received since the date, oldest first, each followed by its events in order', () => {
    const rows = exportRows([newer, older], new Date('2026-01-02T00:00:00Z'));
    expect(rows.map((r) => [r.kind, r.releaseId])).toEqual([
      ['release', 'r-new'],
      ['event', 'r-new'],
    ]);
    expect(exportRows([newer, older], new Date('2025-12-31T00:00:00Z')).map((r) => r.releaseId)).toEqual(['r-old', 'r-new', 'r-new']);
  });

  it('CSV quotes what needs quoting (RFC 4180) and keeps details as JSON; JSON Lines one row a line', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a, "b"')).toBe('"a, ""b"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
    expect(csvField(null)).toBe('');
    const rows = exportRows([newer], new Date(0));
    const csv = formatExport(rows, 'csv').split('\r\n');
    expect(csv[0]).toBe('kind,releaseId,model,version,status,seq,at,type,actor,phase,weight,detail,hash');
    expect(csv[2]).toBe('event,r-new,builderbrain,2.1.0,,1,2026-01-05T09:01:00.000Z,approved,"alice, ""the approver""",0,1,{},');
    const jsonl = formatExport(rows, 'jsonl').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(jsonl.map((r) => r.kind)).toEqual(['release', 'event']);
  });
});

describe('builderbrain audit export', () => {
  it('exports a simulated release and every one of its events', async () => {
    const run = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'error-spike-at-10pct')! });
    const backend: OperatorBackend = ledgerBackend('the test ledger', run.runtime.ledger);
    const { io, out } = terminal();
    expect(await auditExportCommand(io, backend, { since: new Date('2026-01-01T00:00:00Z'), format: 'jsonl', local: false, stack: 'S', stateDir: '.x' })).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; type?: string });
    expect(lines[0]).toMatchObject({ kind: 'release', status: 'rolled_back' });
    // Every event of the ledger, in its order (incident status updates go on after the summary was taken).
    expect(lines.slice(1).map((l) => l.type)).toEqual((await run.runtime.ledger.timeline((lines[0] as { releaseId?: string }).releaseId!)).map((e) => e.type));
    const written: string[] = [];
    const file = terminal();
    const code = await auditExportCommand({ ...file.io, writeFile: async (_p, t) => void written.push(t) }, backend, { since: new Date('2026-01-01T00:00:00Z'), format: 'csv', out: 'audit.csv', local: false, stack: 'S', stateDir: '.x' });
    expect(code).toBe(0);
    expect(file.out.stdout).toMatch(/^1 release\(s\) and \d+ event\(s\) since 2026-01-01T00:00:00.000Z from the test ledger → audit.csv \(csv\)/);
    expect(written[0]!.split('\r\n')[0]).toBe('kind,releaseId,model,version,status,seq,at,type,actor,phase,weight,detail,hash');
    // Each event with its hash in the release's chain: the one the ledger stored.
    const hashes = (await run.runtime.ledger.chainItems((lines[0] as { releaseId?: string }).releaseId!)).map((i) => i['hash']);
    expect(lines.slice(1).map((l) => (l as { hash?: string }).hash)).toEqual(hashes);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('a bad --since or --format is invalid input (exit 2), named', async () => {
    const r = await cli(['audit', 'export', '--since', 'last tuesday']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since.*must be a date/);
    const f = await cli(['audit', 'export', '--since', '2026-01-01', '--format', 'xml']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/must be one of jsonl, csv/);
  });
});
