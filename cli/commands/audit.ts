import { InvalidArgumentError, type Command } from 'commander';
import { EXPORT_FORMATS, exportRows, formatExport, type ExportFormat } from '../../core/audit-export.js';
import { describeChain, verifyChain } from '../../core/ledger-chain.js';
import { eventOf } from '../../core/ledger-items.js';
import { styleFor, writeOutputFile, type CliIO, type CommandContext, type FileWriter } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

/** `audit verify`: the chain is broken (an event was changed, replaced or removed). */
export const CHAIN_BROKEN_EXIT = 3;

export interface AuditVerifyArgs extends TargetOptions {
  readonly json?: boolean;
}

/**
 * `builderbrain audit verify <release>`: checks the release's hash chain (core/ledger-chain.ts) on
 * the events as stored and names the first broken link. Exit 0 intact, 3 broken.
 */
export async function auditVerifyCommand(io: CliIO, backend: OperatorBackend, ref: string, args: AuditVerifyArgs): Promise<number> {
  const s = styleFor(io);
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const [record, items] = await Promise.all([backend.ledger.getRelease(releaseId), backend.ledger.chainItems(releaseId)]);
  if (record === null && items.length === 0) {
    io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${targetFlags(args)}\` lists the releases in flight.\n`);
    return OPS_EXIT.notFound;
  }
  const verdict = verifyChain(releaseId, items);
  if (args.json === true) io.stdout(`${JSON.stringify(verdict, null, 2)}\n`);
  else if (verdict.intact) io.stdout(`${s.green('✓')} ${describeChain(verdict)} (${backend.where})\n`);
  else io.stdout(`${s.red('✗')} ${describeChain(verdict)} (${backend.where})\n`);
  return verdict.intact ? OPS_EXIT.ok : CHAIN_BROKEN_EXIT;
}

export interface AuditExportArgs extends TargetOptions {
  readonly since: Date;
  readonly format: ExportFormat;
  readonly out?: string;
}

/** The most releases one export reads (newest first, then filtered by `--since`). */
export const MAX_EXPORTED_RELEASES = 10_000;

/**
 * `builderbrain audit export --since <date> [--format jsonl|csv] [--out file]`: every release
 * received since the date and every event of each, from the audit ledger (core/audit-export.ts).
 */
export async function auditExportCommand(io: CliIO & FileWriter, backend: OperatorBackend, args: AuditExportArgs): Promise<number> {
  const records = (await backend.ledger.listReleases(MAX_EXPORTED_RELEASES)).filter((r) => Date.parse(r.receivedAt) >= args.since.getTime());
  const releases = [];
  for (const record of records) {
    const items = await backend.ledger.chainItems(record.releaseId);
    releases.push({ record, events: items.map((item) => ({ ...eventOf(item), ...(typeof item['hash'] === 'string' ? { hash: item['hash'] } : {}) })) });
  }
  const rows = exportRows(releases, args.since);
  const text = formatExport(rows, args.format);
  if (args.out === undefined) {
    io.stdout(text);
    return OPS_EXIT.ok;
  }
  if (!(await writeOutputFile(io, args.out, text, 'the export', 'out'))) return OPS_EXIT.invalid;
  io.stdout(`${records.length} release(s) and ${rows.length - records.length} event(s) since ${args.since.toISOString()} from ${backend.where} → ${args.out} (${args.format})\n`);
  return OPS_EXIT.ok;
}

function sinceDate(value: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new InvalidArgumentError('must be a date or date-time such as 2026-01-01 or 2026-01-01T00:00:00Z');
  return new Date(t);
}

function exportFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${EXPORT_FORMATS.join(', ')}`);
  return value as ExportFormat;
}

export function registerAudit(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('the audit ledger as evidence (RELEASE.md §12.2)');
  addTargetOptions(
    audit
      .command('export')
      .description('every release received since a date and every event of each, as JSON Lines or CSV')
      .requiredOption('--since <date>', 'releases received at or after this date (ISO 8601)', sinceDate)
      .option('--format <jsonl|csv>', 'JSON Lines (one release or event a line) or CSV (RFC 4180, details as JSON)', exportFormat, 'jsonl')
      .option('--out <file>', 'write to this file instead of stdout'),
  )
    .addHelpText(
      'after',
      exitCodesHelp('0 exported · 1 AWS failed · 2 invalid arguments', ['builderbrain audit export --since 2026-01-01 > audit.jsonl', 'builderbrain audit export --since 2026-01-01 --format csv --out audit.csv --profile auditor']),
    )
    .action(async (opts: AuditExportArgs) => {
      ctx.setExitCode(await runOperation(ctx, opts, undefined, (backend) => auditExportCommand(ctx.io, backend, opts)));
    });
  addTargetOptions(
    audit
      .command('verify')
      .description('check a release\'s hash chain: every event as stored, linked to the one before; names the first broken link')
      .argument('<release>', 'a release id, <model>@<version>, or a model name (its current release)')
      .option('--json', 'the verdict as JSON (intact, events, head, broken)', false),
  )
    .addHelpText(
      'after',
      exitCodesHelp(`0 intact · 1 not found, or AWS failed · 2 invalid arguments · ${CHAIN_BROKEN_EXIT} broken (an event was changed, replaced or removed)`, [
        'builderbrain audit verify builderbrain@2.1.0',
        'builderbrain audit verify builderbrain-2_1_0-1a2b3c4d --local --json',
      ]),
    )
    .action(async (ref: string, opts: AuditVerifyArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => auditVerifyCommand(ctx.io, backend, ref, opts)));
    });
}
