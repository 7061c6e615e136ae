import * as z from 'zod';
import { ServingRequestSchema } from './deployment.js';
import { parseJsonText, type Parsed } from './validation.js';

/** Largest manifest accepted (manifest.md): 256 KiB. */
export const MAX_MANIFEST_BYTES = 256 * 1024;

const finite = () => z.number().finite();

/** semver.org's own grammar, without build metadata; kept as a regex so the JSON Schema carries it. */
const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;

const semverString = z
  .string()
  .regex(SEMVER_RE, 'must be a semantic version MAJOR.MINOR.PATCH (pre-release tags allowed, e.g. 2.1.0-rc.1)');

const nonEmptyStrings = z.array(z.string().trim().min(1, 'must be a non-empty string'));

/** Model names double as S3 key segments, metric dimensions and lock keys. */
export const ModelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be 1-64 chars of a-z 0-9 -, starting with a letter');

/**
 * What marks a release as a hotfix (RELEASE.md §10.2): why, the incident it fixes, who asks for it
 * (the two-person rule: someone else approves it), and whether it may pass an emergency freeze.
 */
export const HotfixSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).describe('Why this cannot wait for a normal release: the critical bug, vulnerability or regression it fixes'),
  incident: z.string().trim().min(1).max(100).describe('The incident it fixes, e.g. INC-2041 or a ticket URL'),
  requestedBy: z.string().trim().min(1).max(200).describe('Who asks for the hotfix: an identity other than this one must approve it'),
  overrideFreeze: z.boolean().default(false).describe('Start even while releases are frozen (builderbrain freeze); its approval by a second identity is the override'),
});
export type Hotfix = z.infer<typeof HotfixSchema>;

/**
 * The release manifest (`release.json`), the single source of the TypeScript types and of the
 * published JSON Schema (`schema/release-manifest.schema.json`). Strict: unknown fields are errors.
 */
export const ReleaseManifestSchema = z
  .strictObject({
    model: ModelNameSchema.describe('Model name: 1-64 chars of a-z 0-9 -, starting with a letter'),
    version: semverString.describe('The candidate version (semver, pre-release tags allowed)'),
    previousVersion: semverString
      .nullable()
      .describe('The version now in production; null for the first release of a model'),
    releaseType: z.enum(['major', 'minor', 'patch']),
    artifact: z.strictObject({
      uri: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, 'must be an s3://bucket/key URI'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
    }),
    shadowEvaluation: z.strictObject({
      riskEnergy: z.strictObject({
        candidate: finite().min(0),
        baseline: finite().min(0),
      }),
      performance: z.strictObject({
        candidate: finite().positive(),
        baseline: finite().positive(),
      }),
      constraintSatisfaction: finite().min(0).max(1),
      tests: z.strictObject({
        passed: z.number().int().min(0),
        failed: z.number().int().min(0),
      }),
      grammarCompliance: finite().min(0).max(1).optional(),
      planExecutionSuccess: finite().min(0).max(1).optional(),
    }),
    changelog: z.strictObject({
      features: nonEmptyStrings.optional(),
      improvements: nonEmptyStrings.optional(),
      fixes: nonEmptyStrings.optional(),
      breaking: nonEmptyStrings.optional(),
      security: nonEmptyStrings.optional(),
    }),
    migrationGuide: z
      .string()
      .regex(/^https:\/\/\S+$/, 'must be an https:// URL')
      .nullable(),
    owner: z.string().trim().min(1, 'must be a non-empty string'),
    serving: ServingRequestSchema.optional().describe(
      "Optional sizing of the candidate's SageMaker variant (instanceType, instanceCount), within the limits the pipeline config allows",
    ),
    hotfix: HotfixSchema.optional().describe(
      'A hotfix (RELEASE.md §10.2): the expedited plan the pipeline config gives hotfixes (every gate still applies), and an emergency review: an identity other than `requestedBy` must approve it',
    ),
    rollback: z
      .strictObject({
        of: semverString.describe('The released version this release rolls back'),
        reason: z.string().trim().min(1).max(500),
        emergency: z.boolean().describe('Security, a data or privacy breach, compliance: one 100% phase at once, P0'),
        requestedBy: z.string().min(1),
        approvedBy: z.string().min(1).nullable().describe('The second identity of a planned rollback; null for an emergency'),
      })
      .optional()
      .describe('Written by `builderbrain rollback` when a released version is rolled back: this release brings back the version that served before it'),
  })
  .describe('BuilderBrain release manifest (release.json)');

export type ReleaseManifest = z.infer<typeof ReleaseManifestSchema>;

/** Parses manifest text (size limit, JSON, schema), naming every bad field by its path. */
export function parseManifestText(text: string): Parsed<ReleaseManifest> {
  return parseJsonText(ReleaseManifestSchema, text, MAX_MANIFEST_BYTES);
}

/** The JSON Schema generated from {@link ReleaseManifestSchema}, as shipped in `schema/`. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://builderbrain.dev/schema/release-manifest.schema.json',
    ...z.toJSONSchema(ReleaseManifestSchema, { target: 'draft-2020-12', io: 'input' }),
  };
}

/** The phase plan of a rollback release in an emergency: the restored version at 100% at once, watched for 15 minutes. */
export const EMERGENCY_ROLLBACK_PLAN = [{ weight: 100, monitorMinutes: 15, requiresApproval: false }] as const;

/**
 * The phases a release runs: the configured plan; a hotfix, the configured hotfix plan
 * (`hotfixPhases`, when there is one: null or absent, hotfixes run the configured plan); a rollback
 * release in an emergency, one 100% phase at once (the version it restores served everyone before;
 * the emergency is the version it replaces). A planned rollback runs the configured plan, with its approvals.
 *
 * @example releasePlan(manifest, config.phases, config.hotfixPhases)
 */
export function releasePlan<P extends { weight: number; monitorMinutes: number; requiresApproval: boolean }>(
  manifest: Pick<ReleaseManifest, 'rollback' | 'hotfix'>,
  configured: readonly P[],
  hotfixPhases?: readonly P[] | null,
): { weight: number; monitorMinutes: number; requiresApproval: boolean }[] {
  if (manifest.rollback?.emergency === true) return EMERGENCY_ROLLBACK_PLAN.map((p) => ({ ...p }));
  const plan = manifest.hotfix !== undefined && manifest.rollback === undefined && hotfixPhases != null ? hotfixPhases : configured;
  return plan.map((p) => ({ weight: p.weight, monitorMinutes: p.monitorMinutes, requiresApproval: p.requiresApproval }));
}
