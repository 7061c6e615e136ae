import type { Command } from 'commander';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReason, checkReleaseId, exitCodesHelp, OPS_EXIT, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface RollbackArgs extends TargetOptions {
  readonly reason: string;
  readonly json: boolean;
}

/**
 * `builderbrain rollback <release-id> --reason "…"`: the operator rollback, through the same
 * rollback function as the alarms (trigger manual: P2, the canary execution stopped). Idempotent:
 * a release already rolled back says so (exit 0). A promoted release cannot be rolled back (exit 1:
 * release the previous version again); a failed rollback is exit 1.
 */
export async function rollbackCommand(io: CliIO, backend: OperatorBackend, releaseId: string, args: RollbackArgs): Promise<number> {
  const { output, identity } = await backend.rollback(releaseId, args.reason);
  const exit = output.outcome === 'already_promoted' ? OPS_EXIT.failed : OPS_EXIT.ok;
  if (args.json) {
    io.stdout(`${JSON.stringify({ ...output, identity }, null, 2)}\n`);
    return exit;
  }
  const s = styleFor(io);
  const history = `History: builderbrain history ${releaseId}${targetFlags(args)}`;
  switch (output.outcome) {
    case 'rolled_back':
      io.stdout(`${s.red('Rolled back')} ${releaseId}: ${output.message}\nIncident: ${output.reason ?? 'manual'} ${output.severity ?? ''}, by ${identity}.\n${history}\n`);
      break;
    case 'already_promoted':
      io.stderr(`${s.red('error:')} ${output.message}\n`);
      break;
    default:
      io.stdout(`${output.message}\n${history}\n`);
  }
  return exit;
}

export function registerRollback(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('rollback')
      .description('roll a release back now: traffic 100% to the baseline, canary stopped, P2 incident')
      .argument('<release-id>', 'the release to roll back')
      .requiredOption('--reason <text>', 'why (recorded in the audit ledger and the incident)')
      .option('--json', 'print the rollback function\'s answer as JSON', false),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 rolled back, or already rolled back (says so) · 1 the rollback failed, the release was promoted, not found, or AWS failed · 2 invalid arguments', [
        'builderbrain rollback builderbrain-2_1_0-1a2b3c4d --reason "customer reports of wrong answers"',
        'builderbrain rollback builderbrain-2_1_0-1a2b3c4d --reason "drill" --local',
      ]),
    )
    .action(async (releaseId: string, opts: RollbackArgs) => {
      if (!checkReleaseId(ctx.io, releaseId) || !checkReason(ctx.io, opts.reason)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, releaseId, (backend) => rollbackCommand(ctx.io, backend, releaseId, opts)));
    });
}
