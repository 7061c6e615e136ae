/**
 * `npm run bench:startup`: how long the two everyday commands take, each run a fresh process, the
 * way people run them — `npm start` (a simulated four-phase release and its report) and
 * `builderbrain gate examples/minor-pass.json` — against the goals of issue 16 (1.5 s and 0.3 s of
 * wall time on an idle 2-core machine). Prints the medians next to the goals and writes
 * bench/startup-results.json.
 *
 * The warm figures are what a person sees after `npm ci`: dist/ fresh (built first when it is not)
 * and the state machine definitions cached (one run first). The cold figure is `npm start` right
 * after a source change: the definitions are synthesized again (local/definitions-cache.ts).
 *
 * Options: --runs N (default 5), --sources (run the TypeScript sources through tsx, as before dist/
 * existed: BUILDERBRAIN_SOURCES=1), --no-cold (skip the cold run).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distStaleness } from '../bin/freshness.mjs';
import { median } from '../core/stats.js';
import { DEFAULT_CACHE_DIR } from '../local/definitions-cache.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 5);
const sources = process.argv.includes('--sources');
const cold = !process.argv.includes('--no-cold');
const log = (s: string) => process.stderr.write(`${s}\n`);

export interface StartupRow {
  readonly name: string;
  readonly command: string;
  readonly goalSeconds: number;
  readonly medianSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly runsSeconds: number[];
  readonly meetsGoal: boolean;
  /**
   * Median CPU seconds (user + system, the process and all it waited for): about the wall time of
   * an idle machine, and steadier than wall time on a busy one. Null where /proc is not there.
   */
  readonly medianCpuSeconds: number | null;
}

export interface StartupResults {
  readonly node: string;
  readonly cpus: number;
  readonly cpu: string;
  /** 1, 5 and 15-minute load averages when the runs began: the goals are for an idle machine. */
  readonly loadAverage: number[];
  readonly runs: number;
  /** What the command ran: dist/ (fresh, or built by this benchmark first) or the sources (tsx). */
  readonly ran: 'dist' | 'sources';
  readonly rows: StartupRow[];
  /** `npm start` once with no cached definitions (after a source change); null when skipped. */
  readonly coldStartSeconds: number | null;
}

const env = { ...process.env, NO_COLOR: '1', ...(sources ? { BUILDERBRAIN_SOURCES: '1' } : {}) };
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * CPU seconds of the children this process has waited for (Linux: cutime + cstime of
 * /proc/self/stat, in clock ticks of 1/100 s); null elsewhere.
 */
function childrenCpuSeconds(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    return (Number(fields[13]) + Number(fields[14])) / 100; // the 16th and 17th fields
  } catch {
    return null;
  }
}

/** Wall and CPU seconds of one fresh process; throws when it fails. */
function timeOnce(command: string, args: string[]): { wall: number; cpu: number | null } {
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const r = spawnSync(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = (performance.now() - started) / 1000;
  const cpuAfter = childrenCpuSeconds();
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall, cpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

function measure(name: string, goalSeconds: number, command: string, args: string[]): StartupRow {
  timeOnce(command, args); // warm-up: the definitions cache, the file system cache
  const measured = Array.from({ length: runs }, () => timeOnce(command, args));
  const runsSeconds = measured.map((m) => m.wall);
  const cpus = measured.map((m) => m.cpu);
  const wall = median(runsSeconds);
  return {
    name,
    command: [command === process.execPath ? 'node' : command, ...args].join(' '),
    goalSeconds,
    medianSeconds: round(wall),
    minSeconds: round(Math.min(...runsSeconds)),
    maxSeconds: round(Math.max(...runsSeconds)),
    runsSeconds: runsSeconds.map(round),
    meetsGoal: wall <= goalSeconds,
    medianCpuSeconds: cpus.some((c) => c === null) ? null : round(median(cpus as number[])),
  };
}

function main(): void {
  if (!sources) {
    const stale = distStaleness(root);
    if (stale !== null) {
      log(`dist/: ${stale}; building it (npm run build)`);
      timeOnce(process.execPath, [join(root, 'bin/build.mjs')]);
    }
  }
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  if (load[0]! > cpus().length / 2) log(`note: load average ${load[0]} on ${cpus().length} CPUs — the goals are for an idle machine; expect higher figures`);

  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  let coldStartSeconds: number | null = null;
  if (cold) {
    rmSync(DEFAULT_CACHE_DIR, { recursive: true, force: true });
    coldStartSeconds = round(timeOnce(npm, ['start']).wall);
  }
  const rows = [
    measure('npm start', 1.5, npm, ['start']),
    measure('builderbrain gate', 0.3, process.execPath, ['bin/builderbrain.mjs', 'gate', 'examples/minor-pass.json']),
  ];
  const staleAfter = sources ? null : distStaleness(root);
  if (staleAfter !== null) log(`warning: dist/ went stale during the runs (${staleAfter}): some ran the sources through tsx; run again`);
  const results: StartupResults = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    loadAverage: load,
    runs,
    ran: sources ? 'sources' : 'dist',
    rows,
    coldStartSeconds,
  };
  writeFileSync(join(root, 'bench/startup-results.json'), `${JSON.stringify(results, null, 2)}\n`);

  const width = Math.max(...rows.map((r) => r.name.length));
  log(`\nstart-up, ${sources ? 'TypeScript sources (tsx)' : 'dist/'}: median of ${runs} fresh processes, wall time (min–max), CPU time`);
  for (const r of rows) {
    const cpu = r.medianCpuSeconds === null ? '' : `  cpu ${r.medianCpuSeconds.toFixed(2)} s`;
    log(`  ${r.name.padEnd(width)}  ${r.medianSeconds.toFixed(3)} s (${r.minSeconds.toFixed(3)}–${r.maxSeconds.toFixed(3)})${cpu}  goal ≤ ${r.goalSeconds} s  ${r.meetsGoal ? 'met' : 'NOT met'}`);
  }
  if (coldStartSeconds !== null) log(`  ${'npm start, cold'.padEnd(width)}  ${coldStartSeconds.toFixed(3)} s (once, definitions synthesized: the first run after a source change)`);
  log('bench/startup-results.json written');
}

main();
