/**
 * The ledger's size rules (core/ledger-items.ts), against DynamoDB's documented counting
 * (test/lambdas/dynamo-size.ts, written independently) and on arbitrary Unicode text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DYNAMODB_MAX_ITEM_BYTES,
  eventItem,
  fitDetailJson,
  fitJsonString,
  itemBytes,
  LEDGER_ITEM_BUDGET_BYTES,
  MAX_RECORD_FIELD_BYTES,
  RECORD_FIELDS,
  recordItem,
  truncateUtf8,
  utf8Length,
} from '../../core/ledger-items.js';
import { baseRecord } from '../local/ledger-fixtures.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes, wellFormed } from './dynamo-size.js';
import { looseEvent } from '../support/events.js';

/** Text mixing 1-, 2-, 3- and 4-byte characters (surrogate pairs). */
const text = fc.array(fc.constantFrom('a', '"', '\\', '\n', 'é', '界', '😀', '\u0001'), { maxLength: 400 }).map((a) => a.join(''));

describe('sizes as DynamoDB counts them', () => {
  it('the limit is 400 KB in bytes; the ledger keeps a margin', () => {
    expect(DYNAMODB_MAX_ITEM_BYTES).toBe(DYNAMODB_ITEM_LIMIT);
    expect(LEDGER_ITEM_BUDGET_BYTES).toBeLessThan(DYNAMODB_ITEM_LIMIT);
  });

  it('itemBytes agrees with the independent count on arbitrary JSON items', () => {
    fc.assert(
      // (No `__proto__` keys: the SDK's marshalling and a plain object disagree on them; the ledger writes none.)
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })).filter((i) => !JSON.stringify(i).includes('"__proto__"')), (item) => {
        // The document client refuses numbers beyond 2^53 (they need NumberValue); the ledger stores none.
        const safe = JSON.parse(JSON.stringify(item), (_k, v: unknown) => (typeof v === 'number' && Math.abs(v) > Number.MAX_SAFE_INTEGER ? 1 : v)) as Record<string, unknown>;
        expect(itemBytes(safe)).toBe(dynamoItemBytes(safe));
      }),
      { numRuns: 300 },
    );
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(itemBytes({ s: '界'.repeat(10) })).toBe(1 + 30);
    expect(itemBytes({ s: '😀' })).toBe(1 + 4);
    expect(utf8Length('é')).toBe(2);
  });
});

describe('cutting text', () => {
  it('truncateUtf8 keeps the longest prefix within the bytes, never splitting a character', () => {
    fc.assert(
      fc.property(text, fc.nat(1200), (s, max) => {
        const cut = truncateUtf8(s, max);
        expect(s.startsWith(cut)).toBe(true);
        expect(utf8Length(cut)).toBeLessThanOrEqual(max);
        expect(wellFormed(cut)).toBe(true);
        if (cut.length < s.length) {
          const next = s.codePointAt(cut.length)!;
          expect(utf8Length(cut + String.fromCodePoint(next))).toBeGreaterThan(max);
        }
      }),
    );
  });

  it('fitJsonString bounds the JSON-encoded size, escapes included', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 16, max: 600 }), (s, max) => {
        const cut = fitJsonString(s, max);
        expect(utf8Length(JSON.stringify(cut))).toBeLessThanOrEqual(max);
        expect(wellFormed(cut)).toBe(true);
      }),
    );
  });

  it('fitDetailJson: valid JSON within the budget, well-formed, the original when it fits', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'list', 'nested', 'cause'), fc.oneof(text, fc.array(text, { maxLength: 30 }), fc.record({ deep: fc.array(text) }))), fc.integer({ min: 300, max: 4000 }), (detail, budget) => {
        const json = fitDetailJson(detail, budget);
        expect(utf8Length(json)).toBeLessThanOrEqual(budget);
        const parsed = JSON.parse(json) as Record<string, unknown>;
        expect(wellFormed(parsed)).toBe(true);
        if (utf8Length(JSON.stringify(detail)) <= budget) expect(parsed).toEqual(detail);
        else expect(parsed['truncated']).toMatchObject({ originalBytes: utf8Length(JSON.stringify(detail)) });
      }),
      { numRuns: 300 },
    );
  });
});

describe('items', () => {
  it('a record can never outgrow an item: every field at most MAX_RECORD_FIELD_BYTES', () => {
    const fields = RECORD_FIELDS.length + 4; // and its keys and index keys
    expect(fields * MAX_RECORD_FIELD_BYTES).toBeLessThan(LEDGER_ITEM_BUDGET_BYTES);
    const huge = 'k'.repeat(100_000);
    const r = baseRecord('r-1', '2025-03-01T10:00:00.000Z', { model: huge, version: huge, manifestSha256: huge, source: { bucket: huge, key: huge, versionId: huge } });
    expect(dynamoItemBytes(recordItem(r))).toBeLessThanOrEqual(LEDGER_ITEM_BUDGET_BYTES);
  });

  it('an event item is within the budget whatever its detail and actor', () => {
    const item = eventItem(looseEvent({ releaseId: 'r', eventId: 'e', at: 'now', type: 'analysis', actor: '界'.repeat(100_000), detail: { a: '😀'.repeat(200_000), b: ['x'.repeat(300_000)] } }), 7);
    expect(dynamoItemBytes(item)).toBeLessThanOrEqual(LEDGER_ITEM_BUDGET_BYTES);
    expect(item).toMatchObject({ pk: 'RELEASE#r', sk: 'EVENT#0000000007', seq: 7 });
  });
});

describe('details of unusual shapes', () => {
  it('a detail of 60,000 small fields is still stored within its budget', () => {
    const detail = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`field${i}`, i]));
    const json = fitDetailJson(detail, 100_000);
    expect(utf8Length(json)).toBeLessThanOrEqual(100_000);
    expect(JSON.parse(json)).toMatchObject({ truncated: { originalBytes: utf8Length(JSON.stringify(detail)) }, preview: expect.stringMatching(/^\{"field0":0,/) });
  });
});
