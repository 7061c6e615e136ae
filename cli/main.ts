/** Process entry of `builderbrain`: real I/O, exit code through `process.exitCode`. */
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { SimulateIO } from './commands/simulate.js';
import { run, type CliIO } from './program.js';

// `builderbrain ... | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const noColor = process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '';

/** Asks at the terminal (stderr, so stdout stays clean); null without an interactive terminal. */
const ask =
  process.stdin.isTTY === true
    ? async (question: string): Promise<string> => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      }
    : null;

const io: CliIO & SimulateIO = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
  ask,
  isTTY: process.stdout.isTTY === true && !noColor,
};

process.exitCode = await run(process.argv.slice(2), io);
