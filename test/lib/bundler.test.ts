/**
 * The handlers' bundler (lib/bundler.ts), on a project of its own made here: each entry is
 * built with its own tree-shaking although the entries share esbuild contexts, and the cache copies
 * a handler whose inputs did not change and rebuilds one whose inputs did.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  writeFileSync(join(root, 'validated.ts'), "import * as z from 'zod';\nimport { forA } from './shared.js';\nconst S = z.string();\nexport const handler = async (e: unknown): Promise<string> => S.parse(e) + forA();\n");
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

  it('maps our own code only: the source map keeps no mapping into node_modules, and keeps ours', () => {
    const out = bundleBatch(root, entries(['validated']), handlerBuildOptions(root), null);
    const dir = join(out, 'validated');
    const maps = readdirSync(dir).filter((f) => f.endsWith('.map')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { sources: string[]; mappings: string });
    const used = maps.flatMap((m) => decode(m.mappings).flatMap((line) => line.filter((seg) => seg.length >= 4).map((seg) => m.sources[seg[1]!]!)));
    expect(maps.some((m) => m.sources.some((s) => s.includes('node_modules/zod')))).toBe(true);
    expect(used.some((s) => s.includes('node_modules'))).toBe(false);
    expect(used).toContain('shared.ts');
    expect(used).toContain('validated.ts');
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
