/**
 * Wall time of whole simulated releases (simulate(): synthesized state machines, real handlers,
 * simulated fleet, virtual clock): every built-in scenario with the default 60-minute phases, and
 * a healthy four-phase release with 24-hour phases. Prints a table and writes
 * bench/simulate-results.json.
 *
 * Run: npx tsx bench/simulate.bench.ts [--repeat N]   (N runs per scenario, the median is kept; default 3)
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadDefinitions } from '../local/runtime.js';
import { BUILTIN_SCENARIOS, type Scenario } from '../local/scenario.js';
import { simulate, simulationConfig, type SimulationSummary } from '../local/simulate.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const repeat = Math.max(1, Number(arg('--repeat') ?? 3));

export interface SimulateBenchRow {
  readonly scenario: string;
  readonly phaseMinutes: number;
  /** Median wall time of simulate(), definitions already synthesized (ms). */
  readonly wallMs: number;
  readonly outcome: SimulationSummary['outcome'];
  readonly phaseReached: number;
  readonly rollbackReason: string | null;
  readonly rollbackSeverity: string | null;
  readonly detectionMinutes: number | null;
  readonly stateTransitions: number;
  readonly simulatedMinutes: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(scenario: Scenario, phaseMinutes: number, runs: number): Promise<SimulateBenchRow> {
  const times: number[] = [];
  let summary: SimulationSummary | null = null;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const run = await simulate({ scenario, phaseMinutes });
    times.push(performance.now() - started);
    if (summary !== null && JSON.stringify(summary) !== JSON.stringify(run.summary)) throw new Error(`${scenario.name}: two runs differ`);
    summary = run.summary;
  }
  const s = summary!;
  return {
    scenario: scenario.name,
    phaseMinutes,
    wallMs: Math.round(median(times) * 10) / 10,
    outcome: s.outcome,
    phaseReached: s.phaseReached,
    rollbackReason: s.rollback?.reason ?? null,
    rollbackSeverity: s.rollback?.severity ?? null,
    detectionMinutes: s.rollback?.detectionMinutes ?? null,
    stateTransitions: s.stateTransitions,
    simulatedMinutes: s.simulatedMinutes,
  };
}

function table(rows: readonly SimulateBenchRow[]): string {
  const head = ['scenario', 'phase min', 'wall', 'outcome', 'phase', 'rollback', 'detection', 'transitions', 'sim min'];
  const body = rows.map((r) => [
    r.scenario,
    String(r.phaseMinutes),
    r.wallMs >= 1000 ? `${(r.wallMs / 1000).toFixed(2)} s` : `${r.wallMs.toFixed(0)} ms`,
    r.outcome,
    `${r.phaseReached}%`,
    r.rollbackReason === null ? '—' : `${r.rollbackReason} ${r.rollbackSeverity}`,
    r.detectionMinutes === null ? '—' : `${r.detectionMinutes} min`,
    String(r.stateTransitions),
    String(r.simulatedMinutes),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const synthStarted = performance.now();
  await loadDefinitions(simulationConfig({}));
  const synthMs = performance.now() - synthStarted;
  process.stderr.write(`state machine definitions in ${(synthMs / 1000).toFixed(2)} s (synthesized once per source version and config, local/definitions-cache.ts)\n`);
  // warm-up: module loading and JIT, not part of any row
  await simulate({ scenario: BUILTIN_SCENARIOS[0]!, phaseMinutes: 5 });

  const rows: SimulateBenchRow[] = [];
  for (const scenario of BUILTIN_SCENARIOS) {
    rows.push(await measure(scenario, 60, repeat));
    process.stderr.write(`  ${scenario.name}\n`);
  }
  const healthy = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
  await loadDefinitions(simulationConfig({ phaseMinutes: 1440 }));
  rows.push(await measure(healthy, 1440, 1));

  console.log(table(rows));
  const results = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    repeat,
    synthSeconds: Math.round(synthMs) / 1000,
    rows,
  };
  writeFileSync(fileURLToPath(new URL('./simulate-results.json', import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);
}

await main();
