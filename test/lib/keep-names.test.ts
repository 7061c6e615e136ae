/**
 * The handlers are bundled minified; the error classes' names are a contract (core/app/errors.ts:
 * the Lambda runtime reports `name` as the `errorType` that Step Functions' Retry/Catch and the CLI
 * match). Bundled here the way CDK bundles the pipeline's handlers (NodejsFunction, local esbuild,
 * the very bundling options of lib/pipeline-functions.ts), the names must survive.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerBundling } from '../../lib/pipeline-functions.js';
import { createApp, type CfnTemplate } from '../../lib/synth.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let bundles: Record<'probe' | 'releaseLock', string>;
let outdir: string;
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'bb-keep-names-'));
  const app = createApp({ builtinValidation: false, outdir });
  const stack = new Stack(app, 'KeepNames');
  const fn = (id: string, entry: string) =>
    new nodejs.NodejsFunction(stack, id, {
      entry: join(ROOT, entry),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      bundling: handlerBundling(ROOT),
    });
  const functions = { probe: fn('Probe', 'test/lib/fixtures/keep-names.entry.ts'), releaseLock: fn('ReleaseLock', 'lambdas/release-lock/index.ts') };
  const template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
  const bundleOf = (f: nodejs.NodejsFunction) => {
    const code = template.Resources[stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)]!.Properties!['Code'] as { S3Key: string };
    const file = join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    expect(existsSync(file), file).toBe(true);
    return file;
  };
  bundles = { probe: bundleOf(functions.probe), releaseLock: bundleOf(functions.releaseLock) };
}, 120_000);

describe('bundled handlers keep the error classes\' names', () => {
  it('the bundling options are minified ESM with keepNames', () => {
    expect(handlerBundling(ROOT)).toMatchObject({ minify: true, keepNames: true, format: nodejs.OutputFormat.ESM });
  });

  it('a thrown ReleaseNotFoundError is named ReleaseNotFoundError, and every error class keeps its name', async () => {
    const mod = (await import(pathToFileURL(bundles.probe).href)) as { handler: () => Promise<{ classes: Record<string, string>; thrown: string }> };
    const { classes, thrown } = await mod.handler();
    expect(thrown).toBe('ReleaseNotFoundError');
    expect(Object.keys(classes).length).toBeGreaterThan(5);
    for (const [exported, name] of Object.entries(classes)) expect(name).toBe(exported);
  });

  it('the release-lock handler\'s bundle names ReleaseNotFoundError (the ledger adapter throws it)', () => {
    // Not toContain: a failure would print the whole minified bundle.
    expect(readFileSync(bundles.releaseLock, 'utf8').includes('"ReleaseNotFoundError"')).toBe(true);
  });
});
