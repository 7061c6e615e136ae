import type { Command } from 'commander';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface ApproveArgs extends TargetOptions {
  readonly json: boolean;
}

/**
 * `builderbrain approve <release>`: answers the approval the release's current phase waits for
 * (the task token stays in the ledger: never printed), recording the caller's identity. Exit 1 when
 * no approval is waiting (not asked, answered already, timed out, release ended): nothing changes.
 */
export async function approveCommand(io: CliIO, backend: OperatorBackend, ref: string, args: ApproveArgs): Promise<number> {
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const { result, identity } = await backend.answer(releaseId, { decision: 'approved' });
  if (args.json) {
    io.stdout(`${JSON.stringify({ ...result, identity }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  const s = styleFor(io);
  io.stdout(
    `${s.green('Approved')} phase ${result.phase + 1} of ${releaseId} as ${identity}. The canary goes on to the next phase; follow it with \`builderbrain status ${releaseId}${targetFlags(args)}\`.\n`,
  );
  return OPS_EXIT.ok;
}

export function registerApprove(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('approve')
      .description('approve the phase a release waits at; the canary goes on to the next phase')
      .argument('<release>', 'the release waiting for approval: its id, <model>@<version>, or the model (its release in flight)')
      .option('--json', 'print the answer as JSON', false),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 approved · 1 nothing waiting (or release not found, AWS failed): nothing changed · 2 invalid arguments', [
        'builderbrain approve builderbrain-2_1_0-1a2b3c4d',
        'builderbrain approve builderbrain@2.1.0',
        'builderbrain approve builderbrain-2_1_0-1a2b3c4d --profile release-approver --region eu-west-1',
        'builderbrain approve builderbrain-2_1_0-1a2b3c4d --local',
      ]),
    )
    .action(async (ref: string, opts: ApproveArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => approveCommand(ctx.io, backend, ref, opts)));
    });
}
