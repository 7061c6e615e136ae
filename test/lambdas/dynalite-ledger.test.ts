/**
 * The DynamoDB ledger and the CLI's read paths against a DynamoDB implementation (dynalite, in
 * memory, on 127.0.0.1 and a port the system picks), on a table made from the CDK construct's own
 * definition: conditional writes, pagination, concurrency, the event sequence, the index of active
 * releases, and the item size limit.
 *
 * The server, the clients and the table are test/lambdas/dynalite-table.ts's: the client refuses, as
 * DynamoDB would, any PutItem whose item is over 400 KB in UTF-8 bytes (dynalite counts UTF-16
 * units), and every item stored is measured after each test. Every key written is also checked
 * against the partitions IAM lets the roles write (lib/audit-ledger.ts LEDGER_WRITE_PARTITIONS).
 */
import { ledgerBackend } from '../support/backend.js';
import { DeleteItemCommand, GetItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { historyCommand } from '../../cli/commands/history.js';
import { statusCommand } from '../../cli/commands/status.js';
import type { CliIO } from '../../cli/common.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { ReleaseNotFoundError } from '../../core/app/errors.js';
import type { AuditEvent, AuditLedger, StoredAuditEvent } from '../../core/ports.js';
import { looseEvent, type LooseEvent } from '../support/events.js';
import { DynamoLedger, DynamoLock } from '../../lambdas/adapters/dynamodb-ledger.js';
import { LEDGER_WRITE_PARTITIONS } from '../../lib/audit-ledger.js';
import { MemoryLedger } from '../../local/memory.js';
import { baseRecord } from '../local/ledger-fixtures.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes, wellFormed } from './dynamo-size.js';
import { startDynalite, type DynaliteLedgerTables } from './dynalite-table.js';
import { verifyChain } from '../../core/ledger-chain.js';
import { auditVerifyCommand, CHAIN_BROKEN_EXIT } from '../../cli/commands/audit.js';
import { terminal } from '../support/terminal.js';

let dynamo: DynaliteLedgerTables;
let raw: DynamoDBClient;
let doc: DynamoDBDocumentClient;
/** What the client sent: operation and key of every write. */
let writes: { op: string; pk: string }[] = [];
/** When set, every Query asks for pages of this many items (exercises LastEvaluatedKey). */
let pageSize: number | undefined;
let table = '';
let tables = 0;

const matches = (pattern: string, value: string) => (pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern);

beforeAll(async () => {
  // DynamoDB's limit in UTF-8 bytes, on the request as sent; and the keys written, for the IAM check.
  dynamo = await startDynalite((op, pk) => writes.push({ op, pk }));
  ({ raw, doc } = dynamo);
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Limit?: number };
      if (context.commandName === 'QueryCommand' && pageSize !== undefined && input.Limit === undefined) input.Limit = pageSize;
      return next(args);
    },
    { step: 'initialize', name: 'pageSize' },
  );
});

afterAll(async () => {
  await dynamo?.close();
});

beforeEach(async () => {
  table = `ledger-${++tables}`;
  writes = [];
  pageSize = undefined;
  await dynamo.createTable(table);
});

afterEach(async () => {
  // Every item stored is within DynamoDB's limit in UTF-8 bytes …
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await raw.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) expect(dynamoItemBytes(item, true), item['pk']?.S).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  // … and every write was on a partition IAM lets the roles write with that action.
  for (const w of writes) {
    const allowed = LEDGER_WRITE_PARTITIONS[w.op as keyof typeof LEDGER_WRITE_PARTITIONS];
    expect(allowed.some((p) => matches(p, w.pk)), `${w.op} on ${w.pk}`).toBe(true);
  }
});

const ledger = () => new DynamoLedger(doc, table);
const ev = (eventId: string, at: string, type: AuditEvent['type'] = 'analysis', over: Partial<LooseEvent> = {}): AuditEvent =>
  looseEvent({ releaseId: 'r-1', eventId, at, type, actor: 'step:AnalyzeCanary', detail: { n: eventId }, ...over });

function captureIO(): { io: CliIO; out: () => string } {
  let stdout = '';
  return { io: { stdout: (s) => void (stdout += s), stderr: (s) => void (stdout += s), readFile: async () => '', isTTY: false }, out: () => stdout };
}
const backendOn = (l: DynamoLedger): OperatorBackend => ledgerBackend(`table ${table}`, l);
const opts = { json: false, local: false, stack: 'BuilderBrainRelease', stateDir: '.builderbrain/local' };

describe('conditional writes', () => {
  it('one record per release, transitions only from the expected statuses, one incident, one event per eventId', async () => {
    const l = ledger();
    const r = baseRecord('r-1', '2025-03-01T10:00:00.000Z');
    expect((await l.createRelease(r)).created).toBe(true);
    expect(await l.createRelease({ ...r, version: '9.9.9' })).toMatchObject({ created: false, record: { version: '2.1.0' } });
    expect(await l.transition('r-1', ['canary'], 'rolling_back')).toMatchObject({ ok: false, record: { status: 'received' } });
    expect(await l.transition('r-1', ['received'], 'gated', { updatedAt: '2025-03-01T10:01:00.000Z' })).toMatchObject({ ok: true, record: { status: 'gated', updatedAt: '2025-03-01T10:01:00.000Z' } });
    expect(await l.transition('r-9', ['received'], 'gated')).toEqual({ ok: false, record: null });
    await expect(l.update('r-9', { weight: 1 })).rejects.toBeInstanceOf(ReleaseNotFoundError);
    expect(await l.claimIncident('r-1')).toBe(true);
    expect(await l.claimIncident('r-1')).toBe(false);
    await l.releaseIncidentClaim('r-1');
    expect(await l.claimIncident('r-1')).toBe(true);
    expect(await l.append(ev('a', '2025-03-01T10:00:00.000Z'))).toBe('appended');
    expect(await l.append(ev('a', '2025-03-01T10:09:00.000Z', 'analysis', { detail: { changed: true } }))).toBe('duplicate');
    expect(await l.timeline('r-1')).toEqual([ev('a', '2025-03-01T10:00:00.000Z')]);
    await l.putTaskToken('r-1', 0, 'tok');
    expect(await l.getTaskToken('r-1', 0)).toBe('tok');
    await l.deleteTaskToken('r-1', 0);
    expect(await l.getTaskToken('r-1', 0)).toBeNull();
  });
});

describe('pagination', () => {
  it('the timeline, the listings and the active index read every page', async () => {
    pageSize = 3;
    const l = ledger();
    for (let i = 0; i < 25; i++) await l.append(ev(`e${String(24 - i).padStart(2, '0')}`, '2025-03-01T10:00:00.000Z'));
    expect((await l.timeline('r-1')).map((e) => e.eventId)).toEqual(Array.from({ length: 25 }, (_, i) => `e${String(24 - i).padStart(2, '0')}`));
    for (let i = 0; i < 30; i++) {
      const id = `r-${String(i).padStart(2, '0')}`;
      await l.createRelease(baseRecord(id, `2025-03-01T10:${String(i).padStart(2, '0')}:00.000Z`));
      if (i % 3 !== 0) await l.transition(id, ['received'], 'rejected');
    }
    expect((await l.listActiveReleases()).map((r) => r.releaseId)).toEqual(['r-27', 'r-24', 'r-21', 'r-18', 'r-15', 'r-12', 'r-09', 'r-06', 'r-03', 'r-00']);
    expect((await l.listReleases(7)).map((r) => r.releaseId)).toEqual(['r-29', 'r-28', 'r-27', 'r-26', 'r-25', 'r-24', 'r-23']);
  });
});

describe('concurrency', () => {
  it('20 parallel lock attempts: exactly one winner, the others told who holds it', async () => {
    const lock = new DynamoLock(doc, table);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => lock.acquire('builderbrain', `r-${i}`)));
    const winners = results.flatMap((r, i) => (r.acquired ? [`r-${i}`] : []));
    expect(winners).toHaveLength(1);
    for (const r of results) if (!r.acquired) expect(r.holder).toBe(winners[0]);
    expect(await lock.holder('builderbrain')).toBe(winners[0]);
    await lock.release('builderbrain', 'r-not-the-holder');
    expect(await lock.holder('builderbrain')).toBe(winners[0]);
    expect(await lock.acquire('builderbrain', winners[0]!)).toEqual({ acquired: true });
    await lock.release('builderbrain', winners[0]!);
    expect(await lock.holder('builderbrain')).toBeNull();
  });

  it('20 parallel appends get 20 distinct, gap-free places in one unbroken hash chain; 20 parallel retries of one event store it once', async () => {
    const l = ledger();
    await Promise.all(Array.from({ length: 20 }, (_, i) => l.append(ev(`p${i}`, '2025-03-01T10:00:00.000Z'))));
    expect(new Set((await l.timeline('r-1')).map((e) => e.eventId)).size).toBe(20);
    const seqs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'RELEASE#r-1' }, sk: { S: `ID#p${i}` } } }))).Item!['seq']!.N),
    );
    expect(new Set(seqs).size).toBe(20);
    const once = await Promise.all(Array.from({ length: 20 }, () => l.append(ev('same', '2025-03-01T10:00:00.000Z'))));
    expect(once.filter((x) => x === 'appended')).toHaveLength(1);
    expect((await l.timeline('r-1')).filter((e) => e.eventId === 'same')).toHaveLength(1);
    const items = await l.chainItems('r-1');
    expect(items.map((i) => i['seq'])).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(verifyChain('r-1', items)).toMatchObject({ intact: true, events: 21 });
  });
});

describe('the timeline is in the order of the appends (the ledger\'s sequence), never the writers\' clocks', () => {
  /** The same appends on both ledgers. */
  async function both(events: AuditEvent[]): Promise<[StoredAuditEvent[], StoredAuditEvent[]]> {
    const ledgers: AuditLedger[] = [ledger(), new MemoryLedger()];
    for (const l of ledgers) for (const e of events) await l.append(e);
    return [await ledgers[0]!.timeline('r-1'), await ledgers[1]!.timeline('r-1')];
  }

  it("an approval from a laptop three minutes slow comes after the analysis it followed", async () => {
    const [dynamo, memory] = await both([
      ev('analysis:0:0060', '2025-03-01T11:00:00.000Z'),
      ev('approval_requested:0', '2025-03-01T11:00:01.000Z', 'approval_requested'),
      ev('approved:0', '2025-03-01T10:57:30.000Z', 'approved'),
    ]);
    expect(dynamo.map((e) => e.type)).toEqual(['analysis', 'approval_requested', 'approved']);
    expect(dynamo).toEqual(memory);
  });

  it('a receivedAt without fractional seconds stays before its validated', async () => {
    const [dynamo, memory] = await both([ev('received', '2025-03-01T10:00:00Z', 'received'), ev('validated', '2025-03-01T10:00:00.000Z', 'validated')]);
    expect(dynamo.map((e) => e.type)).toEqual(['received', 'validated']);
    expect(dynamo).toEqual(memory);
  });

  it('events of one instant: the local and DynamoDB ledgers agree (append order, not eventId order)', async () => {
    const [dynamo, memory] = await both(['z', 'b', 'y', 'a'].map((id) => ev(id, '2025-03-01T10:00:00.000Z')));
    expect(dynamo.map((e) => e.eventId)).toEqual(['z', 'b', 'y', 'a']);
    expect(dynamo).toEqual(memory);
  });

  it('`builderbrain history` prints the timeline in that order', async () => {
    const l = ledger();
    await l.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    await l.append(ev('analysis:0:0001', '2025-03-01T10:05:00.000Z'));
    await l.append(ev('approved:0', '2025-03-01T10:02:00.000Z', 'approved'));
    const { io, out } = captureIO();
    expect(await historyCommand(io, backendOn(l), 'r-1', { ...opts, json: true })).toBe(0);
    expect((JSON.parse(out()) as { events: AuditEvent[] }).events.map((e) => e.eventId)).toEqual(['analysis:0:0001', 'approved:0']);
  });
});

describe('the index of active releases', () => {
  it('`builderbrain status` lists a release waiting for approval after 100 newer rejected releases', async () => {
    const l = ledger();
    await l.createRelease(baseRecord('waiting', '2025-03-01T09:00:00.000Z'));
    await l.transition('waiting', ['received'], 'awaiting_approval', { phase: 0, weight: 1 });
    for (let i = 0; i < 100; i++) {
      const id = `rejected-${String(i).padStart(3, '0')}`;
      await l.createRelease(baseRecord(id, `2025-03-01T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`));
      await l.transition(id, ['received'], 'rejected');
    }
    expect((await l.listActiveReleases()).map((r) => r.releaseId)).toEqual(['waiting']);
    const { io, out } = captureIO();
    expect(await statusCommand(io, backendOn(l), undefined, opts)).toBe(0);
    expect(out()).toContain(`Releases in flight in table ${table}`);
    expect(out()).toContain('waiting waits for approval of phase 1 (1%)');
    // The ended releases carry no index key: the index holds the active ones only.
    const ended = await raw.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'STATE#rejected-000' }, sk: { S: 'RECORD' } } }));
    expect(ended.Item?.['activepk']).toBeUndefined();
    expect(ended.Item?.['status']?.S).toBe('rejected');
  });
});

describe('the item size limit, in UTF-8 bytes', () => {
  it('a rejection detail of 440 KB in bytes (260,000 characters) is stored, shrunk; the release is then rejected', async () => {
    const l = ledger();
    await l.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    const issues = Array.from({ length: 3000 }, (_, i) => ({ path: `shadowEvaluation.tests.未知字段${'键'.repeat(30)}${i}`, message: 'unknown field' }));
    const detail = { cause: 'invalid_manifest', severity: 'P3', issues };
    expect(JSON.stringify(detail).length).toBeLessThan(300_000);
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeGreaterThan(DYNAMODB_ITEM_LIMIT);
    expect(await l.append(ev('rejected', '2025-03-01T10:00:01.000Z', 'rejected', { detail }))).toBe('appended');
    expect(await l.transition('r-1', ['received'], 'rejected', { outcome: { status: 'rejected', reason: 'invalid_manifest', severity: 'P3', at: '2025-03-01T10:00:01.000Z' } })).toMatchObject({ ok: true });
    const [stored] = await l.timeline('r-1');
    expect(stored!.detail).toMatchObject({ cause: 'invalid_manifest', severity: 'P3', truncated: { originalBytes: Buffer.byteLength(JSON.stringify(detail)) } });
    expect(await l.listActiveReleases()).toEqual([]);
  });

  it('record fields too large are shortened on a character boundary', async () => {
    const l = ledger();
    await l.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    await l.update('r-1', { lastVerdict: { verdict: 'fail', summary: `x${'😀'.repeat(200_000)}`, at: '2025-03-01T10:05:00.000Z' } });
    const r = (await l.getRelease('r-1'))!;
    expect(r.lastVerdict!.summary.startsWith('x😀')).toBe(true);
    expect(wellFormed(r)).toBe(true);
  });

  it('the client here refuses what DynamoDB refuses (so the checks above mean something)', async () => {
    await expect(
      doc.send(new (await import('@aws-sdk/lib-dynamodb')).PutCommand({ TableName: table, Item: { pk: 'STATE#x', sk: 'RECORD', text: '界'.repeat(140_000) } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    writes = [];
  });
});

describe('the hash chain on a real DynamoDB protocol: `audit verify` finds an event edited in the table', () => {
  const R = 'builderbrain-2_1_0-1a2b3c4d';
  it('an event changed by someone with table access (UpdateItem outside the pipeline\'s roles) is named as the first broken link', async () => {
    const l = ledger();
    await l.createRelease(baseRecord(R, '2025-03-01T10:00:00.000Z'));
    for (let i = 1; i <= 6; i++) await l.append(ev(`analysis:0:000${i}`, `2025-03-01T10:0${i}:00.000Z`, 'analysis', { releaseId: R }));
    const backend = ledgerBackend('dynalite', l);
    const intact = terminal();
    expect(await auditVerifyCommand(intact.io, backend, R, { local: false, stack: 'S', stateDir: '.x' })).toBe(0);
    expect(intact.out.stdout).toMatch(new RegExp(`${R}: intact, 6 events, head #6 [0-9a-f]{64} \\(dynalite\\)`));

    // The fourth event's detail, rewritten in place.
    await raw.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: `RELEASE#${R}` }, sk: { S: 'EVENT#0000000004' } },
        UpdateExpression: 'SET detailJson = :d',
        ExpressionAttributeValues: { ':d': { S: '{"summary":"nothing happened"}' } },
      }),
    );
    const broken = terminal();
    expect(await auditVerifyCommand(broken.io, backend, R, { local: false, stack: 'S', stateDir: '.x', json: true })).toBe(CHAIN_BROKEN_EXIT);
    expect(JSON.parse(broken.out.stdout)).toMatchObject({ intact: false, events: 3, broken: { seq: 4, eventId: 'analysis:0:0004', problem: 'content' } });
    // What people read of the timeline is still there; only the chain tells it was changed.
    expect((await l.timeline(R)).map((e) => e.eventId)).toHaveLength(6);
    writes = [];
  });

  it('an event deleted from the table leaves a gap the verdict names', async () => {
    const l = ledger();
    await l.createRelease(baseRecord(R, '2025-03-01T10:00:00.000Z'));
    for (let i = 1; i <= 4; i++) await l.append(ev(`analysis:0:000${i}`, `2025-03-01T10:0${i}:00.000Z`, 'analysis', { releaseId: R }));
    await raw.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: `RELEASE#${R}` }, sk: { S: 'EVENT#0000000002' } } }));
    expect(verifyChain(R, await l.chainItems(R)).broken).toMatchObject({ seq: 2, problem: 'missing' });
    writes = [];
  });
});

describe('the emergency freeze item (written by operators, read by the pipeline)', () => {
  it('is absent until frozen, read back as written, removed by the unfreeze', async () => {
    const l = ledger();
    expect(await l.getFreeze()).toBeNull();
    const freeze = { reason: 'SEV-1 界', by: 'arn:aws:sts::1:assumed-role/IC/carol', at: '2026-01-05T10:00:00.000Z' };
    await l.setFreeze(freeze);
    expect(await l.getFreeze()).toEqual(freeze);
    await l.setFreeze(null);
    expect(await l.getFreeze()).toBeNull();
    // Operators' writes (CONTROL#): no pipeline role makes them, so they are not held to the roles' partitions.
    expect(writes.map((w) => w.pk)).toEqual(['CONTROL#freeze', 'CONTROL#freeze']);
    writes = [];
  });
});
