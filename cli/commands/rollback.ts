import type { Command } from 'commander';
import { pendingRollbackRequest } from '../../core/app/request-rollback.js';
import type { ReleaseRecord } from '../../core/ports.js';
import { previousRelease, rollbackTargetIssue } from '../../core/release-ref.js';
import { operatorRollbackPlan } from '../../core/rollback.js';
import { styleFor, type CliIO, type CommandContext } from '../common.js';
import { addTargetOptions, checkReason, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type RollbackOptions, type TargetOptions } from '../ops.js';

export interface RollbackArgs extends TargetOptions {
  readonly reason?: string;
  readonly json: boolean;
  /** Security, a data or privacy breach, compliance: P0, at once, one identity. */
  readonly emergency?: boolean;
  /** The version to go back to: checked against what served before. */
  readonly to?: string;
  /** Approve (and run) another identity's requested rollback of a released version. */
  readonly approve?: boolean;
}

/**
 * `builderbrain rollback <release | model@version | model> --reason "…" [--emergency] [--to <version>]`:
 * the operator rollback, through the same rollback function as the alarms. A release in its canary
 * rolls back at once (P2; P0 with --emergency). A released version in its bake (its previous version
 * still warm) rolls back at once as an emergency; a planned rollback of it needs two people: the
 * first asks (recorded), a second identity runs it with --approve. `--to` must be what served before
 * (the lineage). Idempotent; a release that ended cannot be rolled back (exit 1: release the
 * previous version again).
 */
export async function rollbackCommand(io: CliIO, backend: OperatorBackend, ref: string, args: RollbackArgs): Promise<number> {
  const s = styleFor(io);
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const record = await backend.ledger.getRelease(releaseId);
  const plan = operatorRollbackPlan(record?.status ?? null, { emergency: args.emergency === true, approve: args.approve === true });
  // The lineage, read only when it is needed: to check --to, or to know what to release again.
  const previous = record !== null && (args.to !== undefined || plan.via === 'rerelease') ? previousRelease(record, await backend.ledger.listReleases(200)) : null;
  const issue = record !== null && args.to !== undefined ? rollbackTargetIssue(record, previous, args.to) : null;
  if (issue !== null) {
    io.stderr(`${s.red('error:')} ${issue}\n`);
    return OPS_EXIT.invalid;
  }
  if (record !== null && plan.via === 'rerelease' && previous === null) {
    io.stderr(`${s.red('error:')} ${record.model} ${record.version} is released and no earlier release of ${record.model} is in the ledger to go back to; nothing was changed.\n`);
    return OPS_EXIT.failed;
  }
  if (plan.step === 'request') return request(io, backend, releaseId, ref, { ...args, to: args.to ?? previous?.version });
  let requestedBy: string | null = null;
  let reason = args.reason ?? '';
  if (plan.step === 'approve') {
    const pending = pendingRollbackRequest(await backend.ledger.timeline(releaseId));
    if (pending === null) {
      io.stderr(`${s.red('error:')} no rollback of ${releaseId} is waiting for approval; nothing was changed. Ask for one with \`builderbrain rollback ${ref} --reason "…"${targetFlags(args)}\`.\n`);
      return OPS_EXIT.nothingWaiting;
    }
    requestedBy = pending.by;
    reason = pending.reason;
  }
  if (record !== null && previous !== null && plan.via === 'rerelease') return releaseAgain(io, backend, record, previous, reason, requestedBy, args);
  return run(io, backend, releaseId, reason, requestedBy === null ? { emergency: args.emergency === true } : { requestedBy }, args);
}

/**
 * A released version whose previous version is gone: the previous one is released again through
 * the pipeline (its artifact verified, deployed, smoke-tested, its traffic moved: one 100% phase in
 * an emergency, the configured plan otherwise).
 */
async function releaseAgain(io: CliIO, backend: OperatorBackend, record: ReleaseRecord, previous: ReleaseRecord, reason: string, requestedBy: string | null, args: RollbackArgs): Promise<number> {
  const s = styleFor(io);
  const emergency = args.emergency === true;
  const started = await backend.rollbackRelease(previous.releaseId, { of: record.version, reason, emergency, requestedBy });
  const doc = { outcome: 'rollback_release_started', releaseId: started.releaseId, of: record.version, to: previous.version, emergency, decidedBy: started.identity, requestedBy: requestedBy ?? started.identity };
  if (args.json) {
    io.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  io.stdout(
    `${s.red('Rolling back')} ${record.model} ${record.version} to ${previous.version}: released again through the pipeline${emergency ? ' as an emergency (P0; one 100% phase, at once)' : ' (its configured plan)'}.\n` +
      `Release: ${started.releaseId ?? '(see builderbrain status)'}; decided by ${started.identity}${requestedBy === null ? '' : `, requested by ${requestedBy}`}.\n` +
      `Follow it: builderbrain status ${record.model}${targetFlags(args)}\n`,
  );
  return OPS_EXIT.ok;
}

/** The first identity's request of a planned rollback of a released version. */
async function request(io: CliIO, backend: OperatorBackend, releaseId: string, ref: string, args: RollbackArgs): Promise<number> {
  const { requestedBy, at } = await backend.requestRollback(releaseId, args.reason ?? '', args.to ?? null);
  if (args.json) {
    io.stdout(`${JSON.stringify({ outcome: 'requested', releaseId, requestedBy, at, to: args.to ?? null }, null, 2)}\n`);
    return OPS_EXIT.ok;
  }
  io.stdout(
    `Requested a planned rollback of ${releaseId} (a released version) as ${requestedBy}; nothing moved yet.\n` +
      `A second identity approves and runs it with:\n  builderbrain rollback ${ref} --approve${targetFlags(args)}\n` +
      `(For security, a data or privacy breach or compliance: --emergency rolls back at once, P0.)\n`,
  );
  return OPS_EXIT.ok;
}

async function run(io: CliIO, backend: OperatorBackend, releaseId: string, reason: string, options: RollbackOptions, args: RollbackArgs): Promise<number> {
  const s = styleFor(io);
  const { output, identity } = await backend.rollback(releaseId, reason, options);
  const exit = output.outcome === 'already_promoted' ? OPS_EXIT.failed : OPS_EXIT.ok;
  if (args.json) {
    io.stdout(`${JSON.stringify({ ...output, identity, ...(options.requestedBy === undefined ? {} : { requestedBy: options.requestedBy }) }, null, 2)}\n`);
    return exit;
  }
  const history = `History: builderbrain history ${releaseId}${targetFlags(args)}`;
  switch (output.outcome) {
    case 'rolled_back':
      io.stdout(
        `${s.red('Rolled back')} ${releaseId}: ${output.message}\nIncident: ${output.reason ?? 'manual'} ${output.severity ?? ''}, by ${identity}${options.requestedBy === undefined ? '' : ` (requested by ${options.requestedBy})`}.\n${history}\n`,
      );
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
      .description('roll a release back: now (canary, or --emergency), or — a released version in its bake — asked by one identity, approved by another')
      .argument('<release>', 'a release id, <model>@<version>, or a model (its current release)')
      .option('--reason <text>', 'why (recorded in the audit ledger and the incident); required unless --approve')
      .option('--emergency', 'security, a data or privacy breach, compliance: P0, at once, no second approval', false)
      .option('--to <version>', 'the version to go back to: must be the one that served before (checked)')
      .option('--approve', "approve and run another identity's requested rollback of a released version", false)
      .option('--json', "print the rollback function's answer as JSON", false),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 rolled back, already rolled back, or requested · 1 the rollback failed, nothing waiting to approve, the release ended, not found, or AWS failed · 2 invalid arguments', [
        'builderbrain rollback builderbrain-2_1_0-1a2b3c4d --reason "customer reports of wrong answers"',
        'builderbrain rollback builderbrain@2.1.0 --to 2.0.9 --reason "PII in answers" --emergency',
        'builderbrain rollback builderbrain@2.1.0 --reason "plans too long since 2.1.0"      # then a colleague: … --approve',
        'builderbrain rollback builderbrain --reason "drill" --local',
      ]),
    )
    .action(async (ref: string, opts: RollbackArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      if (opts.approve !== true && !checkReason(ctx.io, opts.reason ?? '')) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => rollbackCommand(ctx.io, backend, ref, opts)));
    });
}
