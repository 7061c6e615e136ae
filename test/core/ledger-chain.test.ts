/**
 * The audit ledger's hash chain (core/ledger-chain.ts): every way of changing a stored release's
 * events — one attribute edited, an event re-hashed, replaced, removed, reordered — is found, at the
 * first broken link; an untouched chain is intact. The items are built by the ledger's own
 * eventItem (core/ledger-items.ts), as both ledgers store them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, describeChain, GENESIS_HASH, itemHash, verifyChain } from '../../core/ledger-chain.js';
import { eventItem } from '../../core/ledger-items.js';
import { MemoryLedger } from '../../local/memory.js';
import { looseEvent } from '../support/events.js';

const R = 'builderbrain-2_1_0-1a2b3c4d';
const ev = (i: number, detail: Record<string, unknown> = { iteration: i, summary: `look ${i}` }) =>
  looseEvent({ releaseId: R, eventId: `analysis:0:${String(i).padStart(4, '0')}`, at: `2026-01-05T10:${String(i % 60).padStart(2, '0')}:00.000Z`, type: 'analysis', actor: 'step:AnalyzeCanary', phase: 0, weight: 1, detail });

/** A chain of `n` events as the ledger stores them. */
function chain(n: number): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (let i = 1; i <= n; i++) items.push(eventItem(ev(i), i, i === 1 ? GENESIS_HASH : String(items[i - 2]!['hash'])));
  return items;
}

describe('canonical JSON', () => {
  it('one text whatever the key order; undefined dropped', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'é' }, u: undefined })).toBe('{"a":{"c":"é","d":[1,{"x":1,"y":2}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});

describe('verifyChain', () => {
  it('an untouched chain is intact, its head the last hash; an empty one has no head', () => {
    const items = chain(5);
    expect(verifyChain(R, items)).toEqual({ releaseId: R, intact: true, events: 5, head: { seq: 5, hash: items[4]!['hash'] }, broken: null });
    expect(verifyChain(R, [...items].reverse()).intact).toBe(true);
    expect(verifyChain(R, [])).toMatchObject({ intact: true, events: 0, head: null });
    expect(describeChain(verifyChain(R, items))).toMatch(/intact, 5 events, head #5 [0-9a-f]{64}/);
  });

  it('an edited event is named: its content does not match its hash', () => {
    const items = chain(5);
    items[2] = { ...items[2], detailJson: JSON.stringify({ iteration: 3, summary: 'all fine, nothing to see' }) };
    const v = verifyChain(R, items);
    expect(v).toMatchObject({ intact: false, events: 2, head: null, broken: { seq: 3, eventId: 'analysis:0:0003', type: 'analysis', problem: 'content' } });
    expect(describeChain(v)).toMatch(/BROKEN at event #3 .*analysis:0:0003\) was changed after it was written/);
  });

  it('an edited and re-hashed event breaks the next link, which names the changed one', () => {
    const items = chain(5);
    const edited = { ...items[1], actor: 'someone-else' };
    items[1] = { ...edited, hash: itemHash(edited) };
    expect(verifyChain(R, items).broken).toMatchObject({ seq: 3, problem: 'link', message: expect.stringMatching(/event #2 was changed or replaced/) });
  });

  it('a removed event leaves a gap; a replaced first event does not start from genesis', () => {
    const items = chain(5);
    expect(verifyChain(R, [...items.slice(0, 2), ...items.slice(3)]).broken).toMatchObject({ seq: 3, problem: 'missing', message: expect.stringMatching(/event #3 is missing: #2 is followed by #4/) });
    const forged = eventItem(ev(1, { forged: true }), 1, 'f'.repeat(64));
    expect(verifyChain(R, [forged, ...items.slice(1)]).broken).toMatchObject({ seq: 1, problem: 'link' });
  });

  it('an item without the chain fields is named as unsealed', () => {
    const items = chain(2);
    const { hash: _h, ...bare } = items[1]!;
    expect(verifyChain(R, [items[0]!, bare]).broken).toMatchObject({ seq: 2, problem: 'unsealed', eventId: 'analysis:0:0002', message: expect.stringMatching(/hash/) });
  });

  it('property: changing any one attribute of any one event is found at that event or the link after it, never later, never missed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.nat(), fc.constantFrom('at', 'actor', 'type', 'detailJson', 'phase', 'weight', 'prevHash', 'eventId'), fc.string({ minLength: 1, maxLength: 8 }), (n, pick, field, junk) => {
        const items = chain(n);
        const k = pick % n;
        const before = items[k]![field];
        const after = typeof before === 'number' ? before + 1 + junk.length : `${String(before)}${junk}`;
        items[k] = { ...items[k], [field]: after };
        const v = verifyChain(R, items);
        expect(v.intact).toBe(false);
        expect(v.broken!.seq).toBe(k + 1);
        // Re-hashing the edit moves the break to the next link (or leaves the last event's edit undetectable by the chain alone).
        items[k] = { ...items[k], hash: itemHash(items[k]!) };
        const rehashed = verifyChain(R, items);
        if (field === 'prevHash') expect(rehashed.broken!.seq).toBe(k + 1);
        else if (k < n - 1) expect(rehashed.broken).toMatchObject({ seq: k + 2, problem: 'link' });
        else expect(rehashed.intact).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the in-memory ledger keeps the chain as the DynamoDB ledger does', () => {
  it('appends link each event to the one before; a duplicate eventId adds nothing', async () => {
    const ledger = new MemoryLedger();
    for (let i = 1; i <= 4; i++) expect(await ledger.append(ev(i))).toBe('appended');
    expect(await ledger.append(ev(2))).toBe('duplicate');
    const items = await ledger.chainItems(R);
    expect(items.map((i) => i['seq'])).toEqual([1, 2, 3, 4]);
    expect(items[0]!['prevHash']).toBe(GENESIS_HASH);
    expect(items[2]!['prevHash']).toBe(items[1]!['hash']);
    expect(verifyChain(R, items).intact).toBe(true);
    // What a caller does to what it got back does not reach the ledger.
    items[0]!['actor'] = 'x';
    expect(verifyChain(R, await ledger.chainItems(R)).intact).toBe(true);
  });
});
