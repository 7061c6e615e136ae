/**
 * Deterministic names: release ids (which double as Step Functions execution names) and audit
 * event ids. Deterministic so that a duplicate S3 event or a retried step finds what the first
 * attempt created instead of creating it again.
 */
import { createHash } from 'node:crypto';

/** Step Functions execution names: at most 80 chars; we keep to `A-Z a-z 0-9 _ -` (ReleaseIdSchema). */
export const MAX_RELEASE_ID_LENGTH = 80;

/** `sha256` of a UTF-8 string, lowercase hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The model and version named by a manifest key `models/<model>/<version>/release.json`. */
export interface ManifestKey {
  readonly model: string;
  readonly version: string;
}

const MANIFEST_KEY_RE = /^models\/([^/]+)\/([^/]+)\/release\.json$/;

/**
 * Parses an upload key; null for any other key (artifacts, nested paths, other file names).
 *
 * @example parseManifestKey('models/builderbrain/2.1.0/release.json') // { model: 'builderbrain', version: '2.1.0' }
 */
export function parseManifestKey(key: string): ManifestKey | null {
  const m = MANIFEST_KEY_RE.exec(key);
  return m === null ? null : { model: m[1]!, version: m[2]! };
}

const unsafe = /[^A-Za-z0-9_-]/g;

/**
 * The release id of one uploaded object version:
 * `<model>-<version with . and + as _>-<first 8 hex of sha256(bucket/key/versionId-or-etag)>`.
 * Any other character outside `A-Za-z0-9_-` also becomes `_`; the readable prefix is cut so the
 * whole id fits in 80 chars (the hash keeps it unique).
 *
 * @example releaseIdFor({ bucket: 'b', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1', etag: null })
 * // 'builderbrain-2_1_0-xxxxxxxx'
 */
export function releaseIdFor(source: { bucket: string; key: string; versionId: string | null; etag: string | null }): string {
  const parsed = parseManifestKey(source.key);
  const model = (parsed?.model ?? 'release').replace(unsafe, '_');
  const version = (parsed?.version ?? 'unknown').replace(unsafe, '_');
  const identity = source.versionId ?? source.etag ?? '';
  const hash = sha256Hex(`${source.bucket}/${source.key}/${identity}`).slice(0, 8);
  const prefix = `${model}-${version}`.slice(0, MAX_RELEASE_ID_LENGTH - hash.length - 1);
  return `${prefix}-${hash}`;
}

/**
 * Audit event ids: one per logical event of a release, so a retried step appends nothing new. Gate
 * checks carry their policy position so that a timeline sorted by (at, eventId) keeps policy order.
 */
export const eventIds = {
  received: () => 'received',
  validated: () => 'validated',
  rejected: () => 'rejected',
  lockAcquired: () => 'lock_acquired',
  lockReleased: () => 'lock_released',
  gateCheck: (index: number, name: string) => `gate_check:${index}:${name}`,
  phaseStarted: (phase: number) => `phase_started:${phase}`,
  analysis: (phase: number, iteration: number) => `analysis:${phase}:${String(iteration).padStart(4, '0')}`,
  approvalRequested: (phase: number) => `approval_requested:${phase}`,
  approved: (phase: number) => `approved:${phase}`,
  approvalRejected: (phase: number) => `approval_rejected:${phase}`,
  rollback: () => 'rollback',
  rollbackFailed: (at: string) => `rollback_failed:${at}`,
  /** The first rollback failure of a release: the one that pages. */
  rollbackFailedPage: () => 'rollback_failed',
  promoted: () => 'promoted',
  artifactVerified: () => 'artifact_verified',
  /** A serving goal's step: planned (the deployment), applied, done or failed. */
  serving: (goal: string, state: 'planned' | 'applied' | 'done' | 'failed') => (state === 'planned' ? 'serving:planned' : `serving:${goal}:${state}`),
  smokeTest: () => 'smoke_test',
  /** The one page of a hold of this kind in this phase. */
  hold: (phase: number, reason: string) => `hold:${phase}:${reason}`,
  /** A hook's answer at a stage (and phase): a retried step records it again under the same id. */
  hook: (stage: string, phase: number | null, name: string) => `hook:${stage}:${phase ?? '-'}:${name}`,
  drill: (action: string) => `drill:${action}`,
  handedOver: () => 'handed_over',
  /** A bake step: started, the look of iteration n, released or regressed. */
  bake: (state: string, iteration: number) => `bake:${state}:${String(iteration).padStart(5, '0')}`,
  recovery: () => 'recovery',
  rollbackRequested: (at: string) => `rollback_requested:${at}`,
  rollbackRelease: () => 'rollback_release',
  hotfix: () => 'hotfix',
  handover: (from: string, releaseId: string) => `handover:${from}:${releaseId}`,
} as const;

/**
 * The ledger key under which an environment records the hand-overs it received of a version
 * (accepted or refused), before any release of it exists there: `handover-<model>-<version>`,
 * made safe and bounded like a release id.
 */
export function handoverLedgerId(model: string, version: string): string {
  return `handover-${model}-${version}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_RELEASE_ID_LENGTH);
}
