/**
 * Start-up (issue 16): the command runs dist/ only when it was built from the sources as they are
 * (bin/freshness.mjs, bin/builderbrain.mjs), the synthesized definitions are cached per source
 * version and config (local/definitions-cache.ts), and `gate` loads neither the CDK nor the
 * simulator (cli/program.ts modulesFor).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_INFO, distStaleness, hashInputs } from '../../bin/freshness.mjs';
import { COMMAND_MODULES, modulesFor } from '../../cli/program.js';
import { loadDefinitions, SYNTH_SOURCE_DIRS, type Synthesizer } from '../../local/definitions-cache.js';
import { simulationConfig } from '../../local/simulate.js';
import type { MachineDefinitions } from '../../lib/synth.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const temps: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-startup-'));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('dist/ freshness (bin/freshness.mjs)', () => {
  const project = (): string => {
    const dir = tempDir();
    mkdirSync(join(dir, 'cli'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'cli/main.ts'), 'console.log(1);\n');
    writeFileSync(join(dir, 'cli/util.ts'), 'export const x = 1;\n');
    const inputs = ['cli/main.ts', 'cli/util.ts'];
    writeFileSync(join(dir, BUILD_INFO), JSON.stringify({ hash: hashInputs(dir, inputs), inputs }));
    return dir;
  };

  it('is fresh while every recorded input has the content it was built from', () => {
    expect(distStaleness(project())).toBeNull();
  });

  it('is stale when an input changed, is gone, or nothing was built', () => {
    const changed = project();
    writeFileSync(join(changed, 'cli/util.ts'), 'export const x = 2;\n');
    expect(distStaleness(changed)).toBe('the sources changed since the build');
    const gone = project();
    rmSync(join(gone, 'cli/util.ts'));
    expect(distStaleness(gone)).toMatch(/an input of the build is gone \(ENOENT\)/);
    const unbuilt = project();
    rmSync(join(unbuilt, BUILD_INFO));
    expect(distStaleness(unbuilt)).toBe('not built');
  });
});

describe('bin/builderbrain.mjs', () => {
  /** A project whose dist/ and sources each print who ran; node_modules is the real one (tsx). */
  const fixture = (): string => {
    const dir = tempDir();
    mkdirSync(join(dir, 'bin'));
    for (const f of ['builderbrain.mjs', 'freshness.mjs']) cpSync(join(ROOT, 'bin', f), join(dir, 'bin', f));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'cli'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'cli/main.ts'), "const who: string = 'sources';\nconsole.log(who);\n");
    writeFileSync(join(dir, 'dist/builderbrain.js'), "console.log('dist');\n");
    writeFileSync(join(dir, BUILD_INFO), JSON.stringify({ hash: hashInputs(dir, ['cli/main.ts']), inputs: ['cli/main.ts'] }));
    return dir;
  };
  const ran = (dir: string, env: Record<string, string> = {}): string => {
    const { BUILDERBRAIN_SOURCES: _, ...inherited } = process.env;
    const r = spawnSync(process.execPath, [join(dir, 'bin/builderbrain.mjs')], { env: { ...inherited, ...env }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('the CDK app (bin/app.mjs, what cdk.json runs) chooses between dist/app.js and bin/app.ts by the same rule', () => {
    const dir = fixture();
    cpSync(join(ROOT, 'bin', 'app.mjs'), join(dir, 'bin', 'app.mjs'));
    writeFileSync(join(dir, 'bin/app.ts'), "const who: string = 'app sources';\nconsole.log(who);\n");
    writeFileSync(join(dir, 'dist/app.js'), "console.log('app dist');\n");
    const app = (env: Record<string, string> = {}): string => {
      const { BUILDERBRAIN_SOURCES: _, ...inherited } = process.env;
      const r = spawnSync(process.execPath, [join(dir, 'bin/app.mjs')], { env: { ...inherited, ...env }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    expect(app()).toBe('app dist');
    expect(app({ BUILDERBRAIN_SOURCES: '1' })).toBe('app sources');
    writeFileSync(join(dir, 'cli/main.ts'), "console.log('changed');\n");
    expect(app()).toBe('app sources');
  });

  it('runs dist/ when it is fresh, the sources through tsx when it is stale, missing or not wanted', () => {
    const dir = fixture();
    expect(ran(dir)).toBe('dist');
    expect(ran(dir, { BUILDERBRAIN_SOURCES: '1' })).toBe('sources');
    writeFileSync(join(dir, 'cli/main.ts'), "const who: string = 'edited sources';\nconsole.log(who);\n");
    expect(ran(dir)).toBe('edited sources');
    rmSync(join(dir, 'dist'), { recursive: true });
    expect(ran(dir)).toBe('edited sources');
  });
});

describe('the definitions cache (local/definitions-cache.ts)', () => {
  const config = simulationConfig({ phaseMinutes: 3 });
  /** Smallest valid ASL machines: what the cache checks before keeping them. */
  const machine = (name: string) => ({ logicalId: name, name, arn: `arn:aws:states:us-east-1:000000000000:stateMachine:${name}`, definition: { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }, handlerForTask: {} });
  const counting = () => {
    const calls: string[] = [];
    const synthesize: Synthesizer = (c, environment) => {
      calls.push(`${c.phases[0]!.monitorMinutes}|${environment ?? ''}`);
      return { promotion: machine('p'), canary: machine('c'), functionArns: {} } as unknown as MachineDefinitions;
    };
    return { calls, synthesize };
  };

  it('synthesizes on a miss, answers the same key from memory or disk, and a changed config or source version misses', async () => {
    const dir = tempDir();
    const { calls, synthesize } = counting();
    await loadDefinitions(config, undefined, { dir, sourceHash: 'a'.repeat(64), synthesize });
    await loadDefinitions(config, undefined, { dir, sourceHash: 'a'.repeat(64), synthesize });
    expect(calls).toEqual(['3|']);
    // a later process: nothing in memory for another directory holding the same file
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    const other = counting();
    await loadDefinitions(config, undefined, { dir: copy, sourceHash: 'a'.repeat(64), synthesize: other.synthesize });
    expect(other.calls).toEqual([]);

    await loadDefinitions(simulationConfig({ phaseMinutes: 4 }), undefined, { dir, sourceHash: 'a'.repeat(64), synthesize });
    await loadDefinitions(config, 'staging', { dir, sourceHash: 'a'.repeat(64), synthesize });
    expect(calls).toEqual(['3|', '4|', '3|staging']);
    expect(readdirSync(dir)).toHaveLength(3);
    // a new source version synthesizes again; the cache keeps its newest files
    await loadDefinitions(config, undefined, { dir, sourceHash: 'b'.repeat(64), synthesize, maxFiles: 2 });
    expect(calls).toHaveLength(4);
    const kept = readdirSync(dir);
    expect(kept).toHaveLength(2);
    expect(kept).toContainEqual(expect.stringMatching(/^definitions-bbbbbbbbbbbbbbbb-[0-9a-f]{16}\.json$/));
  });

  it('keeps exactly what CDK synthesis returned', async () => {
    const { stateMachineDefinitions, synthesizeTemplate } = await import('../../lib/synth.js');
    let fresh: MachineDefinitions | undefined;
    const synthesize: Synthesizer = (c) => (fresh = stateMachineDefinitions(synthesizeTemplate(c, { bundling: false })));
    const dir = tempDir();
    const defs = await loadDefinitions(config, undefined, { dir, sourceHash: 'c'.repeat(64), synthesize });
    expect(defs).toBe(fresh);
    const [file] = readdirSync(dir);
    expect(JSON.parse(readFileSync(join(dir, file!), 'utf8'))).toEqual(fresh);
  });

  it('its key covers every project file synthesis imports', async () => {
    const r = await esbuild.build({ absWorkingDir: ROOT, entryPoints: ['lib/synth.ts'], bundle: true, write: false, platform: 'node', format: 'esm', packages: 'external', metafile: true, outdir: 'out', logLevel: 'silent' });
    const outside = Object.keys(r.metafile.inputs).filter((p) => !SYNTH_SOURCE_DIRS.some((d) => p.startsWith(`${d}/`)));
    expect(outside).toEqual([]);
  });
});

describe('lazy commands (cli/program.ts)', () => {
  it('a command line naming a command loads only its module; anything else loads them all', () => {
    expect(modulesFor(['gate', 'x.json']).map((m) => m.names)).toEqual([['gate']]);
    expect(modulesFor(['scenarios']).map((m) => m.names)).toEqual([['simulate', 'scenarios']]);
    for (const argv of [[], ['--help'], ['help', 'gate'], ['gat']]) expect(modulesFor(argv)).toBe(COMMAND_MODULES);
  });

  it('each module registers exactly the commands it is listed with', async () => {
    const { Command } = await import('commander');
    for (const m of COMMAND_MODULES) {
      const program = new Command();
      for (const register of await m.load()) register(program, { io: { stdout: () => {}, stderr: () => {}, readFile: async () => '', isTTY: false }, setExitCode: () => {} });
      expect(program.commands.map((c) => c.name())).toEqual(m.names);
    }
  });

  /** Every module URL the process resolved (import and require), written to stderr at exit. */
  const TRACE = `import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => writeSync(2, '\\nMODULES ' + JSON.stringify([...seen]) + '\\n'));
`;
  const loadedBy = (args: string[], env: Record<string, string>): string[] => {
    const trace = join(tempDir(), 'trace.mjs');
    writeFileSync(trace, TRACE);
    const r = spawnSync(process.execPath, ['--import', trace, 'bin/builderbrain.mjs', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(/MODULES (.*)$/m.exec(r.stderr)![1]!) as string[];
  };
  const heavy = (urls: string[]) => urls.filter((u) => /\/node_modules\/(aws-cdk-lib|cdk-nag|@aws-sdk|aws-local-stepfunctions)\/|\/(local|lib|lambdas)\/[^/]+\.ts$/.test(u));

  it('gate loads neither the CDK, the AWS SDK nor the simulator (sources)', () => {
    const urls = loadedBy(['gate', 'examples/minor-pass.json'], { BUILDERBRAIN_SOURCES: '1' });
    expect(urls.some((u) => u.endsWith('/cli/commands/gate.ts'))).toBe(true);
    expect(heavy(urls)).toEqual([]);
  });

  // dist/ is built by `npm ci`; a working tree with edited sources runs them instead (above).
  it.skipIf(distStaleness(ROOT) !== null)('gate loads neither the CDK, the AWS SDK nor the simulator (dist/)', () => {
    const urls = loadedBy(['gate', 'examples/minor-pass.json'], { BUILDERBRAIN_SOURCES: '0' });
    expect(urls.some((u) => u.includes('/dist/builderbrain.js'))).toBe(true);
    expect(heavy(urls)).toEqual([]);
    // the project's modules are bundled: each chunk names its sources in a comment (`// local/runtime.ts`)
    const chunks = urls.filter((u) => u.includes('/dist/')).map((u) => readFileSync(fileURLToPath(u), 'utf8'));
    expect(chunks.flatMap((c) => c.match(/^\/\/ (local|lib|lambdas)\/.*$/gm) ?? [])).toEqual([]);
  });
});
