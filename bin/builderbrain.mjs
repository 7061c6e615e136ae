#!/usr/bin/env node
// The `builderbrain` command. It runs dist/ (bundled by `npm ci`'s prepare step or `npm run build`,
// bin/build.mjs) when dist/ was built from the sources as they are now — the hash of every input
// the build recorded is the same (bin/freshness.mjs) — and otherwise the TypeScript sources through
// tsx: an edited source is never run as stale JavaScript. Set BUILDERBRAIN_SOURCES=1 to always run
// the sources.
import { fileURLToPath } from 'node:url';
import { DIST_ENTRY, runBuiltOrSources } from './freshness.mjs';

await runBuiltOrSources(fileURLToPath(new URL('..', import.meta.url)), DIST_ENTRY, 'cli/main.ts');
