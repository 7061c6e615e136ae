import type { Command } from 'commander';
import { CONTROL_LOG, describeFreeze } from '../../core/freeze.js';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReason, exitCodesHelp, OPS_EXIT, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface FreezeArgs extends TargetOptions {
  readonly reason: string;
  readonly json?: boolean;
}

/**
 * `builderbrain freeze --reason …` / `unfreeze --reason …` (RELEASE.md §11): the emergency freeze
 * (core/freeze.ts) set or lifted as the caller, audited on the pipeline's control log and on every
 * release in flight. Idempotent: says so when it already was as asked (exit 0, nothing written).
 */
export async function freezeCommand(io: CliIO, backend: OperatorBackend, action: 'freeze' | 'unfreeze', args: FreezeArgs): Promise<number> {
  const s = styleFor(io);
  const { outcome, identity } = await backend.setFreeze(action, args.reason.trim());
  if (args.json === true) {
    io.stdout(`${JSON.stringify({ ...outcome, identity }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  const held = outcome.releases.length === 0 ? 'no release is in flight' : `audited on ${outcome.releases.length} release(s) in flight: ${outcome.releases.join(', ')}`;
  const log = `Control log: builderbrain history ${CONTROL_LOG}${targetFlags(args)}`;
  if (action === 'freeze') {
    if (!outcome.changed) io.stdout(`Already frozen (nothing changed): ${describeFreeze(outcome.freeze!)}.\n`);
    else
      io.stdout(
        `${s.red('FROZEN')} by ${identity} (${backend.where}): ${outcome.freeze!.reason}\nNo release starts; releases in flight hold at their next decision point (still watched, still rolled back on a regression); approvals wait. A hotfix passes only with "overrideFreeze": true and a second identity's approval.\n${held}.\n${log}\n`,
      );
  } else if (!outcome.changed) io.stdout(`Not frozen (nothing changed).\n`);
  else io.stdout(`${s.green('Unfrozen')} by ${identity} (${backend.where}): ${args.reason.trim()}. Was: ${describeFreeze(outcome.previous!)}.\nHeld releases move on at their next look; ${held}.\n${log}\n`);
  return OPS_EXIT.ok;
}

export function registerFreeze(program: Command, ctx: CommandContext): void {
  for (const action of ['freeze', 'unfreeze'] as const) {
    addTargetOptions(
      program
        .command(action)
        .description(
          action === 'freeze'
            ? 'emergency freeze: no release starts, releases in flight hold at their next decision point, approvals wait (RELEASE.md §11)'
            : 'lift the emergency freeze: held releases move on at their next look',
        )
        .requiredOption('--reason <text>', 'why (recorded in the audit ledger)')
        .option('--json', 'the outcome as JSON', false),
    )
      .addHelpText(
        'after',
        exitCodesHelp('0 done, or already so · 1 AWS or the simulation failed · 2 invalid arguments', [
          action === 'freeze' ? 'builderbrain freeze --reason "SEV-1 in the serving fleet: no changes until resolved"' : 'builderbrain unfreeze --reason "SEV-1 resolved"',
          `builderbrain ${action} --reason "drill" --local`,
        ]),
      )
      .action(async (opts: FreezeArgs) => {
        if (!checkReason(ctx.io, opts.reason)) return ctx.setExitCode(OPS_EXIT.invalid);
        ctx.setExitCode(await runOperation(ctx, opts, undefined, (backend) => freezeCommand(ctx.io, backend, action, opts)));
      });
  }
}
