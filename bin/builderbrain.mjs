#!/usr/bin/env node
// The `builderbrain` command. It runs dist/ (bundled by `npm ci`'s prepare step or `npm run build`,
// bin/build.mjs) when dist/ was built from the sources as they are now — the hash of every input
// the build recorded is the same (bin/freshness.mjs) — and otherwise the TypeScript sources through
// tsx: an edited source is never run as stale JavaScript. Set BUILDERBRAIN_SOURCES=1 to always run
// the sources.
import { fileURLToPath } from 'node:url';
import { DIST_ENTRY, distStaleness } from './freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const runSources = process.env['BUILDERBRAIN_SOURCES'] === '1' || distStaleness(root) !== null;

if (runSources) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../cli/main.ts', import.meta.url).href);
} else {
  await import(new URL(`../${DIST_ENTRY}`, import.meta.url).href);
}
