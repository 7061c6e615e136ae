/**
 * Simulation scenarios (scenario.md): the simulated serving fleet a local release runs against.
 * Validated with zod before anything runs; every offending field is named.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { EnvironmentNameSchema } from '../core/environments.js';
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

/** A stationary AR(1) process on the log scale: sd of its stationary distribution, autocorrelation per minute. */
const Ar1Schema = z.strictObject({
  /** Standard deviation (log scale) of the stationary distribution; 0: no noise. */
  sd: z.number().finite().min(0).max(2).default(0),
  /** Correlation of one minute's value with the previous minute's, in [0, 1): 0 is white noise. */
  autocorrelation: z.number().finite().min(0).lt(1).default(0.9),
});

const ZONES = 'abcdef';

const IncidentEffectSchema = z
  .strictObject({
    errorRate: z.number().finite().min(0).max(1000).default(1),
    latency: z.number().finite().positive().max(100).default(1),
    constraintViolationRate: z.number().finite().min(0).max(1000).default(1),
  })
  .prefault({});

/**
 * An infrastructure incident: from `atMinute` (minutes since the canary started) or `afterMinutes`
 * into the phase of weight `whenWeight` (as events), for `minutes`, the instances of `zone` (or the
 * whole fleet) of both variants have their error rate, latency and constraint-violation rate
 * multiplied.
 */
const IncidentSchema = z
  .strictObject({
    atMinute: z.number().int().min(0).optional(),
    whenWeight: z.number().int().min(1).max(100).optional(),
    afterMinutes: z.number().int().min(0).optional(),
    minutes: z.number().int().min(1).max(10_080),
    /** The zone hit (its instances, both variants'); absent or null: the whole fleet. */
    zone: z.string().regex(/^[a-f]$/, 'must be a zone letter a-f').nullable().default(null),
    multiply: IncidentEffectSchema,
  })
  .superRefine((i, ctx) => {
    const byPhase = i.whenWeight !== undefined || i.afterMinutes !== undefined;
    if (i.atMinute !== undefined && byPhase) {
      ctx.addIssue({ code: 'custom', path: ['atMinute'], message: 'give either atMinute or whenWeight with afterMinutes, not both' });
    } else if (i.atMinute === undefined && !byPhase) {
      ctx.addIssue({ code: 'custom', path: ['atMinute'], message: 'missing: give atMinute (minutes since the canary started) or whenWeight with afterMinutes' });
    } else if (byPhase && i.whenWeight === undefined) {
      ctx.addIssue({ code: 'custom', path: ['whenWeight'], message: 'missing: afterMinutes counts from the start of the phase of this weight' });
    } else if (byPhase && i.afterMinutes === undefined) {
      ctx.addIssue({ code: 'custom', path: ['afterMinutes'], message: 'missing: minutes into the phase of whenWeight' });
    }
  });

/**
 * The fleet as it is (an extension of scenario.md, issue 10 §4): instances with their own error
 * rates, warm-up after a traffic shift, incidents, sticky heavy users, autocorrelated noise,
 * diurnal traffic, missing minutes. Every field is optional; the defaults are a fleet of identical
 * instances with none of these effects.
 */
export const FleetSchema = z
  .strictObject({
    instances: z
      .strictObject({
        /** Instances in the fleet; a canary at weight w runs on max(1, round(w% × count)), the baseline on the rest. */
        count: z.number().int().min(1).max(1000).default(20),
        /** Availability zones (a, b, c, …); instance i of a variant is in zone i mod zones. */
        zones: z.number().int().min(1).max(ZONES.length).default(3),
        /**
         * Each instance's error-rate multiplier: log-normal with this sd (mean 1), drifting as an
         * AR(1) on the log scale with this autocorrelation per minute.
         */
        errorRate: Ar1Schema.extend({ autocorrelation: z.number().finite().min(0).max(1).default(0.98) }).prefault({}),
      })
      .prefault({}),
    /** Fresh canary instances (added by a traffic shift) serve `latencyIncrease` more latency, decaying linearly to none over `minutes`. */
    warmUp: z
      .strictObject({
        latencyIncrease: z.number().finite().min(0).max(10).default(0),
        minutes: z.number().int().min(1).max(1440).default(10),
      })
      .prefault({}),
    /** Infrastructure incidents hitting both variants alike: fleet-wide or one zone's instances. */
    incidents: z.array(IncidentSchema).max(100).default([]),
    /** Heavy users pinned to one variant (sticky routing): a share of all traffic, with heavier requests. */
    stickyUsers: z
      .strictObject({
        share: z.number().finite().min(0).max(0.5).default(0),
        pinnedTo: z.enum(['canary', 'baseline']).default('canary'),
        multiply: z
          .strictObject({
            latency: z.number().finite().positive().max(100).default(1),
            riskEnergy: z.number().finite().min(0).max(100).default(1),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Noise shared by both variants (the fleet's load, its dependencies): AR(1) on the log scale. */
    noise: z
      .strictObject({
        latency: Ar1Schema.prefault({}),
        errorRate: Ar1Schema.prefault({}),
      })
      .prefault({}),
    /** Diurnal traffic: requests per minute × (1 + amplitude · cos(2π (t − peakAtMinute) / periodMinutes)), t since the canary started. */
    diurnal: z
      .strictObject({
        amplitude: z.number().finite().min(0).max(0.95).default(0),
        periodMinutes: z.number().int().min(2).max(100_000).default(1440),
        peakAtMinute: z.number().int().min(0).default(0),
      })
      .prefault({}),
    /** Probability that a variant's minute is not emitted at all (a gap in CloudWatch). */
    missingMinuteProbability: z.number().finite().min(0).max(0.9).default(0),
  })
  .superRefine((f, ctx) => {
    f.incidents.forEach((incident, i) => {
      if (incident.zone !== null && ZONES.indexOf(incident.zone) >= f.instances.zones) {
        ctx.addIssue({
          code: 'custom',
          path: ['incidents', i, 'zone'],
          message: `zone '${incident.zone}' is not in the fleet: instances.zones is ${f.instances.zones} (${ZONES.slice(0, f.instances.zones).split('').join(', ')})`,
        });
      }
    });
  });
export type FleetSettings = z.infer<typeof FleetSchema>;
export type FleetInput = z.input<typeof FleetSchema>;
export type FleetIncident = FleetSettings['incidents'][number];

/** The zone letter of instance `i` of a variant. */
export function zoneOf(i: number, zones: number): string {
  return ZONES[i % zones]!;
}

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
  /** The fleet as it is (instances, warm-up, incidents, sticky users, noise, diurnal traffic, gaps): see {@link FleetSchema}. */
  fleet: FleetSchema.prefault({}),
  /**
   * Run the release through the environment chain (an extension of scenario.md; local/chain.ts):
   * staging → pre-production → production by default, each environment on its own simulated
   * endpoint and fleet, with simulated verification hooks.
   */
  /**
   * What an operator does once the release is released (an extension of scenario.md): roll it back
   * with `builderbrain rollback <model>@<version>` — the version that served before (seeded in the
   * ledger as released, its manifest and artifact in the bucket) is released again through the
   * pipeline; an emergency runs one 100% phase at once and pages P0.
   */
  operator: z.strictObject({ rollbackReleased: z.strictObject({ emergency: z.boolean(), reason: z.string().min(1) }) }).optional(),
  /**
   * An emergency freeze during the release (an extension of scenario.md; core/freeze.ts): set by
   * `by` at `atMinute` of the simulation, lifted at `untilMinute` (null: never), as `builderbrain
   * freeze` / `unfreeze` would.
   */
  freeze: z
    .strictObject({
      atMinute: z.number().int().min(0),
      untilMinute: z.number().int().min(1).nullable(),
      by: z.string().min(1).default('local:incident-commander'),
      reason: z.string().min(1),
    })
    .refine((f) => f.untilMinute === null || f.untilMinute > f.atMinute, { message: 'untilMinute must be after atMinute', path: ['untilMinute'] })
    .optional(),
  /**
   * The post-release bake (an extension of scenario.md; core/bake.ts): simulations run none unless
   * the scenario (or the config) asks, since the default is a whole day.
   */
  bake: z.strictObject({ minutes: z.number().int().min(0).max(14 * 24 * 60), lookEveryMinutes: z.number().int().min(1).max(60).optional() }).optional(),
  chain: z
    .strictObject({
      /** The environments the candidate's events happen in (default: every one): a regression only production's traffic shows. */
      regressionIn: z.array(EnvironmentNameSchema).min(1).optional(),
      /** How each simulated hook answers, by hook name (default: passed). */
      hooks: z.record(z.string(), z.enum(['pass', 'fail', 'timeout', 'error'])).default({}),
      /** The artifact arrives altered when this environment copies it from the previous one: its digest check refuses the hand-over. */
      corruptArtifactIn: EnvironmentNameSchema.optional(),
    })
    .optional(),
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

const scenario = (s: Omit<ScenarioInput, 'baseline' | 'candidate' | 'requestsPerMinute' | 'deployment' | 'fleet'> & {
  deployment?: ScenarioInput['deployment'];
  fleet?: FleetInput;
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
    ...(s.fleet ? { fleet: s.fleet } : {}),
    ...(s.chain ? { chain: s.chain } : {}),
    ...(s.bake ? { bake: s.bake } : {}),
    ...(s.operator ? { operator: s.operator } : {}),
    ...(s.freeze ? { freeze: s.freeze } : {}),
  });

/** The `hotfix` scenario's manifest field: its requester is not the simulation's approver (local/approvals.ts: local-operator). */
export const HOTFIX_SCENARIO = {
  reason: 'plans skip the foundation step for two-storey builds since 2.0.3',
  incident: 'INC-2041',
  requestedBy: 'alice@example.com',
  overrideFreeze: false,
} as const;

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
  // The fleet as it is (issue 10 §4): healthy candidates under one stress each, then all of them
  // together. Today's analysis may roll some back; the stress, not the candidate, is to blame.
  scenario({
    name: 'healthy-heterogeneous-instances',
    description: 'a healthy candidate on a fleet whose instances err at different rates (log-normal, sd 0.5, drifting, autocorrelation 0.95 a minute: a per-minute conditional-binomial dispersion of about 1.3 at 10%): the canary\'s few instances may be worse than the fleet\'s average',
    seed: 43,
    fleet: { instances: { errorRate: { sd: 0.5, autocorrelation: 0.95 } } },
  }),
  scenario({
    name: 'healthy-warm-up',
    description: 'a healthy candidate whose fresh instances serve 40% more latency after each traffic shift, decaying over about 4 minutes',
    seed: 47,
    fleet: { warmUp: { latencyIncrease: 0.4, minutes: 4 } },
  }),
  scenario({
    name: 'healthy-fleet-wide-violation-surge',
    description: 'a healthy candidate; 15 minutes into the 10% phase an upstream change makes both variants violate constraints 6× as often, for 10 minutes',
    seed: 53,
    fleet: { incidents: [{ whenWeight: 10, afterMinutes: 15, minutes: 10, multiply: { constraintViolationRate: 6 } }] },
  }),
  scenario({
    name: 'healthy-zone-incident',
    description: "a healthy candidate; 10 minutes into the 10% phase zone a degrades for 15 minutes (errors ×10, latency ×1.3) — half the canary's instances, a third of the baseline's",
    seed: 59,
    fleet: { incidents: [{ whenWeight: 10, afterMinutes: 10, minutes: 15, zone: 'a', multiply: { errorRate: 10, latency: 1.3 } }] },
  }),
  scenario({
    name: 'healthy-sticky-users',
    description: 'a healthy candidate; heavy users (0.2% of all traffic, 1.3× latency, 1.3× risk energy) are pinned to the canary by sticky routing',
    seed: 61,
    fleet: { stickyUsers: { share: 0.002, pinnedTo: 'canary', multiply: { latency: 1.3, riskEnergy: 1.3 } } },
  }),
  scenario({
    name: 'healthy-realistic-mix',
    description: 'a healthy candidate on a fleet with every stress at a moderate level: instance heterogeneity, warm-up, a zone incident, sticky users, autocorrelated noise, diurnal traffic, missing minutes',
    seed: 67,
    fleet: {
      instances: { errorRate: { sd: 0.3, autocorrelation: 0.98 } },
      warmUp: { latencyIncrease: 0.2, minutes: 10 },
      incidents: [{ whenWeight: 50, afterMinutes: 20, minutes: 10, zone: 'b', multiply: { errorRate: 3, latency: 1.1 } }],
      stickyUsers: { share: 0.005, pinnedTo: 'baseline', multiply: { latency: 1.3, riskEnergy: 1.3 } },
      noise: { latency: { sd: 0.05, autocorrelation: 0.9 }, errorRate: { sd: 0.15, autocorrelation: 0.9 } },
      diurnal: { amplitude: 0.3, periodMinutes: 1440, peakAtMinute: 120 },
      missingMinuteProbability: 0.02,
    },
  }),
  // After promotion (issue 14): the bake, and the recovery check after a rollback.
  scenario({
    name: 'bake-regression',
    description: 'promoted through the canary, then its error rate triples 30 minutes into a 4-hour bake at 100%: rolled back to the previous version, kept warm for this (P1), whose recovery is verified',
    seed: 83,
    events: [{ whenWeight: 100, afterMinutes: 90, set: { errorRate: 0.012 } }],
    bake: { minutes: 240 },
  }),
  scenario({
    name: 'recovery-fails',
    description: 'the error spike at 10% is rolled back, but a fleet-wide incident then keeps the restored version failing (errors ×6 for two hours): the recovery check escalates P0, "rollback did not restore health"',
    seed: 89,
    events: [{ whenWeight: 10, afterMinutes: 20, set: { errorRate: 0.012 } }],
    fleet: { incidents: [{ whenWeight: 10, afterMinutes: 25, minutes: 120, multiply: { errorRate: 6 } }] },
  }),
  scenario({
    name: 'emergency-rollback-released',
    description: "2.1.0 is promoted and released; then PII turns up in its answers and on-call rolls it back as an emergency: 2.0.3, the version that served before, is released again through the pipeline — its artifact verified, deployed, smoke-tested, 100% at once — with a P0 page",
    seed: 97,
    operator: { rollbackReleased: { emergency: true, reason: 'PII in answers (security)' } },
  }),
  // An emergency freeze (issue 15, RELEASE.md §11) while a healthy release is in its first phase.
  scenario({
    name: 'freeze-holds',
    description:
      'a healthy 2.1.0 is in its first phase when the incident commander freezes releases (a SEV-1 elsewhere): at the end of the phase it holds at 1% — still watched — instead of moving on; unfrozen at minute 150, it goes on and is promoted',
    seed: 103,
    freeze: { atMinute: 30, untilMinute: 150, by: 'local:incident-commander', reason: 'SEV-1 in the serving fleet: no changes until resolved' },
  }),
  // A hotfix (issue 15): the expedited plan, every gate as usual, approved by a second identity.
  scenario({
    name: 'hotfix',
    description: `2.0.4, a hotfix for ${HOTFIX_SCENARIO.incident} requested by ${HOTFIX_SCENARIO.requestedBy}: every gate, the digest check and the smoke test as usual, then the expedited plan (10% for 15 min → 100% for 15 min); the 10% phase is approved by local-operator, a second identity (its requester could not); promoted`,
    seed: 101,
    manifest: defaultManifest({
      version: '2.0.4',
      releaseType: 'patch',
      changelog: { fixes: ['Plans no longer skip the foundation step for two-storey builds'] },
      hotfix: HOTFIX_SCENARIO,
    }),
  }),
  // The environment chain (issue 13): staging → pre-production (rollback drill) → production.
  scenario({
    name: 'chain',
    description: 'a healthy candidate through the environment chain: staging (integration and compatibility hooks before traffic, 100% for 30 min) → pre-production (load-test driver during each phase, 50% → 100%, the rollback drill) → production (1% → 10% → 50% → 100%, approvals): promoted everywhere',
    seed: 71,
    chain: { hooks: {} },
  }),
  scenario({
    name: 'chain-staging-hook-fails',
    description: "staging's integration-test hook fails before any traffic: the release stops in staging (verification_failed, P3), never reaching pre-production",
    seed: 73,
    chain: { hooks: { 'integration-tests': 'fail' } },
  }),
  scenario({
    name: 'chain-production-regression',
    description: "a candidate that passes staging and pre-production, drill included, but whose error rate triples on production's traffic 20 minutes into the 10% phase: production alone rolls back",
    seed: 79,
    events: [{ whenWeight: 10, afterMinutes: 20, set: { errorRate: 0.012 } }],
    chain: { regressionIn: ['production'], hooks: {} },
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

