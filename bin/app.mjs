#!/usr/bin/env node
// The CDK app as cdk.json runs it: dist/app.js (bundled with the command line by bin/build.mjs) when
// dist/ is fresh, else bin/app.ts through tsx — as bin/builderbrain.mjs does. Compiled, `cdk synth`
// does not transpile the sources first (1.6 s of CPU).
import { fileURLToPath } from 'node:url';
import { DIST_APP, runBuiltOrSources } from './freshness.mjs';

await runBuiltOrSources(fileURLToPath(new URL('..', import.meta.url)), DIST_APP, 'bin/app.ts');
