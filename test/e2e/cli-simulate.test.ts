/**
 * `builderbrain simulate` and `builderbrain scenarios` in-process (run() with a fake terminal):
 * the documented JSON summary on stdout and nothing else, usage errors with exit 2, the report file.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';


/** scenario.md "Summary": the keys of `simulate --json`, in the documented order. */
const SUMMARY_KEYS = ['scenario', 'outcome', 'release', 'gate', 'phaseReached', 'rollback', 'incidents', 'finalTraffic', 'stateTransitions', 'simulatedMinutes', 'audit'];
const STACK_LINE = /^\s+at /m;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-cli-simulate-'));
});

describe('simulate --json', () => {
  it('prints exactly the documented summary keys and nothing else on stdout', async () => {
    const r = await cli(['simulate', '--scenario', 'error-spike-at-10pct', '--json'], true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    // The documented keys in order, then this project's extensions (a rollback's recovery check).
    // …and, last, where the release's incidents stand (core/incidents.ts): only where it opened any.
    expect(Object.keys(doc).at(-1)).toBe('incidentStates');
    // After a rollback, its post-rollback analysis (local/analysis-summary.ts).
    expect(Object.keys(doc).filter((k) => k !== 'incidentStates')).toEqual([...SUMMARY_KEYS, 'recovery', 'analysis']);
    expect(doc['analysis']).toMatchObject({ failureMode: 'reliability', onset: { signal: 'error_rate', significant: true } });
    expect(doc['recovery']).toMatchObject({ recovered: true });
    expect(doc['scenario']).toBe('error-spike-at-10pct');
    expect(doc['outcome']).toBe('rolled_back');
    expect(Object.keys(doc['release'] as object)).toEqual(['model', 'version']);
    // The documented keys, then the rule that decided (issue 16: a field on every path, the loop's or the alarm's).
    expect(Object.keys(doc['rollback'] as object)).toEqual(['reason', 'severity', 'atMinute', 'regressionStartedAtMinute', 'detectionMinutes', 'rule']);
    expect(Object.keys(doc['finalTraffic'] as object)).toEqual(['baseline', 'candidate']);
    for (const i of doc['incidents'] as object[]) expect(Object.keys(i)).toEqual(['severity', 'reason', 'title']);
    for (const c of (doc['gate'] as { checks: object[] }).checks) expect(Object.keys(c)).toEqual(['name', 'passed', 'value', 'threshold']);
    for (const a of doc['audit'] as Record<string, unknown>[]) {
      expect(typeof a['at']).toBe('string');
      expect(typeof a['type']).toBe('string');
    }
    // one JSON document and a newline: no progress lines, no table
    expect(r.stdout.endsWith('}\n')).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('has the outcome of each kind of release', async () => {
    const promoted = JSON.parse((await cli(['simulate', '--json', '--phase-minutes', '5'])).stdout) as Record<string, unknown>;
    expect(Object.keys(promoted)).toEqual(SUMMARY_KEYS);
    expect(promoted).toMatchObject({ scenario: 'healthy', outcome: 'promoted', phaseReached: 100, rollback: null, incidents: [], simulatedMinutes: 6 + 4 * 5 + 30 + 6 });
    const rejected = await cli(['simulate', '--scenario', 'rejected-at-gate', '--json']);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ outcome: 'rejected', phaseReached: 0, rollback: null, finalTraffic: { baseline: 100, candidate: 0 } });
  });

  it('runs a scenario file', async () => {
    const file = join(dir, 'mine.json');
    const scenario = { ...BUILTIN_SCENARIOS.find((s) => s.name === 'constraint-surge')!, name: 'my-surge' };
    await writeFile(file, JSON.stringify(scenario), 'utf8');
    const r = await cli(['simulate', '--scenario', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ scenario: 'my-surge', outcome: 'rolled_back', rollback: { reason: 'constraint_violations', severity: 'P1' } });
  });
});

describe('simulate (human output)', () => {
  it('prints progress on stderr and the result table on stdout', async () => {
    const r = await cli(['simulate', '--scenario', 'safety-violation']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/alarm\s+alarm builderbrain-builderbrain-canary-safety-incidents → ALARM/);
    expect(r.stderr).toMatch(/rollback/);
    expect(r.stdout).toMatch(/outcome\s+rolled_back/);
    expect(r.stdout).toMatch(/rollback\s+alarm \(P0\) at minute 25, detected 4 min after the regression began/);
    expect(r.stdout).toMatch(/final traffic\s+100% baseline \/ 0% candidate/);
    expect(r.stdout).not.toMatch(ANSI);
  });
});

describe('simulate: invalid input exits 2', () => {
  it('an unknown scenario is named, with the built-ins listed', async () => {
    const r = await cli(['simulate', '--scenario', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown scenario 'nope'");
    for (const s of BUILTIN_SCENARIOS) expect(r.stderr).toContain(s.name);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('an invalid scenario file names every bad field', async () => {
    const file = join(dir, 'bad.json');
    const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
    const bad = {
      ...healthy,
      name: 'Bad Name!',
      seed: -1,
      requestsPerMinute: 0,
      baseline: { ...healthy.baseline, errorRate: 1.5 },
      candidate: {
        ...healthy.candidate,
        latencyMs: { p50: 500, p95: 400, p99: 300 },
        events: [{ whenWeight: 10, afterMinutes: -5, set: { errorRate: 2 } }],
      },
      surprise: true,
    };
    await writeFile(file, JSON.stringify(bad, null, 2), 'utf8');
    const r = await cli(['simulate', '--scenario', file, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('is not a valid scenario');
    const named = r.stderr.split('\n').filter((l) => /^\s+\S+: /.test(l)).map((l) => l.trim().split(': ')[0]);
    expect(named).toEqual([
      'name',
      'seed',
      'requestsPerMinute',
      'baseline.errorRate',
      'candidate.latencyMs',
      'candidate.events[0].afterMinutes',
      'candidate.events[0].set.errorRate',
      'surprise',
    ]);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('a missing scenario file says so', async () => {
    const r = await cli(['simulate', '--scenario', join(dir, 'absent.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read scenario file .*absent\.json.*ENOENT/);
  });

  it('a scenario file that is not JSON', async () => {
    const file = join(dir, 'garbage.json');
    await writeFile(file, '{ "name": ', 'utf8');
    const r = await cli(['simulate', '--scenario', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a valid scenario');
  });

  it.each([['0'], ['-3'], ['1.5'], ['ten'], ['10081']])('--phase-minutes %s', async (n) => {
    const r = await cli(['simulate', '--phase-minutes', n, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--phase-minutes/);
    expect(r.stderr).toMatch(/whole number of minutes from 1 to 10080/);
  });
});

describe('scenarios', () => {
  it('lists every built-in scenario with its description', async () => {
    const r = await cli(['scenarios']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const s of BUILTIN_SCENARIOS) expect(r.stdout).toMatch(new RegExp(`^${s.name}\\s+${s.description.slice(0, 20).replace(/[.*+?^${}()|[\]\\%]/g, '\\$&')}`, 'm'));
  });

  it('--json lists them as scenario documents', async () => {
    const r = await cli(['scenarios', '--json']);
    expect(r.code).toBe(0);
    const docs = JSON.parse(r.stdout) as { name: string }[];
    expect(docs.map((d) => d.name)).toEqual(BUILTIN_SCENARIOS.map((s) => s.name));
  });
});

describe('simulate --report', () => {
  it('writes the self-contained HTML report, with --json too', async () => {
    const file = join(dir, 'out.html');
    const r = await cli(['simulate', '--scenario', 'latency-regression', '--json', '--report', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).outcome).toBe('rolled_back');
    const html = await readFile(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('latency-regression');
    // The five series charts, then one evidence figure per rule (local/report-charts.ts), each with its p-value and effect panels.
    expect(html.match(/<svg\b/g)!.length).toBeGreaterThan(5);
    expect(html).toContain('Why: each rule');
    expect(html).not.toMatch(/<script\b/i);
  });

  it('says where the report is in human mode, with the wall time in the report', async () => {
    const file = join(dir, 'human.html');
    const r = await cli(['simulate', '--phase-minutes', '3', '--report', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Report: ${file}`);
    expect(await readFile(file, 'utf8')).toMatch(/<th>wall time<\/th><td>[\d.]+ s<\/td>/);
  });

  it('an unwritable report path is invalid input (exit 2, one sentence), not an internal error', async () => {
    const file = join(dir, 'no-such-dir', 'out.html');
    const r = await cli(['simulate', '--json', '--report', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write the report '${file}'`);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});
