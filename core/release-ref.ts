/**
 * How operators name a release (issue 14 §2, issue 16 §3): by its id, by `<model>@<version>`, or by
 * the model alone (its current release); and what served before a release (its lineage). Pure: the
 * CLI reads the ledger's lists and asks here.
 */
import type { ReleaseRecord } from './release-record.js';
import { isInFlight } from './lifecycle.js';
import { CONTROL_LOG } from './freeze.js';

export type ReleaseRef = { readonly kind: 'id'; readonly id: string } | { readonly kind: 'version'; readonly model: string; readonly version: string } | { readonly kind: 'model'; readonly model: string };

const ID_RE = /^[A-Za-z0-9_-]{1,80}$/;
const MODEL_RE = /^[a-z][a-z0-9-]{0,63}$/;

/** Parses what an operator typed; null when it is none of the three forms. */
export function parseReleaseRef(text: string): ReleaseRef | null {
  // The pipeline's control log (core/freeze.ts) is read like a release's timeline.
  if (text === CONTROL_LOG) return { kind: 'id', id: text };
  const at = text.indexOf('@');
  if (at > 0) {
    const model = text.slice(0, at);
    const version = text.slice(at + 1);
    return MODEL_RE.test(model) && version.length > 0 && !version.includes('@') ? { kind: 'version', model, version } : null;
  }
  // A release id has its version and hash after the model (`builderbrain-2_1_0-1a2b3c4d`); a model name alone has neither.
  if (/-[0-9]+_[0-9]+_[0-9]+.*-[0-9a-f]{8}$/.test(text) && ID_RE.test(text)) return { kind: 'id', id: text };
  if (MODEL_RE.test(text)) return { kind: 'model', model: text };
  return ID_RE.test(text) ? { kind: 'id', id: text } : null;
}

export type Resolved = { readonly ok: true; readonly releaseId: string } | { readonly ok: false; readonly message: string; readonly candidates: readonly ReleaseRecord[] };

const label = (r: ReleaseRecord) => `${r.releaseId} (${r.model} ${r.version}, ${r.status}, received ${r.receivedAt})`;

/**
 * The release `ref` names among `records` (newest first): an id as it is; `<model>@<version>` its
 * newest release of that version; a model its release in flight, else its newest that reached
 * production. Several in flight for one name, or none: not resolved, with the candidates.
 *
 * @example resolveReleaseRef({ kind: 'version', model: 'builderbrain', version: '2.1.0' }, records)
 */
export function resolveReleaseRef(ref: ReleaseRef, records: readonly ReleaseRecord[]): Resolved {
  if (ref.kind === 'id') return { ok: true, releaseId: ref.id };
  // A release whose id reads like a model name (one not made by the pipeline's own ids): its id wins.
  if (ref.kind === 'model' && !records.some((r) => r.model === ref.model)) {
    const same = records.find((r) => r.releaseId === ref.model);
    if (same !== undefined) return { ok: true, releaseId: same.releaseId };
  }
  const ofModel = records.filter((r) => r.model === ref.model);
  if (ref.kind === 'version') {
    const matching = ofModel.filter((r) => r.version === ref.version);
    const live = matching.filter((r) => isInFlight(r.status));
    if (live.length > 1) return { ok: false, message: `${ref.model}@${ref.version} names ${live.length} releases in flight: give one release id`, candidates: live };
    const chosen = live[0] ?? matching[0];
    if (chosen === undefined) return { ok: false, message: `no release of ${ref.model}@${ref.version} in the ledger${ofModel.length === 0 ? '' : `; ${ref.model}'s recent releases are listed`}`, candidates: ofModel.slice(0, 5) };
    return { ok: true, releaseId: chosen.releaseId };
  }
  const live = ofModel.filter((r) => isInFlight(r.status));
  if (live.length > 1) return { ok: false, message: `${ref.model} has ${live.length} releases in flight: give one release id or ${ref.model}@<version>`, candidates: live };
  const chosen = live[0] ?? ofModel.find((r) => r.status === 'released' || r.status === 'promoted');
  if (chosen === undefined) return { ok: false, message: `no release of ${ref.model} in flight or in production${ofModel.length === 0 ? ' (none in the ledger)' : ''}`, candidates: ofModel.slice(0, 5) };
  return { ok: true, releaseId: chosen.releaseId };
}

/** The candidates, one line each, for an error message. */
export function candidateLines(candidates: readonly ReleaseRecord[]): string[] {
  return candidates.map((r) => `  ${label(r)}`);
}

/**
 * What served before `release`: the newest release of its model received before it that reached
 * production (released, or promoted before the bake existed). Null for a first release.
 */
export function previousRelease(release: ReleaseRecord, records: readonly ReleaseRecord[]): ReleaseRecord | null {
  return records.find((r) => r.model === release.model && r.releaseId !== release.releaseId && r.receivedAt < release.receivedAt && (r.status === 'released' || r.status === 'promoted')) ?? null;
}

/**
 * Why `--to <version>` cannot be the target of rolling `release` back: a rollback goes back to what
 * served before it (the lineage), nothing else. Null when it is that version.
 */
export function rollbackTargetIssue(release: ReleaseRecord, previous: ReleaseRecord | null, to: string): string | null {
  if (previous !== null && previous.version === to) return null;
  const served = previous === null ? 'no earlier release of it is in the ledger' : `it replaced ${previous.version} (release ${previous.releaseId})`;
  return `--to ${to}: ${release.model} ${release.version} goes back to what served before it, and ${served}. Omit --to, or give that version.`;
}
