/**
 * Shared pieces of the local end-to-end tests: scenario lookup, audit-timeline helpers and a small
 * cache so that a scenario's default run is simulated once per test file.
 */
import { BUILTIN_SCENARIOS, ScenarioSchema, type Scenario, type ScenarioEvent } from '../../local/scenario.js';
import { SIMULATION_EPOCH } from '../../local/runtime.js';
import { simulate, type SimulateOptions, type SimulationRun, type SummaryAuditEvent } from '../../local/simulate.js';

/** A built-in scenario by name (throws for an unknown one: a typo must not pass silently). */
export function builtin(name: string): Scenario {
  const s = BUILTIN_SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no built-in scenario '${name}'`);
  return s;
}

/** The healthy scenario with other candidate events (and optionally other fields), validated. */
export function customScenario(name: string, events: ScenarioEvent[], overrides: Partial<Omit<Scenario, 'candidate'>> = {}): Scenario {
  const base = builtin('healthy');
  return ScenarioSchema.parse({ ...base, ...overrides, name, description: `e2e: ${name}`, candidate: { ...base.candidate, events } });
}

/** Minutes since the simulation epoch of an ISO timestamp. */
export const minuteOf = (iso: string): number => Math.round((Date.parse(iso) - Date.parse(SIMULATION_EPOCH)) / 60_000);

/** Consecutive runs of the same audit type: [type, count][]. */
export function runsOf(audit: readonly SummaryAuditEvent[]): [string, number][] {
  const runs: [string, number][] = [];
  for (const e of audit) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === e.type) last[1] += 1;
    else runs.push([e.type, 1]);
  }
  return runs;
}

const cache = new Map<string, Promise<SimulationRun>>();

/** simulate() of a built-in scenario with default options, once per process. */
export function defaultRun(name: string): Promise<SimulationRun> {
  let run = cache.get(name);
  if (run === undefined) {
    run = simulate({ scenario: builtin(name) });
    cache.set(name, run);
  }
  return run;
}

/** simulate() and its wall time in milliseconds. */
export async function timed(options: SimulateOptions): Promise<{ run: SimulationRun; ms: number }> {
  const started = performance.now();
  const run = await simulate(options);
  return { run, ms: performance.now() - started };
}

/** What each execution of a run ended with: its output, or the error it failed with. */
export async function executionResults(run: SimulationRun): Promise<{ machine: string; stopped: boolean; ok: boolean; output: unknown; error: string | null }[]> {
  return Promise.all(
    run.runtime.executionsRun.map(async (e) => {
      try {
        return { machine: e.machine.name, stopped: e.stopped, ok: true, output: await e.result, error: null };
      } catch (err) {
        return { machine: e.machine.name, stopped: e.stopped, ok: false, output: null, error: `${(err as Error).name}: ${(err as Error).message}` };
      }
    }),
  );
}
