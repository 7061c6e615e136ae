import type { Command } from 'commander';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';
import { chainStages, chainTable, statusColour, timelineTable } from '../release-view.js';

export interface HistoryArgs extends TargetOptions {
  readonly json: boolean;
  /** Only this environment's part of the timeline. */
  readonly env?: string;
}

/** `builderbrain history <release>`: the audit timeline of one release, oldest first. Exit 1 when not found. */
export async function historyCommand(io: CliIO, backend: OperatorBackend, ref: string, args: HistoryArgs): Promise<number> {
  const s = styleFor(io);
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const [record, events] = await Promise.all([backend.ledger.getRelease(releaseId), backend.ledger.timeline(releaseId)]);
  if (record === null && events.length === 0) {
    io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${targetFlags(args)}\` lists the releases in flight.\n`);
    return OPS_EXIT.notFound;
  }
  const handover = record === null ? null : await backend.ledger.getHandover(record.model, record.version);
  const here = handover?.to ?? null;
  // The environments before this one: their stages, as the hand-over carried them (one timeline).
  const upstream = (record === null ? [] : chainStages(record, events, handover, args.env)).filter((t) => here === null || t.environment !== here);
  const own = args.env === undefined || args.env === here ? events : [];
  if (args.json) {
    const chained = handover !== null || args.env !== undefined;
    io.stdout(`${JSON.stringify(chained ? { releaseId, release: record, upstream, events: own } : { releaseId, release: record, events: own }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  const about = record === null ? '' : ` — ${record.model} ${record.version}, ${statusColour(s, record.status)}`;
  const before = upstream.length === 0 || handover === null ? '' : `${s.bold('Before this environment')} (from the hand-over of ${handover.from.environment}, account ${handover.from.account}):\n${chainTable(upstream, s)}\n`;
  io.stdout(`${s.bold(`History of ${releaseId}`)}${about} (${backend.where}${here === null ? '' : `, environment ${here}`})\n\n${before}${own.length === 0 ? '' : timelineTable(own, s)}`);
  return OPS_EXIT.ok;
}

export function registerHistory(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('history')
      .description('the audit timeline of one release (who did what, when, at which phase and weight)')
      .argument('<release>', 'a release id, <model>@<version>, or a model (its current release); pipeline-control: the freezes')
      .option('--json', 'print the record and every audit event as JSON', false)
      .option('--env <name>', 'only that environment\'s part of the timeline (the stages before this one come from the hand-over)'),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 shown · 1 release not found, or AWS failed · 2 invalid arguments', [
        'builderbrain history builderbrain-2_1_0-1a2b3c4d',
        'builderbrain history builderbrain-2_1_0-1a2b3c4d --json | jq \'.events[] | select(.type == "rollback")\'',
        'builderbrain history builderbrain@2.1.0 --local',
        'builderbrain history pipeline-control        # every freeze and unfreeze',
      ]),
    )
    .action(async (ref: string, opts: HistoryArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => historyCommand(ctx.io, backend, ref, opts)));
    });
}
