import type { ChainRun } from '../../local/chain.js';
import { InvalidArgumentError, type Command } from 'commander';
import { approvalNotWaiting } from '../../core/lifecycle.js';
import { renderReport } from '../../local/report.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO, loadScenario } from '../../local/scenario.js';
import { DEFAULT_STATE_DIR, LocalStateDir, StateDirBusyError } from '../../local/state-dir.js';
import type { ApprovalResponder, ProgressEvent } from '../../local/runtime.js';
import { formatRecording, recordingOf } from '../../local/recording.js';
import { reportInput, simulate, type SimulationSummary } from '../../local/simulate.js';
import { EXIT, formatIssues, formatTable, styleFor, writeOutputFile, type CliIO, type CommandContext } from '../common.js';

export interface SimulateArgs {
  readonly scenario: string;
  readonly json: boolean;
  readonly report?: string;
  /** Write the simulated fleet's emissions here, in the replay format (replay.md). */
  readonly record?: string;
  readonly phaseMinutes?: number;
  readonly manual: boolean;
  /** With `manual`: where the state and the answers of other terminals live (local/state-dir.ts). */
  readonly stateDir?: string;
}

/** Extra I/O of `simulate`: writing the report, asking at the terminal. */
export interface SimulateIO extends CliIO {
  readonly writeFile?: (path: string, text: string) => Promise<void>;
  /** Asks a question at the terminal; null when there is no terminal to ask. */
  readonly ask?: ((question: string) => Promise<string>) | null;
}

const OUTCOME_EXIT: Record<SimulationSummary['outcome'], number> = {
  promoted: EXIT.ok,
  rolled_back: EXIT.ok,
  rejected: EXIT.ok,
  rollback_failed: EXIT.internal,
};

/** A progress event as a terminal line (stderr). */
export function progressLine(io: CliIO, e: ProgressEvent): string {
  const s = styleFor(io);
  const clock = `${String(Math.floor(e.minute / 60)).padStart(2, '0')}:${String(e.minute % 60).padStart(2, '0')}`;
  const colour = e.kind === 'rollback' || e.kind === 'alarm' ? s.red : e.kind === 'promoted' ? s.green : e.kind === 'verdict' ? s.yellow : (x: string) => x;
  return `${s.dim(`[t+${clock} ${String(e.weight).padStart(3)}%]`)} ${colour(`${e.kind.padEnd(8)} ${e.text}`)}\n`;
}

/** A responder that asks at the terminal while the simulation keeps running (and alarms keep watching). */
function terminalResponder(io: SimulateIO): Exclude<ApprovalResponder, 'auto'> {
  let pending: Promise<string> | null = null;
  let answered: string | null = null;
  let askedFor = '';
  return async (req) => {
    if (!io.ask) return 'wait'; // no terminal: the approval stays unanswered until it times out
    if (pending === null) {
      answered = null;
      askedFor = `${req.releaseId}#${req.phase}`;
      pending = io.ask(`approve phase ${req.phase + 1} (${req.weight}%) of ${req.releaseId}? ${req.verdictSummary}\n[y]es / [n]o (roll back): `);
      void pending.then((a) => {
        answered = a.trim().toLowerCase();
      });
    }
    if (answered === null) return 'wait';
    pending = null;
    // The question was for an approval answered from another terminal meanwhile: ask again.
    if (askedFor !== `${req.releaseId}#${req.phase}`) return 'wait';
    return answered.startsWith('y') ? 'approve' : answered.startsWith('n') ? 'reject' : 'wait';
  };
}

/**
 * `--manual`: answers written by `builderbrain approve|reject|rollback --local` in other terminals
 * (the state directory's inbox) first, then the terminal's own question.
 */
function manualResponder(io: SimulateIO, local: LocalStateDir): ApprovalResponder {
  const inbox = local.responder();
  const terminal = terminalResponder(io);
  return async (req, runtime) => {
    await inbox(req, runtime);
    const record = await runtime.ledger.getRelease(req.releaseId);
    return record !== null && approvalNotWaiting(record) === null ? terminal(req, runtime) : 'wait';
  };
}

/** `--manual`: the state directory the other terminals answer through; null when it cannot be used (said on stderr). */
async function openStateDir(io: SimulateIO, args: SimulateArgs, scenario: string): Promise<LocalStateDir | null> {
  const s = styleFor(io);
  const dir = args.stateDir ?? DEFAULT_STATE_DIR;
  const onWriteError = (err: unknown) =>
    io.stderr(`${s.yellow('warning:')} cannot write ${dir}/state.json (${(err as Error).message}); the --local commands will not see this simulation.\n`);
  let local: LocalStateDir;
  try {
    local = await LocalStateDir.open(dir, { scenario, onWriteError });
  } catch (err) {
    const what = err instanceof StateDirBusyError ? 'Stop the other simulation, or pass another --state-dir.' : 'Check that the directory is writable, or pass another --state-dir.';
    io.stderr(`${s.red('error:')} cannot use the state directory '${dir}': ${(err as Error).message}. ${what}\n`);
    return null;
  }
  if (!args.json) {
    const where = dir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${dir}`;
    io.stderr(s.dim(`approvals: answer ${io.ask ? 'here or ' : ''}from another terminal with 'builderbrain approve|reject <release-id> --local${where}' (state: ${dir}/state.json)\n`));
  }
  return local;
}

/** Writes the report or the recording the user asked for (cli/common.ts writeOutputFile). */
function writeOutput(io: SimulateIO, option: 'report' | 'record', path: string, text: string): Promise<boolean> {
  return writeOutputFile(io, path, text, option === 'report' ? 'the report' : 'the recording', option);
}

/** The summary as the terminal shows it (without --json). */
function summaryTable(io: SimulateIO, summary: SimulationSummary, description: string, wall: number): string {
  const s = styleFor(io);
  const rows: [string, string][] = [
    ['scenario', `${summary.scenario} — ${description}`],
    ['release', `${summary.release.model} ${summary.release.version}`],
    ['outcome', summary.outcome === 'promoted' ? s.green(summary.outcome) : summary.outcome === 'rejected' ? s.yellow(summary.outcome) : s.red(summary.outcome)],
    ['promotion gates', summary.gate === null ? 'not run (invalid manifest)' : summary.gate.passed ? 'all passed' : `failed: ${summary.gate.checks.filter((c) => !c.passed).map((c) => c.name).join(', ')}`],
    ['phase reached', `${summary.phaseReached}%`],
    ['rollback', summary.rollback === null ? '—' : `${summary.rollback.reason} (${summary.rollback.severity}) at minute ${summary.rollback.atMinute}${summary.rollback.detectionMinutes === null ? '' : `, detected ${summary.rollback.detectionMinutes} min after the regression began`}`],
    ['incidents', summary.incidents.length === 0 ? 'none' : summary.incidents.map((i) => `${i.severity} ${i.reason}`).join('; ')],
    ...(summary.bake === undefined ? [] : ([['bake', `${summary.bake.outcome} after ${summary.bake.watchedMinutes}/${summary.bake.minutes} min${summary.bake.reference === null ? '' : ` (against the previous version a ${summary.bake.reference} before)`}`]] as [string, string][])),
    ...(summary.recovery === undefined ? [] : ([['recovery', summary.recovery.recovered ? s.green('verified') : s.red('NOT verified (P0)')]] as [string, string][])),
    ...(summary.rolledBackBy === undefined ? [] : ([['rolled back by', `${summary.rolledBackBy.emergency ? 'emergency ' : ''}release of ${summary.rolledBackBy.version} (${summary.rolledBackBy.releaseId ?? '?'}): ${summary.rolledBackBy.outcome}`]] as [string, string][])),
    ['final traffic', `${summary.finalTraffic.baseline}% baseline / ${summary.finalTraffic.candidate}% candidate`],
    ['state transitions', String(summary.stateTransitions)],
    ['simulated time', `${summary.simulatedMinutes} min in ${wall.toFixed(1)} s of wall time`],
  ];
  const table = `\n${formatTable(['', ''], rows.map(([k, v]) => [s.bold(k), v])).split('\n').slice(1).join('\n')}\n`;
  const chain = (summary as Partial<ChainRun['summary']>).chain;
  return chain === undefined ? table : `${table}\n${s.bold('Environments')}\n${chainRows(chain)}`;
}

/** One row per environment of a chain's run: where the release went and what each environment proved. */
function chainRows(chain: ChainRun['summary']['chain']): string {
  return formatTable(
    ['ENVIRONMENT', 'ACCOUNT', 'OUTCOME', 'PHASE', 'HOOKS', 'DRILL', 'MINUTES', 'THEN'],
    chain.map((e) => [
      e.environment,
      e.account,
      e.outcome,
      e.outcome === 'not_reached' ? '—' : `${e.phaseReached}%`,
      e.hooks.length === 0 ? '—' : `${e.hooks.filter((h) => h.passed).length}/${e.hooks.length} passed`,
      e.drill === null ? '—' : e.drill.passed ? 'passed' : 'FAILED',
      e.outcome === 'not_reached' ? '—' : `${e.startedAtMinute}–${e.endedAtMinute}`,
      e.handedOverTo !== null ? `handed over to ${e.handedOverTo}` : e.rollback !== null ? `${e.rollback.reason} (${e.rollback.severity})` : e.handover?.accepted === false ? `hand-over refused: ${e.handover.message}` : '—',
    ]),
  );
}

/** `builderbrain simulate`: a whole release run locally through the deployed state machine definitions. */
export async function simulateCommand(io: SimulateIO, args: SimulateArgs): Promise<number> {
  const s = styleFor(io);
  const found = await loadScenario(args.scenario);
  if (!found.ok) {
    io.stderr(`${s.red('error:')} ${found.message}\n${formatIssues(found.issues, s)}`);
    return EXIT.invalid;
  }
  const local = args.manual ? await openStateDir(io, args, found.scenario.name) : null;
  if (args.manual && local === null) return EXIT.invalid;
  const started = performance.now();
  let run: Awaited<ReturnType<typeof simulate>>;
  try {
    run = await simulate({
      scenario: found.scenario,
      phaseMinutes: args.phaseMinutes,
      approvals: local === null ? 'auto' : manualResponder(io, local),
      approvalPaceMs: args.manual ? 250 : 0,
      onProgress: args.json ? undefined : (e) => io.stderr(progressLine(io, e)),
      ledger: local?.ledger,
    });
  } catch (err) {
    await local?.close(null);
    throw err;
  }
  await local?.close(run.runtime);
  const wall = (performance.now() - started) / 1000;
  const { summary } = run;
  if (args.report !== undefined && !(await writeOutput(io, 'report', args.report, renderReport(reportInput(run, args.json ? null : wall))))) return EXIT.invalid;
  if (args.record !== undefined && !(await writeOutput(io, 'record', args.record, formatRecording(recordingOf(run))))) return EXIT.invalid;
  if (args.json) {
    io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return OUTCOME_EXIT[summary.outcome];
  }
  io.stdout(summaryTable(io, summary, found.scenario.description, wall));
  if (args.report !== undefined) io.stdout(`\nReport: ${args.report} (open it in a browser)\n`);
  if (args.record !== undefined) io.stdout(`Recording: ${args.record} (replay it with 'builderbrain replay ${args.record}')\n`);
  return OUTCOME_EXIT[summary.outcome];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 7 * 24 * 60) throw new InvalidArgumentError('must be a whole number of minutes from 1 to 10080');
  return n;
}

export function registerSimulate(program: Command, ctx: CommandContext): void {
  program
    .command('simulate')
    .description('run a whole release locally: the deployed state machines, the real handlers, a simulated fleet')
    .option('--scenario <name or file>', `a built-in scenario (see 'builderbrain scenarios') or a scenario JSON file`, DEFAULT_SCENARIO)
    .option('--json', 'print only the JSON summary on stdout', false)
    .option('--report <file.html>', 'write a self-contained HTML report with charts')
    .option('--record <file.jsonl>', "write what the simulated fleet emitted during the canary phases, in the replay format (see 'builderbrain replay')")
    .option('--phase-minutes <N>', 'monitoring minutes of every phase (default 60)', positiveInt)
    .option('--manual', 'wait for each approval: asked at the terminal, or answered from another terminal (approve/reject/rollback --local)', false)
    .option('--state-dir <dir>', 'with --manual: where the state and the other terminals\' answers live', DEFAULT_STATE_DIR)
    .addHelpText(
      'after',
      '\nExit codes: 0 the pipeline ran to an outcome (promoted, rolled back or rejected) · 2 invalid input · 1 internal failure (e.g. the rollback itself failed)\n' +
        'Examples:\n  $ builderbrain simulate\n  $ builderbrain simulate --manual            # then, in another terminal: builderbrain approve <release-id> --local\n  $ builderbrain simulate --scenario error-spike-at-10pct --report out.html\n  $ builderbrain simulate --scenario my-scenario.json --json --phase-minutes 30\n  $ builderbrain simulate --scenario error-spike-at-10pct --record spike.jsonl   # then: builderbrain replay spike.jsonl\n',
    )
    .action(async (opts: { scenario: string; json: boolean; report?: string; record?: string; phaseMinutes?: number; manual: boolean; stateDir: string }) => {
      const io = ctx.io as SimulateIO;
      ctx.setExitCode(await simulateCommand(io, opts));
    });
}

export function registerScenarios(program: Command, ctx: CommandContext): void {
  program
    .command('scenarios')
    .description('list the built-in simulation scenarios')
    .option('--json', 'print them as JSON', false)
    .action((opts: { json: boolean }) => {
      if (opts.json) {
        ctx.io.stdout(`${JSON.stringify(BUILTIN_SCENARIOS, null, 2)}\n`);
      } else {
        const s = styleFor(ctx.io);
        ctx.io.stdout(`${formatTable(['SCENARIO', 'WHAT HAPPENS'], BUILTIN_SCENARIOS.map((sc) => [s.bold(sc.name), sc.description]))}\n`);
      }
      ctx.setExitCode(EXIT.ok);
    });
}

