/**
 * The handlers are bundled minified; the error classes' names are a contract (core/app/errors.ts:
 * the Lambda runtime reports `name` as the `errorType` that Step Functions' Retry/Catch and the CLI
 * match). Bundled here the way CDK bundles the pipeline's handlers (lib/bundler.ts and
 * lib/handler-bundle.ts: local esbuild, the very build options), the names must survive. It also
 * checks what the pipeline's bundles are (SDK included, lazy chunks, one router's client on demand,
 * size of the rollback's); test/lib/bundler.test.ts checks the bundler on a project of its own.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLBACK_FAILED_ERROR } from '../../core/contracts.js';
import { handlerBuildOptions, handlerEntries } from '../../lib/bundler.js';
import { HANDLER, handlerCode } from '../../lib/handler-bundle.js';
import { createApp, type CfnTemplate } from '../../lib/synth.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let bundles: Record<'probe' | 'releaseLock' | 'rollback', string>;
let outdir: string;
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'bb-keep-names-'));
  const app = createApp({ builtinValidation: false, outdir });
  const stack = new Stack(app, 'KeepNames');
  // Only the two handlers this test reads (the pipeline bundles every step's at once).
  const { 'release-lock': releaseLock, rollback } = handlerEntries(ROOT);
  const entries = { 'release-lock': releaseLock, rollback };
  const fn = (id: string, name: string, batch: Record<string, string>) =>
    new lambda.Function(stack, id, { code: handlerCode(ROOT, name, batch), handler: HANDLER, runtime: lambda.Runtime.NODEJS_22_X });
  const functions = {
    probe: fn('Probe', 'probe', { probe: join(ROOT, 'test/lib/fixtures/keep-names.entry.ts') }),
    releaseLock: fn('ReleaseLock', 'release-lock', entries),
    rollback: fn('Rollback', 'rollback', entries),
  };
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  const bundleOf = (f: lambda.Function) => {
    const props = template.Resources[stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)]!.Properties!;
    const code = props['Code'] as { S3Key: string };
    expect(props['Handler']).toBe('index.handler');
    const file = join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    expect(existsSync(file), file).toBe(true);
    return file;
  };
  bundles = { probe: bundleOf(functions.probe), releaseLock: bundleOf(functions.releaseLock), rollback: bundleOf(functions.rollback) };
}, 120_000);

/** The files a bundle's entry loads when its module is imported: itself and its static imports, transitively. */
function loadedAtImport(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*"(\.\/[^"]+\.mjs)"/g)) loadedAtImport(join(dirname(file), m[1]!), seen);
  return seen;
}

describe('bundled handlers keep the error classes\' names', () => {
  it('the build options are minified, split ESM for Node 22 without kept names, the AWS SDK bundled', () => {
    expect(handlerBuildOptions(ROOT)).toMatchObject({ format: 'esm', target: 'node22', splitting: true, minify: true, keepNames: false, sourcesContent: false, external: [] });
  });

  it('a thrown ReleaseNotFoundError is named ReleaseNotFoundError, and every error class keeps its name', async () => {
    const mod = (await import(pathToFileURL(bundles.probe).href)) as { handler: () => Promise<{ classes: Record<string, string>; thrown: string }> };
    const { classes, thrown } = await mod.handler();
    expect(thrown).toBe('ReleaseNotFoundError');
    expect(Object.keys(classes).length).toBeGreaterThan(5);
    for (const [exported, name] of Object.entries(classes)) expect(name).toBe(exported === 'RollbackFailedError' ? ROLLBACK_FAILED_ERROR : exported);
  });

  it('the release-lock handler\'s bundle names ReleaseNotFoundError (the ledger adapter throws it)', () => {
    // Not toContain: a failure would print the whole minified bundle.
    expect([...loadedAtImport(bundles.releaseLock)].some((f) => readFileSync(f, 'utf8').includes('"ReleaseNotFoundError"'))).toBe(true);
  });

  it('a handler\'s asset holds its entry and the chunks it imports; the SDK is bundled, its credential providers lazy', () => {
    const dir = dirname(bundles.rollback);
    const files = readdirSync(dir).filter((f) => f.endsWith('.mjs'));
    expect(files.filter((f) => !f.startsWith('chunk-'))).toEqual(['index.mjs']);
    const atImport = loadedAtImport(bundles.rollback);
    for (const f of files) expect(existsSync(join(dir, `${f}.map`)), `${f}.map`).toBe(true);
    const code = [...atImport].map((f) => readFileSync(f, 'utf8'));
    // No bare import of the SDK: the runtime's copy is never loaded.
    expect(code.some((c) => /from\s*"@aws-sdk\//.test(c))).toBe(false);
    // Some chunk is loaded only on demand (the credential providers Lambda's environment credentials make unnecessary).
    expect(files.length).toBeGreaterThan(atImport.size);
  });

  it('the rollback function loads one router\'s SDK client, on demand: neither the Lambda nor the SageMaker client is in what it imports statically', () => {
    const dir = dirname(bundles.rollback);
    const staticCode = [...loadedAtImport(bundles.rollback)].map((f) => readFileSync(f, 'utf8'));
    const allCode = readdirSync(dir).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(dir, f), 'utf8'));
    // Each client's package metadata (its user agent) is bundled with it.
    for (const client of ['@aws-sdk/client-lambda', '@aws-sdk/client-sagemaker"']) {
      expect(staticCode.some((c) => c.includes(client)), client).toBe(false);
      expect(allCode.some((c) => c.includes(client)), client).toBe(true);
    }
    expect(staticCode.some((c) => c.includes('@aws-sdk/client-dynamodb"'))).toBe(true);
  });

  it('the rollback function loads less than 700 KB of code at import (930 KB before splitting and tree-shaking; bench/footprint.ts measures)', () => {
    const bytes = [...loadedAtImport(bundles.rollback)].reduce((n, f) => n + statSync(f).size, 0);
    expect(bytes).toBeLessThan(700 * 1024);
  });
});
