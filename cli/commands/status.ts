import type { Command } from 'commander';
import { approvalNotWaiting } from '../../core/lifecycle.js';
import { describeFreeze } from '../../core/freeze.js';
import { incidentLine, incidentsFrom } from '../../core/incidents.js';
import type { ReleaseRecord } from '../../core/ports.js';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';
import { chainStages, chainTable, IN_FLIGHT, nextSteps, releaseDetail, releasesTable } from '../release-view.js';

export interface StatusArgs extends TargetOptions {
  readonly json: boolean;
  /** Only this environment's stage of the chain. */
  readonly env?: string;
}

/**
 * `builderbrain status [<release-id>]`: without an id, the releases in flight (phase, weight, last
 * verdict); with one, that release. Exit 1 when the release is not found.
 */
export async function statusCommand(io: CliIO, backend: OperatorBackend, ref: string | undefined, args: StatusArgs): Promise<number> {
  const s = styleFor(io);
  const flags = targetFlags(args);
  // The emergency freeze first: it says why nothing moves (its key only while frozen, so the JSON is unchanged otherwise).
  const freeze = await backend.ledger.getFreeze();
  const frozen = freeze === null ? {} : { freeze };
  if (freeze !== null && !args.json) io.stdout(`${s.red('FROZEN')}: ${describeFreeze(freeze)}. No release starts; releases in flight hold at their next decision point (\`builderbrain unfreeze --reason …${flags}\` lifts it).\n\n`);
  if (ref !== undefined) {
    const releaseId = await resolveRelease(io, backend, ref);
    if (releaseId === null) return OPS_EXIT.invalid;
    const record = await backend.ledger.getRelease(releaseId);
    if (record === null) {
      io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${flags}\` lists the releases in flight.\n`);
      return OPS_EXIT.notFound;
    }
    const [events, handover] = await Promise.all([backend.ledger.timeline(releaseId), backend.ledger.getHandover(record.model, record.version)]);
    const chain = chainStages(record, events, handover, args.env);
    if (args.json) {
      // `chain` when the release came through the chain (or --env asks for it): the record alone otherwise, as before.
      io.stdout(`${JSON.stringify(handover !== null || args.env !== undefined ? { release: record, chain, ...frozen } : { release: record, ...frozen }, null, 2)}\n`);
      return OPS_EXIT.ok;
    }
    io.stdout(args.env === undefined ? releaseDetail(record, s, flags) : '');
    const incidents = incidentsFrom(events);
    if (args.env === undefined && incidents.length > 0) io.stdout(`\n${s.bold('Incidents')}:\n${incidents.map((i) => `  ${incidentLine(i)}`).join('\n')}\n`);
    if (handover !== null || args.env !== undefined) io.stdout(`\n${s.bold('Across the environments')}${args.env === undefined ? '' : ` (${args.env})`}:\n${chain.length === 0 ? `no stage in ${args.env}\n` : chainTable(chain, s)}`);
    return OPS_EXIT.ok;
  }
  // From the ledger's index of active releases: however many releases ended since, none in flight is missed.
  const inFlight = (await backend.ledger.listActiveReleases()).filter((r) => IN_FLIGHT.includes(r.status));
  if (args.json) {
    io.stdout(`${JSON.stringify({ releases: inFlight, ...frozen }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  if (inFlight.length === 0) {
    io.stdout(`No release is in flight in ${backend.where}.\n`);
    return OPS_EXIT.ok;
  }
  io.stdout(`${s.bold(`Releases in flight in ${backend.where}:`)}\n\n${releasesTable(inFlight, s)}`);
  const waiting = inFlight.filter((r: ReleaseRecord) => approvalNotWaiting(r) === null);
  for (const r of waiting) io.stdout(`\n${r.releaseId} waits for approval of phase ${(r.phase ?? 0) + 1} (${r.weight}%):\n${nextSteps(r, flags).map((c) => `  ${c}`).join('\n')}\n`);
  return OPS_EXIT.ok;
}

export function registerStatus(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('status')
      .description('releases in flight on a deployed stack (phase, weight, last verdict), or one release')
      .argument('[release]', 'a release id, <model>@<version>, or a model (its current release); default: every release in flight')
      .option('--json', 'print the release records as JSON', false)
      .option('--env <name>', 'with a release: only that environment\'s stage of the chain (staging, pre-production, production)'),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 shown · 1 release not found, or AWS failed · 2 invalid arguments', [
        'builderbrain status',
        'builderbrain status builderbrain-2_1_0-1a2b3c4d --region eu-west-1 --profile prod',
        'builderbrain status builderbrain@2.1.0      # or the model alone: its release in flight',
        'builderbrain status --local          # a simulation started with: builderbrain simulate --manual',
      ]),
    )
    .action(async (ref: string | undefined, opts: StatusArgs) => {
      if (ref !== undefined && !checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => statusCommand(ctx.io, backend, ref, opts)));
    });
}
