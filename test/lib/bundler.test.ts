/**
 * The handlers' bundler (lib/bundler.ts), on a project of its own made here: each entry is
 * built with its own tree-shaking although the entries share esbuild contexts, and the cache copies
 * a handler whose inputs did not change and rebuilds one whose inputs did.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { decode } from '@jridgewell/sourcemap-codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleBatch, bundlingRequested, handlerBuildOptions, prefetchBatch } from '../../lib/bundler.js';

let root: string;
let cache: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bb-bundler-'));
  cache = join(root, '.cache');
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', strict: true } }));
  // The project's dependencies, for an entry that imports one (zod).
  symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(root, 'node_modules'));
  // Our module first, then zod: in the bundle zod's code follows ours, so a frame inside zod sits after our mappings.
  writeFileSync(join(root, 'early.ts'), 'export const early = (s: string): string => s.toUpperCase();\n');
  writeFileSync(
    join(root, 'validated.ts'),
    "import { early } from './early.js';\nimport * as z from 'zod';\nconst S = z.string().refine((s) => {\n  if (s === 'boom') throw new Error('boom');\n  return true;\n});\nexport const handler = async (e: unknown): Promise<string> => early(S.parse(e));\n",
  );
  writeFileSync(join(root, 'shared.ts'), "export const forA = (): string => 'MARKER_A'; export const forB = (): string => 'MARKER_B';\n");
  for (const n of ['a', 'b', 'c']) {
    const use = n === 'a' ? 'forA' : 'forB';
    writeFileSync(join(root, `${n}.ts`), `import { ${use} } from './shared.js';\nexport const handler = async (): Promise<string> => ${use}() + ':${n}';\n`);
  }
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const code = (dir: string): string => readdirSync(dir).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
const entries = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, join(root, `${n}.ts`)]));

describe('bundleBatch', () => {
  it('builds every entry into its own directory, each tree-shaken for itself, with maps naming the sources from the project root', async () => {
    const out = bundleBatch(root, entries(['a', 'b', 'c']), handlerBuildOptions(root), null);
    expect(readdirSync(out).sort()).toEqual(['a', 'b', 'c']);
    const a = code(join(out, 'a'));
    const b = code(join(out, 'b'));
    expect(a).toContain('MARKER_A');
    expect(a).not.toContain('MARKER_B');
    expect(b).toContain('MARKER_B');
    expect(b).not.toContain('MARKER_A');
    const map = JSON.parse(readFileSync(join(out, 'a', 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources).toContain('shared.ts');
    const mod = (await import(join(out, 'c', 'index.mjs'))) as { handler: () => Promise<string> };
    expect(await mod.handler()).toBe('MARKER_B:c');
  });

  it('maps our code in full and a dependency by the start of each run of it: a frame inside zod is named after zod, never after our code before it', async () => {
    const out = bundleBatch(root, entries(['validated']), handlerBuildOptions(root), null);
    const dir = join(out, 'validated');
    // Node maps a position to the nearest mapping before it: with zod's mappings all dropped, zod's frames were named early.ts.
    const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)}); try { await m.handler('boom'); } catch (e) { console.log(e.stack); }`], { encoding: 'utf8' });
    const frames = run.stdout.split('\n').filter((l) => l.trim().startsWith('at '));
    expect(frames.length, run.stderr).toBeGreaterThan(3);
    expect(frames[0]).toContain('validated.ts:4');
    const inZod = frames.filter((f) => f.includes('_zod'));
    expect(inZod.length).toBeGreaterThan(0);
    for (const f of inZod) expect(f).toContain('node_modules/zod/');
    expect(frames.some((f) => f.includes('early.ts'))).toBe(false);
    // And the map is small: zod's mappings are a few run starts, against every one in esbuild's own map.
    const segments = (mappings: string, sources: string[], pick: (s: string) => boolean) =>
      decode(mappings).flatMap((line) => line.filter((seg) => seg.length >= 4 && pick(sources[seg[1]!]!))).length;
    const ours = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[]; mappings: string };
    const o = handlerBuildOptions(root);
    const full = await esbuild.build({ ...o, mainFields: [...o.mainFields], external: [...o.external], entryPoints: [{ in: join(root, 'validated.ts'), out: 'index' }], outdir: join(root, 'full-map'), absWorkingDir: root, write: false });
    const fullMap = JSON.parse(full.outputFiles!.find((f) => f.path.endsWith('index.mjs.map'))!.text) as { sources: string[]; mappings: string };
    const zod = (s: string) => s.includes('node_modules/zod');
    expect(segments(ours.mappings, ours.sources, zod) * 10).toBeLessThan(segments(fullMap.mappings, fullMap.sources, zod));
    expect(segments(ours.mappings, ours.sources, (s) => s.endsWith('early.ts'))).toBe(segments(fullMap.mappings, fullMap.sources, (s) => s.endsWith('early.ts')));
  });

  it('copies a cached handler whose inputs are unchanged and rebuilds one whose inputs changed', () => {
    const first = bundleBatch(root, entries(['a', 'b']), handlerBuildOptions(root), cache);
    const before = code(join(first, 'a'));
    // Same inputs, another batch (a new staging directory): the cache's copy, byte for byte.
    const second = bundleBatch(root, entries(['a', 'b', 'c']), handlerBuildOptions(root), cache);
    expect(second).not.toBe(first);
    expect(code(join(second, 'a'))).toBe(before);
    writeFileSync(join(root, 'shared.ts'), "export const forA = (): string => 'MARKER_A2'; export const forB = (): string => 'MARKER_B';\n");
    const third = bundleBatch(root, entries(['a']), handlerBuildOptions(root), cache);
    expect(code(join(third, 'a'))).toContain('MARKER_A2');
  });
});

describe('prefetchBatch', () => {
  it('bundles in the background; the assets\' synchronous bundleBatch of the same batch then returns it without building again', async () => {
    const batch = entries(['a', 'c']);
    const fetched = prefetchBatch(root, batch, handlerBuildOptions(root), null);
    const dir = await fetched;
    expect(code(join(dir, 'c'))).toContain('MARKER_B');
    expect(bundleBatch(root, batch, handlerBuildOptions(root), null)).toBe(dir);
    expect(await prefetchBatch(root, batch, handlerBuildOptions(root), null)).toBe(dir);
  });

  it('rejects with esbuild\'s message when an entry does not build', async () => {
    writeFileSync(join(root, 'broken.ts'), "import { nothing } from './nowhere.js';\nexport const handler = nothing;\n");
    await expect(prefetchBatch(root, entries(['broken']), handlerBuildOptions(root), null)).rejects.toThrow(/nowhere/);
  });
});

describe('bundlingRequested (the CDK CLI\'s aws:cdk:bundling-stacks)', () => {
  it('bundles unless the CLI asks for no stack at all', () => {
    expect(bundlingRequested(undefined)).toBe(true);
    expect(bundlingRequested(JSON.stringify({ 'aws:cdk:bundling-stacks': ['**'] }))).toBe(true);
    expect(bundlingRequested(JSON.stringify({ 'aws:cdk:bundling-stacks': ['BuilderBrainRelease'] }))).toBe(true);
    expect(bundlingRequested(JSON.stringify({ 'aws:cdk:bundling-stacks': [] }))).toBe(false);
    expect(bundlingRequested(JSON.stringify({ other: 1 }))).toBe(true);
  });
});
