/**
 * The handlers' bundler (lib/handler-bundle.ts), on a project of its own made here: each entry is
 * built with its own tree-shaking although the entries share esbuild contexts, and the cache copies
 * a handler whose inputs did not change and rebuilds one whose inputs did.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleBatch, handlerBuildOptions } from '../../lib/handler-bundle.js';

let root: string;
let cache: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'bb-bundler-'));
  cache = join(root, '.cache');
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2023', module: 'NodeNext', strict: true } }));
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
