import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ReleaseNotFoundError } from '../../core/app/errors.js';
import { planSageMakerDeployment } from '../../core/deployment.js';
import type { AuditEvent, ReleaseRecord } from '../../core/ports.js';
import { looseEvent } from '../support/events.js';
import { DynamoLedger, DynamoLock } from '../../lambdas/adapters/dynamodb-ledger.js';
import { GENESIS_HASH, itemHash } from '../../core/ledger-chain.js';
import { eventItem } from '../../core/ledger-items.js';
import { ONE_ATTEMPT, awsError, denied } from './aws-helpers.js';

const ddb = mockClient(DynamoDBDocumentClient);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient(ONE_ATTEMPT));
const TABLE = 'bb-ledger';
const ledger = new DynamoLedger(doc, TABLE);
const lock = new DynamoLock(doc, TABLE, { now: () => new Date('2025-03-01T10:00:00.000Z') });
const ccf = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

const record: ReleaseRecord = {
  releaseId: 'r-1',
  model: 'builderbrain',
  version: '2.1.0',
  status: 'received',
  artifact: { uri: 's3://a/b', sha256: 'f'.repeat(64) },
  manifestSha256: 'e'.repeat(64),
  source: { bucket: 'bb-artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1' },
  receivedAt: '2025-03-01T10:00:00.000Z',
  updatedAt: '2025-03-01T10:00:00.000Z',
  canaryExecutionArn: null,
  phase: null,
  weight: 0,
  lastVerdict: null,
  deployment: null,
  phaseStartedAt: null,
  bake: null,
  recovery: null,
  approvers: [],
  outcome: null,
  incidentPublished: false,
};
/** What DeployCandidate records once it planned the release (core/deployment.ts planSageMakerDeployment). */
const deployment = planSageMakerDeployment(
  { exists: true, status: 'idle', config: 'bb-endpoint-2-0-3-0badf00d-s', failureReason: null, slots: [{ name: 'baseline', model: 'bb-endpoint-2-0-3-0badf00d-m', weight: 100, instanceType: 'ml.g5.xlarge', instanceCount: 1 }] },
  { endpointName: 'bb-endpoint', baselineVariant: 'baseline', canaryVariant: 'canary', releaseId: 'r-1', version: '2.1.0', artifact: record.artifact!, instanceType: 'ml.g5.xlarge', instanceCount: 1 },
);
const item = (r: ReleaseRecord) => ({ ...r, pk: `STATE#${r.releaseId}`, sk: 'RECORD', gsi1pk: 'RELEASES', gsi1sk: r.receivedAt, activepk: 'ACTIVE', entity: 'release' });

const event: AuditEvent = looseEvent({ releaseId: 'r-1', eventId: 'gate_check:0:safety', at: '2025-03-01T10:01:00.000Z', type: 'gate_check', actor: 'step:RunGates', detail: { name: 'safety', passed: true } });

beforeEach(() => {
  ddb.reset();
  // An empty release: no eventId marker, no chain yet.
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
});

const MARKER = { pk: 'RELEASE#r-1', sk: 'ID#gate_check:0:safety' };
const firstItem = eventItem(event, 1, GENESIS_HASH);

describe('DynamoLedger', () => {
  it('appends the first event as link #1 of the chain, then its eventId marker; the marker turns a retry into "duplicate"', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await ledger.append(event)).toBe('appended');
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: TABLE, Key: MARKER, ConsistentRead: true, ProjectionExpression: 'pk' });
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'RELEASE#r-1', ':prefix': 'EVENT#' },
      ScanIndexForward: false,
      ConsistentRead: true,
    });
    const [put, marker] = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(put).toEqual({
      TableName: TABLE,
      Item: {
        pk: 'RELEASE#r-1',
        sk: 'EVENT#0000000001',
        entity: 'event',
        seq: 1,
        prevHash: GENESIS_HASH,
        hash: itemHash(firstItem),
        releaseId: 'r-1',
        eventId: 'gate_check:0:safety',
        at: event.at,
        type: 'gate_check',
        actor: 'step:RunGates',
        detailJson: '{"name":"safety","passed":true}',
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(marker).toEqual({ TableName: TABLE, Item: { ...MARKER, entity: 'event_id', eventId: 'gate_check:0:safety', seq: 1 }, ConditionExpression: 'attribute_not_exists(pk)' });

    ddb.on(GetCommand, { Key: MARKER }).resolves({ Item: MARKER });
    expect(await ledger.append({ ...event, at: '2025-03-01T10:05:00.000Z' })).toBe('duplicate');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('links after the tail: the next number, the last event\'s hash', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ seq: 7, hash: 'h7', eventId: 'other' }, { seq: 6, hash: 'h6', eventId: 'older' }] });
    ddb.on(PutCommand).resolves({});
    expect(await ledger.append(event)).toBe('appended');
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ sk: 'EVENT#0000000008', seq: 8, prevHash: 'h7' });
  });

  it('a concurrent append took the number: reads the tail again and links after that event', async () => {
    ddb.on(QueryCommand).resolvesOnce({ Items: [] }).resolves({ Items: [{ seq: 1, hash: firstItem['hash'], eventId: 'someone-else' }] });
    ddb.on(PutCommand).rejectsOnce(ccf()).resolves({});
    expect(await ledger.append({ ...event, eventId: 'mine' })).toBe('appended');
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);
    expect(puts[0]).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(puts[1]).toMatchObject({ sk: 'EVENT#0000000002', seq: 2, prevHash: firstItem['hash'] });
    expect(puts[2]).toMatchObject({ sk: 'ID#mine', seq: 2 });
  });

  it('a retry after a crash between the event and its marker finds the event in the tail: duplicate, and the marker written', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ seq: 3, hash: 'h3', eventId: 'gate_check:0:safety' }] });
    ddb.on(PutCommand).resolves({});
    expect(await ledger.append(event)).toBe('duplicate');
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);
    expect(puts).toEqual([{ ...MARKER, entity: 'event_id', eventId: 'gate_check:0:safety', seq: 3 }]);
  });

  it('gives up, naming the event, when other appends keep taking the number', async () => {
    ddb.on(PutCommand).rejects(ccf());
    await expect(ledger.append(event)).rejects.toThrow(/could not append gate_check:0:safety to r-1 in 25 attempts/);
  });

  it('reads the timeline across pages, in sequence order (events from before the sequence first, by time)', async () => {
    const ev = (eventId: string, at: string, seq?: number) => ({ pk: 'RELEASE#r-1', sk: `EVENT#${eventId}`, releaseId: 'r-1', eventId, at, type: 'analysis', actor: 'a', phase: 0, weight: 1, detailJson: '{"x":1}', ...(seq === undefined ? {} : { seq }) });
    ddb.on(QueryCommand)
      .resolvesOnce({ Items: [ev('analysis:0:0002', '2025-03-01T09:02:00Z', 2), ev('analysis:0:0001', '2025-03-01T10:01:00Z', 1)], LastEvaluatedKey: { pk: 'RELEASE#r-1', sk: 'EVENT#analysis:0:0002' } })
      .resolvesOnce({ Items: [ev('received', '2025-03-01T10:00:00Z')] });
    const timeline = await ledger.timeline('r-1');
    expect(timeline.map((e) => e.eventId)).toEqual(['received', 'analysis:0:0001', 'analysis:0:0002']);
    expect(timeline[1]).toEqual({ releaseId: 'r-1', eventId: 'analysis:0:0001', at: '2025-03-01T10:01:00Z', type: 'analysis', actor: 'a', phase: 0, weight: 1, detail: { x: 1 } });
    const q = ddb.commandCalls(QueryCommand);
    expect(q[0]!.args[0].input).toMatchObject({ KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': 'RELEASE#r-1', ':prefix': 'EVENT#' }, ConsistentRead: true });
    expect(q[1]!.args[0].input.ExclusiveStartKey).toEqual({ pk: 'RELEASE#r-1', sk: 'EVENT#analysis:0:0002' });
  });

  it('creates the record once, with the listing index keys; a second create returns the stored one', async () => {
    ddb.on(PutCommand).resolvesOnce({}).rejectsOnce(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ ...record, status: 'gated' }) });
    expect(await ledger.createRelease(record)).toEqual({ created: true, record });
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input).toMatchObject({ Item: item(record), ConditionExpression: 'attribute_not_exists(pk)' });
    expect(await ledger.createRelease(record)).toEqual({ created: false, record: { ...record, status: 'gated' } });
  });

  it('transitions conditionally on the current status; the release stays in the active index', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: item({ ...record, status: 'gated', updatedAt: '2025-03-01T10:02:00.000Z' }) });
    const out = await ledger.transition('r-1', ['received'], 'gated', { updatedAt: '2025-03-01T10:02:00.000Z' });
    expect(out).toEqual({ ok: true, record: { ...record, status: 'gated', updatedAt: '2025-03-01T10:02:00.000Z' } });
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: 'STATE#r-1', sk: 'RECORD' },
      UpdateExpression: 'SET #status = :to, #active = :active, #n0 = :v0',
      ConditionExpression: 'attribute_exists(pk) AND #status IN (:from0)',
      ExpressionAttributeNames: { '#status': 'status', '#active': 'activepk', '#n0': 'updatedAt' },
      ExpressionAttributeValues: { ':to': 'gated', ':from0': 'received', ':v0': '2025-03-01T10:02:00.000Z', ':active': 'ACTIVE' },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('a transition from a status the record is not in is ok:false with the record, not an exception', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ ...record, status: 'rolled_back' }) });
    expect(await ledger.transition('r-1', ['canary'], 'rolling_back')).toEqual({ ok: false, record: { ...record, status: 'rolled_back' } });
    ddb.on(GetCommand).resolves({});
    expect(await ledger.transition('r-2', ['canary'], 'rolling_back')).toEqual({ ok: false, record: null });
  });

  it('records the planned deployment as a map and reads it back; a record from before deployments reads deployment null', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger.update('r-1', { deployment, updatedAt: '2025-03-01T10:03:00.000Z' });
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({
      UpdateExpression: 'SET #n0 = :v0, #n1 = :v1',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#n0': 'deployment', '#n1': 'updatedAt' },
      ExpressionAttributeValues: { ':v0': deployment, ':v1': '2025-03-01T10:03:00.000Z' },
    });
    const { deployment: _none, ...older } = item(record);
    ddb.on(GetCommand).resolvesOnce({ Item: item({ ...record, status: 'gated', deployment }) }).resolvesOnce({ Item: older });
    expect(await ledger.getRelease('r-1')).toEqual({ ...record, status: 'gated', deployment });
    expect(await ledger.getRelease('r-1')).toEqual({ ...record, deployment: null });
  });

  it('update of a release that does not exist is ReleaseNotFound', async () => {
    ddb.on(UpdateCommand).rejects(ccf());
    await expect(ledger.update('r-9', { weight: 1 })).rejects.toBeInstanceOf(ReleaseNotFoundError);
  });

  it('claims the incident once', async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejectsOnce(ccf());
    ddb.on(GetCommand).resolves({ Item: item({ ...record, incidentPublished: true }) });
    expect(await ledger.claimIncident('r-1')).toBe(true);
    expect(await ledger.claimIncident('r-1')).toBe(false);
    expect(ddb.commandCalls(UpdateCommand)[0]!.args[0].input.ConditionExpression).toBe('attribute_exists(pk) AND (attribute_not_exists(incidentPublished) OR incidentPublished = :f)');
  });

  it('lists releases newest first from gsi1', async () => {
    ddb.on(QueryCommand).resolves({ Items: [item(record)] });
    expect(await ledger.listReleases(20)).toEqual([record]);
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'RELEASES' }, ScanIndexForward: false, Limit: 20 });
  });

  it('pages the listing until it has `limit` releases, asking each page only for what is left', async () => {
    const r = (id: string) => item({ ...record, releaseId: id });
    ddb.on(QueryCommand)
      .resolvesOnce({ Items: [r('r-3'), r('r-2')], LastEvaluatedKey: { pk: 'STATE#r-2', sk: 'RECORD' } })
      .resolvesOnce({ Items: [r('r-1')], LastEvaluatedKey: { pk: 'STATE#r-1', sk: 'RECORD' } })
      .resolvesOnce({ Items: [r('r-0')] });
    expect((await ledger.listReleases(3)).map((x) => x.releaseId)).toEqual(['r-3', 'r-2', 'r-1']);
    const q = ddb.commandCalls(QueryCommand);
    expect(q).toHaveLength(2);
    expect(q[1]!.args[0].input).toMatchObject({ Limit: 1, ExclusiveStartKey: { pk: 'STATE#r-2', sk: 'RECORD' } });
  });

  it('stores, reads and deletes task tokens under TOKEN#<phase>', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({ Item: { token: 'tok' } });
    ddb.on(DeleteCommand).resolves({});
    await ledger.putTaskToken('r-1', 2, 'tok');
    expect(await ledger.getTaskToken('r-1', 2)).toBe('tok');
    await ledger.deleteTaskToken('r-1', 2);
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ pk: 'STATE#r-1', sk: 'TOKEN#2', token: 'tok' });
    expect(ddb.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual({ pk: 'STATE#r-1', sk: 'TOKEN#2' });
  });

  it('throttling and permanent failures propagate with the table named', async () => {
    ddb.on(PutCommand).rejectsOnce(awsError('ProvisionedThroughputExceededException', 400, 'slow down')).rejectsOnce(denied()).rejectsOnce(awsError('ValidationException', 400, 'Item size has exceeded the maximum allowed size'));
    await expect(ledger.append(event)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException', retryable: true, message: expect.stringContaining('DynamoDB.PutItem on table bb-ledger') });
    await expect(ledger.append(event)).rejects.toMatchObject({ name: 'AccessDeniedException', retryable: false });
    await expect(ledger.append(event)).rejects.toMatchObject({ name: 'ValidationException', retryable: false });
  });
});

describe('DynamoLock', () => {
  it('acquires with a conditional put (free, or already ours)', async () => {
    ddb.on(PutCommand).resolves({});
    expect(await lock.acquire('builderbrain', 'r-1')).toEqual({ acquired: true });
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: 'LOCK#builderbrain', sk: 'LOCK', entity: 'lock', model: 'builderbrain', holder: 'r-1', acquiredAt: '2025-03-01T10:00:00.000Z' },
      ConditionExpression: 'attribute_not_exists(pk) OR holder = :id',
      ExpressionAttributeValues: { ':id': 'r-1' },
    });
  });

  it('a held lock answers the holder instead of throwing', async () => {
    ddb.on(PutCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({ Item: { holder: 'r-0' } });
    expect(await lock.acquire('builderbrain', 'r-1')).toEqual({ acquired: false, holder: 'r-0' });
  });

  it('retries once when the lock was released between the put and the read', async () => {
    ddb.on(PutCommand).rejectsOnce(ccf()).resolves({});
    ddb.on(GetCommand).resolves({});
    expect(await lock.acquire('builderbrain', 'r-1')).toEqual({ acquired: true });
  });

  it('a lock that changes hands every time it is looked at is taken by a holder nobody can name (null, never an invented name)', async () => {
    ddb.on(PutCommand).rejects(ccf());
    ddb.on(GetCommand).resolves({});
    expect(await lock.acquire('builderbrain', 'r-1')).toEqual({ acquired: false, holder: null });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('releases only as the holder; not holding is not an error', async () => {
    ddb.on(DeleteCommand).resolvesOnce({}).rejectsOnce(ccf());
    await lock.release('builderbrain', 'r-1');
    await lock.release('builderbrain', 'r-1');
    expect(ddb.commandCalls(DeleteCommand)[0]!.args[0].input).toMatchObject({ Key: { pk: 'LOCK#builderbrain', sk: 'LOCK' }, ConditionExpression: 'holder = :id' });
  });

  it('reads the holder consistently', async () => {
    ddb.on(GetCommand).resolvesOnce({ Item: { holder: 'r-3' } }).resolvesOnce({});
    expect(await lock.holder('builderbrain')).toBe('r-3');
    expect(await lock.holder('builderbrain')).toBeNull();
    expect(ddb.commandCalls(GetCommand)[0]!.args[0].input.ConsistentRead).toBe(true);
  });
});
