/**
 * The `builderbrain` command line (cli.md). Each command lives in its own module under
 * `cli/commands/` and registers itself here; I/O is injected so tests run in-process, and `run`
 * returns the exit code instead of exiting.
 */
import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { registerApprove } from './commands/approve.js';
import { registerAudit } from './commands/audit.js';
import { registerFreeze } from './commands/freeze.js';
import { registerGate } from './commands/gate.js';
import { registerHistory } from './commands/history.js';
import { registerIncident } from './commands/incident.js';
import { registerNotes } from './commands/notes.js';
import { registerReject } from './commands/reject.js';
import { registerReplay } from './commands/replay.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerRetro } from './commands/retro.js';
import { registerRollback } from './commands/rollback.js';
import { registerScenarios, registerSimulate } from './commands/simulate.js';
import { registerStatus } from './commands/status.js';
import { registerValidate } from './commands/validate.js';
import { EXIT, styleFor, type CliIO, type CommandContext } from './common.js';

export type { CliIO } from './common.js';
export { EXIT } from './common.js';

/** Registers one command on the program; add new commands (simulate, scenarios, status, ...) to this list. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

const COMMANDS: readonly RegisterCommand[] = [
  registerValidate,
  registerGate,
  registerNotes,
  registerSimulate,
  registerScenarios,
  registerReplay,
  registerStatus,
  registerApprove,
  registerReject,
  registerRollback,
  registerHistory,
  registerAudit,
  registerFreeze,
  registerRetro,
  registerIncident,
  registerAnalyze,
];

/**
 * Builds the program. Settings that subcommands inherit (output, exit override, help after errors)
 * are set before the commands are added. `onExitCode` receives the exit code of the command that ran.
 */
export function buildProgram(io: CliIO, onExitCode: (code: number) => void = () => {}): Command {
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
  for (const register of COMMANDS) register(program, ctx);
  for (const cmd of program.commands) cmd.showHelpAfterError(`Run 'builderbrain ${cmd.name()} --help' for usage.`);
  return program;
}

/** Runs the command line `argv` (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
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
