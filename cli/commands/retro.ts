import type { Command } from 'commander';
import { retroDraft } from '../../core/retro.js';
import { reportFor } from './analyze.js';
import { styleFor, writeOutputFile, type CliIO, type CommandContext, type FileWriter } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface RetroArgs extends TargetOptions {
  readonly out?: string;
}

/** `builderbrain retro <release>`: the retrospective draft of a release (RELEASE.md §10.3), prefilled from the ledger. */
export async function retroCommand(io: CliIO & FileWriter, backend: OperatorBackend, ref: string, args: RetroArgs): Promise<number> {
  const s = styleFor(io);
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const [record, timeline] = await Promise.all([backend.ledger.getRelease(releaseId), backend.ledger.timeline(releaseId)]);
  if (record === null) {
    io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${targetFlags(args)}\` lists the releases in flight.\n`);
    return OPS_EXIT.notFound;
  }
  // A rolled-back release: the post-rollback analysis (stored, else computed) prefills the cause.
  const analysis = record.status === 'rolled_back' ? ((await reportFor(backend, releaseId))?.report ?? null) : null;
  const draft = retroDraft(record, timeline, analysis);
  if (args.out === undefined) {
    io.stdout(draft);
    return OPS_EXIT.ok;
  }
  if (!(await writeOutputFile(io, args.out, draft, 'the draft', 'out'))) return OPS_EXIT.invalid;
  io.stdout(`Retrospective draft of ${releaseId} → ${args.out} (finish the sections marked "to fill in")\n`);
  return OPS_EXIT.ok;
}

export function registerRetro(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('retro')
      .description('a retrospective draft of a release (Markdown), prefilled from the audit ledger, for people to finish')
      .argument('<release>', 'a release id, <model>@<version>, or a model (its current release)')
      .option('--out <file.md>', 'write it to this file instead of stdout'),
  )
    .addHelpText('after', exitCodesHelp('0 written · 1 not found, or AWS failed · 2 invalid arguments', ['builderbrain retro builderbrain@2.1.0 --out retro-2.1.0.md', 'builderbrain retro builderbrain-2_1_0-1a2b3c4d --local']))
    .action(async (ref: string, opts: RetroArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => retroCommand(ctx.io, backend, ref, opts)));
    });
}
