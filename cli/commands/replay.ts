/**
 * `builderbrain replay <recording.jsonl | folder> [--manifest release.json] [--policy policy.json]
 * [--json] [--report out.html]` (../shared/spec/replay.md): the pipeline of `simulate` on a
 * recorded fleet. Every input — the manifest, the policy, every line of every recording — is
 * validated before anything runs. Exit codes: 0 every recording ran to an outcome, 2 invalid
 * input, 1 internal failure (including a rollback that could not restore the baseline).
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import type { ReleaseManifest } from '../../core/manifest.js';
import { PolicySchema, type Policy } from '../../core/policy.js';
import { parseRecording, type RecordingLine } from '../../local/recording.js';
import { replay, replayConfig, type ReplaySummary } from '../../local/replay.js';
import { renderReport } from '../../local/report.js';
import { reportInput } from '../../local/simulate.js';
import { EXIT, MANIFEST_HINT, formatTable, loadManifest, loadSchemaFile, reportLoadFailure, styleFor, unreadableMessage, type CommandContext } from '../common.js';
import { MAX_POLICY_BYTES } from './gate.js';
import { progressLine, type SimulateIO } from './simulate.js';

export interface ReplayArgs {
  readonly manifest?: string;
  readonly policy?: string;
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

export async function replayCommand(io: SimulateIO, path: string, args: ReplayArgs): Promise<number> {
  const s = styleFor(io);
  let invalid = false;
  let policy: Policy | undefined;
  if (args.policy !== undefined) {
    const loaded = await loadSchemaFile(io, args.policy, 'policy file', PolicySchema, MAX_POLICY_BYTES);
    if (loaded.ok) policy = loaded.value;
    else {
      reportLoadFailure(io, args.policy, 'policy file', loaded);
      invalid = true;
    }
  }
  let manifest: ReleaseManifest | undefined;
  if (args.manifest !== undefined) {
    const loaded = await loadManifest(io, args.manifest);
    if (loaded.ok) manifest = loaded.value;
    else {
      reportLoadFailure(io, args.manifest, 'release manifest', loaded);
      if (loaded.kind === 'invalid') io.stderr(MANIFEST_HINT);
      invalid = true;
    }
  }
  const found = await recordingsAt(path);
  if (!found.ok) {
    io.stderr(`${s.red('error:')} ${found.message}\n`);
    return EXIT.invalid;
  }
  if (invalid) return EXIT.invalid;

  // Every line of every recording, against the plan's phases, before anything runs.
  const config = replayConfig({ manifest, policy });
  const weights = config.phases.map((p) => p.weight);
  const recordings: { file: string; name: string; lines: RecordingLine[] }[] = [];
  for (const file of found.files) {
    let text: string;
    try {
      text = await io.readFile(file);
    } catch (err) {
      io.stderr(`${s.red('error:')} ${unreadableMessage(file, 'recording', err)}\n`);
      invalid = true;
      continue;
    }
    const parsed = parseRecording(text, weights);
    if (parsed.ok) {
      recordings.push({ file, name: basename(file), lines: parsed.lines });
      // Not an error: a recording may hold minutes of an approval wait. The plan never watches them.
      const beyond = parsed.lines.filter((l) => l.minute >= (config.phases.find((p) => p.weight === l.weight)?.monitorMinutes ?? Number.POSITIVE_INFINITY)).length;
      if (beyond > 0) io.stderr(`${s.yellow('warning:')} ${file}: ${beyond} line(s) past their phase's monitored minutes (${config.phases.map((p) => `${p.weight}%: ${p.monitorMinutes}`).join(', ')}) are not replayed.\n`);
      continue;
    }
    invalid = true;
    const n = parsed.issues.length;
    io.stderr(`${s.red('error:')} '${file}' is not a valid recording (${n} problem${n === 1 ? '' : 's'}):\n`);
    for (const i of parsed.issues) io.stderr(`  ${s.bold(`${file}:${i.line}`)}${i.path === '' ? '' : ` ${s.bold(i.path)}`}: ${i.message}\n`);
  }
  if (invalid) {
    io.stderr('Fix the lines above (the format: README "Replay", ../shared/spec/replay.md) and run the command again; nothing was replayed.\n');
    return EXIT.invalid;
  }

  const several = found.folder;
  const summaries: ReplaySummary[] = [];
  for (const r of recordings) {
    const started = performance.now();
    const { summary, run } = await replay({
      lines: r.lines,
      recording: r.name,
      manifest,
      policy,
      onProgress: args.json || several ? undefined : (e) => io.stderr(progressLine(io, e)),
    });
    summaries.push(summary);
    if (args.report !== undefined) {
      const out = reportPath(args.report, r.file, several);
      const input = reportInput(run, args.json ? null : (performance.now() - started) / 1000);
      const html = renderReport({
        ...input,
        title: `BuilderBrain Release — replayed release of ${summary.release.model} ${summary.release.version}: ${summary.outcome.replace('_', ' ')}`,
        description: `Replay of the recording ${r.name}: the pipeline of simulate, the recorded minutes as the fleet`,
      });
      try {
        await (io.writeFile ?? ((p, t) => writeFile(p, t, 'utf8')))(out, html);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        io.stderr(`${s.red('error:')} cannot write the report '${out}': ${reason}. Check that its directory exists and is writable, or pass another --report.\n`);
        return EXIT.invalid;
      }
    }
    if (args.json) io.stdout(several ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
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
