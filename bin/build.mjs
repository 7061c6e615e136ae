#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` runs): bundles the command line into dist/ with
// esbuild and records what it was built from (bin/freshness.mjs), so bin/builderbrain.mjs runs the
// JavaScript only while it matches the sources.
//
// - One ES module per lazily loaded part (code splitting): `builderbrain gate` loads the entry and
//   the gate's chunk, never the simulator or the CDK.
// - Dependencies are bundled too, but for the big ones loaded only on demand (the CDK, the AWS SDK)
//   and those that must stay one shared copy (constructs with aws-cdk-lib): a package of hundreds
//   of small CommonJS files (@stdlib, zod, ajv, semver) loads faster as a part of one module — the
//   simulator's modules in 0.31 s of CPU instead of 0.49 s, `gate` in 0.08 s instead of 0.12 s.
//   Bundled CommonJS calls `require`: the banner gives each chunk one.
// - The chunks sit directly in dist/, one level below the root like lib/ and local/, so
//   `new URL('..', import.meta.url)` still names the project root (lib/pipeline-functions.ts,
//   local/definitions-cache.ts).
// - Names are kept (`keepNames`): error classes' names are a contract (core/app/errors.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_INFO, hashInputs } from './freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without dev dependencies: nothing to build with (the command runs the sources).
  process.stderr.write('builderbrain build: esbuild is not installed (dev dependency); dist/ not built.\n');
  process.exit(0);
}

// The record goes first and comes back last: a command started meanwhile runs the sources.
rmSync(join(root, BUILD_INFO), { force: true });
mkdirSync(outdir, { recursive: true });
for (const entry of readdirSync(outdir)) rmSync(join(outdir, entry), { recursive: true, force: true });

/**
 * aws-local-stepfunctions imports the AWS SDK's Lambda client (and Cognito credentials) at load, for
 * Task states without a local override: 0.1 s of CPU at every simulation for code it never runs —
 * the embedded runtime overrides every task (local/task-bridge.ts). In the bundle they are stubs
 * that say so if ever called; the sources (tsx, tests) load the real ones.
 */
const NO_AWS_IN_THE_INTERPRETER = {
  name: 'no-aws-in-the-interpreter',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/(client-lambda|credential-providers)$/ }, (args) =>
      /[\\/]node_modules[\\/]aws-local-stepfunctions[\\/]/.test(args.importer) ? { path: args.path, namespace: 'interpreter-aws-stub' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'interpreter-aws-stub' }, () => ({
      contents: `const unmapped = (what) => function () { throw new Error(what + ": a Task state without a local handler: the embedded runtime maps every task (local/task-bridge.ts); aws-local-stepfunctions would have called AWS"); };
export const LambdaClient = unmapped('LambdaClient');
export const InvokeCommand = unmapped('InvokeCommand');
export const fromCognitoIdentityPool = unmapped('fromCognitoIdentityPool');
`,
      loader: 'js',
    }));
  },
};

/** Loaded from node_modules, as installed: loaded on demand, or shared with another external package. */
const EXTERNAL = ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', '@aws-sdk/*', '@smithy/*', '@aws-lambda-powertools/*', 'esbuild', 'tsx', 'tsx/*'];

const started = performance.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { builderbrain: 'cli/main.ts', 'warm-definitions': 'bin/warm-definitions.ts', 'warm-handlers': 'bin/warm-handlers.ts', app: 'bin/app.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: EXTERNAL,
  banner: { js: "import { createRequire as __bbRequire } from 'node:module'; const require = __bbRequire(import.meta.url);" },
  keepNames: true,
  plugins: [NO_AWS_IN_THE_INTERPRETER],
  metafile: true,
  logLevel: 'warning',
});

// The project's files esbuild read, what decides how it read them, and — for the bundled packages —
// the installed tree as npm recorded it (node_modules/.package-lock.json changes with every install).
const installed = ['package-lock.json', 'node_modules/.package-lock.json'].filter((p) => existsSync(join(root, p)));
const inputs = [...new Set([...Object.keys(result.metafile.inputs), 'bin/build.mjs', 'tsconfig.json', ...installed])]
  .filter((p) => installed.includes(p) || !(p.includes('node_modules/') || p.startsWith('../') || p.includes(':')))
  .sort();
const info = { hash: hashInputs(root, inputs), inputs, builtAt: new Date().toISOString() };
writeFileSync(join(root, BUILD_INFO), `${JSON.stringify(info, null, 2)}\n`);
const chunks = Object.keys(result.metafile.outputs).length;
process.stderr.write(`builderbrain build: dist/ (${chunks} modules from ${inputs.length} sources) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

// Ahead of their first use, both at once: the definitions `npm start` runs (synthesized and cached),
// and the Lambda handlers `cdk synth` bundles (built into the bundle cache). A failure here only
// leaves that to the first use, which reports it.
const warmUp = (script, what, later) =>
  new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(outdir, script)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const done = (ok) => {
      process.stderr.write(
        ok
          ? `builderbrain build: ${what} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`
          : `builderbrain build: warning: could not do it ahead (${later} will): ${what}: ${stderr.trim().split('\n')[0] ?? ''}\n`,
      );
      resolve();
    };
    child.on('error', () => done(false));
    child.on('close', (code) => done(code === 0));
  });
await Promise.all([
  warmUp('warm-definitions.js', 'state machine definitions synthesized and cached', 'the first start'),
  warmUp('warm-handlers.js', 'Lambda handlers bundled into node_modules/.cache', 'the first cdk synth'),
]);
