#!/usr/bin/env node
// The CDK app as cdk.json runs it: dist/app.js (bundled with the command line by bin/build.mjs) when
// dist/ is fresh, else bin/app.ts through tsx — as bin/builderbrain.mjs does. Compiled, `cdk synth`
// does not transpile the sources first (1.6 s of CPU).
//
// cdk.json says `node`: the first on the PATH. Through `npx cdk` that is the project's own Node 22
// (the `node` dev dependency); a cdk installed globally may find an older one, and then the app runs
// again with the project's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST_APP, runBuiltOrSources } from './freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pinned = join(root, 'node_modules', '.bin', 'node');
if (Number(process.versions.node.split('.')[0]) < 22 && existsSync(pinned)) {
  const again = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
await runBuiltOrSources(root, DIST_APP, 'bin/app.ts');
