/**
 * The audit ledger's storage contract, shared by the DynamoDB adapter (lambdas/adapters/
 * dynamodb-ledger.ts), the in-memory ledger (local/memory.ts, which enforces the same limits) and
 * the table's IAM grants (lib/audit-ledger.ts). Pure: no AWS import.
 *
 * **Item layout** (one table, `pk`/`sk`), by partition:
 *
 * | partition | items | who may change them |
 * |---|---|---|
 * | `RELEASE#<id>` | the release's audit events (`EVENT#<seq>`, seq zero-padded to 10 digits, hash-chained: core/ledger-chain.ts) and one marker per eventId (`ID#<eventId>`) | nobody: PutItem of a new item only |
 * | `STATE#<id>` | the release record (`RECORD`), approval task tokens (`TOKEN#<phase>`) | UpdateItem, DeleteItem (tokens) |
 * | `LOCK#<model>` | the model's release lock (`LOCK`) | PutItem, DeleteItem |
 * | `HANDOVER#<model>#<version>` | an accepted hand-over from the previous environment (`HANDOVER`) | PutItem (overwrites) |
 * | `CONTROL#freeze` | the emergency freeze (`FREEZE`), present while releases are frozen | operators only (the CLI): no pipeline role writes it |
 *
 * The audit partition holds nothing mutable, so IAM can refuse UpdateItem and DeleteItem there
 * (`dynamodb:LeadingKeys`, lib/audit-ledger.ts) while allowing them on the mutable partitions.
 *
 * **Item size.** DynamoDB refuses an item over 400 KB (409,600 bytes), counted as the UTF-8 bytes of
 * every attribute name and value ({@link itemBytes}). Every write is measured before it is sent:
 * an event's detail is shrunk to fit ({@link fitDetailJson}), a record field to
 * {@link MAX_RECORD_FIELD_BYTES} ({@link fitRecordField}); strings are cut on a character
 * boundary (never inside a surrogate pair or a UTF-8 sequence).
 */
import { StoredAuditEventSchema, type AuditEvent, type StoredAuditEvent } from './audit.js';
import { HandoverRecordSchema, type HandoverRecord } from './handover.js';
import { FreezeSchema, type Freeze } from './freeze.js';
import { GENESIS_HASH, seal } from './ledger-chain.js';
import { isTerminal } from './lifecycle.js';
import { RECORD_FIELDS, ReleaseRecordSchema, type RecordPatch, type ReleaseRecord } from './release-record.js';
import { parseOrThrow } from './validation.js';

export { RECORD_FIELDS } from './release-record.js';

/** DynamoDB's item size limit: 400 KB, in bytes (attribute names and values, UTF-8). */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
/** What the ledger writes at most per item: the limit, less a margin for DynamoDB's approximate number sizes. */
export const LEDGER_ITEM_BUDGET_BYTES = DYNAMODB_MAX_ITEM_BYTES - 8 * 1024;
/**
 * Each top-level field of a release record is written at most this large, so a record (about 26
 * fields and its keys, each written by its own SET) can never outgrow an item whatever the order of
 * the updates (test/lambdas/ledger-items.test.ts checks fields × this < the item budget).
 */
export const MAX_RECORD_FIELD_BYTES = 12 * 1024;

/** Key attribute names and indexes of the table. */
export const LEDGER_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Every release record, newest first (`gsi1pk` = `RELEASES`, `gsi1sk` = receivedAt). */
  gsi1: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /**
   * The releases not yet ended (sparse: `activepk` = `ACTIVE` is present only until the release's
   * terminal transition removes it), newest first by `gsi1sk`.
   */
  active: { indexName: 'active', partitionKey: 'activepk', sortKey: 'gsi1sk' },
} as const;

/** Sort key prefix of the event items (the markers' `ID#` does not begin with it). */
export const EVENT_SK_PREFIX = 'EVENT#';

/** Partition key prefixes: the audit partition is append-only, the others hold mutable items. */
export const LEDGER_PREFIXES = { audit: 'RELEASE#', state: 'STATE#', lock: 'LOCK#', handover: 'HANDOVER#', control: 'CONTROL#' } as const;

export const ledgerKeys = {
  /** The release's audit partition. */
  audit: (releaseId: string) => `${LEDGER_PREFIXES.audit}${releaseId}`,
  /** Event number `seq` of the release: the key is the chain position, so two appends can never take the same one. */
  event: (releaseId: string, seq: number) => ({ pk: `${LEDGER_PREFIXES.audit}${releaseId}`, sk: `${EVENT_SK_PREFIX}${String(seq).padStart(10, '0')}` }),
  /** The marker saying which event holds an eventId (a retried step's append finds it and changes nothing). */
  eventMarker: (releaseId: string, eventId: string) => ({ pk: `${LEDGER_PREFIXES.audit}${releaseId}`, sk: `ID#${eventId}` }),
  release: (releaseId: string) => ({ pk: `${LEDGER_PREFIXES.state}${releaseId}`, sk: 'RECORD' }),
  /** The emergency freeze of the pipeline (core/freeze.ts): one item, present while frozen. */
  freeze: () => ({ pk: `${LEDGER_PREFIXES.control}freeze`, sk: 'FREEZE' }),
  token: (releaseId: string, phase: number) => ({ pk: `${LEDGER_PREFIXES.state}${releaseId}`, sk: `TOKEN#${phase}` }),
  lock: (model: string) => ({ pk: `${LEDGER_PREFIXES.lock}${model}`, sk: 'LOCK' }),
  /** Model names and semantic versions hold no `#` (core/manifest.ts), so the key is unambiguous. */
  handover: (model: string, version: string) => ({ pk: `${LEDGER_PREFIXES.handover}${model}#${version}`, sk: 'HANDOVER' }),
  releasesIndex: 'RELEASES',
  activeIndex: 'ACTIVE',
} as const;

/** An item (or a value) DynamoDB would refuse; thrown before the call, never sent. */
export class LedgerItemTooLargeError extends Error {
  public constructor(what: string, bytes: number, limit: number) {
    super(`ValidationException: ${what} is ${bytes} bytes, over the ${limit}-byte limit (DynamoDB's item size limit is ${DYNAMODB_MAX_ITEM_BYTES} bytes)`);
    this.name = 'LedgerItemTooLargeError';
  }
}

// ── sizes ────────────────────────────────────────────────────────────────────────────────────────

/** UTF-8 length of a string (a lone surrogate counts 3 bytes, as the U+FFFD it is sent as). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

const codePointBytes = (cp: number): number => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a character boundary. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || utf8Length(s) <= maxBytes) return s;
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const b = codePointBytes(cp);
    if (bytes + b > maxBytes) break;
    bytes += b;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.slice(0, i);
}

/** `s` cut to `maxBytes` with an ellipsis when it was longer. */
function shorten(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  return `${truncateUtf8(s, maxBytes - 3)}…`;
}

/**
 * `s` shortened (character boundary, ellipsis) until its JSON encoding — escapes included — is at
 * most `maxBytes` UTF-8 bytes: for text that travels inside JSON documents of bounded size.
 */
export function fitJsonString(s: string, maxBytes: number): string {
  if (jsonBytes(s) <= maxBytes) return s;
  return `${longestPrefix(s, maxBytes - 3, (prefix) => prefix)}…`;
}

/** Significant digits of a number, as DynamoDB stores it (leading and trailing zeros trimmed). */
function significantDigits(n: number): number {
  const digits = Math.abs(n).toExponential().split('e')[0]!.replace('.', '');
  return Math.max(1, digits.replace(/0+$/, '').length);
}

/**
 * The size DynamoDB counts for a value as the document client marshals it: strings in UTF-8 bytes,
 * numbers 1 byte per two significant digits plus 1, booleans and null 1 byte, lists and maps 3
 * bytes plus 1 byte and the (name and) value of each element; `undefined` is not stored.
 */
export function valueBytes(value: unknown): number {
  if (value === null) return 1;
  switch (typeof value) {
    case 'string':
      return utf8Length(value);
    case 'number':
      return Number.isFinite(value) ? Math.ceil(significantDigits(value) / 2) + 1 : 1;
    case 'boolean':
      return 1;
    case 'undefined':
      return 0;
    case 'object': {
      if (value instanceof Uint8Array) return value.byteLength;
      if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 3);
      let sum = 3;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined) sum += 1 + utf8Length(k) + valueBytes(v);
      }
      return sum;
    }
    default:
      return utf8Length(String(value));
  }
}

/** An item's size as DynamoDB counts it: each attribute's name and value. */
export function itemBytes(item: Record<string, unknown>): number {
  let sum = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) sum += utf8Length(k) + valueBytes(v);
  return sum;
}

/** Throws {@link LedgerItemTooLargeError} when `item` is over `limit` bytes. */
export function assertItemFits(what: string, item: Record<string, unknown>, limit = LEDGER_ITEM_BUDGET_BYTES): void {
  const bytes = itemBytes(item);
  if (bytes > limit) throw new LedgerItemTooLargeError(what, bytes, limit);
}

/** Drops `undefined` and turns non-finite numbers into null: what DynamoDB can store. */
export const jsonSafe = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** Every string in `value` longer than `maxBytes` shortened to it (character boundary, ellipsis). */
function shortenStrings(value: unknown, maxBytes: number): unknown {
  if (typeof value === 'string') return shorten(value, maxBytes);
  if (Array.isArray(value)) return value.map((v) => shortenStrings(v, maxBytes));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, shortenStrings(v, maxBytes)]));
  }
  return value;
}

const jsonBytes = (value: unknown): number => utf8Length(JSON.stringify(value));

/** The longest prefix (character boundary) of `text` whose `build(prefix)` is at most `budget` bytes, by bisection. */
function longestPrefix(text: string, budget: number, build: (prefix: string) => unknown): string {
  const at = (n: number) => {
    // Never end between the two halves of a surrogate pair.
    const code = text.charCodeAt(n - 1);
    return n > 0 && n < text.length && code >= 0xd800 && code <= 0xdbff ? text.slice(0, n - 1) : text.slice(0, n);
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(build(at(mid))) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return at(lo);
}

/**
 * An event's detail as the JSON text the ledger stores, at most `budgetBytes` UTF-8 bytes. A detail
 * that fits is stored as it is. One that does not keeps its shape as far as it can, marked
 * `truncated: { originalBytes, omitted? }`: strings over 1 KiB are shortened, then the largest
 * top-level lists keep their first elements (`omitted` counts the others); if that is still too
 * large, the small top-level fields are kept and a `preview` of the original JSON text.
 */
export function fitDetailJson(detail: Record<string, unknown> | undefined, budgetBytes: number): string {
  const full = JSON.stringify(detail ?? {});
  const originalBytes = utf8Length(full);
  if (originalBytes <= budgetBytes) return full;
  const parsed = JSON.parse(full) as Record<string, unknown>;

  const omitted: Record<string, number> = {};
  const out: Record<string, unknown> = { ...(shortenStrings(parsed, 1024) as Record<string, unknown>), truncated: { originalBytes } };
  const lists = Object.keys(out)
    .filter((k) => Array.isArray(out[k]))
    .sort((a, b) => jsonBytes(out[b]) - jsonBytes(out[a]));
  for (const k of lists) {
    if (jsonBytes(out) <= budgetBytes) break;
    const all = out[k] as unknown[];
    let lo = 0;
    let hi = all.length;
    const withCount = (n: number) => ({ ...out, [k]: all.slice(0, n), truncated: { originalBytes, omitted: { ...omitted, [k]: all.length - n } } });
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (jsonBytes(withCount(mid)) <= budgetBytes) lo = mid;
      else hi = mid - 1;
    }
    out[k] = all.slice(0, lo);
    omitted[k] = all.length - lo;
    out.truncated = { originalBytes, omitted: { ...omitted } };
  }
  if (jsonBytes(out) <= budgetBytes) return JSON.stringify(out);

  let small = Object.fromEntries(
    Object.entries(parsed).filter(([, v]) => v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && utf8Length(v) <= 256)),
  );
  // Thousands of small fields: then not even those.
  if (jsonBytes({ ...small, truncated: { originalBytes }, preview: '' }) > budgetBytes / 2) small = {};
  const build = (preview: string) => ({ ...small, truncated: { originalBytes }, preview });
  const preview = longestPrefix(full, budgetBytes, build);
  return JSON.stringify(build(preview));
}

/**
 * A release-record field as the ledger stores it: at most {@link MAX_RECORD_FIELD_BYTES}. Strings
 * inside are shortened (to 1 KiB, then 256 bytes) until it fits; a field that still does not is
 * refused ({@link LedgerItemTooLargeError}) before any write.
 */
export function fitRecordField(name: string, value: unknown): unknown {
  const safe = jsonSafe(value);
  let fitted = safe;
  for (const cap of [1024, 256]) {
    if (valueBytes(fitted) + utf8Length(name) <= MAX_RECORD_FIELD_BYTES) return fitted;
    fitted = shortenStrings(safe, cap);
  }
  const bytes = valueBytes(fitted) + utf8Length(name);
  if (bytes > MAX_RECORD_FIELD_BYTES) throw new LedgerItemTooLargeError(`release record field ${name}`, bytes, MAX_RECORD_FIELD_BYTES);
  return fitted;
}

/** The fields of a release record the ledger stores (RECORD_FIELDS; anything else in a patch is not written). */
const RECORD_FIELD_SET: ReadonlySet<string> = new Set(RECORD_FIELDS);

/** The defined record fields of `patch`, each fitted; `releaseId` and `status` are the ledger's to set. */
export function fitRecordPatch(patch: RecordPatch | ReleaseRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || !RECORD_FIELD_SET.has(k) || k === 'releaseId' || k === 'status') continue;
    out[k] = fitRecordField(k, v);
  }
  return out;
}

/**
 * A record as the ledger keeps it: the stored fields (each fitted, see {@link fitRecordPatch}) read
 * through the record's schema. Throws InvalidInputError naming the fields when they are not a record.
 *
 * @example readRecord({ ...item, weight: item.weight ?? 0 }) // a ReleaseRecord, or throws
 */
export function readRecord(fields: Record<string, unknown>): ReleaseRecord {
  return parseOrThrow(ReleaseRecordSchema, fields, `release record ${String(fields['releaseId'])}`);
}

/** A whole record, each field fitted. */
export function fitRecord(record: ReleaseRecord): ReleaseRecord {
  return readRecord({ ...fitRecordPatch(record), releaseId: record.releaseId, status: record.status });
}

/** `record` with `patch` applied (each field fitted) and its status set: what a ledger write leaves. */
export function patchedRecord(record: ReleaseRecord, patch: RecordPatch, status = record.status): ReleaseRecord {
  return readRecord({ ...record, ...fitRecordPatch(patch), releaseId: record.releaseId, status });
}

// ── items ────────────────────────────────────────────────────────────────────────────────────────

/** The attributes of an event item other than its detail and its chain fields (see {@link eventItem}). */
function eventHead(event: AuditEvent, seq: number): Record<string, unknown> {
  const { detail: _detail, ...rest } = event;
  const head = jsonSafe(rest) as Record<string, unknown>;
  // Free text of the caller's (an operator's identity, an s3:// URI): bounded.
  if (typeof head['actor'] === 'string') head['actor'] = shorten(head['actor'], 2048);
  return { ...head, ...ledgerKeys.event(event.releaseId, seq), entity: 'event' };
}

/** What the chain fields (`seq`, `prevHash`, `hash`: core/ledger-chain.ts) add to an item, at most. */
const CHAIN_FIELDS_BYTES = itemBytes({ seq: 1e15, prevHash: GENESIS_HASH, hash: GENESIS_HASH });

/**
 * The item of an audit event: number `seq` of its release, after the event whose hash is `prevHash`
 * ({@link GENESIS_HASH} for the first). Its fields, `detail` as JSON text (`detailJson`) fitted so
 * that the whole item stays within {@link LEDGER_ITEM_BUDGET_BYTES}, sealed with its hash
 * (core/ledger-chain.ts `seal`).
 */
export function eventItem(event: AuditEvent, seq: number, prevHash: string = GENESIS_HASH): Record<string, unknown> {
  const head = eventHead(event, seq);
  const budget = LEDGER_ITEM_BUDGET_BYTES - itemBytes(head) - CHAIN_FIELDS_BYTES - utf8Length('detailJson');
  if (budget < 1024) throw new LedgerItemTooLargeError(`audit event ${event.eventId} (without its detail)`, itemBytes(head), LEDGER_ITEM_BUDGET_BYTES - 1024);
  const item = seal({ ...head, detailJson: fitDetailJson(event.detail, budget) }, seq, prevHash);
  assertItemFits(`audit event ${event.eventId}`, item);
  return item;
}

/** The marker item of an eventId: which event (`seq`) holds it. */
export function eventMarkerItem(releaseId: string, eventId: string, seq: number): Record<string, unknown> {
  return { ...ledgerKeys.eventMarker(releaseId, eventId), entity: 'event_id', eventId, seq };
}

/**
 * The event an item holds, the detail as stored (possibly truncated: core/audit.ts StoredAuditEvent).
 * Throws InvalidInputError when the item is not an event (no type the ledger knows, no id).
 */
export function eventOf(item: Record<string, unknown>): StoredAuditEvent {
  const { releaseId, eventId, at, type, actor, weight, phase, detailJson } = item;
  const event = {
    releaseId,
    eventId,
    at,
    type,
    actor,
    ...(typeof weight === 'number' ? { weight } : {}),
    ...(typeof phase === 'number' ? { phase } : {}),
    detail: typeof detailJson === 'string' ? (JSON.parse(detailJson) as unknown) : {},
  };
  return parseOrThrow(StoredAuditEventSchema, event, `audit event ${String(eventId)}`);
}

/**
 * Timeline order: by the sequence number the ledger assigned at append (the chain's order). Items
 * without a number (none are written so; a damaged ledger) come first, by `at`.
 */
export function sortTimelineItems<T extends Record<string, unknown>>(items: T[]): T[] {
  const legacy = items.filter((i) => typeof i['seq'] !== 'number').sort((a, b) => String(a['at']).localeCompare(String(b['at'])));
  const numbered = items.filter((i) => typeof i['seq'] === 'number').sort((a, b) => (a['seq'] as number) - (b['seq'] as number));
  return [...legacy, ...numbered];
}

/** The item of a release record: its fitted fields, its keys and index keys. */
export function recordItem(record: ReleaseRecord): Record<string, unknown> {
  const fitted = fitRecord(record);
  const item: Record<string, unknown> = {
    ...jsonSafe(fitted),
    ...ledgerKeys.release(record.releaseId),
    [LEDGER_TABLE.gsi1.partitionKey]: ledgerKeys.releasesIndex,
    [LEDGER_TABLE.gsi1.sortKey]: record.receivedAt,
    ...(isTerminal(record.status) ? {} : { [LEDGER_TABLE.active.partitionKey]: ledgerKeys.activeIndex }),
    entity: 'release',
  };
  assertItemFits(`release record ${record.releaseId}`, item);
  return item;
}

/**
 * The item of an accepted hand-over (core/handover.ts HandoverRecord): its fields, the trail as JSON
 * text (`trailJson`). The trail arrived in one EventBridge event (at most 256 KB), so it fits; should
 * it not, its strings (the hooks' and drills' messages) are shortened (to 1 KiB, then 256 bytes, then
 * 64; character boundary, ellipsis) and a trail that still does not fit is refused
 * ({@link LedgerItemTooLargeError}, naming its size) before any write.
 */
export function handoverItem(record: HandoverRecord): Record<string, unknown> {
  const what = `hand-over record of ${record.model} ${record.version}`;
  const valid = parseOrThrow(HandoverRecordSchema, record, what);
  const { trail, ...fields } = valid;
  const head: Record<string, unknown> = { ...jsonSafe(fields), ...ledgerKeys.handover(valid.model, valid.version), entity: 'handover' };
  const budget = LEDGER_ITEM_BUDGET_BYTES - itemBytes(head) - utf8Length('trailJson');
  let trailJson = JSON.stringify(trail);
  for (const cap of [1024, 256, 64]) {
    if (utf8Length(trailJson) <= budget) break;
    trailJson = JSON.stringify(shortenStrings(trail, cap));
  }
  const item = { ...head, trailJson };
  assertItemFits(what, item);
  return item;
}

/** The item of the emergency freeze (core/freeze.ts). */
export function freezeItem(freeze: Freeze): Record<string, unknown> {
  const valid = parseOrThrow(FreezeSchema, freeze, 'freeze');
  const item = { ...valid, by: shorten(valid.by, 2048), ...ledgerKeys.freeze(), entity: 'freeze' };
  assertItemFits('freeze', item);
  return item;
}

/** The freeze an item holds. Throws InvalidInputError when the item is not one. */
export function freezeOf(item: Record<string, unknown>): Freeze {
  const { reason, by, at } = item;
  return parseOrThrow(FreezeSchema, { reason, by, at }, 'freeze item');
}

/** The hand-over record an item holds. Throws InvalidInputError when the item is not one. */
export function handoverOf(item: Record<string, unknown>): HandoverRecord {
  const { pk, sk: _sk, entity: _entity, trailJson, ...fields } = item;
  const record = { ...fields, trail: typeof trailJson === 'string' ? (JSON.parse(trailJson) as unknown) : [] };
  return parseOrThrow(HandoverRecordSchema, record, `hand-over record ${String(pk)}`);
}
