/**
 * The DynamoDB ledger's hand-over records (DynamoLedger.putHandover / getHandover, item layout
 * core/ledger-items.ts handoverItem) against dynalite, on a table made from the CDK construct's own
 * definition: round trip, missing → null, overwrite, the item's key, and the size limit in UTF-8
 * bytes (dynalite counts UTF-16 units, so the client of test/lambdas/dynalite-table.ts refuses, as
 * DynamoDB would, a PutItem over 400 KB in UTF-8 bytes: test/lambdas/dynamo-size.ts).
 */
import { GetItemCommand, PutItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STANDALONE_ENVIRONMENT } from '../../core/environments.js';
import { upstreamIssue, type HandoverRecord, type TrailEntry } from '../../core/handover.js';
import { LEDGER_ITEM_BUDGET_BYTES, LEDGER_PREFIXES, ledgerKeys } from '../../core/ledger-items.js';
import { DynamoLedger } from '../../lambdas/adapters/dynamodb-ledger.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes } from './dynamo-size.js';
import { startDynalite, type DynaliteLedgerTables } from './dynalite-table.js';

let dynamo: DynaliteLedgerTables;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let table = '';
let tables = 0;
/** The partition key of every PutItem the client sent. */
let writes: string[] = [];

beforeAll(async () => {
  dynamo = await startDynalite((op, pk) => {
    if (op === 'PutItem') writes.push(pk);
  });
  ({ raw, doc } = dynamo);
});

afterAll(async () => {
  await dynamo?.close();
});

beforeEach(async () => {
  table = `handover-${++tables}`;
  writes = [];
  await dynamo.createTable(table);
});

afterEach(async () => {
  // Every item stored is within DynamoDB's limit in UTF-8 bytes, and hand-overs are written in their own partitions.
  const page = await raw.send(new ScanCommand({ TableName: table }));
  for (const item of page.Items ?? []) expect(dynamoItemBytes(item, true), item['pk']?.S).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
  for (const pk of writes) expect(pk.startsWith(LEDGER_PREFIXES.handover), pk).toBe(true);
});

const ledger = () => new DynamoLedger(doc, table);

function stage(environment: string, over: Partial<TrailEntry> = {}): TrailEntry {
  return {
    environment,
    account: environment === 'staging' ? '111111111111' : '222222222222',
    releaseId: `builderbrain-2_1_0-${environment}`,
    outcome: 'promoted',
    startedAt: '2025-03-01T10:00:00.000Z',
    endedAt: '2025-03-01T12:00:00.000Z',
    phases: [50, 100],
    approvals: [{ phase: 1, by: 'arn:aws:sts::111111111111:assumed-role/approvers/alice', at: '2025-03-01T11:30:00.000Z' }],
    hooks: [{ hook: 'integration tests', stage: 'before_traffic', phase: null, passed: true, message: '42 checks passed — tête-à-tête' }],
    drill: environment === 'pre-production' ? { passed: true, message: 'the baseline served all 1200 request(s) alone' } : null,
    ...over,
  };
}

const record = (over: Partial<HandoverRecord> = {}): HandoverRecord => ({
  model: 'builderbrain',
  version: '2.1.0',
  sha256: 'a'.repeat(64),
  from: { environment: 'staging', account: '111111111111', releaseId: 'builderbrain-2_1_0-staging' },
  to: 'pre-production',
  acceptedAt: '2025-03-01T12:05:00.000Z',
  trail: [stage('staging'), stage('pre-production')],
  ...over,
});

describe('DynamoLedger hand-over records', () => {
  it('round trip: what was put is what is got', async () => {
    const l = ledger();
    const r = record();
    await l.putHandover(r);
    expect(await l.getHandover('builderbrain', '2.1.0')).toEqual(r);
    // …and it is what admits the version's release in the receiving environment.
    const self = { ...STANDALONE_ENVIRONMENT, name: 'pre-production', index: 1, of: 3, previous: { name: 'staging', account: '111111111111' } };
    const got = await l.getHandover('builderbrain', '2.1.0');
    expect(upstreamIssue(self, { model: 'builderbrain', version: '2.1.0', artifact: { sha256: 'a'.repeat(64) } }, got)).toBeNull();
    expect(upstreamIssue(self, { model: 'builderbrain', version: '2.1.0', artifact: { sha256: 'b'.repeat(64) } }, got)).toMatch(/not b{64}/);
  });

  it('a version never handed over, or another model or version: null', async () => {
    const l = ledger();
    expect(await l.getHandover('builderbrain', '2.1.0')).toBeNull();
    await l.putHandover(record());
    expect(await l.getHandover('builderbrain', '2.1.1')).toBeNull();
    expect(await l.getHandover('builderbrain-xl', '2.1.0')).toBeNull();
  });

  it('is kept at HANDOVER#<model>#<version> / HANDOVER, the trail as JSON text', async () => {
    await ledger().putHandover(record());
    const key = ledgerKeys.handover('builderbrain', '2.1.0');
    expect(key).toEqual({ pk: 'HANDOVER#builderbrain#2.1.0', sk: 'HANDOVER' });
    const item = (await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: key.pk }, sk: { S: key.sk } } }))).Item!;
    expect(item['entity']?.S).toBe('handover');
    expect(item['sha256']?.S).toBe('a'.repeat(64));
    expect(JSON.parse(item['trailJson']!.S!)).toEqual(record().trail);
  });

  it('a second hand-over of the same version overwrites the first', async () => {
    const l = ledger();
    await l.putHandover(record());
    const again = record({ sha256: 'c'.repeat(64), from: { environment: 'staging', account: '111111111111', releaseId: 'builderbrain-2_1_0-again' }, trail: [stage('staging')] });
    await l.putHandover(again);
    expect(await l.getHandover('builderbrain', '2.1.0')).toEqual(again);
    expect((await raw.send(new ScanCommand({ TableName: table }))).Items).toHaveLength(1);
  });

  it('a trail over the item limit in UTF-8 bytes (not in UTF-16 units) is stored with its messages shortened', async () => {
    // 50 hook messages of 3,000 "€": 150,000 UTF-16 units, 450,000 UTF-8 bytes.
    const hooks = Array.from({ length: 10 }, (_, i) => ({ hook: `hook ${i}`, stage: 'during_phase', phase: 0, passed: true, message: '€'.repeat(3000) }));
    const big = record({ trail: ['staging', 'qa', 'perf', 'pre-production', 'canary'].map((e) => stage(e, { hooks })) });
    const l = ledger();
    await l.putHandover(big);
    const got = (await l.getHandover('builderbrain', '2.1.0'))!;
    expect(got.trail).toHaveLength(5);
    expect(got.trail.every((t) => t.hooks.length === 10)).toBe(true);
    for (const t of got.trail) {
      for (const h of t.hooks) {
        expect(h.message.endsWith('…')).toBe(true);
        expect(Buffer.byteLength(h.message, 'utf8')).toBeLessThanOrEqual(1024);
        expect('€'.repeat(3000).startsWith(h.message.slice(0, -1))).toBe(true);
      }
    }
    // What is not long is kept as it was.
    expect(got.trail.map((t) => ({ ...t, hooks: [] }))).toEqual(big.trail.map((t) => ({ ...t, hooks: [] })));
  });

  it('a trail that cannot fit even shortened is refused before the call, naming its size', async () => {
    const many = Array.from({ length: 4000 }, (_, i) => ({ hook: `h${i}`, stage: 'during_phase', phase: i, passed: true, message: 'ok' }));
    const huge = record({ trail: [stage('staging', { hooks: many }), stage('pre-production', { hooks: many })] });
    const err = (await ledger().putHandover(huge).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('LedgerItemTooLargeError');
    expect(err.message).toMatch(new RegExp(`hand-over record of builderbrain 2\\.1\\.0 is \\d+ bytes, over the ${LEDGER_ITEM_BUDGET_BYTES}-byte limit`));
    expect(writes).toEqual([]);
    expect(await ledger().getHandover('builderbrain', '2.1.0')).toBeNull();
  });

  it('a record that is not one is refused before any write; a stored item that is not one is not read as one', async () => {
    const l = ledger();
    await expect(l.putHandover({ ...record(), trail: [{ ...stage('staging'), outcome: 'maybe' as never }] })).rejects.toMatchObject({ name: 'InvalidInputError' });
    expect(writes).toEqual([]);
    const key = ledgerKeys.handover('builderbrain', '9.9.9');
    await raw.send(new PutItemCommand({ TableName: table, Item: { pk: { S: key.pk }, sk: { S: key.sk }, model: { S: 'builderbrain' }, trailJson: { S: '[]' } } }));
    await expect(l.getHandover('builderbrain', '9.9.9')).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('HANDOVER#builderbrain#9.9.9') });
  });
});
