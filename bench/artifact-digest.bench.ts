/**
 * Benchmark of the artifact digest (lambdas/adapters/s3-artifacts.ts `sha256OfStream`): how fast
 * the verify step hashes an artifact it has to stream (no full-object SHA-256 stored by S3), and
 * what that implies for artifacts of 1–50 GB against Lambda's 15-minute limit.
 *
 * The stream is generated in memory: 1 GiB as 128 chunks of 8 MiB, all the same random buffer (the
 * hash cannot take shortcuts on repeated input, and nothing allocates 1 GiB). This measures the
 * hashing alone; reading the object from S3 runs at the function's network throughput, which is
 * not measured here and adds to (or, when slower than hashing, bounds) the real time.
 *
 * Run with `npx tsx bench/artifact-digest.bench.ts`; prints a table and writes
 * bench/artifact-digest-results.json. Median of 5 runs after one warm-up, well under 30 s.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { sha256OfStream } from '../lambdas/adapters/s3-artifacts.js';

const MiB = 1024 * 1024;
const CHUNK_BYTES = 8 * MiB;
const STREAM_BYTES = 1024 * MiB;
const RUNS = 5;
/** Lambda's maximum function timeout. */
const LAMBDA_LIMIT_SECONDS = 15 * 60;
const ARTIFACT_GB = [1, 5, 10, 50] as const;

const chunk = randomBytes(CHUNK_BYTES);

/** `total` bytes as `chunk`-sized pieces, the way an S3 body arrives (asynchronously, one chunk at a time). */
async function* generated(total: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += chunk.byteLength) {
    yield sent + chunk.byteLength <= total ? chunk : chunk.subarray(0, total - sent);
  }
}

async function timeOnce(bytes: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const { bytes: hashed } = await sha256OfStream(generated(bytes));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (hashed !== bytes) throw new Error(`hashed ${hashed} bytes, expected ${bytes}`);
  return seconds;
}

await timeOnce(64 * MiB); // warm-up: JIT and the hash's first allocation
const seconds: number[] = [];
for (let i = 0; i < RUNS; i++) seconds.push(await timeOnce(STREAM_BYTES));
const sorted = [...seconds].sort((a, b) => a - b);
const medianSeconds = sorted[Math.floor(sorted.length / 2)]!;
const mbPerSecond = STREAM_BYTES / 1e6 / medianSeconds;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const implied = ARTIFACT_GB.map((gb) => {
  const s = (gb * 1e9) / (mbPerSecond * 1e6);
  return {
    artifactGB: gb,
    hashSeconds: round(s),
    shareOfLambdaLimit: round(s / LAMBDA_LIMIT_SECONDS, 3),
    fitsInLambdaLimit: s < LAMBDA_LIMIT_SECONDS,
    // The read from S3 must sustain at least this for the whole digest to finish within the limit.
    minReadMBpsFor15Minutes: round((gb * 1e3) / LAMBDA_LIMIT_SECONDS),
  };
});
const maxGBIn15Minutes = round((mbPerSecond * 1e6 * LAMBDA_LIMIT_SECONDS) / 1e9);
const env = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, platform: `${process.platform}-${process.arch}` };

console.log(`artifact digest benchmark — sha256OfStream, 1 GiB in 8 MiB chunks, median of ${RUNS} runs, node ${env.node}, ${env.cpu} ×${env.cpus}`);
console.log(`runs: ${seconds.map((s) => `${s.toFixed(3)} s`).join(', ')}`);
console.log(`median: ${medianSeconds.toFixed(3)} s per GiB = ${mbPerSecond.toFixed(0)} MB/s (hashing only; S3 read throughput not included)`);
console.log('');
const header = ['artifact', 'hash time', 'of 15 min', 'hash fits', 'S3 read needed (MB/s)'];
const rows = implied.map((r) => [
  `${r.artifactGB} GB`,
  `${r.hashSeconds.toFixed(1)} s`,
  `${(r.shareOfLambdaLimit * 100).toFixed(1)}%`,
  r.fitsInLambdaLimit ? 'yes' : 'NO',
  `>= ${r.minReadMBpsFor15Minutes.toFixed(1)}`,
]);
const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(' | ');
console.log(line(header));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log('');
console.log(`at this rate one Lambda invocation (${LAMBDA_LIMIT_SECONDS} s) hashes at most ~${maxGBIn15Minutes} GB, before any time spent reading from S3;`);
console.log('the hash runs on one core: a function with less than one vCPU (under 1,769 MB of memory) hashes proportionally slower');

const out = fileURLToPath(new URL('./artifact-digest-results.json', import.meta.url));
writeFileSync(
  out,
  `${JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      environment: env,
      scenario: { streamBytes: STREAM_BYTES, chunkBytes: CHUNK_BYTES, runs: RUNS, lambdaLimitSeconds: LAMBDA_LIMIT_SECONDS, measures: 'sha256OfStream on an in-memory stream (hashing only, no S3 read)' },
      runsSeconds: seconds.map((s) => round(s, 4)),
      medianSeconds: round(medianSeconds, 4),
      mbPerSecond: round(mbPerSecond),
      maxGBIn15Minutes,
      implied,
    },
    null,
    2,
  )}\n`,
);
console.log(`written ${out}`);
