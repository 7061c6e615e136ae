/**
 * ValidateManifest: reads the uploaded manifest (never modifies it), validates it, opens the
 * release's record and audits `received` and `validated` / `rejected` (with every issue).
 */
import type { PromotionInput, ValidateOutput } from '../contracts.js';
import type { FieldIssue } from '../errors.js';
import { fitJsonString } from '../ledger-items.js';
import { MAX_MANIFEST_BYTES, parseManifestText, type ReleaseManifest } from '../manifest.js';
import type { ArtifactStore, AuditLedger, Clock, ReleaseRecord } from '../ports.js';
import { eventIds, parseManifestKey, sha256Hex } from './ids.js';

export interface ValidateManifestDeps {
  readonly artifacts: ArtifactStore;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
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

/**
 * @example const out = await validateManifest(promotionInput, deps); if (!out.valid) console.log(out.issues);
 */
export async function validateManifest(input: PromotionInput, deps: ValidateManifestDeps): Promise<ValidateOutput> {
  const { releaseId, source } = input;
  const now = deps.clock.now().toISOString();
  const fromKey = parseManifestKey(source.key);
  const issues: FieldIssue[] = [];
  if (fromKey === null) issues.push({ path: '', message: `upload key ${source.key} is not models/<model>/<version>/release.json` });

  const object = await deps.artifacts.getObjectText(
    { bucket: source.bucket, key: source.key, versionId: source.versionId },
    MAX_MANIFEST_BYTES,
  );
  // A body over the limit is not read at all, so it has no hash.
  const manifestSha256 = object.tooLarge ? '' : sha256Hex(object.text);
  let manifest: ReleaseManifest | null = null;
  if (object.tooLarge) {
    issues.push({ path: '', message: `document is ${object.size} bytes, over the limit of ${MAX_MANIFEST_BYTES} bytes` });
  } else {
    const parsed = parseManifestText(object.text);
    if (parsed.ok) manifest = parsed.value;
    else issues.push(...parsed.issues);
  }
  if (manifest !== null && fromKey !== null) {
    const uploadedAt = `models/${fromKey.model}/${fromKey.version}/release.json`;
    if (manifest.model !== fromKey.model) issues.push({ path: 'model', message: `${manifest.model} does not match the upload path ${uploadedAt}` });
    if (manifest.version !== fromKey.version) issues.push({ path: 'version', message: `${manifest.version} does not match the upload path ${uploadedAt}` });
  }
  const valid = issues.length === 0;
  const reported = reportedIssues(issues);
  const model = manifest?.model ?? fromKey?.model ?? 'unknown';
  const version = manifest?.version ?? fromKey?.version ?? 'unknown';

  const record: ReleaseRecord = {
    releaseId,
    model,
    version,
    status: 'received',
    artifact: manifest === null ? null : { uri: manifest.artifact.uri, sha256: manifest.artifact.sha256 },
    manifestSha256,
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
  };
  await deps.ledger.createRelease(record);
  await deps.ledger.append({
    releaseId,
    eventId: eventIds.received(),
    at: input.receivedAt,
    type: 'received',
    actor: `s3://${source.bucket}/${source.key}`,
    detail: { bucket: source.bucket, key: source.key, versionId: source.versionId, etag: source.etag, manifestSha256, size: object.size },
  });
  await deps.ledger.append(
    valid
      ? { releaseId, eventId: eventIds.validated(), at: now, type: 'validated', actor: ACTOR, detail: { model, version, manifestSha256 } }
      : {
          releaseId,
          eventId: eventIds.rejected(),
          at: now,
          type: 'rejected',
          actor: ACTOR,
          detail: { cause: 'invalid_manifest', severity: 'P3', issues: reported },
        },
  );
  return { valid, model, version, manifest: valid ? manifest : null, manifestSha256, issues: reported, serving: valid ? (manifest?.serving ?? null) : null };
}
