/** Process entry of `builderbrain`: real I/O, exit code through `process.exitCode`. */
import { readFile } from 'node:fs/promises';
import { run, type CliIO } from './program.js';

// `builderbrain ... | head` closes the pipe early: stop quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const noColor = process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '';

const io: CliIO = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  readFile: (path) => readFile(path, 'utf8'),
  isTTY: process.stdout.isTTY === true && !noColor,
};

process.exitCode = await run(process.argv.slice(2), io);
