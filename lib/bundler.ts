/**
 * How the Lambda handlers are bundled (no CDK here: bin/app.ts starts the bundling before it loads
 * aws-cdk-lib; lib/handler-bundle.ts makes the bundles assets): esbuild, run once per synthesis for
 * every handler of the registry (one child process), each handler into its own directory that
 * becomes its asset. The same handler in the three environment stacks is one bundle and one asset
 * (same code, same hash: CDK's asset cache keys on the entry's directory).
 *
 * Why not NodejsFunction's bundling: it starts `npx --no-install esbuild` once per function, and
 * npx costs more than esbuild itself (0.7–1.8 s each on a loaded 2-core machine, 19 times per
 * synth); and its CLI takes no plugin (see {@link SIDE_EFFECT_FREE}).
 *
 * What each bundle is: ESM for Node 22, minified, names not kept (esbuild's keepNames wraps every
 * function and class in a naming call: 36 KB and 8-11 ms of the rollback function's module load; the
 * error classes name themselves with literals instead, core/errors.ts), a source map of our own code
 * ({@link MAPS_OF_OWN_CODE}) without sources' content, the AWS SDK v3 included (loading the same
 * clients from node_modules, as the runtime's own SDK would be loaded, takes about 4 times as long:
 * bench/floors/), and code splitting,
 * so what the SDK imports only when it needs it (the credential providers other than the
 * environment's, STS/SSO clients) is a chunk Lambda loads only then.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_NAMES, type StepName } from '../core/steps.js';

const require = createRequire(import.meta.url);

/** Makes bundled CommonJS dependencies that call `require` work inside an ESM bundle. */
export const ESM_REQUIRE_SHIM = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/**
 * Packages whose modules have no side effects although their package.json does not say so (pure
 * CommonJS math and version parsing): esbuild may then drop them where nothing uses them. Applied
 * where our code imports them (marking every import inside them too cost 40% more bundling time
 * for the same output). Without
 * this, every handler carried 87 KB of @stdlib (core/contracts.ts → core/analysis.ts) and 30 KB of
 * semver (→ core/gates.ts) whether it computed a p-value or not.
 */
export const SIDE_EFFECT_FREE = '^(@stdlib/|semver$|semver/)';

/**
 * The source maps map our own code in full and a dependency's (the AWS SDK, zod, Powertools: most of
 * a map) by the first mapping of each run of its code: with NODE_OPTIONS `--enable-source-maps`
 * (lib/pipeline-functions.ts) Node parses a module's map when it loads it, and the rollback's maps
 * were 1,058 KB. A frame in core/ or lambdas/ keeps its line; a frame inside a dependency names the
 * dependency's file (at the line its run starts). Not none of a dependency's: Node maps a position to
 * the nearest mapping before it, so a frame in the SDK would have been named after our code that
 * precedes it in the bundle.
 */
export const MAPS_OF_OWN_CODE = true;

/** The esbuild build options of every handler (JSON: they cross to the bundling process). */
export interface HandlerBuildOptions {
  readonly bundle: true;
  readonly platform: 'node';
  readonly target: string;
  readonly format: 'esm';
  readonly splitting: boolean;
  readonly minify: boolean;
  readonly keepNames: boolean;
  readonly sourcemap: 'linked' | false;
  readonly sourcesContent: boolean;
  readonly mainFields: readonly string[];
  /** Modules left to the Lambda runtime; none: the AWS SDK is bundled. */
  readonly external: readonly string[];
  readonly banner: { readonly js: string };
  readonly tsconfig: string;
  readonly outExtension: { readonly '.js': '.mjs' };
  readonly chunkNames: string;
  readonly logLevel: 'warning';
}

export function handlerBuildOptions(projectRoot: string): HandlerBuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    minify: true,
    // Error classes' names are a contract (the errorType Step Functions and the CLI match): each class
    // names itself with a literal (core/errors.ts), so the bundles need not keep every function's name.
    keepNames: false,
    sourcemap: 'linked',
    sourcesContent: false,
    // The SDK's ES modules (dist-es): esbuild tree-shakes and splits them; its CommonJS build it cannot.
    mainFields: ['module', 'main'],
    external: [],
    banner: { js: ESM_REQUIRE_SHIM },
    tsconfig: join(projectRoot, 'tsconfig.json'),
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    logLevel: 'warning',
  };
}

/**
 * The bundling process: every entry built on its own (its own tree-shaking and chunks), each into
 * `<outdir>/<name>/index.mjs` (+ chunks, + maps whose `sources` are relative to the project root, so
 * a bundle, and its asset hash, does not depend on where the project or the temp dir is).
 *
 * One build per entry, not one build of every entry with shared chunks: esbuild keeps in a shared
 * chunk what any entry uses, so the rollback function loaded 1.0 MB at import instead of 0.5 MB. But
 * not a fresh esbuild build per entry either: a build of one handler parses ~2,500 files (the SDK's
 * modules mostly), 0.55 s of the 0.6 s it takes. The entries are built instead by a few esbuild
 * contexts (one per core), each rebuilt once per entry it takes from a queue: the entry is a virtual
 * module re-exporting the real one, so a rebuild re-links and re-minifies but parses nothing again
 * (0.1-0.4 s per handler, growing with the modules in its graph: the 20 handlers in 7 s on 2 cores,
 * where 20 fresh builds took 12-18 s).
 *
 * A cache (`cacheDir`) spares even that: a handler whose input files (from the last build's
 * metafile) and options are unchanged is copied, not built. Each input file is read and hashed once
 * per process, however many handlers list it.
 */
const BUNDLER_SCRIPT = `
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
const job = JSON.parse(readFileSync(0, 'utf8'));
const esbuild = await import(pathToFileURL(job.esbuild).href);
const codec = await import(pathToFileURL(job.sourcemapCodec).href);
const { decode, encode } = codec.default ?? codec;
/** A map's mappings of our own code, and the first of each run of a dependency's: see MAPS_OF_OWN_CODE in lib/bundler.ts. */
const ownMappings = (map) => {
  const own = map.sources.map((s) => !s.split('/').includes('node_modules'));
  let previous = -1;
  return encode(decode(map.mappings).map((line) => line.filter((seg) => {
    if (seg.length < 4) return false;
    const keep = own[seg[1]] || seg[1] !== previous;
    previous = seg[1];
    return keep;
  })));
};
const filter = new RegExp(job.sideEffectFree);
const sideEffectFree = { name: 'side-effect-free', setup(b) {
  b.onResolve({ filter }, async (args) => {
    // Only our own imports of them: a package unused by our code is dropped whole, with what it requires.
    if (args.pluginData?.resolved || args.importer.includes('node_modules')) return undefined;
    const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { resolved: true } });
    return r.errors.length > 0 ? undefined : { ...r, sideEffects: false };
  });
} };
// What a cached bundle was made with besides its inputs: the options, esbuild, and this script itself.
const stamp = JSON.stringify({ options: job.options, esbuild: esbuild.version, sideEffectFree: job.sideEffectFree, ownMappingsOnly: job.ownMappingsOnly, script: job.script });
const fileHashes = new Map();
const fileHash = (f) => {
  let h = fileHashes.get(f);
  if (h === undefined) {
    const p = join(job.root, f);
    h = existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'missing';
    fileHashes.set(f, h);
  }
  return h;
};
const digest = (inputs) => {
  const h = createHash('sha256').update(stamp);
  for (const f of inputs) h.update(f).update(fileHash(f));
  return h.digest('hex');
};
const cacheOf = (entry) => (job.cacheDir === null ? null : join(job.cacheDir, createHash('sha256').update(entry).digest('hex').slice(0, 16)));
const todo = [];
for (const [name, entry] of Object.entries(job.entries)) {
  const cached = cacheOf(entry);
  if (cached !== null && existsSync(join(cached, 'inputs.json'))) {
    const { inputs, hash } = JSON.parse(readFileSync(join(cached, 'inputs.json'), 'utf8'));
    if (digest(inputs) === hash) { cpSync(join(cached, 'out'), join(job.outdir, name), { recursive: true }); continue; }
  }
  todo.push([name, entry]);
}
const VIRTUAL = 'builderbrain-handler-entry';
async function worker() {
  let current = null;
  const entryModule = { name: 'entry', setup(b) {
    b.onResolve({ filter: new RegExp('^' + VIRTUAL + '$') }, () => ({ path: VIRTUAL, namespace: VIRTUAL }));
    b.onLoad({ filter: /.*/, namespace: VIRTUAL }, () => ({ contents: 'export * from ' + JSON.stringify(current) + ';', resolveDir: job.root, loader: 'js' }));
  } };
  const ctx = await esbuild.context({ ...job.options, entryPoints: [{ in: VIRTUAL, out: 'index' }], outdir: job.outdir, absWorkingDir: job.root, plugins: [entryModule, sideEffectFree], write: false, metafile: true });
  try {
    for (let next = todo.shift(); next !== undefined; next = todo.shift()) {
      const [name, entry] = next;
      current = entry;
      const r = await ctx.rebuild();
      const out = join(job.outdir, name);
      for (const f of r.outputFiles) {
        const target = join(out, relative(job.outdir, f.path));
        let contents = f.contents;
        if (f.path.endsWith('.map')) {
          const map = JSON.parse(f.text);
          map.sources = map.sources.map((s) => (s.startsWith(VIRTUAL) ? s : relative(job.root, resolve(dirname(f.path), s)).split(sep).join('/')));
          if (job.ownMappingsOnly) map.mappings = ownMappings(map);
          contents = JSON.stringify(map);
        }
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, contents);
      }
      const cached = cacheOf(entry);
      if (cached === null) continue;
      const inputs = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith(VIRTUAL)).sort();
      rmSync(cached, { recursive: true, force: true });
      cpSync(out, join(cached, 'out'), { recursive: true });
      writeFileSync(join(cached, 'inputs.json'), JSON.stringify({ entry, inputs, hash: digest(inputs) }));
    }
  } finally {
    await ctx.dispose();
  }
}
await Promise.all(Array.from({ length: Math.min(todo.length, Math.max(1, availableParallelism())) }, worker));
`;

/** A cached bundle made by another version of the bundling process is not reused. */
const SCRIPT_HASH = createHash('sha256').update(BUNDLER_SCRIPT).digest('hex');

/** The entry of every step's handler (core/steps.ts registry), by name: one batch for the whole app. */
export function handlerEntries(projectRoot: string): Readonly<Record<StepName, string>> {
  return Object.fromEntries(STEP_NAMES.map((n) => [n, join(projectRoot, 'lambdas', n, 'index.ts')])) as Record<StepName, string>;
}

/** Staging directories of the batches bundled by this process, by job (see {@link batchKey}). */
const batches = new Map<string, string>();
let cleanupRegistered = false;

function batchKey(projectRoot: string, entries: Readonly<Record<string, string>>, options: HandlerBuildOptions, cacheDir: string | null): string {
  return JSON.stringify({ projectRoot, entries, options, cacheDir });
}

/** A staging directory for a batch, removed when the process exits. */
function stagingDir(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'bb-bundles-'));
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const dir of batches.values()) rmSync(dir, { recursive: true, force: true });
    });
  }
  return outdir;
}

function bundlerJob(projectRoot: string, entries: Readonly<Record<string, string>>, options: HandlerBuildOptions, outdir: string, cacheDir: string | null): string {
  return JSON.stringify({
    esbuild: require.resolve('esbuild'),
    sourcemapCodec: require.resolve('@jridgewell/sourcemap-codec'),
    root: projectRoot,
    entries,
    options,
    outdir,
    cacheDir,
    sideEffectFree: SIDE_EFFECT_FREE,
    ownMappingsOnly: MAPS_OF_OWN_CODE,
    script: SCRIPT_HASH,
  });
}

const failure = (outdir: string, why: string, stderr: string): Error => {
  rmSync(outdir, { recursive: true, force: true });
  return new Error(`bundling the Lambda handlers failed (${why}):\n${stderr}`);
};

/**
 * Bundles `entries` (name → entry file) once per process and returns the directory holding
 * `<name>/index.mjs` (and its chunks) for each: the batch {@link prefetchBatch} bundled, or bundled
 * now. `cacheDir`: where bundles are kept between processes (null: none). Throws with esbuild's
 * messages when a build fails.
 */
export function bundleBatch(
  projectRoot: string,
  entries: Readonly<Record<string, string>>,
  options: HandlerBuildOptions = handlerBuildOptions(projectRoot),
  cacheDir: string | null = defaultCacheDir(projectRoot),
): string {
  const key = batchKey(projectRoot, entries, options, cacheDir);
  const done = batches.get(key);
  if (done !== undefined) return done;
  const outdir = stagingDir();
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', BUNDLER_SCRIPT], { input: bundlerJob(projectRoot, entries, options, outdir, cacheDir), cwd: projectRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw failure(outdir, run.error?.message ?? `exit ${run.status}`, run.stderr);
  if (run.stderr.trim() !== '') process.stderr.write(run.stderr);
  batches.set(key, outdir);
  return outdir;
}

/**
 * Starts bundling `entries` in the background and resolves when the batch is ready: a later
 * {@link bundleBatch} of the same batch (the assets' local bundling, which CDK runs synchronously)
 * returns it at once. bin/app.ts starts it before it loads aws-cdk-lib and builds the stacks, so
 * esbuild works while Node loads and runs the CDK (cold `cdk synth`: see bench/footprint.ts).
 */
export function prefetchBatch(
  projectRoot: string,
  entries: Readonly<Record<string, string>>,
  options: HandlerBuildOptions = handlerBuildOptions(projectRoot),
  cacheDir: string | null = defaultCacheDir(projectRoot),
): Promise<string> {
  const key = batchKey(projectRoot, entries, options, cacheDir);
  const done = batches.get(key);
  if (done !== undefined) return Promise.resolve(done);
  const outdir = stagingDir();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', BUNDLER_SCRIPT], { cwd: projectRoot, stdio: ['pipe', 'ignore', 'pipe'] });
    // An app that exits first (a config error) does not leave esbuild running.
    const stop = (): void => void child.kill();
    process.once('exit', stop);
    child.on('exit', () => process.off('exit', stop));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(failure(outdir, err.message, stderr)));
    child.on('close', (code) => {
      if (code !== 0) return reject(failure(outdir, `exit ${code}`, stderr));
      if (stderr.trim() !== '') process.stderr.write(stderr);
      batches.set(key, outdir);
      resolve(outdir);
    });
    child.stdin.end(bundlerJob(projectRoot, entries, options, outdir, cacheDir));
  });
}

/**
 * Whether a CDK app run bundles assets at all: not when the CDK CLI says no stack needs it
 * (`aws:cdk:bundling-stacks` is `[]`: `cdk list`, `cdk diff --exclusively` of nothing), read from
 * the context the CLI passes in CDK_CONTEXT_JSON (bin/app.ts asks before aws-cdk-lib is loaded).
 */
export function bundlingRequested(contextJson: string | undefined = process.env['CDK_CONTEXT_JSON']): boolean {
  if (contextJson === undefined || contextJson === '') return true;
  try {
    const stacks = (JSON.parse(contextJson) as Record<string, unknown>)['aws:cdk:bundling-stacks'];
    return !Array.isArray(stacks) || stacks.length > 0;
  } catch {
    return true;
  }
}

/**
 * Where bundles are kept between syntheses: `node_modules/.cache/builderbrain-handlers` (the usual
 * place of tools' caches; `BB_BUNDLE_CACHE=off` disables it, any other value names the directory).
 */
export function defaultCacheDir(projectRoot: string): string | null {
  const env = process.env['BB_BUNDLE_CACHE'];
  if (env === 'off') return null;
  return env !== undefined && env !== '' ? env : join(projectRoot, 'node_modules', '.cache', 'builderbrain-handlers');
}

