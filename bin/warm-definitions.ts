/**
 * Run once by the build (bin/build.mjs, so by `npm ci`): synthesizes the state machine definitions
 * `npm start` runs (the default scenario's config) into the cache (local/definitions-cache.ts), so
 * the first start after an install does not pay for the CDK.
 */
import { loadDefinitions } from '../local/definitions-cache.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../local/scenario.js';
import { simulationConfig } from '../local/simulate.js';

await loadDefinitions(simulationConfig({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === DEFAULT_SCENARIO)! }));
