import type { Command } from 'commander';
import { computePostRollbackReport } from '../../core/app/post-rollback-analysis.js';
import { analysisKey, analysisUri, MAX_REPORT_BYTES, PostRollbackReportSchema, renderPostRollbackReport, type PostRollbackReport } from '../../core/post-rollback.js';
import { isAwsError } from '../../lambdas/adapters/aws-errors.js';
import { styleFor, writeOutputFile, type CliIO, type CommandContext, type FileWriter } from '../common.js';
import { addTargetOptions, checkReleaseRef, exitCodesHelp, OPS_EXIT, resolveRelease, runOperation, targetFlags, type OperatorBackend, type TargetOptions } from '../ops.js';

export interface AnalyzeArgs extends TargetOptions {
  readonly json?: boolean;
  readonly out?: string;
}

const wallClock = { now: () => new Date() };

/**
 * The report the pipeline stored (`analysis/<releaseId>.json` of the artifact bucket), or null when
 * there is none (not written yet, not readable: said in `notes`).
 */
async function storedReport(backend: OperatorBackend, releaseId: string, notes: string[]): Promise<PostRollbackReport | null> {
  if (backend.artifacts === undefined) return null;
  const { bucket, store } = backend.artifacts;
  try {
    const object = await store.getObjectText({ bucket, key: analysisKey(releaseId), versionId: null }, MAX_REPORT_BYTES);
    const parsed = object.tooLarge ? null : PostRollbackReportSchema.safeParse(JSON.parse(object.text));
    if (parsed?.success === true) return parsed.data;
    notes.push(`the stored report ${analysisUri(bucket, releaseId)} is not one this version reads: computed again`);
  } catch (err) {
    if (!isAwsError(err, 'NoSuchKey', 'NotFound') && !(err instanceof SyntaxError)) notes.push(`the stored report ${analysisUri(bucket, releaseId)} could not be read (${err instanceof Error ? err.message : String(err)}): computed from the ledger`);
  }
  return null;
}

/**
 * The post-rollback report of a release: the stored one, else computed now; null when the release
 * is not in the ledger. `builderbrain retro` uses it too.
 */
export async function reportFor(backend: OperatorBackend, releaseId: string): Promise<{ report: PostRollbackReport; stored: boolean } | null> {
  const notes: string[] = [];
  const stored = await storedReport(backend, releaseId, notes);
  const report = stored ?? (await computePostRollbackReport(releaseId, { ledger: backend.ledger, metrics: null, artifacts: backend.artifacts?.store ?? null, clock: wallClock }));
  if (report === null) return null;
  return { report: notes.length === 0 ? report : { ...report, notes: [...report.notes, ...notes] }, stored: stored !== null };
}

/**
 * `builderbrain analyze <release>`: the post-rollback analysis of a release (core/post-rollback.ts):
 * the one the pipeline stored after the rollback, else computed now from the ledger (and the
 * manifest's changelog; no metrics from the command line, so no onset then).
 */
export async function analyzeCommand(io: CliIO & FileWriter, backend: OperatorBackend, ref: string, args: AnalyzeArgs): Promise<number> {
  const s = styleFor(io);
  const releaseId = await resolveRelease(io, backend, ref);
  if (releaseId === null) return OPS_EXIT.invalid;
  const record = await backend.ledger.getRelease(releaseId);
  if (record === null) {
    io.stderr(`${s.red('error:')} release ${releaseId} is not in the audit ledger of ${backend.where}. \`builderbrain status${targetFlags(args)}\` lists the releases in flight.\n`);
    return OPS_EXIT.notFound;
  }
  if (record.status !== 'rolled_back' && record.status !== 'rolling_back') {
    io.stderr(`${s.red('error:')} release ${releaseId} was not rolled back (it is ${record.status}): there is nothing to analyse. \`builderbrain retro ${releaseId}${targetFlags(args)}\` drafts its retrospective.\n`);
    return OPS_EXIT.notFound;
  }
  const { report, stored } = (await reportFor(backend, releaseId))!;
  const text = args.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderPostRollbackReport(report);
  if (args.out === undefined) {
    io.stdout(text);
    return OPS_EXIT.ok;
  }
  if (!(await writeOutputFile(io, args.out, text, 'the analysis', 'out'))) return OPS_EXIT.invalid;
  io.stdout(`Post-rollback analysis of ${releaseId} (${stored ? 'as the pipeline stored it' : 'computed from the ledger'}) → ${args.out}\n`);
  return OPS_EXIT.ok;
}

export function registerAnalyze(program: Command, ctx: CommandContext): void {
  addTargetOptions(
    program
      .command('analyze')
      .description('the post-rollback analysis of a release: timeline, the rule that fired, the estimated onset, the failure mode, candidate causes')
      .argument('<release>', 'a release id, <model>@<version>, or a model (its current release)')
      .option('--json', 'print the report as JSON (its schema: core/post-rollback.ts)', false)
      .option('--out <file>', 'write it to this file instead of stdout'),
  )
    .addHelpText('after', exitCodesHelp('0 printed · 1 not found, not rolled back, or AWS failed · 2 invalid arguments', ['builderbrain analyze builderbrain@2.1.0', 'builderbrain analyze builderbrain-2_1_0-1a2b3c4d --json --out analysis.json', 'builderbrain analyze builderbrain --local']))
    .action(async (ref: string, opts: AnalyzeArgs) => {
      if (!checkReleaseRef(ctx.io, ref)) return ctx.setExitCode(OPS_EXIT.invalid);
      ctx.setExitCode(await runOperation(ctx, opts, ref, (backend) => analyzeCommand(ctx.io, backend, ref, opts)));
    });
}
