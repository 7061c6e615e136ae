// Is dist/ built from the sources as they are now? The rule the `builderbrain` command runs by
// (bin/builderbrain.mjs) and the build records (bin/build.mjs):
//
// - the build writes dist/build-info.json: every file the bundle was made from (esbuild's metafile
//   inputs, project files only: dependencies stay external and are loaded from node_modules) and
//   one SHA-256 over their paths and contents;
// - at start the command reads and hashes exactly those files again: dist/ is fresh when the hash is
//   the same. A changed, deleted or renamed input changes it; a new file matters only once an input
//   imports it, and then that input has changed. No walk of the tree, no build tool loaded: the
//   189 files hash in a few milliseconds, so there is no cheaper mtime shortcut worth its pitfalls.
//
// Plain JavaScript, no dependencies: it must run before anything is built.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where the build writes its record, relative to the project root. */
export const BUILD_INFO = 'dist/build-info.json';
/** The bundle's entries, relative to the project root: the command line, and the CDK app (cdk.json). */
export const DIST_ENTRY = 'dist/builderbrain.js';
export const DIST_APP = 'dist/app.js';

/**
 * One SHA-256 over `files` (paths relative to `root`, in the given order) and their contents.
 * Throws when a file cannot be read (ENOENT when an input is gone).
 */
export function hashInputs(root, files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * Why dist/ cannot be run for the sources under `root`, or null when it is fresh.
 *
 * @example distStaleness('/work/main') // null, or 'lib/synth.ts changed since the build'
 */
export function distStaleness(root) {
  let info;
  try {
    info = JSON.parse(readFileSync(join(root, BUILD_INFO), 'utf8'));
  } catch {
    return 'not built';
  }
  if (!Array.isArray(info?.inputs) || typeof info?.hash !== 'string' || info.inputs.length === 0) return `${BUILD_INFO} is not a build record`;
  let hash;
  try {
    hash = hashInputs(root, info.inputs);
  } catch (err) {
    return `an input of the build is gone (${err.code ?? err.message})`;
  }
  return hash === info.hash ? null : 'the sources changed since the build';
}

/**
 * Runs `distEntry` (relative to `root`) when dist/ is fresh, else `sourceEntry` (a .ts file relative to
 * `root`) through tsx: what bin/builderbrain.mjs and bin/app.mjs do. BUILDERBRAIN_SOURCES=1 always
 * runs the sources.
 */
export async function runBuiltOrSources(root, distEntry, sourceEntry) {
  const runSources = process.env['BUILDERBRAIN_SOURCES'] === '1' || distStaleness(root) !== null;
  if (runSources) {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(root, sourceEntry)).href);
  } else {
    await import(pathToFileURL(join(root, distEntry)).href);
  }
}
