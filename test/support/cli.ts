/**
 * The command line run in-process for tests: `run(argv, io)` of cli/program.ts with captured output
 * (the same code path as bin/builderbrain.mjs, without spawning a process).
 */
import { readFile } from 'node:fs/promises';
import { run, type CliIO } from '../../cli/program.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `builderbrain <argv>`; `isTTY` makes it a terminal (progress lines, colours). */
export async function cli(argv: string[], isTTY = false): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readFile: (path) => readFile(path, 'utf8'),
    isTTY,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
