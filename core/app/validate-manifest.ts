/**
 * ValidateManifest: reads the uploaded manifest (never modifies it), validates it, opens the
 * release's record and audits `received` and `validated` / `rejected` (with every issue).
 */
import type { PromotionInput, ValidateOutput } from '../contracts.js';
import type { FieldIssue } from '../errors.js';
import { fitJsonString } from '../ledger-items.js';
import { MAX_MANIFEST_BYTES, parseManifestText, releasePlan, type ReleaseManifest } from '../manifest.js';
import { displayName } from '../notes.js';
import type { Phase } from '../plan.js';
import type { ArtifactStore, AuditLedger, Clock, Notifier, ReleaseRecord } from '../ports.js';
import type { EnvironmentSettings } from '../environments.js';
import { upstreamIssue } from '../handover.js';
import { hotfixAnnouncement } from '../hotfix.js';
import { freezeIssue } from '../freeze.js';
import { eventIds, parseManifestKey, sha256Hex } from './ids.js';

export interface ValidateManifestDeps {
  readonly artifacts: ArtifactStore;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  /** Where the pipeline stands in the environment chain; absent: a pipeline of its own (any upload starts a release). */
  readonly environment?: EnvironmentSettings;
  /** Pages an emergency rollback release (P0); absent in tests that need no page. */
  readonly notifier?: Notifier;
}

const ACTOR = 'step:ValidateManifest';

/**
 * The issues reported (in the output, which the state machine carries: Step Functions refuses a
 * payload over 256 KiB; and in the `rejected` event and the incident) at most: a manifest of 256 KiB
 * can have thousands of unknown fields. The others are counted in one last issue.
 */
export const MAX_REPORTED_ISSUES = 100;
/** Each issue's path and message at most, JSON-encoded (101 issues stay under 110 KB). */
const MAX_ISSUE_TEXT_BYTES = 512;

/** The first {@link MAX_REPORTED_ISSUES} issues, each bounded, and a count of the rest. */
export function reportedIssues(issues: readonly FieldIssue[]): FieldIssue[] {
  const shown = issues.slice(0, MAX_REPORTED_ISSUES).map((i) => ({ path: fitJsonString(i.path, MAX_ISSUE_TEXT_BYTES), message: fitJsonString(i.message, MAX_ISSUE_TEXT_BYTES) }));
  if (issues.length > MAX_REPORTED_ISSUES) {
    shown.push({ path: '', message: `and ${issues.length - MAX_REPORTED_ISSUES} more issues (${issues.length} in all; the first ${MAX_REPORTED_ISSUES} are listed)` });
  }
  return shown;
}

/** What reading and checking the uploaded manifest found. */
interface ManifestCheck {
  readonly manifest: ReleaseManifest | null;
  readonly manifestSha256: string;
  readonly size: number;
  readonly issues: FieldIssue[];
}

/** The manifest parsed from the upload's body, or the issues why not; a body over the limit is not read. */
function parseUploaded(object: { tooLarge: boolean; size: number; text: string }, issues: FieldIssue[]): ReleaseManifest | null {
  if (object.tooLarge) {
    issues.push({ path: '', message: `document is ${object.size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes` });
    return null;
  }
  const parsed = parseManifestText(object.text);
  if (parsed.ok) return parsed.value;
  issues.push(...parsed.issues);
  return null;
}

/** The manifest's model and version must be the ones of the path it was uploaded at. */
function checkUploadPath(manifest: ReleaseManifest | null, fromKey: ReturnType<typeof parseManifestKey>, issues: FieldIssue[]): void {
  if (manifest === null || fromKey === null) return;
  const uploadedAt = `models/${fromKey.model}/${fromKey.version}/release.json`;
  if (manifest.model !== fromKey.model) issues.push({ path: 'model', message: `${manifest.model} does not match the upload path ${uploadedAt}` });
  if (manifest.version !== fromKey.version) issues.push({ path: 'version', message: `${manifest.version} does not match the upload path ${uploadedAt}` });
}

/** After the first environment, only a version the previous one promoted (and handed over with this digest) may start. */
async function checkUpstream(manifest: ReleaseManifest | null, deps: ValidateManifestDeps, issues: FieldIssue[]): Promise<void> {
  const env = deps.environment;
  if (manifest === null || env === undefined || env.previous === null) return;
  const issue = upstreamIssue(env, manifest, await deps.ledger.getHandover(manifest.model, manifest.version));
  if (issue !== null) issues.push({ path: 'handover', message: issue });
}

/** While releases are frozen (core/freeze.ts) only a hotfix overriding the freeze may start. */
async function checkFreeze(manifest: ReleaseManifest | null, deps: ValidateManifestDeps, issues: FieldIssue[]): Promise<void> {
  if (manifest === null) return;
  const issue = freezeIssue(await deps.ledger.getFreeze(), manifest.hotfix);
  if (issue !== null) issues.push(issue);
}

async function checkManifest(source: PromotionInput['source'], fromKey: ReturnType<typeof parseManifestKey>, deps: ValidateManifestDeps): Promise<ManifestCheck> {
  const issues: FieldIssue[] = [];
  if (fromKey === null) issues.push({ path: '', message: `upload key ${source.key} is not models/<model>/<version>/release.json` });
  const object = await deps.artifacts.getObjectText(
    { bucket: source.bucket, key: source.key, versionId: source.versionId },
    MAX_MANIFEST_BYTES,
  );
  // A body over the limit is not read at all, so it has no hash.
  const manifestSha256 = object.tooLarge ? '' : sha256Hex(object.text);
  const manifest = parseUploaded(object, issues);
  checkUploadPath(manifest, fromKey, issues);
  await checkUpstream(manifest, deps, issues);
  await checkFreeze(manifest, deps, issues);
  return { manifest, manifestSha256, size: object.size, issues };
}

function receivedRecord(input: PromotionInput, check: ManifestCheck, model: string, version: string, now: string): ReleaseRecord {
  const { source } = input;
  const { manifest } = check;
  return {
    releaseId: input.releaseId,
    model,
    version,
    status: 'received',
    artifact: manifest === null ? null : { uri: manifest.artifact.uri, sha256: manifest.artifact.sha256 },
    manifestSha256: check.manifestSha256,
    source: { bucket: source.bucket, key: source.key, versionId: source.versionId },
    receivedAt: input.receivedAt,
    updatedAt: now,
    canaryExecutionArn: null,
    phase: null,
    weight: 0,
    lastVerdict: null,
    approvers: [],
    outcome: null,
    incidentPublished: false,
    // The approvals' two-person rule reads it here (core/app/answer-approval.ts). A rollback release is not a hotfix (core/manifest.ts releasePlan).
    ...(check.issues.length === 0 && manifest?.hotfix !== undefined && manifest.rollback === undefined ? { hotfix: manifest.hotfix } : {}),
  };
}

/** Opens the release's record and audits `received`, then `validated` or `rejected` (with the reported issues). */
async function recordValidation(input: PromotionInput, deps: ValidateManifestDeps, check: ManifestCheck, out: ValidateOutput, now: string): Promise<void> {
  const { releaseId, source } = input;
  const { manifestSha256 } = check;
  const { model, version } = out;
  await deps.ledger.createRelease(receivedRecord(input, check, model, version, now));
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.received(),
    at: input.receivedAt,
    type: 'received',
    actor: `s3://${source.bucket}/${source.key}`,
    detail: { bucket: source.bucket, key: source.key, versionId: source.versionId, etag: source.etag, manifestSha256, size: check.size },
  });
  await deps.ledger.append(
    out.valid
      ? { releaseId, eventId: eventIds.validated(), at: now, type: 'validated', actor: ACTOR, detail: { model, version, manifestSha256 } }
      : {
          releaseId,
          eventId: eventIds.rejected(),
          at: now,
          type: 'rejected',
          actor: ACTOR,
          detail: { cause: 'invalid_manifest', severity: 'P3', issues: out.issues },
        },
  );
}

/**
 * @example const out = await validateManifest(promotionInput, deps); if (!out.valid) console.log(out.issues);
 */
export async function validateManifest(input: PromotionInput & { readonly phases?: readonly Phase[]; readonly hotfixPhases?: readonly Phase[] }, deps: ValidateManifestDeps): Promise<ValidateOutput> {
  const now = deps.clock.now().toISOString();
  const fromKey = parseManifestKey(input.source.key);
  const check = await checkManifest(input.source, fromKey, deps);
  const { manifest, manifestSha256 } = check;
  const valid = check.issues.length === 0;
  const reported = reportedIssues(check.issues);
  const model = manifest?.model ?? fromKey?.model ?? 'unknown';
  const version = manifest?.version ?? fromKey?.version ?? 'unknown';
  const plan = valid && manifest !== null && input.phases !== undefined ? releasePlan(manifest, input.phases, input.hotfixPhases) : null;
  const out: ValidateOutput = { valid, model, version, manifest: valid ? manifest : null, manifestSha256, issues: reported, serving: valid ? (manifest?.serving ?? null) : null, plan };
  await recordValidation(input, deps, check, out, now);
  if (valid && manifest?.rollback !== undefined) await announceRollbackRelease(input.releaseId, manifest, deps, now);
  if (valid && manifest?.hotfix !== undefined && manifest.rollback === undefined) await announceHotfix(input.releaseId, manifest, plan, input.phases ?? null, deps, now);
  return out;
}

/**
 * A rollback release (written by `builderbrain rollback` for a released version): audited with who
 * asked and who approved; an emergency pages P0 at once, a planned one is announced P3, each with what happens now.
 */
async function announceRollbackRelease(releaseId: string, manifest: ReleaseManifest, deps: ValidateManifestDeps, at: string): Promise<void> {
  const r = manifest.rollback!;
  const appended = await deps.ledger.append({ releaseId, eventId: eventIds.rollbackRelease(), at, type: 'rollback_release', actor: r.approvedBy ?? r.requestedBy, detail: { ...r } });
  if (appended !== 'appended' || deps.notifier === undefined) return;
  const name = `${displayName(manifest.model)}`;
  // An emergency pages P0 at once; a planned rollback, decided by two people, is announced (P3).
  const severity = r.emergency ? 'P0' : 'P3';
  const what = r.emergency ? 'EMERGENCY rollback' : 'planned rollback';
  await deps.notifier.publish({
    channel: 'incident',
    severity,
    reason: 'manual',
    model: manifest.model,
    version: manifest.version,
    releaseId,
    title: `[${severity}] ${name}: ${what} of released ${r.of} to ${manifest.version} by ${r.approvedBy ?? r.requestedBy}`,
    text: [
      `${r.approvedBy === null ? r.requestedBy : `${r.requestedBy} (requested) and ${r.approvedBy} (approved)`} rolled back the released ${name} ${r.of}${r.emergency ? ' as an emergency' : ''}: ${r.reason}.`,
      `${manifest.version}, the version that served before it, is being deployed again (artifact SHA-256 ${manifest.artifact.sha256} verified first) and ${r.emergency ? 'takes 100% of traffic at once, watched for 15 minutes' : 'goes through the configured phases'}.`,
      `Decided by: ${r.approvedBy === null ? `${r.requestedBy} (emergency: no second approval)` : `${r.approvedBy}, approving ${r.requestedBy}'s request`}.`,
      `Endpoint now: ${r.of} still serves until ${manifest.version} is deployed and passes its smoke test.`,
      '',
      `Release: ${releaseId}`,
      `History: builderbrain history ${releaseId}`,
    ].join('\n'),
  });
}

/**
 * A hotfix (the manifest's `hotfix`): audited with its reason, incident, requester and the plan it
 * runs, and announced P3 on the incident topic — what, why, the plan, and that an identity other than
 * its requester must approve it. The actor is this step: `requestedBy` is the uploader's word, which
 * S3's event cannot confirm (README "Hotfixes").
 */
async function announceHotfix(releaseId: string, manifest: ReleaseManifest, plan: Phase[] | null, configured: readonly Phase[] | null, deps: ValidateManifestDeps, at: string): Promise<void> {
  const hotfix = manifest.hotfix!;
  const appended = await deps.ledger.append({ releaseId, eventId: eventIds.hotfix(), at, type: 'hotfix', actor: ACTOR, detail: { ...hotfix, plan } });
  if (appended !== 'appended' || deps.notifier === undefined) return;
  const { title, text } = hotfixAnnouncement(releaseId, manifest, hotfix, plan, configured);
  await deps.notifier.publish({ channel: 'incident', severity: 'P3', reason: 'hotfix', model: manifest.model, version: manifest.version, releaseId, title, text });
}
