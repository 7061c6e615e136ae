/**
 * `builderbrain audit export` (RELEASE.md §12.2, evidence for an examiner): every release received
 * since a date and every event of each, as JSON Lines or CSV. Pure: the CLI reads the ledger and
 * writes what this returns. One row per release (its record as it stands) followed by one row per
 * event in the ledger's order; details kept whole (as JSON in CSV), and each event's hash in its
 * release's chain (core/ledger-chain.ts): an examiner who keeps an export can later show that the
 * ledger still holds what it held (`builderbrain audit verify`, and the hash still in the chain).
 */
import type { StoredAuditEvent } from './audit.js';
import type { ReleaseRecord } from './release-record.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type ExportRow =
  | { readonly kind: 'release'; readonly releaseId: string; readonly model: string; readonly version: string; readonly status: string; readonly at: string; readonly record: ReleaseRecord }
  | { readonly kind: 'event'; readonly releaseId: string; readonly model: string; readonly version: string; readonly seq: number; readonly at: string; readonly type: string; readonly actor: string; readonly phase: number | null; readonly weight: number | null; readonly detail: unknown; readonly hash: string | null };

/** An event as exported: the event, and its hash in the release's chain (core/ledger-chain.ts) when the ledger gave it. */
export type ExportedEvent = StoredAuditEvent & { readonly hash?: string };

/** The rows of the releases received at or after `since` (oldest first), each followed by its events. */
export function exportRows(releases: readonly { record: ReleaseRecord; events: readonly ExportedEvent[] }[], since: Date): ExportRow[] {
  const chosen = releases.filter((r) => Date.parse(r.record.receivedAt) >= since.getTime()).sort((a, b) => a.record.receivedAt.localeCompare(b.record.receivedAt));
  return chosen.flatMap(({ record, events }) => [
    { kind: 'release' as const, releaseId: record.releaseId, model: record.model, version: record.version, status: record.status, at: record.receivedAt, record },
    ...events.map((e, i) => ({
      kind: 'event' as const,
      releaseId: record.releaseId,
      model: record.model,
      version: record.version,
      seq: i + 1,
      at: e.at,
      type: e.type,
      actor: e.actor,
      phase: e.phase ?? null,
      weight: e.weight ?? null,
      detail: e.detail,
      hash: e.hash ?? null,
    })),
  ]);
}

const CSV_COLUMNS = ['kind', 'releaseId', 'model', 'version', 'status', 'seq', 'at', 'type', 'actor', 'phase', 'weight', 'detail', 'hash'] as const;

/** A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows in a format, ending with a newline. */
export function formatExport(rows: readonly ExportRow[], format: ExportFormat): string {
  if (format === 'jsonl') return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '');
  const lines = rows.map((r) =>
    (r.kind === 'release'
      ? [r.kind, r.releaseId, r.model, r.version, r.status, '', r.at, '', '', '', '', r.record, '']
      : [r.kind, r.releaseId, r.model, r.version, '', r.seq, r.at, r.type, r.actor, r.phase, r.weight, r.detail, r.hash]
    )
      .map(csvField)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`;
}
