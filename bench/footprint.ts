/**
 * The Lambda handlers' footprint against issue 16's goals: each function's bundle (bytes) and module
 * load time in a fresh Node process (median), and `cdk synth` wall time.
 *
 *   npm run bench:footprint                          # synthesizes (3-stack chain), measures, writes bench/footprint-results.json
 *   npm run bench:footprint -- --out cdk.out --synth-runs 0   # an existing cloud assembly, no synth timing
 *   npm run bench:footprint -- --runs 9 --synth-runs 3
 *
 * How: each function of the synthesized templates (by its `builderbrain:step` metadata; a step in
 * several stacks is measured once) has its asset copied into an empty directory with no
 * node_modules above it, as Lambda's /var/task (a bundle that left a package to the runtime fails
 * here: this bench measures bundles that carry what they import). A fresh `node` (this process's:
 * Node 22 under npm scripts) with the function's own environment (NODE_OPTIONS included: source maps
 * are parsed at load), placeholders for CloudFormation values, times `await import(index.mjs)`:
 * compilation, evaluation of every module loaded at import (the entry, its static chunks, Powertools,
 * the SDK clients it builds at module scope, the environment parsing). Chunks imported only on
 * demand (the SDK's credential providers but the environment's) are not loaded, as on Lambda.
 *
 * Bytes: `entryBytes` is index.mjs; `initBytes` what loads at import — the goal's figure: every
 * file of the asset the import loaded (index.mjs, its static chunks, and the chunks its init awaits,
 * such as the router the deployment chose), recorded by a module-load hook in a separate, untimed
 * import; `totalBytes` every .mjs of the asset. Source maps are not code and
 * are counted apart (`mapBytes`).
 *
 * Floors (bench/floors/): the least a handler loads of each part (the SDK, zod, Powertools), bundled
 * and measured the same way, and the SDK loaded from node_modules as the Lambda runtime's copy
 * would be: what the goals are up against (`--no-floors` skips them).
 *
 * Synth: `npx cdk synth -q` of the default chain with the example SageMaker config, one cold run
 * (empty bundle cache) then `synthRuns` warm ones (the cache of lib/bundler.ts filled), wall
 * seconds; and the same with `--no-validation` (CDK's switch for its built-in CloudFormation
 * validation). The machine's load shows in absolute times: compare medians of one session.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from '../core/stats.js';
import { bundleBatch, handlerBuildOptions } from '../lib/bundler.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const FOOTPRINT_GOALS = { bundleBytes: 250 * 1024, loadMs: 60, rollbackLoadMs: 40, synthSeconds: 12 } as const;

export interface FootprintOptions {
  /** Fresh-process imports per function. @default 7 */
  readonly runs?: number;
  /** Warm synth runs timed (after one cold run); 0: no synth timing. @default 5 */
  readonly synthRuns?: number;
  /** An existing cloud assembly to measure instead of synthesizing one. */
  readonly out?: string;
  /** Context of the synth. @default ['builderbrainConfig=examples/pipeline/sagemaker.json'] */
  readonly context?: readonly string[];
  /** Measure the floors (bench/floors/). @default true */
  readonly floors?: boolean;
}

export interface FunctionFootprint {
  readonly step: string;
  readonly asset: string;
  readonly entryBytes: number;
  /** index.mjs and the chunks it imports statically: the code loaded at import (the goal's bytes). */
  readonly initBytes: number;
  readonly totalBytes: number;
  readonly mapBytes: number;
  readonly files: number;
  readonly loadMs: readonly number[];
  readonly loadMedianMs: number | null;
  readonly goalBytes: number;
  readonly goalLoadMs: number;
  readonly bytesOk: boolean;
  readonly loadOk: boolean;
  /** Why the import failed, if it did. */
  readonly error: string | null;
}

export interface SynthFootprint {
  /** `cdk synth` with an empty bundle cache (the first synth, or after an edit every handler imports: core/). */
  readonly coldSeconds: number | null;
  /** `cdk synth` again, the handlers unchanged. */
  readonly warmSeconds: readonly number[];
  readonly warmMedianSeconds: number | null;
  /** The same two with `--no-validation` (CDK's own switch: no built-in CloudFormation validation, a WebAssembly engine). */
  readonly noValidationColdSeconds: number | null;
  readonly noValidationWarmMedianSeconds: number | null;
  readonly goalSeconds: number;
  /** Both the cold and the warm synth, with CDK's default validation, within the goal. */
  readonly ok: boolean | null;
}

/** One part's least footprint (bench/floors/): what a handler loads of it at minimum. */
export interface FloorFootprint {
  readonly name: string;
  readonly what: string;
  readonly initBytes: number;
  readonly loadMs: readonly number[];
  readonly loadMedianMs: number | null;
  readonly error: string | null;
}

export interface FootprintResult {
  readonly node: string;
  readonly runs: number;
  readonly goals: typeof FOOTPRINT_GOALS;
  readonly functions: readonly FunctionFootprint[];
  /** What the goals are up against: the least of each part, bundled as the handlers are (null: not measured). */
  readonly floors: readonly FloorFootprint[] | null;
  readonly synth: SynthFootprint;
}

/** The median, or null for no runs (an import that failed). */
const medianOrNull = (xs: readonly number[]): number | null => (xs.length === 0 ? null : median(xs));

const DEFAULT_CONTEXT = ['builderbrainConfig=examples/pipeline/sagemaker.json'];

function synthOnce(outdir: string, context: readonly string[], env: NodeJS.ProcessEnv, extra: readonly string[] = []): number {
  const args = ['cdk', 'synth', '-q', '--no-notices', ...extra, ...context.flatMap((c) => ['-c', c]), '-o', outdir];
  const t = performance.now();
  const r = spawnSync('npx', args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`cdk synth failed (exit ${r.status}):\n${r.stderr}`);
  return seconds;
}

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

/** A CloudFormation value with placeholders: names for Refs, ARNs of the right service for ARNs. */
function placeholder(v: unknown, resources: Record<string, Resource>): string {
  if (typeof v === 'string') return v;
  const o = (v ?? {}) as Record<string, unknown>;
  const arn = (service: string, res: string) => `arn:aws:${service}:us-east-1:000000000000:${res}`;
  const pseudo: Record<string, string> = { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '000000000000', 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'BuilderBrainRelease' };
  const byType = (id: string, attr: string | null): string => {
    const type = resources[id]?.Type ?? '';
    const name = id.toLowerCase().slice(0, 60);
    if (type === 'AWS::SNS::Topic') return arn('sns', name);
    if (type === 'AWS::StepFunctions::StateMachine') return arn('states', `stateMachine:${name}`);
    if (type === 'AWS::Events::EventBus') return attr === 'Arn' ? arn('events', `event-bus/${name}`) : name;
    if (type === 'AWS::Lambda::Function') return attr === 'Arn' ? arn('lambda', `function:${name}`) : name;
    if (type === 'AWS::SQS::Queue') return attr === 'Arn' ? arn('sqs', name) : `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`;
    if (attr === 'Arn') return arn(type.split('::')[1]?.toLowerCase() ?? 'service', name);
    return name;
  };
  if (typeof o['Ref'] === 'string') return pseudo[o['Ref']] ?? byType(o['Ref'], null);
  if (Array.isArray(o['Fn::GetAtt'])) return byType(String(o['Fn::GetAtt'][0]), String(o['Fn::GetAtt'][1]));
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => placeholder(p, resources)).join(sep);
  }
  throw new Error(`footprint: no placeholder for ${JSON.stringify(v)}`);
}

const LOADER = "const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));";

/**
 * Imports the module at argv[1] with a load hook that prints, one a line, every file URL Node loaded
 * for it (the hook runs on Node's loader thread; what it loads itself is not the module's).
 */
const RECORDER = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const loaded = [];
port1.on('message', (url) => loaded.push(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent("let port; export function initialize(d) { port = d.port; } export async function load(url, context, next) { if (url.startsWith('file:')) port.postMessage(url); return next(url, context); }"), { data: { port: port2 }, transferList: [port2] });
await import(process.argv[1]);
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(loaded.join('\\n'));
`;

/** The files under `within` that importing `entry` loads (from `cwd`, with `env`): see {@link RECORDER}. */
function loadedAtImport(entry: string, cwd: string, env: NodeJS.ProcessEnv, within: string): string[] {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', RECORDER, pathToFileURL(entry).href], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`footprint: recording what ${entry} loads failed: ${r.stderr.slice(0, 300)}`);
  return [...new Set(r.stdout.split('\n').filter((u) => u !== ''))].map((u) => fileURLToPath(u)).filter((f) => f.startsWith(within));
}

/** What importing `entry` loads (bytes of the files under `within`) and how long it takes, in fresh processes. */
interface ImportFootprint {
  readonly initBytes: number;
  readonly loadMs: readonly number[];
  readonly error: string | null;
}

function measureImport(entry: string, cwd: string, env: NodeJS.ProcessEnv, runs: number, within: string): ImportFootprint {
  const loadMs: number[] = [];
  let initBytes = 0;
  try {
    initBytes = loadedAtImport(entry, cwd, env, within).reduce((n, f) => n + statSync(f).size, 0);
  } catch (err) {
    return { initBytes, loadMs, error: (err as Error).message };
  }
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', LOADER, pathToFileURL(entry).href], { cwd, env, encoding: 'utf8' });
    if (r.status !== 0) return { initBytes, loadMs, error: (r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr).slice(0, 300) };
    loadMs.push(Number(r.stdout));
  }
  return { initBytes, loadMs, error: null };
}

/** The environment of a function in Lambda (what the runtime sets), with the function's own variables. */
function lambdaEnv(name: string, task: string, environment: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: `bb-${name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    LAMBDA_TASK_ROOT: task,
    ...environment,
  };
}

function measureFunction(step: string, assetDir: string, environment: Record<string, string>, runs: number): FunctionFootprint {
  const goalLoadMs = step === 'rollback' ? FOOTPRINT_GOALS.rollbackLoadMs : FOOTPRINT_GOALS.loadMs;
  const files = readdirSync(assetDir);
  const size = (f: string) => statSync(join(assetDir, f)).size;
  const code = files.filter((f) => f.endsWith('.mjs'));
  // Lambda's /var/task: the asset alone, no node_modules above it.
  const task = mkdtempSync(join(tmpdir(), 'bb-footprint-task-'));
  cpSync(assetDir, task, { recursive: true });
  let measured: ImportFootprint;
  try {
    measured = measureImport(join(task, 'index.mjs'), task, lambdaEnv(step, task, environment), runs, task);
  } finally {
    rmSync(task, { recursive: true, force: true });
  }
  const { initBytes, loadMs, error } = measured;
  const loadMedianMs = medianOrNull(loadMs);
  return {
    step,
    asset: assetDir,
    entryBytes: size('index.mjs'),
    initBytes,
    totalBytes: code.reduce((n, f) => n + size(f), 0),
    mapBytes: files.filter((f) => f.endsWith('.map')).reduce((n, f) => n + size(f), 0),
    files: code.length,
    loadMs,
    loadMedianMs,
    goalBytes: FOOTPRINT_GOALS.bundleBytes,
    goalLoadMs,
    bytesOk: initBytes <= FOOTPRINT_GOALS.bundleBytes,
    loadOk: loadMedianMs !== null && loadMedianMs <= goalLoadMs,
    error,
  };
}

const FLOORS: readonly { readonly name: string; readonly what: string; readonly file: string }[] = [
  { name: 'sdk: dynamodb get', what: 'the DynamoDB document client and one command, bundled', file: 'dynamodb-get.ts' },
  { name: 'sdk: rollback clients', what: 'DynamoDB, SageMaker, Step Functions and SNS clients, bundled', file: 'rollback-clients.ts' },
  { name: 'sdk: from node_modules', what: 'the same four clients loaded as the Lambda runtime\'s SDK would be (CommonJS, not bundled)', file: 'runtime-sdk.mjs' },
  { name: 'zod', what: 'zod with one schema, bundled', file: 'zod.ts' },
  { name: 'powertools', what: 'Powertools logger and metrics, bundled', file: 'powertools.ts' },
];

/**
 * The floors (bench/floors/): each bundled by the handlers' bundler and measured as a function is
 * (an empty task directory), but the runtime SDK's, imported in place from node_modules.
 */
function measureFloors(runs: number): FloorFootprint[] {
  const bundled = FLOORS.filter((f) => f.file.endsWith('.ts'));
  const batch = Object.fromEntries(bundled.map((f) => [f.file.replace(/\.ts$/, ''), join(ROOT, 'bench', 'floors', f.file)]));
  const outdir = bundleBatch(ROOT, batch, handlerBuildOptions(ROOT), null);
  return FLOORS.map((f) => {
    let m: ImportFootprint;
    if (f.file.endsWith('.mjs')) {
      const entry = join(ROOT, 'bench', 'floors', f.file);
      m = measureImport(entry, ROOT, lambdaEnv('floor', ROOT, {}), runs, join(ROOT, 'node_modules'));
    } else {
      const task = mkdtempSync(join(tmpdir(), 'bb-footprint-floor-'));
      try {
        cpSync(join(outdir, f.file.replace(/\.ts$/, '')), task, { recursive: true });
        m = measureImport(join(task, 'index.mjs'), task, lambdaEnv('floor', task, {}), runs, task);
      } finally {
        rmSync(task, { recursive: true, force: true });
      }
    }
    return { name: f.name, what: f.what, initBytes: m.initBytes, loadMs: m.loadMs, loadMedianMs: medianOrNull(m.loadMs), error: m.error };
  });
}

/**
 * Measures every pipeline function's bundle and load time (and, unless `synthRuns` is 0 or `out`
 * is given, `cdk synth`'s time). The result is what bench/footprint-results.json holds.
 *
 * @example const { functions, synth } = await measureFootprint({ runs: 5, synthRuns: 3 });
 */
export async function measureFootprint(options: FootprintOptions = {}): Promise<FootprintResult> {
  const runs = options.runs ?? 7;
  const synthRuns = options.out !== undefined ? 0 : (options.synthRuns ?? 5);
  const context = options.context ?? DEFAULT_CONTEXT;
  let out = options.out;
  const temps: string[] = [];
  let synth: SynthFootprint = { coldSeconds: null, warmSeconds: [], warmMedianSeconds: null, noValidationColdSeconds: null, noValidationWarmMedianSeconds: null, goalSeconds: FOOTPRINT_GOALS.synthSeconds, ok: null };
  try {
    if (out === undefined) {
      const temp = (prefix: string) => {
        const d = mkdtempSync(join(tmpdir(), prefix));
        temps.push(d);
        return d;
      };
      /** A cold synth (a bundle cache of its own, empty), then `warmRuns` warm ones; the first assembly is kept. */
      const series = (extra: readonly string[], warmRuns: number) => {
        const env = { ...process.env, BB_BUNDLE_CACHE: temp('bb-footprint-cache-') };
        const first = temp('bb-footprint-out-');
        const cold = synthOnce(first, context, env, extra);
        const warm = Array.from({ length: warmRuns }, () => synthOnce(temp('bb-footprint-out-'), context, env, extra));
        return { first, cold, warm };
      };
      const validated = series([], synthRuns);
      out = validated.first;
      const unvalidated = series(['--no-validation'], Math.max(1, Math.min(3, synthRuns)));
      const warmMedianSeconds = medianOrNull(validated.warm);
      synth = {
        coldSeconds: validated.cold,
        warmSeconds: validated.warm,
        warmMedianSeconds,
        noValidationColdSeconds: unvalidated.cold,
        noValidationWarmMedianSeconds: medianOrNull(unvalidated.warm),
        goalSeconds: FOOTPRINT_GOALS.synthSeconds,
        ok: warmMedianSeconds === null ? null : validated.cold <= FOOTPRINT_GOALS.synthSeconds && warmMedianSeconds <= FOOTPRINT_GOALS.synthSeconds,
      };
    }
    const functions: FunctionFootprint[] = [];
    const seen = new Set<string>();
    for (const t of readdirSync(out).filter((f) => f.endsWith('.template.json')).sort()) {
      const resources = (JSON.parse(readFileSync(join(out, t), 'utf8')) as { Resources: Record<string, Resource> }).Resources;
      for (const r of Object.values(resources)) {
        const step = r.Type === 'AWS::Lambda::Function' ? r.Metadata?.['builderbrain:step'] : undefined;
        if (typeof step !== 'string' || seen.has(step)) continue;
        seen.add(step);
        const key = String((r.Properties?.['Code'] as { S3Key?: unknown } | undefined)?.S3Key ?? '').replace(/\.zip$/, '');
        const assetDir = join(out, `asset.${key}`);
        if (!existsSync(join(assetDir, 'index.mjs'))) throw new Error(`footprint: ${step}: no ${assetDir}/index.mjs (was the assembly synthesized with bundling?)`);
        const vars = ((r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
        const environment = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, placeholder(v, resources)]));
        functions.push(measureFunction(step, assetDir, environment, runs));
      }
    }
    const floors = options.floors === false ? null : measureFloors(runs);
    return { node: process.version, runs, goals: FOOTPRINT_GOALS, functions: functions.sort((a, b) => a.step.localeCompare(b.step)), floors, synth };
  } finally {
    // The assembly is read before this: only temp directories of our own are removed.
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  }
}

function printFootprint(r: FootprintResult): void {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  const rows = r.functions.map((f) => [
    f.step,
    kb(f.entryBytes),
    `${kb(f.initBytes)} ${f.bytesOk ? 'ok' : '>'} ${kb(f.goalBytes)}`,
    kb(f.totalBytes),
    String(f.files),
    f.error !== null ? `error: ${f.error}` : `${f.loadMedianMs?.toFixed(0)} ms ${f.loadOk ? 'ok' : '>'} ${f.goalLoadMs} ms`,
  ]);
  const head = ['function', 'index.mjs', 'loaded at import (goal)', 'all code', 'files', `load median of ${r.runs} (goal)`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`Node ${r.node}`);
  console.log(line(head));
  for (const row of rows) console.log(line(row));
  if (r.floors !== null) {
    console.log('floors (bench/floors/: the least a handler loads of each part)');
    for (const f of r.floors) console.log(`  ${f.name.padEnd(24)} ${kb(f.initBytes).padStart(7)}  ${f.error !== null ? `error: ${f.error}` : `${f.loadMedianMs?.toFixed(0)} ms`}  (${f.what})`);
  }
  const s = r.synth;
  if (s.coldSeconds !== null) {
    console.log(`cdk synth (3 stacks): cold ${s.coldSeconds.toFixed(1)} s; warm median ${s.warmMedianSeconds?.toFixed(1)} s of ${s.warmSeconds.length} [${s.warmSeconds.map((x) => x.toFixed(1)).join(', ')}] ${s.ok ? 'ok' : '>'} ${s.goalSeconds} s`);
    console.log(`cdk synth --no-validation: cold ${s.noValidationColdSeconds?.toFixed(1)} s; warm median ${s.noValidationWarmMedianSeconds?.toFixed(1)} s`);
  }
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const num = (name: string) => (argValue(args, name) === undefined ? undefined : Number(argValue(args, name)));
  const result = await measureFootprint({ runs: num('--runs'), synthRuns: num('--synth-runs'), out: argValue(args, '--out'), floors: !args.includes('--no-floors') });
  printFootprint(result);
  const file = argValue(args, '--json') ?? join(ROOT, 'bench', 'footprint-results.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`Results: ${file}`);
}
