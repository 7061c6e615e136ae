/**
 * What the DynamoDB ledger sends, checked before DynamoDB would see it (issue 11, items 6 and 7):
 * every item within DynamoDB's 400 KB limit counted in UTF-8 bytes as DynamoDB counts it
 * (test/lambdas/dynamo-size.ts, independent of the adapter's own count), text cut on character
 * boundaries; the sparse index of active releases kept by the transitions.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/ports.js';
import { looseEvent, type LooseEvent } from '../support/events.js';
import { DynamoLedger } from '../../lambdas/adapters/dynamodb-ledger.js';
import { MAX_RECORD_FIELD_BYTES } from '../../core/ledger-items.js';
import { baseRecord } from '../local/ledger-fixtures.js';
import { ONE_ATTEMPT } from './aws-helpers.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes, wellFormed } from './dynamo-size.js';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient(ONE_ATTEMPT), { marshallOptions: { removeUndefinedValues: true } });
const ledger = new DynamoLedger(doc, 'bb-ledger');
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

beforeEach(() => {
  ddb.reset();
  // An empty release: no marker, no tail.
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(PutCommand).resolves({});
});

const event = (detail: Record<string, unknown>, over: Partial<LooseEvent> = {}): AuditEvent =>
  looseEvent({ releaseId: 'r-1', eventId: 'rejected', at: '2025-03-01T10:00:00.000Z', type: 'rejected', actor: 'step:ValidateManifest', detail, ...over });

/** What UpdateItem (ReturnValues ALL_NEW) answers: the record as stored. */
const storedRecord = baseRecord('r-1', '2025-03-01T10:00:00.000Z');

/** The i-th item put, not counting the eventId markers (each append puts its event, then its marker). */
const sentItem = (i = 0) => ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Record<string, unknown>).filter((item) => !String(item['sk']).startsWith('ID#'))[i]!;
/** The values an UpdateItem sets, as an item (what it adds to the record at most). */
const updateValues = (i = 0) => ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.Key?.['sk'] === 'RECORD')[i]!.args[0].input.ExpressionAttributeValues as Record<string, unknown>;

describe('DynamoLedger: items within 400 KB in UTF-8 bytes, checked before the call', () => {
  it('a rejection detail of 3,000 issues — 440 KB in bytes, 260,000 characters — is sent shrunk to fit, its shape kept', async () => {
    const issues = Array.from({ length: 3000 }, (_, i) => ({ path: `shadowEvaluation.tests.未知字段${'键'.repeat(30)}${i}`, message: 'unknown field' }));
    const detail = { cause: 'invalid_manifest', severity: 'P3', issues };
    expect(JSON.stringify(detail).length).toBeLessThan(300_000);
    expect(utf8(JSON.stringify(detail))).toBeGreaterThan(DYNAMODB_ITEM_LIMIT);
    expect(await ledger.append(event(detail))).toBe('appended');
    const item = sentItem();
    expect(dynamoItemBytes(item)).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
    const stored = JSON.parse(item['detailJson'] as string) as { cause: string; issues: unknown[]; truncated: { originalBytes: number; omitted: { issues: number } } };
    expect(stored.cause).toBe('invalid_manifest');
    expect(stored.issues).toEqual(issues.slice(0, stored.issues.length));
    expect(stored.truncated).toEqual({ originalBytes: utf8(JSON.stringify(detail)), omitted: { issues: 3000 - stored.issues.length } });
  });

  it('a detail that is one huge string is cut on a character boundary (no lone surrogate, valid JSON)', async () => {
    // '{"xy":"' is 7 characters: a cut at an even character count would split a pair.
    await ledger.append(event({ xy: '😀'.repeat(120_000) }));
    await ledger.append(event({ list: [`a${'😀'.repeat(60_000)}`, 'b'.repeat(500_000)] }, { eventId: 'e2' }));
    for (const i of [0, 1]) {
      const item = sentItem(i);
      expect(dynamoItemBytes(item)).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
      const stored = JSON.parse(item['detailJson'] as string) as Record<string, unknown>;
      expect(wellFormed(stored)).toBe(true);
      expect(stored['truncated']).toBeDefined();
    }
  });

  it("an operator's reason of a megabyte is shortened in the event's actor and detail", async () => {
    await ledger.append(event({ reason: '界'.repeat(400_000) }, { type: 'approval_rejected', actor: `arn:aws:sts::1:assumed-role/x/${'y'.repeat(5000)}` }));
    expect(dynamoItemBytes(sentItem())).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
  });

  it('update and transition send each record field at most MAX_RECORD_FIELD_BYTES, strings cut on a character boundary', async () => {
    ddb.on(UpdateCommand, { Key: { pk: 'STATE#r-1', sk: 'RECORD' } }).resolves({ Attributes: storedRecord });
    await ledger.update('r-1', { lastVerdict: { verdict: 'fail', summary: `x${'😀'.repeat(200_000)}`, at: '2025-03-01T10:05:00.000Z' } });
    await ledger.transition('r-1', ['received'], 'rejected', { outcome: { status: 'rejected', reason: '界'.repeat(300_000), severity: 'P3', at: '2025-03-01T10:06:00.000Z' } });
    for (const i of [0, 1]) {
      const values = updateValues(i);
      expect(wellFormed(values)).toBe(true);
      for (const v of Object.values(values)) expect(dynamoItemBytes({ v })).toBeLessThanOrEqual(MAX_RECORD_FIELD_BYTES + 1);
    }
    expect((updateValues(0)[':v0'] as { summary: string }).summary.startsWith('x😀')).toBe(true);
  });

  it('a record created with an oversized field is sent within the limit', async () => {
    await ledger.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z', { source: { bucket: 'bb', key: 'k'.repeat(600_000), versionId: null } }));
    expect(dynamoItemBytes(sentItem())).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
  });
});

describe('DynamoLedger: the index of active releases', () => {
  it('a new record is in it; a terminal transition removes it, another keeps it', async () => {
    ddb.on(UpdateCommand, { Key: { pk: 'STATE#r-1', sk: 'RECORD' } }).resolves({ Attributes: storedRecord });
    await ledger.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    expect(sentItem()).toMatchObject({ pk: 'STATE#r-1', sk: 'RECORD', activepk: 'ACTIVE', gsi1sk: '2025-03-01T10:00:00.000Z' });
    await ledger.transition('r-1', ['received'], 'gated');
    await ledger.transition('r-1', ['gated'], 'rejected');
    const [toGated, toRejected] = ddb.commandCalls(UpdateCommand).filter((c) => c.args[0].input.Key?.['sk'] === 'RECORD').map((c) => c.args[0].input);
    expect(toGated!.UpdateExpression).toBe('SET #status = :to, #active = :active');
    expect(toRejected!.UpdateExpression).toBe('SET #status = :to REMOVE #active');
    expect(toRejected!.ExpressionAttributeNames).toMatchObject({ '#active': 'activepk' });
  });

  it('listActiveReleases reads every page of the `active` index, newest first, and drops a release that just ended', async () => {
    const r = (id: string, status: 'awaiting_approval' | 'rejected') => ({ ...baseRecord(id, '2025-03-01T10:00:00.000Z', { status }), pk: `STATE#${id}`, sk: 'RECORD' });
    ddb.on(QueryCommand)
      .resolvesOnce({ Items: [r('a', 'awaiting_approval')], LastEvaluatedKey: { pk: 'STATE#a', sk: 'RECORD', activepk: 'ACTIVE', gsi1sk: 'x' } })
      .resolvesOnce({ Items: [r('b', 'rejected'), r('c', 'awaiting_approval')] });
    expect((await ledger.listActiveReleases()).map((x) => x.releaseId)).toEqual(['a', 'c']);
    const q = ddb.commandCalls(QueryCommand);
    expect(q[0]!.args[0].input).toMatchObject({ IndexName: 'active', KeyConditionExpression: '#active = :a', ExpressionAttributeValues: { ':a': 'ACTIVE' }, ScanIndexForward: false });
    expect(q[0]!.args[0].input.Limit).toBeUndefined();
    expect(q[1]!.args[0].input.ExclusiveStartKey).toMatchObject({ pk: 'STATE#a' });
  });
});
