/**
 * `builderbrain replay <recording.jsonl | folder> [--manifest release.json] [--policy policy.json]
 * [--json] [--report out.html]` (../shared/spec/replay.md): the pipeline of `simulate` on a
 * recorded fleet. Every input — the manifest, the policy, every line of every recording — is
 * validated before anything runs. Exit codes: 0 every recording ran to an outcome, 2 invalid
 * input, 1 internal failure (including a rollback that could not restore the baseline).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ReleaseManifest } from '../../core/manifest.js';
import { PolicySchema, type Policy } from '../../core/policy.js';
import { parseRecording, type RecordingIssue, type RecordingLine } from '../../local/recording.js';
import { replay, replayConfig, type ReplaySummary } from '../../local/replay.js';
import { renderReport } from '../../local/report.js';
import { reportInput } from '../../local/simulate.js';
import { EXIT, MANIFEST_HINT, formatTable, loadManifest, loadSchemaFile, reportLoadFailure, styleFor, unreadableMessage, writeOutputFile, type CommandContext } from '../common.js';
import { MAX_POLICY_BYTES } from './gate.js';
import { progressLine, type SimulateIO } from './simulate.js';

export interface ReplayArgs {
  readonly manifest?: string;
  readonly policy?: string;
  /** Watch the released version this long after 100% (the recording's 100% lines past the phase). */
  readonly bakeMinutes?: number;
  readonly json: boolean;
  readonly report?: string;
}

/** The recordings a path names: the file itself, or every `*.jsonl` of a folder sorted by name. */
async function recordingsAt(path: string): Promise<{ ok: true; files: string[]; folder: boolean } | { ok: false; message: string }> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    return { ok: false, message: unreadableMessage(path, 'recording', err) };
  }
  if (!isDirectory) return { ok: true, files: [path], folder: false };
  const names = (await readdir(path)).filter((n) => n.endsWith('.jsonl')).sort();
  if (names.length === 0) return { ok: false, message: `the folder '${path}' has no *.jsonl recording. Pass a recording file, or a folder of them.` };
  return { ok: true, files: names.map((n) => join(path, n)), folder: true };
}

/** `--report` for one recording of several: out.html → out-<recording>.html. */
function reportPath(report: string, file: string, several: boolean): string {
  if (!several) return report;
  const stem = basename(file).replace(/\.jsonl$/, '');
  return report.endsWith('.html') ? `${report.slice(0, -'.html'.length)}-${stem}.html` : `${report}-${stem}.html`;
}

/** The manifest and policy `--manifest` / `--policy` name, each reported on stderr when unusable. */
interface ReplayInputs {
  readonly invalid: boolean;
  readonly manifest?: ReleaseManifest;
  readonly policy?: Policy;
}

/** A recording read and validated, ready to replay. */
interface LoadedRecording {
  readonly file: string;
  readonly name: string;
  readonly lines: RecordingLine[];
}

type ReplayConfig = ReturnType<typeof replayConfig>;

async function loadPolicyArg(io: SimulateIO, path: string | undefined): Promise<{ invalid: boolean; policy?: Policy }> {
  if (path === undefined) return { invalid: false };
  const loaded = await loadSchemaFile(io, path, 'policy file', PolicySchema, MAX_POLICY_BYTES);
  if (loaded.ok) return { invalid: false, policy: loaded.value };
  reportLoadFailure(io, path, 'policy file', loaded);
  return { invalid: true };
}

async function loadManifestArg(io: SimulateIO, path: string | undefined): Promise<{ invalid: boolean; manifest?: ReleaseManifest }> {
  if (path === undefined) return { invalid: false };
  const loaded = await loadManifest(io, path);
  if (loaded.ok) return { invalid: false, manifest: loaded.value };
  reportLoadFailure(io, path, 'release manifest', loaded);
  if (loaded.kind === 'invalid') io.stderr(MANIFEST_HINT);
  return { invalid: true };
}

async function loadReplayInputs(io: SimulateIO, args: ReplayArgs): Promise<ReplayInputs> {
  const { invalid: policyInvalid, policy } = await loadPolicyArg(io, args.policy);
  const { invalid: manifestInvalid, manifest } = await loadManifestArg(io, args.manifest);
  return { invalid: policyInvalid || manifestInvalid, manifest, policy };
}

/** Not an error: a recording may hold minutes of an approval wait. The plan never watches them. */
function warnUnmonitoredLines(io: SimulateIO, file: string, lines: readonly RecordingLine[], config: ReplayConfig): void {
  const s = styleFor(io);
  // The last phase (100%) is watched on through the bake, when there is one.
  const watched = (weight: number) => (config.phases.find((p) => p.weight === weight)?.monitorMinutes ?? Number.POSITIVE_INFINITY) + (weight === 100 ? config.bake.minutes : 0);
  const beyond = lines.filter((l) => l.minute >= watched(l.weight)).length;
  if (beyond > 0) io.stderr(`${s.yellow('warning:')} ${file}: ${beyond} line(s) past their phase's monitored minutes (${config.phases.map((p) => `${p.weight}%: ${p.monitorMinutes}`).join(', ')}) are not replayed.\n`);
}

function reportInvalidRecording(io: SimulateIO, file: string, issues: readonly RecordingIssue[]): void {
  const s = styleFor(io);
  const n = issues.length;
  io.stderr(`${s.red('error:')} '${file}' is not a valid recording (${n} problem${n === 1 ? '' : 's'}):\n`);
  for (const i of issues) io.stderr(`  ${s.bold(`${file}:${i.line}`)}${i.path === '' ? '' : ` ${s.bold(i.path)}`}: ${i.message}\n`);
}

/** One recording read and validated against the plan's phases; null (reported on stderr) when unusable. */
async function loadRecording(io: SimulateIO, file: string, config: ReplayConfig): Promise<LoadedRecording | null> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (err) {
    io.stderr(`${styleFor(io).red('error:')} ${unreadableMessage(file, 'recording', err)}\n`);
    return null;
  }
  const parsed = parseRecording(text, config.phases.map((p) => p.weight));
  if (!parsed.ok) {
    reportInvalidRecording(io, file, parsed.issues);
    return null;
  }
  warnUnmonitoredLines(io, file, parsed.lines, config);
  return { file, name: basename(file), lines: parsed.lines };
}

/** Every line of every recording, against the plan's phases, before anything runs; null when any is invalid. */
async function loadRecordings(io: SimulateIO, files: readonly string[], config: ReplayConfig): Promise<LoadedRecording[] | null> {
  const recordings: LoadedRecording[] = [];
  let invalid = false;
  for (const file of files) {
    const loaded = await loadRecording(io, file, config);
    if (loaded === null) invalid = true;
    else recordings.push(loaded);
  }
  if (!invalid) return recordings;
  io.stderr('Fix the lines above (the format: README "Replay", ../shared/spec/replay.md) and run the command again; nothing was replayed.\n');
  return null;
}

/** Writes one recording's HTML report; false (reported on stderr) when it cannot be written. */
async function writeReplayReport(io: SimulateIO, out: string, r: LoadedRecording, result: Awaited<ReturnType<typeof replay>>, wallSeconds: number | null): Promise<boolean> {
  const { summary, run } = result;
  const html = renderReport({
    ...reportInput(run, wallSeconds),
    title: `BuilderBrain Release — replayed release of ${summary.release.model} ${summary.release.version}: ${summary.outcome.replace('_', ' ')}`,
    description: `Replay of the recording ${r.name}: the pipeline of simulate, the recorded minutes as the fleet`,
  });
  return writeOutputFile(io, out, html, 'the report', 'report');
}

/** Replays one recording: its report if asked, its JSON summary if asked; null when the report cannot be written. */
async function replayOne(io: SimulateIO, r: LoadedRecording, inputs: ReplayInputs, args: ReplayArgs, several: boolean): Promise<ReplaySummary | null> {
  const started = performance.now();
  const result = await replay({
    lines: r.lines,
    recording: r.name,
    manifest: inputs.manifest,
    policy: inputs.policy,
    ...(args.bakeMinutes === undefined ? {} : { bakeMinutes: args.bakeMinutes }),
    onProgress: args.json || several ? undefined : (e) => io.stderr(progressLine(io, e)),
  });
  const { summary } = result;
  if (args.report !== undefined) {
    const wallSeconds = args.json ? null : (performance.now() - started) / 1000;
    if (!(await writeReplayReport(io, reportPath(args.report, r.file, several), r, result, wallSeconds))) return null;
  }
  if (args.json) io.stdout(several ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

function bakeMinutes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 14 * 24 * 60) throw new InvalidArgumentError('must be a whole number of minutes from 0 to 20160');
  return n;
}

export async function replayCommand(io: SimulateIO, path: string, args: ReplayArgs): Promise<number> {
  const inputs = await loadReplayInputs(io, args);
  const found = await recordingsAt(path);
  if (!found.ok) {
    io.stderr(`${styleFor(io).red('error:')} ${found.message}\n`);
    return EXIT.invalid;
  }
  if (inputs.invalid) return EXIT.invalid;
  const recordings = await loadRecordings(io, found.files, replayConfig({ manifest: inputs.manifest, policy: inputs.policy, ...(args.bakeMinutes === undefined ? {} : { bakeMinutes: args.bakeMinutes }) }));
  if (recordings === null) return EXIT.invalid;

  const several = found.folder;
  const summaries: ReplaySummary[] = [];
  for (const r of recordings) {
    const summary = await replayOne(io, r, inputs, args, several);
    if (summary === null) return EXIT.invalid;
    summaries.push(summary);
  }
  if (!args.json) io.stdout(humanReport(io, summaries, several));
  if (args.report !== undefined && !args.json) io.stdout(`\nReport${several ? 's' : ''}: ${several ? recordings.map((r) => reportPath(args.report!, r.file, true)).join(', ') : args.report} (open in a browser)\n`);
  return summaries.some((x) => x.outcome === 'rollback_failed') ? EXIT.internal : EXIT.ok;
}

function rollbackText(r: ReplaySummary['rollback']): string {
  return r === null ? '—' : `${r.reason} (${r.severity}) at minute ${r.atMinute} of the canary`;
}

function humanReport(io: SimulateIO, summaries: readonly ReplaySummary[], several: boolean): string {
  const s = styleFor(io);
  const outcome = (o: ReplaySummary['outcome']) => (o === 'promoted' ? s.green(o) : o === 'rejected' ? s.yellow(o) : s.red(o));
  if (several) {
    const rows = summaries.map((x) => [x.recording, outcome(x.outcome), `${x.phaseReached}%`, rollbackText(x.rollback)]);
    return `\n${formatTable(['RECORDING', 'OUTCOME', 'PHASE', 'ROLLBACK'].map((h) => s.bold(h)), rows)}`;
  }
  const x = summaries[0]!;
  const rows: [string, string][] = [
    ['recording', x.recording],
    ['release', `${x.release.model} ${x.release.version}`],
    ['outcome', outcome(x.outcome)],
    ['promotion gates', x.gate === null ? 'not run (invalid manifest)' : x.gate.passed ? 'all passed' : `failed: ${x.gate.checks.filter((c) => !c.passed).map((c) => c.name).join(', ')}`],
    ['phase reached', `${x.phaseReached}%`],
    ['rollback', rollbackText(x.rollback)],
    ['incidents', x.incidents.length === 0 ? 'none' : x.incidents.map((i) => `${i.severity} ${i.reason}`).join('; ')],
    ['final traffic', `${x.finalTraffic.baseline}% baseline / ${x.finalTraffic.candidate}% candidate`],
  ];
  return `\n${formatTable(['', ''], rows.map(([k, v]) => [s.bold(k), v])).split('\n').slice(1).join('\n')}`;
}

export function registerReplay(program: Command, ctx: CommandContext): void {
  program
    .command('replay')
    .description('judge a release on a recording of what the serving fleet emitted: the pipeline of simulate, the recorded minutes as the fleet')
    .argument('<recording>', 'a recording (JSON Lines, ../shared/spec/replay.md) or a folder of *.jsonl recordings')
    .option('--manifest <release.json>', 'the release manifest (default: a valid minor release)')
    .option('--policy <policy.json>', 'JSON policy file overriding the default thresholds, e.g. { "canary": { "errorRateRatio": 2 } }')
    .option('--bake-minutes <N>', "after 100%, the bake (against the previous version a day before), read from the recording's 100% lines past the phase's own minutes", bakeMinutes)
    .option('--json', 'print only the JSON summary on stdout (one line per recording for a folder)', false)
    .option('--report <out.html>', 'write a self-contained HTML report (for a folder: out-<recording>.html each)')
    .addHelpText(
      'after',
      '\nExit codes: 0 every recording ran to an outcome · 2 invalid input (file, line and field named; nothing runs) · 1 internal failure\n' +
        'Examples:\n  $ builderbrain simulate --scenario error-spike-at-10pct --record spike.jsonl\n  $ builderbrain replay spike.jsonl\n  $ builderbrain replay recordings/ --json --policy policy.json\n',
    )
    .action(async (recording: string, opts: ReplayArgs) => {
      ctx.setExitCode(await replayCommand(ctx.io as SimulateIO, recording, opts));
    });
}
