/**
 * The `builderbrain` command line (cli.md). Each command lives in its own module under
 * `cli/commands/` and registers itself here; I/O is injected so tests run in-process, and `run`
 * returns the exit code instead of exiting.
 */
import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { EXIT, styleFor, type CliIO, type CommandContext } from './common.js';

export type { CliIO } from './common.js';
export { EXIT } from './common.js';

/** Registers one command on the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

/** A module of `cli/commands/`: the commands it registers, and how to load it. */
export interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<readonly RegisterCommand[]>;
}

/**
 * Every command, in the order `--help` lists them; add new ones here. Modules load only when one of
 * their commands may run (see {@link modulesFor}): `gate` never loads the simulator, the CDK or the
 * AWS SDK that other commands need.
 */
export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ['validate'], load: async () => [(await import('./commands/validate.js')).registerValidate] },
  { names: ['gate'], load: async () => [(await import('./commands/gate.js')).registerGate] },
  { names: ['notes'], load: async () => [(await import('./commands/notes.js')).registerNotes] },
  { names: ['simulate', 'scenarios'], load: async () => { const m = await import('./commands/simulate.js'); return [m.registerSimulate, m.registerScenarios]; } },
  { names: ['replay'], load: async () => [(await import('./commands/replay.js')).registerReplay] },
  { names: ['status'], load: async () => [(await import('./commands/status.js')).registerStatus] },
  { names: ['approve'], load: async () => [(await import('./commands/approve.js')).registerApprove] },
  { names: ['reject'], load: async () => [(await import('./commands/reject.js')).registerReject] },
  { names: ['rollback'], load: async () => [(await import('./commands/rollback.js')).registerRollback] },
  { names: ['history'], load: async () => [(await import('./commands/history.js')).registerHistory] },
  { names: ['audit'], load: async () => [(await import('./commands/audit.js')).registerAudit] },
  { names: ['freeze', 'unfreeze'], load: async () => [(await import('./commands/freeze.js')).registerFreeze] },
  { names: ['retro'], load: async () => [(await import('./commands/retro.js')).registerRetro] },
  { names: ['incident'], load: async () => [(await import('./commands/incident.js')).registerIncident] },
  { names: ['analyze'], load: async () => [(await import('./commands/analyze.js')).registerAnalyze] },
];

/**
 * The modules a command line needs: the one registering its command when the first word names one
 * (`builderbrain gate x.json`, `builderbrain gate --help`), otherwise every module — the program's
 * help, `help <command>`, a misspelt command (the suggestion needs every name), no command at all.
 *
 * @example modulesFor(['gate', 'release.json']).map((m) => m.names) // [['gate']]
 */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const first = argv[0];
  const own = COMMAND_MODULES.find((m) => first !== undefined && m.names.includes(first));
  return own === undefined ? COMMAND_MODULES : [own];
}

/**
 * Builds the program with the commands of `modules` (default: every command). Settings that
 * subcommands inherit (output, exit override, help after errors) are set before the commands are
 * added. `onExitCode` receives the exit code of the command that ran.
 */
export async function buildProgram(io: CliIO, onExitCode: (code: number) => void = () => {}, modules: readonly CommandModule[] = COMMAND_MODULES): Promise<Command> {
  const style = styleFor(io);
  const program = new Command('builderbrain')
    .description('BuilderBrain release pipeline: validate manifests, run promotion gates, write release notes, simulate releases, operate deployed ones')
    .version(pkg.version, '-V, --version', 'print the version of builderbrain')
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      getOutHasColors: () => io.isTTY,
      getErrHasColors: () => io.isTTY,
      outputError: (s, write) => write(s.replace(/^error:/, style.red('error:'))),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError("Run 'builderbrain --help' for usage.")
    .addHelpText('after', "\nRun 'builderbrain <command> --help' for the options and exit codes of a command.\n");

  const ctx: CommandContext = { io, setExitCode: onExitCode };
  const registers = await Promise.all(modules.map((m) => m.load()));
  for (const register of registers.flat()) register(program, ctx);
  for (const cmd of program.commands) cmd.showHelpAfterError(`Run 'builderbrain ${cmd.name()} --help' for usage.`);
  return program;
}

/** Runs the command line `argv` (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  try {
    const program = await buildProgram(
      io,
      (code) => {
        exitCode = code;
      },
      modulesFor(argv),
    );
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      // `builderbrain help` exits 0; help shown because no command was given is a usage error.
      if (err.code === 'commander.help') return err.exitCode === 0 && argv.length > 0 ? EXIT.ok : EXIT.invalid;
      return EXIT.invalid; // unknown option or command, missing or excess argument: already reported
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`${styleFor(io).red('error:')} internal error of builderbrain: ${message}. This is a bug; please report it with the command you ran.\n`);
    return EXIT.internal;
  }
}
