/**
 * Record and replay (replay.md): a recorded simulation replays to the same outcome through the same
 * pipeline; the recorded fleet serves each phase's lines by minute; `builderbrain replay` validates
 * everything before running, replays folders, and exits 0 / 2 / 1.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { defaultManifest } from '../../local/scenario.js';
import { formatRecording, parseRecording, recordingOf, type RecordingLine } from '../../local/recording.js';
import { RecordedFleet, replay } from '../../local/replay.js';
import { SIMULATION_EPOCH } from '../../local/runtime.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate, type SimulationRun } from '../../local/simulate.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const builtin = (name: string) => BUILTIN_SCENARIOS.find((s) => s.name === name)!;
const minuteOf = (iso: string) => Math.round((Date.parse(iso) - Date.parse(SIMULATION_EPOCH)) / 60_000);


const recorded = new Map<string, { run: SimulationRun; lines: RecordingLine[] }>();
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bb-replay-'));
  for (const name of ['healthy', 'error-spike-at-10pct']) {
    const r = await simulate({ scenario: builtin(name) });
    recorded.set(name, { run: r, lines: recordingOf(r) });
  }
});

describe('a recorded simulation replays to the same outcome', () => {
  it.each(['healthy', 'error-spike-at-10pct'])('%s', async (name) => {
    const { run: simulated, lines } = recorded.get(name)!;
    const text = formatRecording(lines);
    const parsed = parseRecording(text, [1, 10, 50, 100]);
    expect(parsed.ok).toBe(true);
    const { summary } = await replay({ lines: parsed.ok ? parsed.lines : [], recording: `${name}.jsonl` });
    const s = simulated.summary;
    expect(summary).toMatchObject({ recording: `${name}.jsonl`, outcome: s.outcome, phaseReached: s.phaseReached, finalTraffic: s.finalTraffic });
    expect(summary.incidents.map((i) => [i.severity, i.reason])).toEqual(s.incidents.map((i) => [i.severity, i.reason]));
    if (s.rollback === null) expect(summary.rollback).toBeNull();
    else {
      // atMinute from the start of the first phase; a recording does not say when the regression began
      const t0 = minuteOf(s.audit.find((e) => e.type === 'phase_started')!.at);
      expect(summary.rollback).toEqual({ reason: s.rollback.reason, severity: s.rollback.severity, atMinute: s.rollback.atMinute - t0, regressionStartedAtMinute: null, detectionMinutes: null, rule: s.rollback.rule });
      // The rule that decided is a field on every path (issue 16): the loop's or the alarm's.
      expect(summary.rollback!.rule).not.toBeNull();
    }
    // the same deployment steps (the simulated endpoint), the same looks and verdicts (the release
    // id, and so the names of its SageMaker resources, differ: it comes from the upload)
    const steps = (audit: typeof s.audit) => audit.map((e) => `${e.type} ${e.text}`.replace(/--2-1-0-[0-9a-f]{8}-/g, '--2-1-0-<release>-'));
    // …but for the recovery check after a rollback, which needs the minutes after it (a recording has the phases only)
    // (and for the incident's status update sent during that window)
    expect(steps(summary.audit)).toEqual(steps(s.audit.filter((e) => e.type !== 'recovery' && !(e.type === 'incident' && e.text.includes('status update')))));
    expect(summary.audit.some((e) => e.type === 'recovery')).toBe(false);
  });
});

describe('the recorded fleet', () => {
  const line = (weight: number, minute: number, requests: number): RecordingLine => ({
    weight,
    minute,
    canary: { requests, errors: 0, latencyMs: { values: [200], counts: [requests] }, riskEnergy: { values: [0.3], counts: [requests] }, constraintViolations: 0, safetyIncidents: 0 },
    baseline: null,
  });

  it("serves each phase's line by the minute since the phase started; a missing minute, or one past the last line, has no data", () => {
    const fleet = new RecordedFleet([line(1, 0, 60), line(1, 2, 62), line(10, 0, 600)]);
    const served = [0, 0, 1, 1, 1, 1, 10, 10, 0].map((w, i) => fleet.step(100 + i, w));
    expect(served.map((m) => m.emitted.canary?.requests ?? null)).toEqual([null, null, 60, null, 62, null, 600, null, null]);
    expect(served.map((m) => m.phaseMinute)).toEqual([null, null, 0, 1, 2, 3, 0, 1, null]);
    expect(served[2]!.datapoint).toMatchObject({ minute: 102, canary: { requests: 60, latencyP99: 200, riskEnergy: 0.3 }, baseline: { requests: 0, latencyP99: null } });
    expect(fleet.regressionStartedAtMinute).toBeNull();
  });
});

describe('builderbrain replay', () => {
  it('replays a recording written by simulate --record, with the same outcome (--json)', async () => {
    const file = join(dir, 'spike.jsonl');
    const sim = await cli(['simulate', '--scenario', 'error-spike-at-10pct', '--record', file, '--json']);
    expect(sim.code, sim.stderr).toBe(0);
    const simulated = JSON.parse(sim.stdout) as { outcome: string; rollback: { reason: string; severity: string } };
    const r = await cli(['replay', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    // the rollback's incident and its status updates, last (core/incidents.ts)
    expect(Object.keys(doc).at(-1)).toBe('incidentStates');
    // …after the post-rollback analysis (core/post-rollback.ts), which a rolled-back replay carries too
    expect(Object.keys(doc).filter((k) => k !== 'incidentStates')).toEqual(['recording', 'scenario', 'outcome', 'release', 'gate', 'phaseReached', 'rollback', 'incidents', 'finalTraffic', 'stateTransitions', 'simulatedMinutes', 'audit', 'analysis']);
    expect(doc).toMatchObject({ recording: 'spike.jsonl', outcome: simulated.outcome, rollback: { reason: simulated.rollback.reason, severity: simulated.rollback.severity, regressionStartedAtMinute: null, detectionMinutes: null } });
  });

  it('a folder replays every *.jsonl sorted by name, one summary per line', async () => {
    const folder = join(dir, 'many');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'b-spike.jsonl'), formatRecording(recorded.get('error-spike-at-10pct')!.lines));
    await writeFile(join(folder, 'a-valid.jsonl'), await readFile(join(FIXTURES, 'valid.jsonl'), 'utf8'));
    await writeFile(join(folder, 'notes.txt'), 'not a recording');
    const r = await cli(['replay', folder, '--json', '--report', join(dir, 'many.html')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { recording: string; outcome: string });
    expect(lines.map((l) => l.recording)).toEqual(['a-valid.jsonl', 'b-spike.jsonl']);
    expect(lines[1]!.outcome).toBe('rolled_back');
    // one report per recording
    expect(await readFile(join(dir, 'many-a-valid.html'), 'utf8')).toMatch(/replayed release/);
    expect(await readFile(join(dir, 'many-b-spike.html'), 'utf8')).toMatch(/b-spike\.jsonl/);
  });

  it('prints a result table for people', async () => {
    const r = await cli(['replay', join(FIXTURES, 'valid.jsonl')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/recording\s+valid\.jsonl/);
    expect(r.stdout).toMatch(/outcome\s+(promoted|rolled_back)/);
    expect(r.stderr).toMatch(/phase 1: 1% of traffic on the candidate/);
  });

  it('warns about lines the plan never watches (past a phase\'s monitored minutes), and replays the rest', async () => {
    const file = join(dir, 'long.jsonl');
    const valid = await readFile(join(FIXTURES, 'valid.jsonl'), 'utf8');
    const first = JSON.parse(valid.split('\n')[0]!) as RecordingLine;
    await writeFile(file, `${JSON.stringify({ ...first, minute: 0 })}\n${JSON.stringify({ ...first, minute: 75 })}\n`);
    const r = await cli(['replay', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*long\.jsonl: 1 line\(s\) past their phase's monitored minutes \(1%: 60, 10%: 60, 50%: 60, 100%: 60\)/);
  });

  it('takes the manifest and the policy: a manifest that fails a gate is rejected, nothing replayed', async () => {
    const manifest = join(dir, 'release.json');
    const m = defaultManifest();
    await writeFile(manifest, JSON.stringify({ ...m, shadowEvaluation: { ...m.shadowEvaluation, riskEnergy: { candidate: 0.5, baseline: 0.43 } } }));
    const rejected = JSON.parse((await cli(['replay', join(FIXTURES, 'valid.jsonl'), '--manifest', manifest, '--json'])).stdout) as { outcome: string; gate: { passed: boolean } };
    expect(rejected).toMatchObject({ outcome: 'rejected', gate: { passed: false } });
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ gates: { maxRiskEnergyDelta: 0.1 } }));
    const passed = await cli(['replay', join(FIXTURES, 'valid.jsonl'), '--manifest', manifest, '--policy', policy, '--json']);
    expect(passed.code, passed.stderr).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ gate: { passed: true }, release: { model: 'builderbrain', version: '2.1.0' } });
  });

  describe('invalid input exits 2 before anything runs, naming the file, the line and the field', () => {
    it.each([
      ['bad-counts.jsonl', ['bad-counts.jsonl:1 canary.errors: 61 errors is more than the 60 requests', 'bad-counts.jsonl:2 canary.latencyMs.counts: has 3 entries', 'bad-counts.jsonl:4 baseline.p99: unknown field']],
      ['bad-order.jsonl', ['bad-order.jsonl:3 minute: 3 does not follow minute 3 of line 2', "bad-order.jsonl:4 weight: 25 is not a weight of the pipeline's phases", 'bad-order.jsonl:7: not valid JSON']],
      ['bad-full-weight.jsonl', ['bad-full-weight.jsonl:1 baseline.requests: 10: the 100% phase has no baseline traffic']],
    ])('%s', async (name, messages) => {
      const r = await cli(['replay', join(FIXTURES, name), '--json']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      for (const m of messages) expect(r.stderr).toContain(m);
      expect(r.stderr).toMatch(/nothing was replayed/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it('one bad recording in a folder: nothing of the folder runs', async () => {
      const folder = join(dir, 'mixed');
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'a.jsonl'), await readFile(join(FIXTURES, 'valid.jsonl'), 'utf8'));
      await writeFile(join(folder, 'b.jsonl'), await readFile(join(FIXTURES, 'bad-full-weight.jsonl'), 'utf8'));
      const r = await cli(['replay', folder, '--json']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('b.jsonl:1 baseline.requests');
    });

    it('a missing path, an empty folder, an invalid manifest or policy', async () => {
      const missing = await cli(['replay', join(dir, 'nope.jsonl')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no such file/);
      const empty = join(dir, 'empty');
      await mkdir(empty, { recursive: true });
      expect((await cli(['replay', empty])).stderr).toMatch(/has no \*\.jsonl recording/);
      const manifest = join(dir, 'bad-release.json');
      await writeFile(manifest, JSON.stringify({ model: 'builderbrain' }));
      const badManifest = await cli(['replay', join(FIXTURES, 'valid.jsonl'), '--manifest', manifest]);
      expect(badManifest.code).toBe(2);
      expect(badManifest.stderr).toMatch(/not a valid release manifest/);
      const policy = join(dir, 'bad-policy.json');
      await writeFile(policy, JSON.stringify({ canary: { errorRateRatio: 'two' } }));
      const badPolicy = await cli(['replay', join(FIXTURES, 'valid.jsonl'), '--policy', policy]);
      expect(badPolicy.code).toBe(2);
      expect(badPolicy.stderr).toMatch(/canary\.errorRateRatio/);
    });
  });
});

describe('a recorded bake replays', () => {
  it('the recording runs on through the bake; replayed with --bake-minutes it regresses at the same look and rolls back the same way', async () => {
    const simulated = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'bake-regression')! });
    const lines = recordingOf(simulated);
    // The 100% phase's lines continue past its 60 monitored minutes: the bake's.
    expect(lines.filter((l) => l.weight === 100 && l.minute >= 60).length).toBeGreaterThanOrEqual(30);
    const parsed = parseRecording(formatRecording(lines), [1, 10, 50, 100]);
    expect(parsed.ok).toBe(true);
    const { summary, run } = await replay({ lines: parsed.ok ? parsed.lines : [], recording: 'bake.jsonl', bakeMinutes: 240 });
    expect(summary.outcome).toBe('rolled_back');
    expect(summary.rollback).toMatchObject({ reason: 'error_rate_increase', severity: 'P1' });
    expect(run.summary.bake).toMatchObject({ outcome: 'regressed', watchedMinutes: simulated.summary.bake!.watchedMinutes });
    // Without a bake the same recording is promoted: the regression came after the canary.
    const plain = await replay({ lines: parsed.ok ? parsed.lines : [], recording: 'bake.jsonl' });
    expect(plain.summary.outcome).toBe('promoted');
  });
});

describe('a recorded rollback release replays', () => {
  it('an emergency rollback release (its manifest given) replays to one 100% phase, released, P0 paged — as simulated', async () => {
    const { rollbackManifest } = await import('../../core/rollback.js');
    const previous = defaultManifest({ version: '2.0.3', previousVersion: null, releaseType: 'patch' });
    const manifest = rollbackManifest(previous, { of: '2.1.0', reason: 'PII in answers', emergency: true, requestedBy: 'alice', approvedBy: null });
    const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
    const simulated = await simulate({ scenario: { ...healthy, name: 'rollback-release', manifest } });
    expect(simulated.summary.audit.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([100]);
    const parsed = parseRecording(formatRecording(recordingOf(simulated)), [1, 10, 50, 100]);
    expect(parsed.ok).toBe(true);
    const { summary } = await replay({ lines: parsed.ok ? parsed.lines : [], recording: 'rollback-release.jsonl', manifest });
    expect(summary).toMatchObject({ outcome: 'promoted', phaseReached: 100 });
    expect(summary.incidents.map((i) => i.severity)).toEqual(['P0']);
    expect(summary.audit.filter((e) => e.type === 'phase_started').map((e) => e.weight)).toEqual([100]);
  });
});
