/**
 * Fleet recordings (../shared/spec/replay.md): JSON Lines, one line per minute of a canary phase,
 * with what both variants emitted that minute (EMF counts and values/counts distributions).
 *
 * - {@link parseRecording} validates a whole file before anything runs: each line with zod (every
 *   offending field named by line and path), then across lines — the weight is one of the plan's
 *   phases, phases follow the plan's order, minutes increase within a phase, a 100% phase has no
 *   baseline traffic.
 * - {@link recordingOf} turns a simulated release into its recording (`simulate --record`), so a
 *   simulated release can be replayed (local/replay.ts).
 */
import * as z from 'zod';
import { toFieldIssues } from '../core/validation.js';
import type { EmittedMinute } from './cloudwatch.js';
import { SIMULATION_EPOCH } from './runtime.js';
import type { SimulationRun } from './simulate.js';

/** Largest number of value/count pairs of one distribution (EMF's limit for one metric value array). */
export const MAX_PAIRS = 1000;
/** Largest recording file accepted. */
export const MAX_RECORDING_BYTES = 256 * 1024 * 1024;

const count = () => z.number().int().min(0);

const DistributionSchema = z
  .strictObject({
    values: z.array(z.number().finite().min(0)).max(MAX_PAIRS),
    counts: z.array(z.number().int().positive()).max(MAX_PAIRS),
  })
  .superRefine((d, ctx) => {
    if (d.values.length !== d.counts.length) {
      ctx.addIssue({ code: 'custom', path: ['counts'], message: `has ${d.counts.length} entries but values has ${d.values.length}: each value needs its count` });
    }
  });

const sumOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** What one variant emitted during one minute (replay.md). */
export const RecordedVariantSchema = z
  .strictObject({
    requests: count(),
    errors: count(),
    latencyMs: DistributionSchema,
    riskEnergy: DistributionSchema,
    constraintViolations: count(),
    safetyIncidents: count(),
  })
  .superRefine((v, ctx) => {
    if (v.errors > v.requests) ctx.addIssue({ code: 'custom', path: ['errors'], message: `${v.errors} errors is more than the ${v.requests} requests` });
    if (v.constraintViolations > v.requests) {
      ctx.addIssue({ code: 'custom', path: ['constraintViolations'], message: `${v.constraintViolations} violations is more than the ${v.requests} requests` });
    }
    for (const key of ['latencyMs', 'riskEnergy'] as const) {
      const n = sumOf(v[key].counts);
      if (n > v.requests) ctx.addIssue({ code: 'custom', path: [key, 'counts'], message: `sum to ${n}, more than the ${v.requests} requests` });
    }
  });

/** One line of a recording. */
export const RecordingLineSchema = z.strictObject({
  /** The canary's weight (%) in the phase this minute belongs to. */
  weight: z.number().int().min(1).max(100),
  /** Minutes since that phase started (0-based). */
  minute: count(),
  canary: RecordedVariantSchema.nullable(),
  baseline: RecordedVariantSchema.nullable(),
});
export type RecordingLine = z.infer<typeof RecordingLineSchema>;

/** An offending field of a recording: its line (1-based), the field's path and what is wrong. */
export interface RecordingIssue {
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

export type ParsedRecording = { ok: true; lines: RecordingLine[] } | { ok: false; issues: RecordingIssue[] };

/**
 * Validates a recording's text against replay.md and the pipeline's phase plan (`weights`, in the
 * plan's order): every issue of every line, then the checks across lines. Blank lines are ignored.
 *
 * @example
 * const parsed = parseRecording(text, [1, 10, 50, 100]);
 * if (!parsed.ok) for (const i of parsed.issues) console.error(`line ${i.line}: ${i.path}: ${i.message}`);
 */
export function parseRecording(text: string, weights: readonly number[]): ParsedRecording {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RECORDING_BYTES) return { ok: false, issues: [{ line: 0, path: '', message: `file is ${bytes} bytes, over the limit of ${MAX_RECORDING_BYTES} bytes` }] };
  const issues: RecordingIssue[] = [];
  const lines: { line: number; value: RecordingLine }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch (err) {
      issues.push({ line, path: '', message: `not valid JSON (${(err as Error).message})` });
      return;
    }
    const parsed = RecordingLineSchema.safeParse(data);
    if (!parsed.success) {
      for (const issue of toFieldIssues(parsed.error)) issues.push({ line, ...issue });
      return;
    }
    lines.push({ line, value: parsed.data });
  });
  if (lines.length === 0 && issues.length === 0) issues.push({ line: 0, path: '', message: 'the recording has no lines: it needs at least one minute of a phase' });

  // Across lines: the plan's phases, in its order, minutes increasing within each.
  const order = new Map(weights.map((w, i) => [w, i]));
  let previous: { line: number; value: RecordingLine } | null = null;
  for (const current of lines) {
    const { line, value } = current;
    const index = order.get(value.weight);
    if (index === undefined) {
      issues.push({ line, path: 'weight', message: `${value.weight} is not a weight of the pipeline's phases (${weights.join(', ')})` });
      continue;
    }
    if (value.weight === 100 && value.baseline !== null && value.baseline.requests > 0) {
      issues.push({ line, path: 'baseline.requests', message: `${value.baseline.requests}: the 100% phase has no baseline traffic (null or 0 requests)` });
    }
    if (previous !== null) {
      const before = order.get(previous.value.weight)!;
      if (index < before) {
        issues.push({ line, path: 'weight', message: `${value.weight} after the ${previous.value.weight}% phase (line ${previous.line}): phases follow the plan's order (${weights.join(' → ')})` });
      } else if (index === before && value.minute <= previous.value.minute) {
        issues.push({ line, path: 'minute', message: `${value.minute} does not follow minute ${previous.value.minute} of line ${previous.line}: minutes of a phase increase` });
      }
    }
    previous = current;
  }
  // Stable: the issues of a line stay in the order found.
  return issues.length > 0 ? { ok: false, issues: issues.sort((x, y) => x.line - y.line) } : { ok: true, lines: lines.map((l) => l.value) };
}

/** A recording as JSON Lines text (one line per minute, a final newline). */
export function formatRecording(lines: readonly RecordingLine[]): string {
  return lines.map((l) => `${JSON.stringify(l)}\n`).join('');
}

/** The line of a minute: its phase's weight, the minute in the phase and what each variant emitted. */
export function recordingLine(weight: number, minute: number, emitted: EmittedMinute): RecordingLine {
  return { weight, minute, canary: emitted.canary, baseline: emitted.baseline } as RecordingLine;
}

/**
 * What the simulated fleet emitted during the canary phases of a run: one line per minute with
 * canary traffic, from each phase's start until the next phase, the rollback, or the promotion
 * (the bake period after it is not a canary phase).
 */
export function recordingOf(run: Pick<SimulationRun, 'runtime' | 'summary'>): RecordingLine[] {
  // Up to the promotion — or, when a bake followed, to its last look: the bake's minutes are the 100% phase's, continued.
  const promoted = run.summary.audit.find((e) => e.type === 'promoted');
  const bake = run.summary.audit.findLast((e) => e.type === 'bake');
  const until = bake ?? promoted;
  const end = until === undefined ? Number.POSITIVE_INFINITY : Math.round((Date.parse(until.at) - Date.parse(SIMULATION_EPOCH)) / 60_000);
  return run.runtime.fleet.minutes
    .filter((m) => m.weight > 0 && m.phaseMinute !== null && m.minute < end)
    .map((m) => recordingLine(m.weight, m.phaseMinute!, m.emitted));
}
