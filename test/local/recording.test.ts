/**
 * Recordings (replay.md, local/recording.ts): hand-written fixtures that pass and fail each rule,
 * every issue named by line and field, and the recording a simulated release writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRecording, parseRecording, recordingOf, type RecordingIssue } from '../../local/recording.js';
import { SIMULATION_EPOCH } from '../../local/runtime.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';

const WEIGHTS = [1, 10, 50, 100];
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const issuesOf = (text: string): RecordingIssue[] => {
  const parsed = parseRecording(text, WEIGHTS);
  return parsed.ok ? [] : parsed.issues;
};
const variant = (requests: number, pairs = 1) => ({
  requests,
  errors: 0,
  latencyMs: { values: Array.from({ length: pairs }, (_, i) => i + 1), counts: Array<number>(pairs).fill(1) },
  riskEnergy: { values: [0.3], counts: [requests] },
  constraintViolations: 0,
  safetyIncidents: 0,
});

describe('valid recordings', () => {
  it('a hand-written recording: gaps, a null variant, a 100% minute without baseline', () => {
    const parsed = parseRecording(fixture('valid.jsonl'), WEIGHTS);
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.lines.map((l) => [l.weight, l.minute])).toEqual([
      [1, 0],
      [1, 1],
      [1, 5],
      [10, 0],
      [10, 1],
      [100, 0],
    ]);
  });

  it('blank lines and CRLF line ends are fine; a phase may be left out', () => {
    const text = `\r\n${JSON.stringify({ weight: 10, minute: 3, canary: variant(600), baseline: variant(5400) })}\r\n\r\n`;
    expect(parseRecording(text, WEIGHTS).ok).toBe(true);
  });

  it('1,000 pairs is the limit', () => {
    const line = (pairs: number) => JSON.stringify({ weight: 50, minute: 0, canary: variant(3000, pairs), baseline: variant(3000) });
    expect(parseRecording(line(1000), WEIGHTS).ok).toBe(true);
    expect(issuesOf(line(1001))).toEqual([
      { line: 1, path: 'canary.latencyMs.values', message: expect.stringMatching(/1000/) },
      { line: 1, path: 'canary.latencyMs.counts', message: expect.stringMatching(/1000/) },
    ]);
  });
});

describe('invalid recordings name the line and the field', () => {
  it('counts: errors over requests, values and counts of different lengths, counts summing over requests, negative and fractional counts, unknown fields', () => {
    expect(issuesOf(fixture('bad-counts.jsonl'))).toEqual([
      { line: 1, path: 'canary.errors', message: '61 errors is more than the 60 requests' },
      { line: 2, path: 'canary.latencyMs.counts', message: 'has 3 entries but values has 2: each value needs its count' },
      { line: 3, path: 'canary.riskEnergy.counts', message: 'sum to 61, more than the 60 requests' },
      { line: 4, path: 'canary.constraintViolations', message: expect.stringMatching(/>=0/) },
      { line: 4, path: 'canary.safetyIncidents', message: expect.stringMatching(/int/i) },
      { line: 4, path: 'baseline.p99', message: 'unknown field' },
    ]);
  });

  it("order: minutes that do not increase, a weight outside the plan, a phase before the previous one's, a line that is not JSON", () => {
    expect(issuesOf(fixture('bad-order.jsonl'))).toEqual([
      { line: 3, path: 'minute', message: '3 does not follow minute 3 of line 2: minutes of a phase increase' },
      { line: 4, path: 'weight', message: "25 is not a weight of the pipeline's phases (1, 10, 50, 100)" },
      { line: 6, path: 'weight', message: "1 after the 10% phase (line 5): phases follow the plan's order (1 → 10 → 50 → 100)" },
      { line: 7, path: '', message: expect.stringMatching(/^not valid JSON/) },
    ]);
  });

  it('the 100% phase has no baseline traffic', () => {
    expect(issuesOf(fixture('bad-full-weight.jsonl'))).toEqual([
      { line: 1, path: 'baseline.requests', message: '10: the 100% phase has no baseline traffic (null or 0 requests)' },
    ]);
  });

  it('missing fields and wrong types', () => {
    expect(issuesOf(JSON.stringify({ weight: '10', canary: null }))).toEqual([
      { line: 1, path: 'weight', message: expect.stringMatching(/number/) },
      { line: 1, path: 'minute', message: 'missing (required field)' },
      { line: 1, path: 'baseline', message: 'missing (required field)' },
    ]);
  });

  it('an empty recording has nothing to replay', () => {
    expect(issuesOf('\n\n')).toEqual([{ line: 0, path: '', message: expect.stringMatching(/no lines/) }]);
  });

  it("the weights are the pipeline's: a plan of other phases accepts other weights", () => {
    const text = JSON.stringify({ weight: 5, minute: 0, canary: variant(300), baseline: variant(5700) });
    expect(parseRecording(text, [5, 100]).ok).toBe(true);
    expect(parseRecording(text, WEIGHTS).ok).toBe(false);
  });
});

describe('the recording of a simulated release', () => {
  it("one line per minute of each canary phase, from the phase's start to the promotion (not the bake period)", async () => {
    const run = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!, phaseMinutes: 5 });
    const lines = recordingOf(run);
    expect(lines.map((l) => `${l.weight}:${l.minute}`)).toEqual(WEIGHTS.flatMap((w) => [0, 1, 2, 3, 4].map((m) => `${w}:${m}`)));
    expect(lines.filter((l) => l.weight === 100).every((l) => l.baseline === null)).toBe(true);
    const text = formatRecording(lines);
    expect(text.split('\n')).toHaveLength(lines.length + 1);
    const parsed = parseRecording(text, WEIGHTS);
    expect(parsed.ok).toBe(true);
    // a line is what the fleet emitted that minute
    const first = run.runtime.fleet.minutes.find((m) => m.weight === 1)!;
    expect(parsed.ok && parsed.lines[0]).toEqual({ weight: 1, minute: 0, canary: first.emitted.canary, baseline: first.emitted.baseline });
    const promoted = run.summary.audit.find((e) => e.type === 'promoted')!;
    expect(run.runtime.fleet.minutes.filter((m) => m.weight === 100).length).toBeGreaterThan(5);
    expect(Date.parse(promoted.at) - Date.parse(SIMULATION_EPOCH)).toBeGreaterThan(0);
  });

  it('a rejected release has no canary minutes', async () => {
    const run = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'rejected-at-gate')! });
    expect(recordingOf(run)).toEqual([]);
  });
});
