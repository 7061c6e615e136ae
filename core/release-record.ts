/**
 * The release record: the one lineage record of a release, kept in the audit ledger after Step
 * Functions forgets the execution. One schema; the type is inferred from it, and every ledger reads
 * a stored record back through it (core/ledger-items.ts), never by a cast.
 */
import * as z from 'zod';
import { VERDICT_KINDS } from './analysis.js';
import { DeploymentSchema } from './deployment.js';
import { HotfixSchema } from './manifest.js';
import { IncidentSchema } from './incidents.js';
import { RELEASE_STATUSES } from './lifecycle.js';
import { SEVERITIES } from './severity.js';

export const ReleaseRecordSchema = z.object({
  releaseId: z.string(),
  model: z.string(),
  version: z.string(),
  status: z.enum(RELEASE_STATUSES),
  /** The manifest's artifact; null when the manifest was invalid. */
  artifact: z.object({ uri: z.string(), sha256: z.string() }).nullable(),
  manifestSha256: z.string(),
  source: z.object({ bucket: z.string(), key: z.string(), versionId: z.string().nullable() }),
  receivedAt: z.string(),
  updatedAt: z.string(),
  canaryExecutionArn: z.string().nullable(),
  /** Phase index (0-based), null before the canary. */
  phase: z.number().int().nullable(),
  /** Candidate traffic weight, percent. */
  weight: z.number(),
  lastVerdict: z.object({ verdict: z.enum(VERDICT_KINDS), summary: z.string(), at: z.string() }).nullable(),
  approvers: z.array(
    z.object({ phase: z.number().int(), identity: z.string(), at: z.string(), decision: z.enum(['approved', 'rejected']) }),
  ),
  /** How it ended (or is ending: `rolling_back`); `reason` is a rollback reason code or a rejection cause. */
  outcome: z
    .object({ status: z.enum(RELEASE_STATUSES), reason: z.string().nullable(), severity: z.enum(SEVERITIES).nullable(), at: z.string() })
    .nullable(),
  /** Set once the release's rollback incident went out: nobody is paged twice. */
  incidentPublished: z.boolean(),
  /** What the release deployed and replaced (core/deployment.ts); null until DeployCandidate planned it. */
  deployment: DeploymentSchema.nullable().optional(),
  /** When the current phase's traffic shift happened (StartPhase); the alarm path's warm-up counts from it. */
  phaseStartedAt: z.string().nullable().optional(),
  /** The bake after 100% (core/bake.ts): since when, until when, how far, against which reference, the last look. */
  bake: z
    .object({
      startedAt: z.string(),
      endsAt: z.string(),
      watchedMinutes: z.number(),
      plannedMinutes: z.number(),
      reference: z.enum(['day', 'week']).nullable(),
      lastVerdict: z.object({ verdict: z.enum(VERDICT_KINDS), summary: z.string(), at: z.string() }).nullable(),
    })
    .nullable()
    .optional(),
  /** After a rollback: whether the restored version is healthy again (core/bake.ts judgeRecovery). */
  recovery: z.object({ recovered: z.boolean(), message: z.string(), at: z.string() }).nullable().optional(),
  /** The manifest's `hotfix` (core/manifest.ts), set when it was validated: the approvals' two-person rule and the freeze read it here. */
  hotfix: HotfixSchema.optional(),
  /**
   * The release's incidents (core/incidents.ts), folded from its `incident` audit events: the
   * reminder schedule and `incident list` read them here. Bounded (trackedIncidents: at most 16,
   * titles cut to 200 characters), so the field stays within the ledger's cap of a record field.
   */
  incidents: z.array(IncidentSchema).optional(),
});
export type ReleaseRecord = z.infer<typeof ReleaseRecordSchema>;

/** The fields a ledger write may change (`releaseId` and `status` are the ledger's). */
export type RecordPatch = Partial<Omit<ReleaseRecord, 'releaseId' | 'status'>>;

/** The record's fields, in the order the ledger stores them. */
export const RECORD_FIELDS = ReleaseRecordSchema.keyof().options;
