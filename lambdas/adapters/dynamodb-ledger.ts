/**
 * AuditLedger and ReleaseLock on ONE DynamoDB table. The item layout, the size rules and the
 * partition prefixes IAM keys on are core/ledger-items.ts's (shared with the in-memory ledger and
 * the table's grants):
 *
 * | item | pk | sk | other attributes |
 * |---|---|---|---|
 * | audit event | `RELEASE#<id>` | `EVENT#<seq>` (10 digits) | the AuditEvent fields, `detail` as JSON text (`detailJson`), the chain fields `seq`, `prevHash`, `hash` (core/ledger-chain.ts) |
 * | eventId marker | `RELEASE#<id>` | `ID#<eventId>` | `eventId`, `seq`: which event holds it |
 * | release record | `STATE#<id>` | `RECORD` | the ReleaseRecord fields; `gsi1pk`='RELEASES', `gsi1sk`=receivedAt; `activepk`='ACTIVE' until the release ends |
 * | approval task token | `STATE#<id>` | `TOKEN#<phase>` | `token` |
 * | release lock | `LOCK#<model>` | `LOCK` | `holder`, `acquiredAt` |
 * | accepted hand-over | `HANDOVER#<model>#<version>` | `HANDOVER` | the HandoverRecord fields, the trail as JSON text (`trailJson`) |
 * | emergency freeze | `CONTROL#freeze` | `FREEZE` | `reason`, `by`, `at` (present while frozen) |
 *
 * Indexes: `gsi1` (`gsi1pk`, `gsi1sk`): every release, newest first; `active` (`activepk`,
 * `gsi1sk`, sparse): the releases not yet ended — `status` lists them however many ended since.
 *
 * **Order and the hash chain.** The timeline is in the order the ledger recorded the events, never
 * the writers' clocks: each event's key is its position in the release's chain, and it carries the
 * hash of the event before it (core/ledger-chain.ts; `builderbrain audit verify`). An append reads
 * the chain's tail and puts the next position on condition it is free (see {@link DynamoLedger.append}):
 * concurrent appends get distinct, gap-free numbers, and a retried step finds its eventId's marker.
 *
 * **Size.** Every write is measured before it is sent (DynamoDB's 400 KB item limit, in UTF-8
 * bytes): an event's detail is shrunk to fit, each record field is capped (core/ledger-items.ts).
 *
 * Conditional writes are how the ledger keeps its promises (one record per release, transitions
 * only from the expected statuses, one incident per release, one lock holder per model, one event
 * per eventId); ConditionalCheckFailedException is mapped to the port's domain results, never thrown.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ReleaseNotFoundError } from '../../core/app/errors.js';
import { GENESIS_HASH } from '../../core/ledger-chain.js';
import {
  assertItemFits,
  EVENT_SK_PREFIX,
  eventItem,
  eventMarkerItem,
  eventOf,
  freezeItem,
  freezeOf,
  fitRecordPatch,
  handoverItem,
  handoverOf,
  LEDGER_TABLE,
  ledgerKeys,
  readRecord,
  RECORD_FIELDS,
  recordItem,
  sortTimelineItems,
} from '../../core/ledger-items.js';
import { isTerminal } from '../../core/lifecycle.js';
import { ReleaseRecordSchema } from '../../core/release-record.js';
import type { HandoverRecord } from '../../core/handover.js';
import type { Freeze } from '../../core/freeze.js';
import type {
  AuditEvent,
  AuditLedger,
  Clock,
  LockResult,
  RecordPatch,
  ReleaseLock,
  ReleaseRecord,
  ReleaseStatus,
  StoredAuditEvent,
  TransitionResult,
} from '../../core/ports.js';
import { isAwsError, rethrow } from './aws-errors.js';

export const TABLE_KEYS = LEDGER_TABLE;
export const keys = ledgerKeys;

const isConditionFailed = (err: unknown) => isAwsError(err, 'ConditionalCheckFailedException');

/**
 * How many of the newest events an append reads: a retried step whose event went in but whose
 * marker did not (a crash between the two writes) finds its eventId among them.
 */
const TAIL_WINDOW = 10;
/** Appends racing for the same number retry; each attempt loses only to an append that succeeded. */
const MAX_APPEND_ATTEMPTS = 25;

/** The record's fields a stored item may lack that read as null (the others, such as `incidents`, stay absent). */
const NULL_WHEN_ABSENT: ReadonlySet<string> = new Set(RECORD_FIELDS.filter((f) => ReleaseRecordSchema.shape[f].safeParse(null).success));

/** The record an item holds, read through the record's schema (absent nullable fields as null). */
function toRecord(item: Record<string, unknown>): ReleaseRecord {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) {
    if (item[f] !== undefined && item[f] !== null) out[f] = item[f];
    else if (NULL_WHEN_ABSENT.has(f)) out[f] = null;
  }
  out.approvers = item.approvers ?? [];
  out.incidentPublished = item.incidentPublished === true;
  out.weight = typeof item.weight === 'number' ? item.weight : 0;
  return readRecord(out);
}

type Patch = RecordPatch;

/** `SET #n0 = :v0, …` for the record fields of a patch, each fitted (and `gsi1sk` with `receivedAt`). */
function setExpression(patch: Record<string, unknown>) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  let i = 0;
  const add = (name: string, value: unknown) => {
    names[`#n${i}`] = name;
    values[`:v${i}`] = value;
    sets.push(`#n${i} = :v${i}`);
    i++;
  };
  const fitted = fitRecordPatch(patch);
  // Each field is capped, so the record stays within the item limit whatever was set before.
  assertItemFits('release record update', fitted);
  for (const [k, v] of Object.entries(fitted)) {
    add(k, v);
    if (k === 'receivedAt') add(LEDGER_TABLE.gsi1.sortKey, v);
  }
  return { names, values, sets };
}

export class DynamoLedger implements AuditLedger {
  public constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private fail(operation: string, err: unknown): never {
    rethrow(`DynamoDB.${operation}`, `table ${this.tableName}`, err);
  }

  /**
   * Appends the event as the next link of the release's hash chain (core/ledger-chain.ts):
   *
   * 1. the eventId's marker (`ID#<eventId>`) there: a retried step, `duplicate`;
   * 2. read the chain's tail (the last {@link TAIL_WINDOW} events, newest first); the eventId among
   *    them: `duplicate` (a retry after a crash between the event and its marker);
   * 3. put the event as number n+1 after the tail's hash, on condition that number n+1 does not
   *    exist. The key is the chain position, so of two concurrent appends exactly one gets it; the
   *    other reads the tail again and links after it. No gap, no fork, one event per eventId;
   * 4. put the marker.
   */
  public async append(event: AuditEvent): Promise<'appended' | 'duplicate'> {
    if (await this.exists(keys.eventMarker(event.releaseId, event.eventId))) return 'duplicate';
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const tail = await this.tail(event.releaseId);
      const same = tail.find((t) => t.eventId === event.eventId);
      if (same !== undefined) {
        await this.putMarker(event.releaseId, event.eventId, same.seq);
        return 'duplicate';
      }
      const seq = (tail[0]?.seq ?? 0) + 1;
      const item = eventItem(event, seq, tail[0]?.hash ?? GENESIS_HASH);
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      } catch (err) {
        if (!isConditionFailed(err)) this.fail('PutItem', err);
        // Another append took number `seq`: link after it.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        continue;
      }
      await this.putMarker(event.releaseId, event.eventId, seq);
      return 'appended';
    }
    throw new Error(`DynamoDB ledger: could not append ${event.eventId} to ${event.releaseId} in ${MAX_APPEND_ATTEMPTS} attempts (other appends kept taking the next number)`);
  }

  /** Whether an item exists (consistent read). */
  private async exists(key: Record<string, string>): Promise<boolean> {
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ProjectionExpression: 'pk' }));
      return out.Item !== undefined;
    } catch (err) {
      this.fail('GetItem', err);
    }
  }

  /** The marker of an eventId; an existing one (a concurrent retry) is fine. */
  private async putMarker(releaseId: string, eventId: string, seq: number): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: eventMarkerItem(releaseId, eventId, seq), ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('PutItem', err);
    }
  }

  /** The chain position, hash and eventId of the release's last {@link TAIL_WINDOW} events, newest first. */
  private async tail(releaseId: string): Promise<{ seq: number; hash: string; eventId: string }[]> {
    let page;
    try {
      page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keys.audit(releaseId), ':prefix': EVENT_SK_PREFIX },
          ExpressionAttributeNames: { '#seq': 'seq', '#hash': 'hash' },
          ProjectionExpression: '#seq, #hash, eventId',
          ScanIndexForward: false,
          Limit: TAIL_WINDOW,
          ConsistentRead: true,
        }),
      );
    } catch (err) {
      this.fail('Query', err);
    }
    return (page.Items ?? []).map((i) => ({ seq: Number(i['seq']), hash: String(i['hash']), eventId: String(i['eventId']) }));
  }

  /** Every event of the release, in sequence order (the order the ledger recorded them). */
  public async timeline(releaseId: string): Promise<StoredAuditEvent[]> {
    return (await this.chainItems(releaseId)).map(eventOf);
  }

  /** The release's event items as stored, in chain order (what `audit verify` checks). */
  public async chainItems(releaseId: string): Promise<Record<string, unknown>[]> {
    const items = await this.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.audit(releaseId), ':prefix': EVENT_SK_PREFIX },
        ConsistentRead: true,
      },
      (item) => item,
    );
    return sortTimelineItems(items);
  }

  public async getFreeze(): Promise<Freeze | null> {
    let out;
    try {
      out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.freeze(), ConsistentRead: true }));
    } catch (err) {
      this.fail('GetItem', err);
    }
    return out.Item === undefined ? null : freezeOf(out.Item);
  }

  public async setFreeze(freeze: Freeze | null): Promise<void> {
    try {
      if (freeze === null) await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: keys.freeze() }));
      else await this.doc.send(new PutCommand({ TableName: this.tableName, Item: freezeItem(freeze) }));
    } catch (err) {
      this.fail(freeze === null ? 'DeleteItem' : 'PutItem', err);
    }
  }

  /** Every page of a Query on the table (up to `limit` items), each item mapped. */
  private async queryAll<T>(
    input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'Limit'>,
    map: (item: Record<string, unknown>) => T,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<T[]> {
    const out: T[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      let page;
      try {
        page = await this.doc.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ...(Number.isFinite(limit) ? { Limit: limit - out.length } : {}),
            ExclusiveStartKey: start,
          }),
        );
      } catch (err) {
        this.fail('Query', err);
      }
      for (const item of page.Items ?? []) out.push(map(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && out.length < limit);
    return out.slice(0, limit);
  }

  public async createRelease(record: ReleaseRecord): Promise<{ created: boolean; record: ReleaseRecord }> {
    const item = recordItem(record);
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      return { created: true, record: toRecord(item) };
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('PutItem', err);
    }
    const stored = await this.getRelease(record.releaseId);
    return { created: false, record: stored ?? record };
  }

  public async getRelease(releaseId: string): Promise<ReleaseRecord | null> {
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.release(releaseId), ConsistentRead: true }));
      return out.Item === undefined ? null : toRecord(out.Item);
    } catch (err) {
      this.fail('GetItem', err);
    }
  }

  public async transition(releaseId: string, from: readonly ReleaseStatus[], to: ReleaseStatus, patch: Patch = {}): Promise<TransitionResult> {
    if (from.length === 0) return { ok: false, record: await this.getRelease(releaseId) };
    const { names, values, sets } = setExpression(patch);
    names['#status'] = 'status';
    names['#active'] = TABLE_KEYS.active.partitionKey;
    values[':to'] = to;
    from.forEach((s, i) => (values[`:from${i}`] = s));
    // The active-releases index holds a release until its terminal transition removes the key.
    let expression: string;
    if (isTerminal(to)) {
      expression = `SET ${['#status = :to', ...sets].join(', ')} REMOVE #active`;
    } else {
      values[':active'] = keys.activeIndex;
      expression = `SET ${['#status = :to', '#active = :active', ...sets].join(', ')}`;
    }
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(releaseId),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(pk) AND #status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, record: toRecord(out.Attributes ?? {}) };
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('UpdateItem', err);
    }
    return { ok: false, record: await this.getRelease(releaseId) };
  }

  public async update(releaseId: string, patch: Patch): Promise<void> {
    const { names, values, sets } = setExpression(patch);
    if (sets.length === 0) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(releaseId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new ReleaseNotFoundError(releaseId);
      this.fail('UpdateItem', err);
    }
  }

  /**
   * Sets `incidentPublished` only while it is false. A release without a record cannot be claimed
   * for; that answers true (page) rather than keep an incident silent.
   */
  public async claimIncident(releaseId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(releaseId),
          UpdateExpression: 'SET incidentPublished = :t',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(incidentPublished) OR incidentPublished = :f)',
          ExpressionAttributeValues: { ':t': true, ':f': false },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('UpdateItem', err);
    }
    return (await this.getRelease(releaseId)) === null;
  }

  public async releaseIncidentClaim(releaseId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(releaseId),
          UpdateExpression: 'SET incidentPublished = :f',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':f': false },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('UpdateItem', err);
    }
  }

  /** Newest first, from the `gsi1` index (eventually consistent). */
  public async listReleases(limit: number): Promise<ReleaseRecord[]> {
    return this.queryAll(
      {
        IndexName: TABLE_KEYS.gsi1.indexName,
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.releasesIndex },
        ScanIndexForward: false,
      },
      toRecord,
      limit,
    );
  }

  /**
   * The releases not yet ended, newest first, from the sparse `active` index (eventually consistent:
   * a release that ended a moment ago may still be listed with its terminal status, so it is
   * filtered out here; one created a moment ago may not be yet).
   */
  public async listActiveReleases(): Promise<ReleaseRecord[]> {
    const records = await this.queryAll(
      {
        IndexName: TABLE_KEYS.active.indexName,
        KeyConditionExpression: '#active = :a',
        ExpressionAttributeNames: { '#active': TABLE_KEYS.active.partitionKey },
        ExpressionAttributeValues: { ':a': keys.activeIndex },
        ScanIndexForward: false,
      },
      toRecord,
    );
    return records.filter((r) => !isTerminal(r.status));
  }

  public async putTaskToken(releaseId: string, phase: number, token: string): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...keys.token(releaseId, phase), entity: 'task_token', releaseId, phase, token } }));
    } catch (err) {
      this.fail('PutItem', err);
    }
  }

  public async getTaskToken(releaseId: string, phase: number): Promise<string | null> {
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.token(releaseId, phase), ConsistentRead: true }));
      return typeof out.Item?.token === 'string' ? out.Item.token : null;
    } catch (err) {
      this.fail('GetItem', err);
    }
  }

  public async deleteTaskToken(releaseId: string, phase: number): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: keys.token(releaseId, phase) }));
    } catch (err) {
      this.fail('DeleteItem', err);
    }
  }

  /**
   * Puts the hand-over's item (overwriting an earlier one of the same version: the latest accepted
   * hand-over is what admits the release). Validated and measured before the call: a trail too large
   * even with its messages shortened is refused naming its size (core/ledger-items.ts handoverItem).
   */
  public async putHandover(record: HandoverRecord): Promise<void> {
    const item = handoverItem(record);
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
    } catch (err) {
      this.fail('PutItem', err);
    }
  }

  public async getHandover(model: string, version: string): Promise<HandoverRecord | null> {
    let item: Record<string, unknown> | undefined;
    try {
      item = (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.handover(model, version), ConsistentRead: true }))).Item;
    } catch (err) {
      this.fail('GetItem', err);
    }
    return item === undefined ? null : handoverOf(item);
  }
}

/** One release per model: a conditional put on `LOCK#<model>`. */
export class DynamoLock implements ReleaseLock {
  public constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  private fail(operation: string, err: unknown): never {
    rethrow(`DynamoDB.${operation}`, `table ${this.tableName}`, err);
  }

  /** Succeeds when the lock is free or already ours (a retried step). */
  public async acquire(model: string, releaseId: string): Promise<LockResult> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...keys.lock(model), entity: 'lock', model, holder: releaseId, acquiredAt: this.clock.now().toISOString() },
            ConditionExpression: 'attribute_not_exists(pk) OR holder = :id',
            ExpressionAttributeValues: { ':id': releaseId },
          }),
        );
        return { acquired: true };
      } catch (err) {
        if (!isConditionFailed(err)) this.fail('PutItem', err);
      }
      const holder = await this.holder(model);
      if (holder !== null) return { acquired: false, holder };
      // Released between our put and our read: try once more.
    }
    // Taken, released and taken again while we looked: the lock is taken, by a release nobody can name.
    return { acquired: false, holder: await this.holder(model) };
  }

  public async release(model: string, releaseId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.lock(model),
          ConditionExpression: 'holder = :id',
          ExpressionAttributeValues: { ':id': releaseId },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) this.fail('DeleteItem', err);
    }
  }

  public async holder(model: string): Promise<string | null> {
    try {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.lock(model), ConsistentRead: true }));
      return typeof out.Item?.holder === 'string' ? out.Item.holder : null;
    } catch (err) {
      this.fail('GetItem', err);
    }
  }
}
