/**
 * A local simulation's state directory for the `--local` flow tests: a fresh directory per test,
 * the operator commands run on it (never a stack trace, never a task token in their output), and a
 * wait for the state the simulation writes (state.json after every change).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { readSnapshot, type LocalSnapshot } from '../../local/state-dir.js';
import { STACK_LINE, cli, type Captured } from './helpers.js';

export interface LocalSimulationDir {
  /** This test's state directory. */
  readonly dir: () => string;
  /** `builderbrain <argv> --local --state-dir <dir>`. */
  readonly local: (argv: string[]) => Promise<Captured>;
  /** Waits until the simulation's state satisfies `ready`. */
  readonly until: (ready: (s: LocalSnapshot) => boolean, what: string, timeoutMs?: number) => Promise<LocalSnapshot>;
}

/** Registers the directory's creation and removal around each test of the calling file. */
export function localSimulationDir(prefix: string): LocalSimulationDir {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    async local(argv) {
      const r = await cli([...argv, '--local', '--state-dir', dir]);
      expect(r.stderr).not.toMatch(STACK_LINE);
      expect(r.stdout + r.stderr).not.toMatch(/local-task-token/);
      return r;
    },
    async until(ready, what, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const snap = await readSnapshot(dir).catch(() => null);
        if (snap !== null && ready(snap)) return snap;
        if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
