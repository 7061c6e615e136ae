/**
 * The hand-over between environments (RELEASE.md §2.2, §7.1): environment N, having promoted a
 * version, tells environment N+1 so (an EventBridge event on N+1's hand-over bus); N+1 decides
 * whether to accept it. The receiver enforces the chain: it accepts only its previous environment
 * (by name and by the account EventBridge stamps on the event), only this pipeline's model, and
 * only an artifact whose SHA-256, computed by the receiver as it copies it, is the digest N
 * promoted. The event carries the release's trail through the environments so far, so the last
 * environment's ledger holds one timeline. No AWS import.
 */
import * as z from 'zod';
import { EnvironmentNameSchema, HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE, type EnvironmentSettings } from './environment-settings.js';
import { ReleaseManifestSchema } from './manifest.js';

/** What one environment did with the release: a stage of the one timeline. */
export const TrailEntrySchema = z.strictObject({
  environment: EnvironmentNameSchema,
  account: z.string().nullable(),
  releaseId: z.string(),
  outcome: z.enum(['promoted', 'rolled_back', 'rejected', 'in_progress']),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  /** Phases passed, by weight. */
  phases: z.array(z.number().int()),
  approvals: z.array(z.strictObject({ phase: z.number().int(), by: z.string(), at: z.string() })),
  hooks: z.array(z.strictObject({ hook: z.string(), stage: z.string(), phase: z.number().int().nullable(), passed: z.boolean(), message: z.string() })),
  drill: z.strictObject({ passed: z.boolean(), message: z.string() }).nullable(),
});
export type TrailEntry = z.infer<typeof TrailEntrySchema>;

/** The hand-over event's detail. */
export const HandoverDetailSchema = z.strictObject({
  model: z.string(),
  version: z.string(),
  /** The environment that promoted it. */
  from: z.strictObject({ environment: EnvironmentNameSchema, releaseId: z.string() }),
  /** The environment it is handed to (the receiver checks it is itself). */
  to: EnvironmentNameSchema,
  /** Where the promoted artifact lies in the sender's bucket, and the digest the sender verified and served. */
  artifact: z.strictObject({ bucket: z.string().min(3), key: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The manifest the sender released, as it was uploaded (the receiver's own release starts from it). */
  manifest: ReleaseManifestSchema,
  promotedAt: z.string(),
  /** Every environment's stage so far, the sender's last. */
  trail: z.array(TrailEntrySchema).min(1),
});
export type HandoverDetail = z.infer<typeof HandoverDetailSchema>;

/** The EventBridge event as a rule delivers it to the receiver (the fields the decision reads). */
export const HandoverEventSchema = z.object({
  source: z.literal(HANDOVER_SOURCE),
  'detail-type': z.literal(HANDOVER_DETAIL_TYPE),
  /** Stamped by EventBridge: the sender's account, which it cannot choose. */
  account: z.string(),
  detail: z.unknown(),
});
export type HandoverEvent = z.infer<typeof HandoverEventSchema>;

/** EventBridge's limit on one PutEvents entry (detail, detail-type, source, resources), in bytes. */
export const MAX_EVENT_ENTRY_BYTES = 256 * 1024;

/** The size of a PutEvents entry as EventBridge counts it (UTF-8 bytes of its strings). */
export function eventEntryBytes(entry: { readonly Source: string; readonly DetailType: string; readonly Detail: string }): number {
  return Buffer.byteLength(entry.Source, 'utf8') + Buffer.byteLength(entry.DetailType, 'utf8') + Buffer.byteLength(entry.Detail, 'utf8');
}

/** The PutEvents entry of a hand-over; throws naming the size when it would not fit (checked before the call). */
export function handoverEntry(detail: HandoverDetail, eventBusArn: string): { Source: string; DetailType: string; Detail: string; EventBusName: string } {
  const entry = { Source: HANDOVER_SOURCE, DetailType: HANDOVER_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: eventBusArn };
  const bytes = eventEntryBytes(entry);
  if (bytes > MAX_EVENT_ENTRY_BYTES) {
    throw new Error(`hand-over of ${detail.model} ${detail.version} is ${bytes} bytes, over EventBridge's ${MAX_EVENT_ENTRY_BYTES} per event (the manifest's changelog and the trail travel in it)`);
  }
  return entry;
}

/** The receiver's decision on an event, before anything is copied. */
export type HandoverAdmission =
  | { readonly admitted: true; readonly detail: HandoverDetail }
  | { readonly admitted: false; readonly reason: string; readonly detail: HandoverDetail | null };

const ARTIFACT_KEY_RE = (model: string, version: string) => new RegExp(`^models/${escape(model)}/${escape(version)}/`);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `event` may hand a version over to `self` of a pipeline releasing `model`: sent by the
 * previous environment (by name in the detail, by the account EventBridge stamped on it), naming
 * this environment, this model, an artifact under the version's own folder. The bus policy and the
 * rule admit only the previous account already; this is the receiver checking again, in code.
 *
 * @example admitHandover(event, settings, 'builderbrain').admitted
 */
export function admitHandover(event: HandoverEvent, self: EnvironmentSettings, model: string, selfAccount: string | null): HandoverAdmission {
  const parsed = HandoverDetailSchema.safeParse(event.detail);
  if (!parsed.success) {
    return { admitted: false, reason: `the hand-over's detail is malformed (${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`, detail: null };
  }
  const d = parsed.data;
  const refuse = (reason: string): HandoverAdmission => ({ admitted: false, reason, detail: d });
  if (self.previous === null) return refuse(`${self.name} is the first environment: it accepts uploads, not hand-overs`);
  if (d.from.environment !== self.previous.name) return refuse(`sent by ${d.from.environment}; ${self.name} accepts only ${self.previous.name}'s promotions`);
  // A one-account chain names no accounts: the previous environment's account is then this one's.
  const expected = self.previous.account ?? selfAccount;
  if (expected !== null && event.account !== expected) return refuse(`sent from account ${event.account}; ${self.previous.name} is account ${expected}`);
  if (d.to !== self.name) return refuse(`addressed to ${d.to}, not ${self.name}`);
  if (d.model !== model || d.manifest.model !== model) return refuse(`for model ${d.model}; this pipeline releases ${model}`);
  if (d.manifest.version !== d.version) return refuse(`the manifest names version ${d.manifest.version}, the hand-over ${d.version}`);
  if (d.manifest.artifact.sha256 !== d.artifact.sha256) return refuse(`the artifact digest ${d.artifact.sha256} is not the manifest's ${d.manifest.artifact.sha256}`);
  if (!ARTIFACT_KEY_RE(d.model, d.version).test(d.artifact.key)) return refuse(`the artifact ${d.artifact.key} is not under models/${d.model}/${d.version}/`);
  const last = d.trail[d.trail.length - 1]!;
  if (last.environment !== d.from.environment || last.outcome !== 'promoted') return refuse(`the trail does not end with ${d.from.environment} promoting it`);
  return { admitted: true, detail: d };
}

/** The receiver's verdict once it copied the artifact and hashed what it copied. */
export function judgeCopiedArtifact(detail: HandoverDetail, copiedSha256: string | null): { ok: boolean; message: string } {
  if (copiedSha256 === null) return { ok: false, message: `the artifact s3://${detail.artifact.bucket}/${detail.artifact.key} could not be read from ${detail.from.environment}` };
  if (copiedSha256 !== detail.artifact.sha256) {
    return { ok: false, message: `the artifact copied from ${detail.from.environment} has SHA-256 ${copiedSha256}, not the promoted ${detail.artifact.sha256}` };
  }
  return { ok: true, message: `artifact copied from ${detail.from.environment}, SHA-256 ${copiedSha256} as promoted` };
}

/** The record a receiver keeps of an accepted hand-over: what validate-manifest admits a release by. */
export const HandoverRecordSchema = z.strictObject({
  model: z.string(),
  version: z.string(),
  sha256: z.string(),
  from: z.strictObject({ environment: z.string(), account: z.string(), releaseId: z.string() }),
  /** The environment that accepted it (this one). */
  to: z.string(),
  acceptedAt: z.string(),
  trail: z.array(TrailEntrySchema),
});
export type HandoverRecord = z.infer<typeof HandoverRecordSchema>;

/**
 * Whether an uploaded manifest may start a release in `self`: the first environment takes any
 * upload; any other one only a version its previous environment handed over, with that digest.
 * Null when admitted, else the issue (validate-manifest rejects the release with it).
 */
export function upstreamIssue(self: EnvironmentSettings, manifest: { model: string; version: string; artifact: { sha256: string } }, record: HandoverRecord | null): string | null {
  if (self.previous === null) return null;
  if (record === null) return `${self.name} releases only versions ${self.previous.name} promoted: ${manifest.model} ${manifest.version} was not handed over (upload it to the first environment)`;
  if (record.sha256 !== manifest.artifact.sha256) {
    return `${self.previous.name} promoted ${manifest.model} ${manifest.version} with artifact SHA-256 ${record.sha256}, not ${manifest.artifact.sha256}`;
  }
  return null;
}
