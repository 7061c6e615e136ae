/**
 * Benchmark of the canary analysis: how long one `analyzeCanary` call takes on a phase's window of
 * per-minute datapoints, and what a whole 60-look phase (the monitor loop analysing after every
 * minute) costs. Run with `npm run bench`; prints a table and writes bench/analysis-results.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { analyzeCanary, type MinuteDatapoint } from '../core/analysis.js';
import { DEFAULT_POLICY } from '../core/policy.js';
import { createTrafficGenerator, type VariantProfile } from '../local/traffic.js';

const BASELINE: VariantProfile = {
  latencyMs: { p50: 180, p95: 420, p99: 650 },
  errorRate: 0.004,
  riskEnergy: 0.3,
  constraintViolationRate: 0.01,
};
const REQUESTS_PER_MINUTE = 6000;
const WEIGHT_PCT = 10;

function datapoints(minutes: number, seed = 1): MinuteDatapoint[] {
  const g = createTrafficGenerator(seed);
  return Array.from({ length: minutes }, (_, minute) => {
    const split = g.split(REQUESTS_PER_MINUTE, WEIGHT_PCT);
    return { minute, canary: g.variantMinute(BASELINE, split.canary), baseline: g.variantMinute(BASELINE, split.baseline) };
  });
}

interface Result {
  readonly name: string;
  readonly minutes: number;
  readonly iterations: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly meanMs: number;
  readonly callsPerSecond: number;
}

/** Keeps results observable so the work cannot be optimised away. */
let sink = 0;

function bench(name: string, minutes: number, fn: () => number, opts: { warmup: number; iterations: number }): Result {
  for (let i = 0; i < opts.warmup; i++) sink += fn();
  const times: number[] = [];
  for (let i = 0; i < opts.iterations; i++) {
    const t0 = process.hrtime.bigint();
    sink += fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return {
    name,
    minutes,
    iterations: opts.iterations,
    medianMs: at(0.5),
    p95Ms: at(0.95),
    meanMs: mean,
    callsPerSecond: 1000 / mean,
  };
}

const policy = DEFAULT_POLICY.canary;
const hour = datapoints(60);
const day = datapoints(1440);

const results: Result[] = [
  bench('analyzeCanary, 60-minute window', 60, () => analyzeCanary({ datapoints: hour, plannedMinutes: 60, lookEveryMinutes: 1 }, policy).evidence.length, {
    warmup: 200,
    iterations: 2000,
  }),
  bench(
    'analyzeCanary, 1440-minute window',
    1440,
    () => analyzeCanary({ datapoints: day, plannedMinutes: 1440, lookEveryMinutes: 1 }, policy).evidence.length,
    { warmup: 20, iterations: 200 },
  ),
  bench(
    'whole phase: 60 looks on 1..60 minutes',
    60,
    () => {
      let n = 0;
      for (let k = 1; k <= 60; k++) n += analyzeCanary({ datapoints: hour.slice(0, k), plannedMinutes: 60, lookEveryMinutes: 1 }, policy).evidence.length;
      return n;
    },
    { warmup: 10, iterations: 100 },
  ),
];

const fmt = (x: number, d = 3) => x.toFixed(d);
const header = ['benchmark', 'minutes', 'iterations', 'median ms', 'p95 ms', 'mean ms', 'calls/s (1/mean)'];
const rows = results.map((r) => [r.name, String(r.minutes), String(r.iterations), fmt(r.medianMs), fmt(r.p95Ms), fmt(r.meanMs), fmt(r.callsPerSecond, 0)]);
const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(' | ');
const env = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, platform: `${process.platform}-${process.arch}` };

console.log(`canary analysis benchmark — ${WEIGHT_PCT}% of ${REQUESTS_PER_MINUTE} req/min, node ${env.node}, ${env.cpu} ×${env.cpus}`);
console.log(line(header));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));

const out = fileURLToPath(new URL('./analysis-results.json', import.meta.url));
writeFileSync(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), environment: env, scenario: { requestsPerMinute: REQUESTS_PER_MINUTE, weightPct: WEIGHT_PCT }, results }, null, 2)}\n`,
);
console.log(`written ${out}${sink === -1 ? ' ' : ''}`);
