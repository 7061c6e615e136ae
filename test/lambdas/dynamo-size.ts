/**
 * DynamoDB's item size, computed independently of core/ledger-items.ts (for the tests): the item
 * is marshalled as the document client marshals it, then counted as DynamoDB documents it —
 * attribute names and string values in UTF-8 bytes, numbers (significant digits / 2) + 1, binary
 * its bytes, booleans and null 1, lists and maps 3 bytes plus 1 byte and the (name and) value of
 * each element.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

export const DYNAMODB_ITEM_LIMIT = 400 * 1024;

const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;

function attributeBytes(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) {
    const digits = v.N.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.L !== undefined) return 3 + v.L.reduce((sum, x) => sum + 1 + attributeBytes(x), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((sum, [k, x]) => sum + 1 + utf8(k) + attributeBytes(x), 0);
  if (v.SS !== undefined) return v.SS.reduce((sum, x) => sum + utf8(x), 0);
  throw new Error(`unsupported attribute value ${JSON.stringify(v)}`);
}

/** The size DynamoDB counts for an item given as a document (plain JS) or as AttributeValues. */
export function dynamoItemBytes(item: Record<string, unknown>, marshalled = false): number {
  const av = marshalled ? (item as Record<string, AttributeValue>) : marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true });
  return Object.entries(av).reduce((sum, [k, v]) => sum + utf8(k) + attributeBytes(v), 0);
}

/** True when every string inside `value` is well-formed UTF-16 (no lone surrogate). */
export function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value !== null && typeof value === 'object') return Object.values(value).every(wellFormed);
  return true;
}
