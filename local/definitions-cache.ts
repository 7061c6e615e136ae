/**
 * The state machine definitions the embedded runtime runs: what CDK synthesizes (lib/synth.ts),
 * synthesized once per source version and config, then kept on disk.
 *
 * Synthesis loads aws-cdk-lib and builds the whole stack: seconds, every run. The definitions
 * depend only on the sources synthesis reads (lib/, core/, lambdas/), the installed packages
 * (package-lock.json) and the config, so they are cached under a key of those:
 * `node_modules/.cache/builderbrain/definitions-<sources>-<config>.json` — `npm ci` starts it
 * afresh, a changed source or dependency makes a new key, a changed config another file; a write
 * keeps the {@link MAX_CACHED_FILES} newest files (about 50 KB each), so trees sharing node_modules
 * and configs in turn do not evict each other. A file holds exactly what
 * `stateMachineDefinitions(synthesizeTemplate(config))` returned, once the interpreter's ASL check
 * passed on it (local/task-bridge.ts then runs it without checking again); nothing else writes one.
 *
 * lib/synth.ts is imported only on a miss, so a cached run never loads the CDK.
 * {@link loadDefinitions} (async) is the entry point; {@link definitionsFor} (sync, for the runtime's
 * constructor) answers from memory or disk, and synthesizes only once a miss has loaded the CDK.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine } from 'aws-local-stepfunctions';
import { hashInputs } from '../bin/freshness.mjs';
import type { PipelineConfig } from '../lib/config.js';
import type { MachineDefinitions } from '../lib/synth.js';

/** The project root (this module is one level below it, in local/ or in dist/). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the definitions are kept by default. */
export const DEFAULT_CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'builderbrain');

/**
 * What synthesis reads besides the config: the directories of lib/synth.ts's module graph (a test
 * checks the graph stays inside them) and the lockfile (aws-cdk-lib's version).
 */
export const SYNTH_SOURCE_DIRS: readonly string[] = ['lib', 'core', 'lambdas'];
const SYNTH_SOURCE_FILES: readonly string[] = ['package-lock.json'];

/** How many definitions files the cache keeps (the newest). */
export const MAX_CACHED_FILES = 64;

/** Synthesizes the definitions of a config (of one environment of its chain, when named). */
export type Synthesizer = (config: PipelineConfig, environment?: string) => MachineDefinitions;

export interface DefinitionsCacheOptions {
  /** @default DEFAULT_CACHE_DIR */
  readonly dir?: string;
  /** @default - a hash of SYNTH_SOURCE_DIRS and the lockfile ({@link synthSourceHash}) */
  readonly sourceHash?: string;
  /** @default - CDK synthesis (lib/synth.ts), imported on the first miss */
  readonly synthesize?: Synthesizer;
  /** @default MAX_CACHED_FILES */
  readonly maxFiles?: number;
}

const memory = new Map<string, MachineDefinitions>();
let cdkSynthesizer: Synthesizer | undefined;
let memoSourceHash: string | undefined;

/**
 * SHA-256 of the sources synthesis reads: every file under {@link SYNTH_SOURCE_DIRS} (path and
 * content) and the lockfile. About 10 ms for 150 files; computed once per process for the default root.
 */
export function synthSourceHash(root: string = ROOT): string {
  if (root === ROOT && memoSourceHash !== undefined) return memoSourceHash;
  const files: string[] = [];
  for (const dir of SYNTH_SOURCE_DIRS) {
    for (const e of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile()) files.push(relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
    }
  }
  files.sort();
  const digest = hashInputs(root, [...files, ...SYNTH_SOURCE_FILES]);
  if (root === ROOT) memoSourceHash = digest;
  return digest;
}

/**
 * The cache file's name for a config (and environment) at a source version.
 *
 * @example definitionsFile(config, undefined, 'ab12…') // 'definitions-ab12…(16)-<16 hex of the config>.json'
 */
export function definitionsFile(config: PipelineConfig, environment: string | undefined, sourceHash: string): string {
  const configHash = createHash('sha256').update(`${environment ?? ''}\0${JSON.stringify(config)}`).digest('hex');
  return `definitions-${sourceHash.slice(0, 16)}-${configHash.slice(0, 16)}.json`;
}

function readCached(path: string): MachineDefinitions | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as MachineDefinitions;
  } catch {
    return undefined; // absent, or cut short by a crash: synthesize again
  }
}

/** Writes the file whole (a reader never sees half of it), then keeps the `maxFiles` newest. */
function writeCached(dir: string, file: string, defs: MachineDefinitions, maxFiles: number): void {
  try {
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `.${file}.${process.pid}.tmp`);
    writeFileSync(temp, JSON.stringify(defs));
    renameSync(temp, join(dir, file));
    const files = readdirSync(dir)
      .filter((f) => f.startsWith('definitions-') && f !== file)
      .map((f) => ({ f, at: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => b.at - a.at);
    for (const { f } of files.slice(Math.max(0, maxFiles - 1))) rmSync(join(dir, f), { force: true });
  } catch {
    // A read-only or full disk only costs the next run a synthesis.
  }
}

function lookup(config: PipelineConfig, environment: string | undefined, options: DefinitionsCacheOptions): { key: string; dir: string; file: string; defs?: MachineDefinitions } {
  const dir = options.dir ?? DEFAULT_CACHE_DIR;
  const file = definitionsFile(config, environment, options.sourceHash ?? synthSourceHash());
  const key = join(dir, file);
  const defs = memory.get(key) ?? readCached(key);
  if (defs !== undefined) memory.set(key, defs);
  return { key, dir, file, ...(defs === undefined ? {} : { defs }) };
}

/**
 * Checks both machines as the interpreter does (asl-validator: the ASL schema, transitions, terminal
 * states), once per synthesis rather than at every execution; on a copy, as the validator adds
 * fields to what it checks. Throws the interpreter's error for an invalid definition.
 */
function checkAsl(defs: MachineDefinitions): void {
  for (const machine of [defs.promotion, defs.canary]) {
    new StateMachine(structuredClone(machine.definition) as never, { validationOptions: { checkArn: false, checkPaths: false } });
  }
}

function synthesizeAndKeep(synthesize: Synthesizer, config: PipelineConfig, environment: string | undefined, at: { key: string; dir: string; file: string }, maxFiles: number): MachineDefinitions {
  const defs = synthesize(config, environment);
  checkAsl(defs);
  writeCached(at.dir, at.file, defs, maxFiles);
  memory.set(at.key, defs);
  return defs;
}

/**
 * The definitions for `config` (or one `environment` of its chain): from memory, from the disk
 * cache, or synthesized — the CDK imported for it — and cached.
 *
 * @example const defs = await loadDefinitions(simulationConfig({})); defs.canary.definition.StartAt // 'InitCanary'
 */
export async function loadDefinitions(config: PipelineConfig, environment?: string, options: DefinitionsCacheOptions = {}): Promise<MachineDefinitions> {
  const at = lookup(config, environment, options);
  if (at.defs !== undefined) return at.defs;
  return synthesizeAndKeep(options.synthesize ?? (await cdkSynthesis()), config, environment, at, options.maxFiles ?? MAX_CACHED_FILES);
}

/**
 * The definitions, synchronously: from memory or the disk cache, or synthesized when the CDK is
 * already loaded. Otherwise throws: call {@link loadDefinitions} first (the runtime's callers do).
 */
export function definitionsFor(config: PipelineConfig, environment?: string, options: DefinitionsCacheOptions = {}): MachineDefinitions {
  const at = lookup(config, environment, options);
  if (at.defs !== undefined) return at.defs;
  const synthesize = options.synthesize ?? cdkSynthesizer;
  if (synthesize === undefined) {
    throw new Error('definitionsFor: the state machine definitions of this config are not loaded; await loadDefinitions(config) (local/definitions-cache.ts) before constructing the runtime');
  }
  return synthesizeAndKeep(synthesize, config, environment, at, options.maxFiles ?? MAX_CACHED_FILES);
}

/** CDK synthesis, imported on first use. */
async function cdkSynthesis(): Promise<Synthesizer> {
  if (cdkSynthesizer === undefined) {
    const { stateMachineDefinitions, synthesizeTemplate } = await import('../lib/synth.js');
    cdkSynthesizer = (config, environment) =>
      stateMachineDefinitions(synthesizeTemplate(config, { bundling: false, ...(environment === undefined ? {} : { environment }) }));
  }
  return cdkSynthesizer;
}
