/**
 * Simulation scenarios (scenario.md): the simulated serving fleet a local release runs against.
 * Validated with zod before anything runs; every offending field is named.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { ReleaseManifestSchema } from '../core/manifest.js';
import type { ReleaseManifest } from '../core/manifest.js';
import { parseJsonText, type Parsed } from '../core/validation.js';

const rate = () => z.number().finite().min(0).max(1);
const ms = () => z.number().finite().positive();

const LatencySchema = z
  .strictObject({ p50: ms(), p95: ms(), p99: ms() })
  .refine((l) => l.p50 <= l.p95 && l.p95 <= l.p99, { message: 'percentiles must satisfy p50 ≤ p95 ≤ p99' });

export const ProfileSchema = z.strictObject({
  latencyMs: LatencySchema,
  errorRate: rate(),
  riskEnergy: z.number().finite().min(0),
  constraintViolationRate: rate(),
  safetyIncidentsPerMinute: z.number().finite().min(0).optional(),
});
export type Profile = z.infer<typeof ProfileSchema>;

const SetSchema = z.strictObject({
  latencyMs: z.strictObject({ p50: ms().optional(), p95: ms().optional(), p99: ms().optional() }).optional(),
  errorRate: rate().optional(),
  riskEnergy: z.number().finite().min(0).optional(),
  constraintViolationRate: rate().optional(),
  safetyIncidentsPerMinute: z.number().finite().min(0).optional(),
});

export const ScenarioEventSchema = z.union([
  z.strictObject({
    /** The phase (by its candidate weight) in which the event happens. */
    whenWeight: z.number().int().min(1).max(100),
    /** Minutes into that phase. */
    afterMinutes: z.number().int().min(0),
    set: SetSchema,
  }),
  z.strictObject({
    /** Minutes since the canary started. */
    atMinute: z.number().int().min(0),
    set: SetSchema,
  }),
]);
export type ScenarioEvent = z.infer<typeof ScenarioEventSchema>;

export const ScenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 chars of a-z 0-9 -'),
  description: z.string().min(1),
  seed: z.number().int().min(0).max(2 ** 32 - 1),
  requestsPerMinute: z.number().int().min(1).max(10_000_000),
  baseline: ProfileSchema,
  candidate: ProfileSchema.extend({ events: z.array(ScenarioEventSchema).default([]) }),
  /** The release manifest; a valid default is derived when absent. */
  manifest: ReleaseManifestSchema.optional(),
  /**
   * The simulated endpoint and artifact (an extension of scenario.md): how long provisioning takes,
   * how the candidate's deployment or smoke test fails, whether the uploaded artifact matches the
   * manifest, and whether this is the model's first release (no endpoint yet).
   */
  deployment: z
    .strictObject({
      provisionMinutes: z.number().int().min(1).max(120).default(6),
      failure: z.enum(['image_pull', 'model_load', 'capacity']).nullable().default(null),
      smoke: z.enum(['ok', 'error', 'shape', 'slow']).default('ok'),
      artifact: z.enum(['match', 'mismatch', 'missing']).default('match'),
      firstRelease: z.boolean().default(false),
    })
    .prefault({}),
});
export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** Largest scenario file accepted. */
export const MAX_SCENARIO_BYTES = 1024 * 1024;

/** The candidate's profile after applying an event's `set`. */
export function applySet(profile: Profile, set: ScenarioEvent['set']): Profile {
  const { latencyMs, ...rest } = set;
  return {
    ...profile,
    ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
    latencyMs: { ...profile.latencyMs, ...Object.fromEntries(Object.entries(latencyMs ?? {}).filter(([, v]) => v !== undefined)) },
  } as Profile;
}

/** The artifact bucket of the embedded runtime. */
export const LOCAL_ARTIFACT_BUCKET = 'builderbrain-artifacts-local';

/** The manifest a scenario releases when it names none: a valid minor release that passes every gate. */
export function defaultManifest(overrides: Partial<ReleaseManifest> = {}): ReleaseManifest {
  const model = overrides.model ?? 'builderbrain';
  const version = overrides.version ?? '2.1.0';
  return ReleaseManifestSchema.parse({
    model: 'builderbrain',
    version: '2.1.0',
    previousVersion: '2.0.3',
    releaseType: 'minor',
    artifact: {
      uri: `s3://${LOCAL_ARTIFACT_BUCKET}/models/${model}/${version}/model.tar.gz`,
      sha256: '9f2c5b7e1d3a4c6b8e0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b',
    },
    shadowEvaluation: {
      riskEnergy: { candidate: 0.41, baseline: 0.43 },
      performance: { candidate: 0.812, baseline: 0.82 },
      constraintSatisfaction: 0.97,
      tests: { passed: 1284, failed: 0 },
      grammarCompliance: 0.991,
      planExecutionSuccess: 0.962,
    },
    changelog: {
      features: ['Enhanced grammar parsing with CFG/PEG support'],
      improvements: ['15% reduction in inference latency'],
      fixes: ['Fixed memory leak in dual-rail fusion'],
    },
    migrationGuide: null,
    owner: 'ml-platform',
    ...overrides,
  });
}

const BASELINE: Profile = {
  latencyMs: { p50: 180, p95: 420, p99: 650 },
  errorRate: 0.004,
  riskEnergy: 0.3,
  constraintViolationRate: 0.01,
};
const HEALTHY_CANDIDATE: Profile = {
  latencyMs: { p50: 176, p95: 415, p99: 640 },
  errorRate: 0.004,
  riskEnergy: 0.29,
  constraintViolationRate: 0.009,
};

const scenario = (s: Omit<ScenarioInput, 'baseline' | 'candidate' | 'requestsPerMinute' | 'deployment'> & {
  deployment?: ScenarioInput['deployment'];
  requestsPerMinute?: number;
  candidate?: Partial<Profile>;
  events?: ScenarioEvent[];
}): Scenario =>
  ScenarioSchema.parse({
    name: s.name,
    description: s.description,
    seed: s.seed,
    requestsPerMinute: s.requestsPerMinute ?? 6000,
    baseline: BASELINE,
    candidate: { ...HEALTHY_CANDIDATE, ...s.candidate, events: s.events ?? [] },
    ...(s.manifest ? { manifest: s.manifest } : {}),
    ...(s.deployment ? { deployment: s.deployment } : {}),
  });

/** The built-in scenarios (scenario.md lists the required ones). */
export const BUILTIN_SCENARIOS: readonly Scenario[] = [
  scenario({
    name: 'healthy',
    description: 'a healthy candidate, slightly faster and safer than the baseline: promoted through 1% → 10% → 50% → 100%',
    seed: 1,
  }),
  scenario({
    name: 'rejected-at-gate',
    description: 'the shadow evaluation shows a risk-energy increase: rejected at the promotion gate, no traffic moves',
    seed: 2,
    manifest: {
      ...defaultManifest(),
      shadowEvaluation: { ...defaultManifest().shadowEvaluation, riskEnergy: { candidate: 0.47, baseline: 0.43 } },
    },
  }),
  scenario({
    name: 'error-spike-at-10pct',
    description: 'candidate error rate triples 20 minutes into the 10% phase',
    seed: 7,
    events: [{ whenWeight: 10, afterMinutes: 20, set: { errorRate: 0.012 } }],
  }),
  scenario({
    name: 'latency-regression',
    description: 'candidate p95/p99 latency 30% worse from 10 minutes into the 10% phase',
    seed: 11,
    events: [{ whenWeight: 10, afterMinutes: 10, set: { latencyMs: { p95: 550, p99: 850 } } }],
  }),
  scenario({
    name: 'safety-violation',
    description: 'the candidate causes safety incidents 15 minutes into the 1% phase',
    seed: 13,
    events: [{ whenWeight: 1, afterMinutes: 15, set: { safetyIncidentsPerMinute: 0.5 } }],
  }),
  scenario({
    name: 'constraint-surge',
    description: 'constraint violations jump to 9% of candidate requests 5 minutes into the 10% phase',
    seed: 17,
    events: [{ whenWeight: 10, afterMinutes: 5, set: { constraintViolationRate: 0.09 } }],
  }),
  scenario({
    name: 'regression-under-load-at-50pct',
    description: 'healthy at 1% and 10%; at 50% the candidate saturates: error rate ×4 and p99 +25% after 10 minutes',
    seed: 19,
    events: [{ whenWeight: 50, afterMinutes: 10, set: { errorRate: 0.016, latencyMs: { p99: 812 } } }],
  }),
  scenario({
    name: 'risk-energy-drift',
    description: 'mean risk energy of candidate responses drifts 12% above the baseline from the start of the 10% phase',
    seed: 23,
    events: [{ whenWeight: 10, afterMinutes: 0, set: { riskEnergy: 0.336 } }],
  }),
  scenario({
    name: 'failed-deploy',
    description: 'the candidate model does not load on its instances (the serving container fails its health check): SageMaker rolls the endpoint back, the release is rejected (P2) before any user traffic',
    seed: 29,
    deployment: { failure: 'model_load', provisionMinutes: 8 },
  }),
  scenario({
    name: 'failed-smoke-test',
    description: 'the candidate deploys but answers the smoke request with the wrong shape: rejected (P2) before any user traffic, its instances released',
    seed: 31,
    deployment: { smoke: 'shape' },
  }),
  scenario({
    name: 'artifact-mismatch',
    description: "the uploaded artifact's SHA-256 is not the manifest's: rejected (P3), nothing deployed",
    seed: 37,
    deployment: { artifact: 'mismatch' },
  }),
  scenario({
    name: 'first-release',
    description: 'the first release of the model: no endpoint yet, so no baseline to compare with; created, smoke-tested, judged at 100% on the absolute rules, promoted',
    seed: 41,
    deployment: { firstRelease: true },
    manifest: { ...defaultManifest(), previousVersion: null, version: '1.0.0', releaseType: 'major', artifact: { ...defaultManifest({ version: '1.0.0' }).artifact } },
  }),
];

/** The scenario `npm start` runs. */
export const DEFAULT_SCENARIO = 'healthy';

/** Parses scenario JSON text, naming every bad field. */
export function parseScenarioText(text: string): Parsed<Scenario> {
  return parseJsonText(ScenarioSchema, text, MAX_SCENARIO_BYTES);
}

export type ScenarioLookup = { ok: true; scenario: Scenario } | { ok: false; message: string; issues: { path: string; message: string }[] };

/** A built-in scenario by name, or a scenario file by path (a name with `/` or `.json` is a path). */
export async function loadScenario(nameOrFile: string): Promise<ScenarioLookup> {
  const builtin = BUILTIN_SCENARIOS.find((s) => s.name === nameOrFile);
  if (builtin) return { ok: true, scenario: builtin };
  if (!nameOrFile.includes('/') && !nameOrFile.endsWith('.json')) {
    return {
      ok: false,
      message: `unknown scenario '${nameOrFile}': use one of ${BUILTIN_SCENARIOS.map((s) => s.name).join(', ')} or a path to a scenario file`,
      issues: [],
    };
  }
  let text: string;
  try {
    text = await readFile(nameOrFile, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read scenario file '${nameOrFile}' (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the path`, issues: [] };
  }
  const parsed = parseScenarioText(text);
  if (!parsed.ok) return { ok: false, message: `'${nameOrFile}' is not a valid scenario`, issues: parsed.issues };
  return { ok: true, scenario: parsed.value };
}

