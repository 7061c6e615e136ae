#!/usr/bin/env node
// The `builderbrain` command: runs the TypeScript sources through tsx (no build step needed).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../cli/main.ts', import.meta.url).href);
