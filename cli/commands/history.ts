import type { Command } from 'commander';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReleaseId, exitCodesHelp, OPS_EXIT, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';
import { statusColour, timelineTable } from '../release-view.js';

export interface HistoryArgs extends TargetOptions {
  readonly json: boolean;
}

/** `builderbrain history <release-id>`: the audit timeline of one release, oldest first. Exit 1 when not found. */
export async function historyCommand(io: CliIO, backend: OperatorBackend, releaseId: string, args: HistoryArgs): Promise<number> {
  const s = styleFor(io);
  const [record, events] = await Promise.all([backend.ledger.getRelease(releaseId), backend.ledger.timeline(releaseId)]);
  if (record === null && events.length === 0) {
    io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${targetFlags(args)}\` lists the releases in flight.\n`);
    return OPS_EXIT.notFound;
  }
  if (args.json) {
    io.stdout(`${JSON.stringify({ releaseId, release: record, events }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  const about = record === null ? '' : ` — ${record.model} ${record.version}, ${statusColour(s, record.status)}`;
  io.stdout(`${s.bold(`History of ${releaseId}`)}${about} (${backend.where})\n\n${timelineTable(events, s)}`);
  return OPS_EXIT.ok;
}

export function registerHistory(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('history')
      .description('the audit timeline of one release (who did what, when, at which phase and weight)')
      .argument('<release-id>', 'the release')
      .option('--json', 'print the record and every audit event as JSON', false),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 shown · 1 release not found, or AWS failed · 2 invalid arguments', [
        'builderbrain history builderbrain-2_1_0-1a2b3c4d',
        'builderbrain history builderbrain-2_1_0-1a2b3c4d --json | jq \'.events[] | select(.type == "rollback")\'',
        'builderbrain history builderbrain-2_1_0-1a2b3c4d --local',
      ]),
    )
    .action(async (releaseId: string, opts: HistoryArgs) => {
      if (!checkReleaseId(ctx.io, releaseId)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, releaseId, (backend) => historyCommand(ctx.io, backend, releaseId, opts)));
    });
}
