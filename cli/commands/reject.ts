import type { Command } from 'commander';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReason, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface RejectArgs extends TargetOptions {
  readonly reason: string;
  readonly json: boolean;
}

/**
 * `builderbrain reject <release> --reason "…"`: answers the waiting approval with a rejection
 * (SendTaskFailure `Rejected`, cause `{"actor","note"}`); the canary state machine then rolls the
 * release back (reason manual, P2). Exit 1 when no approval is waiting: nothing changes.
 */
export async function rejectCommand(io: CliIO, backend: OperatorBackend, ref: string, args: RejectArgs): Promise<number> {
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const { result, identity } = await backend.answer(releaseId, { decision: 'rejected', reason: args.reason });
  if (args.json) {
    io.stdout(`${JSON.stringify({ ...result, identity, reason: args.reason }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  const s = styleFor(io);
  io.stdout(
    `${s.red('Rejected')} phase ${result.phase + 1} of ${releaseId} as ${identity}: ${args.reason}\n` +
      `The pipeline rolls the release back now (reason manual, P2); follow it with \`builderbrain history ${releaseId}${targetFlags(args)}\`.\n`,
  );
  return OPS_EXIT.ok;
}

export function registerReject(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('reject')
      .description('reject the phase a release waits at; the pipeline rolls the release back')
      .argument('<release>', 'the release waiting for approval: its id, <model>@<version>, or the model (its release in flight)')
      .requiredOption('--reason <text>', 'why (recorded in the audit ledger and the incident)')
      .option('--json', 'print the answer as JSON', false),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 rejected (the rollback follows) · 1 nothing waiting (or release not found, AWS failed): nothing changed · 2 invalid arguments', [
        'builderbrain reject builderbrain-2_1_0-1a2b3c4d --reason "answers too long at 10%"',
        'builderbrain reject builderbrain@2.1.0 --reason "bad outputs" --local',
      ]),
    )
    .action(async (ref: string, opts: RejectArgs) => {
      if (!checkReleaseRef(ctx.io, ref) || !checkReason(ctx.io, opts.reason)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => rejectCommand(ctx.io, backend, ref, opts)));
    });
}
