/**
 * The audit ledger's hash chain (RELEASE.md §12.2: audit an examiner can rely on). Every stored
 * event of a release carries its sequence number (`seq`, 1, 2, 3 … in append order), the hash of the
 * event before it (`prevHash`; {@link GENESIS_HASH} for the first) and its own `hash`: SHA-256 of
 * the item as stored — every attribute but `hash`, in a canonical JSON form (keys sorted, no
 * spaces). Changing any stored byte of an event breaks its own hash; recomputing that hash breaks
 * the next event's `prevHash`; removing an event leaves a gap in the numbers. {@link verifyChain}
 * finds the first broken link.
 *
 * What the chain cannot show on its own: that events were cut off the END of a release (nothing
 * follows them to break). An export (`builderbrain audit export`) lists each event's hash, so an
 * examiner holding an earlier export can check that its last hash is still in the chain.
 *
 * Pure: no AWS import; node:crypto only.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';

/** The `prevHash` of a release's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** The attributes of a stored event the chain needs; the item keeps all its others (they are hashed too). */
export const SealedItemSchema = z.looseObject({
  eventId: z.string(),
  type: z.string(),
  seq: z.number().int().positive(),
  prevHash: z.string(),
  hash: z.string(),
});
export type SealedItem = z.infer<typeof SealedItemSchema>;

/** `value` as JSON with every object's keys sorted: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash an item must carry: SHA-256 (hex) of its canonical JSON without `hash`. */
export function itemHash(item: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = item;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** `item` (an event item without chain fields) sealed as event `seq` after `prevHash`. */
export function seal(item: Record<string, unknown>, seq: number, prevHash: string): Record<string, unknown> {
  const linked = { ...item, seq, prevHash };
  return { ...linked, hash: itemHash(linked) };
}

export type ChainProblem = 'unsealed' | 'missing' | 'content' | 'link';

export interface BrokenLink {
  /** The event's position in the chain (1-based), or where the missing one should be. */
  readonly seq: number;
  readonly eventId: string | null;
  readonly type: string | null;
  readonly problem: ChainProblem;
  readonly message: string;
}

export interface ChainVerdict {
  readonly releaseId: string;
  readonly intact: boolean;
  /** Events checked. */
  readonly events: number;
  /** The last event's hash when the chain is intact (what an export or an examiner can pin). */
  readonly head: { readonly seq: number; readonly hash: string } | null;
  /** The first broken link, in chain order. */
  readonly broken: BrokenLink | null;
}

const name = (item: Record<string, unknown>): string => `${String(item['type'] ?? '?')} ${String(item['eventId'] ?? '?')}`;

/**
 * Checks a release's stored event items (any order; they are put in `seq` order) and names the
 * first broken link: an item without the chain fields, a number missing, an item whose content does
 * not match its hash (it was changed after it was written), or one whose `prevHash` is not the
 * previous event's hash (the previous one was changed and re-hashed, or replaced).
 */
export function verifyChain(releaseId: string, items: readonly Record<string, unknown>[]): ChainVerdict {
  const sorted = [...items].sort((a, b) => Number(a['seq'] ?? 0) - Number(b['seq'] ?? 0));
  const fail = (i: number, broken: BrokenLink): ChainVerdict => ({ releaseId, intact: false, events: i, head: null, broken });
  let prev = GENESIS_HASH;
  for (let i = 0; i < sorted.length; i++) {
    const raw = sorted[i]!;
    const parsed = SealedItemSchema.safeParse(raw);
    const expected = i + 1;
    if (!parsed.success) {
      const fields = parsed.error.issues.map((x) => x.path.join('.')).join(', ');
      return fail(i, { seq: expected, eventId: typeof raw['eventId'] === 'string' ? raw['eventId'] : null, type: typeof raw['type'] === 'string' ? raw['type'] : null, problem: 'unsealed', message: `event ${name(raw)} carries no valid chain fields (${fields})` });
    }
    const item = parsed.data;
    if (item.seq !== expected) {
      const message =
        item.seq > expected
          ? `event #${expected} is missing: #${expected - 1} is followed by #${item.seq} (${name(item)}); an event was removed`
          : `event #${item.seq} (${name(item)}) appears twice in the chain`;
      return fail(i, { seq: expected, eventId: null, type: null, problem: 'missing', message });
    }
    if (itemHash(raw) !== item.hash) {
      return fail(i, { seq: item.seq, eventId: item.eventId, type: item.type, problem: 'content', message: `event #${item.seq} (${name(item)}) was changed after it was written: its content does not match its hash` });
    }
    if (item.prevHash !== prev) {
      const message =
        expected === 1
          ? `event #1 (${name(item)}) does not start the chain: its prevHash is not the genesis hash`
          : `event #${item.seq} (${name(item)}) does not follow event #${expected - 1}: event #${expected - 1} was changed or replaced after #${item.seq} was written`;
      return fail(i, { seq: item.seq, eventId: item.eventId, type: item.type, problem: 'link', message });
    }
    prev = item.hash;
  }
  const last = sorted.at(-1);
  return { releaseId, intact: true, events: sorted.length, head: last === undefined ? null : { seq: Number(last['seq']), hash: String(last['hash']) }, broken: null };
}

/** One line for people: intact (with the head) or the first broken link. */
export function describeChain(v: ChainVerdict): string {
  if (v.intact) return v.head === null ? `${v.releaseId}: no events` : `${v.releaseId}: intact, ${v.events} events, head #${v.head.seq} ${v.head.hash}`;
  return `${v.releaseId}: BROKEN at event #${v.broken!.seq} (${v.events} events before it verified): ${v.broken!.message}`;
}
