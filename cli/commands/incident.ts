import type { Command } from 'commander';
import { releaseIncidents, REMINDER_LOOKBACK_RELEASES } from '../../core/app/incidents.js';
import { incidentLine, parseIncidentRef, type Incident, type IncidentCommand } from '../../core/incidents.js';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, exitCodesHelp, OPS_EXIT, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface IncidentArgs extends TargetOptions {
  readonly note?: string;
  readonly json: boolean;
}

/** What an operator types, and the command it is. */
const VERBS: Readonly<Record<string, IncidentCommand>> = { ack: 'acknowledge', resolve: 'resolve', close: 'close' };

/**
 * `builderbrain incident ack|resolve|close <id> [--note "…"]`: the incident's next state, as the
 * caller (audited, told in the incident's thread). Exit 0 when changed or already so; 1 when the
 * state machine refuses (close before resolve) or the incident is not found.
 */
export async function incidentTransitionCommand(io: CliIO, backend: OperatorBackend, command: IncidentCommand, id: string, args: IncidentArgs): Promise<number> {
  const s = styleFor(io);
  const { output, identity } = await backend.incident(command, id, args.note ?? null);
  const exit = output.outcome === 'changed' || output.outcome === 'unchanged' ? OPS_EXIT.ok : OPS_EXIT.failed;
  if (args.json) {
    io.stdout(`${JSON.stringify({ ...output, identity }, null, 2)}\n`);
    return exit;
  }
  if (exit !== OPS_EXIT.ok) {
    io.stderr(`${s.red('error:')} ${output.message}\n`);
    return exit;
  }
  const history = output.incident === null ? '' : `\nHistory: builderbrain history ${output.incident.releaseId}${targetFlags(args)}`;
  io.stdout(`${output.outcome === 'changed' ? s.green(output.message) : output.message}${history}\n`);
  return exit;
}

/** `builderbrain incident list`: the incidents not closed, of the newest releases. */
export async function incidentListCommand(io: CliIO, backend: OperatorBackend, args: IncidentArgs): Promise<number> {
  const s = styleFor(io);
  const open: Incident[] = [];
  for (const r of await backend.ledger.listReleases(REMINDER_LOOKBACK_RELEASES)) {
    if ((r.incidents ?? []).length === 0) continue;
    open.push(...(await releaseIncidents(backend.ledger, r.releaseId)).filter((i) => i.state !== 'closed'));
  }
  if (args.json) {
    io.stdout(`${JSON.stringify({ incidents: open }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  if (open.length === 0) {
    io.stdout(`No open incident in ${backend.where}.\n`);
    return OPS_EXIT.ok;
  }
  io.stdout(`${s.bold(`Incidents not closed in ${backend.where}:`)}\n${open.map((i) => `  ${incidentLine(i)}`).join('\n')}\n`);
  return OPS_EXIT.ok;
}

export function registerIncident(program: Command, ctx: CommandContext): void {
  const incident = program.command('incident').description('incidents of rollbacks, holds and escalations: list the open ones; acknowledge, resolve, close');
  for (const [verb, command] of Object.entries(VERBS)) {
    addTargetOptions(
      incident
        .command(verb)
        .description(command === 'acknowledge' ? 'acknowledge an incident: its status updates stop' : command === 'resolve' ? 'resolve an incident (acknowledged or not)' : 'close a resolved incident')
        .argument('<incident-id>', 'INC-<release id>-<n> (as in the page), or INC-<release hash>-<n>')
        .option('--note <text>', 'what you found or did (audited, sent in the incident\'s thread)')
        .option('--json', 'print the answer as JSON', false),
    )
      .addHelpText(
        'after',
        exitCodesHelp('0 done, or already so · 1 refused (e.g. close before resolve), not found, or AWS failed · 2 invalid arguments', [
          `builderbrain incident ${verb} INC-builderbrain-2_1_0-1a2b3c4d-1 --note "looking at the error rate"`,
          `builderbrain incident ${verb} INC-1a2b3c4d-1 --profile oncall`,
        ]),
      )
      .action(async (id: string, opts: IncidentArgs) => {
        if (parseIncidentRef(id) === null) {
          ctx.io.stderr(`${styleFor(ctx.io).red('error:')} '${id}' is not an incident id: INC-<release id>-<n> (INC-builderbrain-2_1_0-1a2b3c4d-1) or INC-<release hash>-<n> (INC-1a2b3c4d-1). \`builderbrain incident list\` shows the open ones.\n`);
          return ctx.setExitCode(OPS_EXIT.invalid);
        }
        ctx.setExitCode(await runOperation(ctx, opts, undefined, (backend) => incidentTransitionCommand(ctx.io, backend, command, id, opts)));
      });
  }
  addTargetOptions(incident.command('list').description('the incidents not yet closed, of the newest releases').option('--json', 'print them as JSON', false))
    .addHelpText('after', exitCodesHelp('0 listed · 1 AWS failed', ['builderbrain incident list', 'builderbrain incident list --local']))
    .action(async (opts: IncidentArgs) => {
      ctx.setExitCode(await runOperation(ctx, opts, undefined, (backend) => incidentListCommand(ctx.io, backend, opts)));
    });
}
