/**
 * Shared pieces of the `builderbrain` commands: the injected I/O, exit codes, colour, reading and
 * parsing input files, printing field issues and a tiny table formatter. Commands print; the core
 * never does.
 */
import { writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { FieldIssue } from '../core/errors.js';
import { parseManifestText, type ReleaseManifest } from '../core/manifest.js';
import { parseJsonText, type Parsed } from '../core/validation.js';

/** Everything a command touches outside itself, injected so tests run in-process. */
export interface CliIO {
  /** Writes to standard output; callers include their own newlines. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error; callers include their own newlines. */
  readonly stderr: (text: string) => void;
  /** Reads a whole text file (UTF-8); rejects with a Node.js fs error (`code` ENOENT, EACCES, ...). */
  readonly readFile: (path: string) => Promise<string>;
  /** Colour is used only when this is true. */
  readonly isTTY: boolean;
}

/** Exit codes shared by every command (cli.md). */
export const EXIT = {
  ok: 0,
  /** gate: the release is rejected. */
  rejected: 1,
  /** An unexpected failure of the tool itself (not the user's input). */
  internal: 1,
  /** Invalid input: a bad manifest, policy or command line. */
  invalid: 2,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each command module receives when it registers itself on the program. */
export interface CommandContext {
  readonly io: CliIO;
  /** Records the process exit code of the command that ran. */
  readonly setExitCode: (code: number) => void;
}

// ── colour ──────────────────────────────────────────────────────────────────────────────────────

export interface Style {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
}

const sgr =
  (open: number, close: number) =>
  (s: string): string =>
    `\u001b[${open}m${s}\u001b[${close}m`;

const PLAIN: Style = { red: String, green: String, yellow: String, bold: String, dim: String };
const ANSI: Style = { red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), bold: sgr(1, 22), dim: sgr(2, 22) };

/** Plain ANSI colours on a terminal, identity functions otherwise. */
export function styleFor(io: Pick<CliIO, 'isTTY'>): Style {
  return io.isTTY ? ANSI : PLAIN;
}

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\u001b\[[0-9;]*m/g;

/** Length of a string as displayed (ANSI colour codes do not take room). */
export function visibleLength(s: string): number {
  return [...s.replace(ANSI_RE, '')].length;
}

// ── tables ──────────────────────────────────────────────────────────────────────────────────────

/**
 * Left-aligned columns separated by two spaces; cells may carry colour codes. The last column is
 * not padded, so long messages do not leave trailing blanks.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => visibleLength(r[c] ?? ''))));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat((widths[c] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return `${all.map(line).join('\n')}\n`;
}

// ── reading input files ─────────────────────────────────────────────────────────────────────────

/** A loaded input: the value, a file that could not be read, or the offending fields. */
export type Loaded<T> =
  | { ok: true; value: T }
  | { ok: false; kind: 'unreadable'; message: string }
  | { ok: false; kind: 'invalid'; issues: readonly FieldIssue[] };

/** A sentence naming the file, what went wrong and what to do. */
export function unreadableMessage(path: string, what: string, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return `cannot read ${what} '${path}': no such file. Check the path and run the command again.`;
    case 'EISDIR':
      return `cannot read ${what} '${path}': it is a directory. Pass the path of the JSON file itself.`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${what} '${path}': permission denied. Check the file's permissions, or run as a user who may read it.`;
    default: {
      const reason = err instanceof Error ? err.message : String(err);
      return `cannot read ${what} '${path}': ${reason}. Check that the path names a readable file.`;
    }
  }
}

/** Reads a JSON file and parses it with a zod schema, naming every offending field by its path. */
export async function loadJsonFile<T>(
  io: CliIO,
  path: string,
  what: string,
  parse: (text: string) => Parsed<T>,
): Promise<Loaded<T>> {
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (err) {
    return { ok: false, kind: 'unreadable', message: unreadableMessage(path, what, err) };
  }
  const parsed = parse(text);
  return parsed.ok ? parsed : { ok: false, kind: 'invalid', issues: parsed.issues };
}

/** Reads and validates a release manifest exactly as the pipeline does (size limit, JSON, schema). */
export function loadManifest(io: CliIO, path: string): Promise<Loaded<ReleaseManifest>> {
  return loadJsonFile(io, path, 'release manifest', parseManifestText);
}

/** Reads a JSON file validated by `schema` (e.g. a policy file), with a size limit. */
export function loadSchemaFile<S extends z.ZodType>(
  io: CliIO,
  path: string,
  what: string,
  schema: S,
  maxBytes: number,
): Promise<Loaded<z.output<S>>> {
  return loadJsonFile(io, path, what, (text) => parseJsonText(schema, text, maxBytes));
}

/** One line per offending field: `  shadowEvaluation.riskEnergy.candidate: Too small: ...`. */
export function formatIssues(issues: readonly FieldIssue[], style: Style = PLAIN): string {
  return issues.map((i) => `  ${style.bold(i.path === '' ? '(root)' : i.path)}: ${i.message}\n`).join('');
}

/** Prints why an input could not be used, on stderr. */
export function reportLoadFailure(
  io: CliIO,
  path: string,
  what: string,
  failure: Exclude<Loaded<unknown>, { ok: true }>,
): void {
  const style = styleFor(io);
  if (failure.kind === 'unreadable') {
    io.stderr(`${style.red('error:')} ${failure.message}\n`);
    return;
  }
  const n = failure.issues.length;
  io.stderr(`${style.red('error:')} '${path}' is not a valid ${what} (${n} problem${n === 1 ? '' : 's'}):\n`);
  io.stderr(formatIssues(failure.issues, style));
}

/** The closing hint after an invalid manifest. */
export const MANIFEST_HINT =
  'Fix the fields above and run the command again; the contract is in schema/release-manifest.schema.json.\n';

/** Where a command writes the file its user names (tests inject their own). */
export interface FileWriter {
  readonly writeFile?: (path: string, text: string) => Promise<void>;
}

/**
 * Writes `text` to the file the user named with `--<option>`; false (and why, on stderr) when it
 * cannot: a bad path is the user's input, not a bug of the tool.
 *
 * @example if (!(await writeOutputFile(io, args.report, html, 'the report', 'report'))) return EXIT.invalid;
 */
export async function writeOutputFile(io: CliIO & FileWriter, path: string, text: string, what: string, option: string): Promise<boolean> {
  try {
    await (io.writeFile ?? ((p, t) => writeFile(p, t, 'utf8')))(path, text);
    return true;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    io.stderr(`${styleFor(io).red('error:')} cannot write ${what} '${path}': ${reason}. Check that its directory exists and is writable, or pass another --${option}.\n`);
    return false;
  }
}
