/**
 * AuditLedger and ReleaseLock on ONE DynamoDB table (single-table design).
 *
 * Table keys: `pk` (S, partition) and `sk` (S, sort). Global secondary index `gsi1`: `gsi1pk`
 * (S, partition), `gsi1sk` (S, sort), projection ALL. Items:
 *
 * | item | pk | sk | other attributes |
 * |---|---|---|---|
 * | release record | `RELEASE#<id>` | `RECORD` | the ReleaseRecord fields; `gsi1pk`='RELEASES', `gsi1sk`=receivedAt |
 * | audit event | `RELEASE#<id>` | `EVENT#<eventId>` | the AuditEvent fields, `detail` as JSON text (`detailJson`) |
 * | approval task token | `RELEASE#<id>` | `TOKEN#<phase>` | `token` |
 * | release lock | `LOCK#<model>` | `LOCK` | `holder`, `acquiredAt` |
 *
 * Why the event sort key is the eventId alone: the ledger is append-only and a retried step must
 * not record the same event twice, so an event is written with `attribute_not_exists(pk)` on a key
 * that depends only on its eventId — a condition on `EVENT#<at>#<eventId>` would not catch a retry
 * whose clock moved. The timeline is then ordered by the `at` attribute after the Query (ties keep
 * the eventId order; the use cases name same-instant events so that order is the logical one).
 *
 * Conditional writes are how the ledger keeps its promises (one record per release, transitions
 * only from the expected statuses, one incident per release, one lock holder per model);
 * ConditionalCheckFailedException is mapped to the port's domain results, never thrown.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ReleaseNotFoundError } from '../../core/app/errors.js';
import type {
  AuditEvent,
  AuditLedger,
  Clock,
  LockResult,
  ReleaseLock,
  ReleaseRecord,
  ReleaseStatus,
  TransitionResult,
} from '../../core/ports.js';
import { isAwsError, rethrow } from './aws-errors.js';

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export const keys = {
  release: (id: string) => ({ pk: `RELEASE#${id}`, sk: 'RECORD' }),
  event: (id: string, eventId: string) => ({ pk: `RELEASE#${id}`, sk: `EVENT#${eventId}` }),
  token: (id: string, phase: number) => ({ pk: `RELEASE#${id}`, sk: `TOKEN#${phase}` }),
  lock: (model: string) => ({ pk: `LOCK#${model}`, sk: 'LOCK' }),
  releasesIndex: 'RELEASES',
} as const;

/** DynamoDB items are at most 400 KB; an event's detail beyond this is summarised. */
const MAX_DETAIL_CHARS = 300_000;

const isConditionFailed = (err: unknown) => isAwsError(err, 'ConditionalCheckFailedException');

/** Drops `undefined` and turns non-finite numbers into null: what DynamoDB can store. */
const jsonSafe = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const RECORD_FIELDS = [
  'releaseId',
  'model',
  'version',
  'status',
  'artifact',
  'manifestSha256',
  'source',
  'receivedAt',
  'updatedAt',
  'canaryExecutionArn',
  'phase',
  'weight',
  'lastVerdict',
  'approvers',
  'outcome',
  'incidentPublished',
  'deployment',
  'phaseStartedAt',
] as const satisfies readonly (keyof ReleaseRecord)[];

function toRecord(item: Record<string, unknown>): ReleaseRecord {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) out[f] = item[f] ?? null;
  out.approvers = item.approvers ?? [];
  out.incidentPublished = item.incidentPublished === true;
  out.weight = typeof item.weight === 'number' ? item.weight : 0;
  return out as unknown as ReleaseRecord;
}

function toEvent(item: Record<string, unknown>): AuditEvent {
  const { releaseId, eventId, at, type, actor, weight, phase, detailJson } = item;
  return {
    releaseId: releaseId as string,
    eventId: eventId as string,
    at: at as string,
    type: type as AuditEvent['type'],
    actor: actor as string,
    ...(typeof weight === 'number' ? { weight } : {}),
    ...(typeof phase === 'number' ? { phase } : {}),
    detail: typeof detailJson === 'string' ? (JSON.parse(detailJson) as Record<string, unknown>) : {},
  };
}

type Patch = Partial<Omit<ReleaseRecord, 'releaseId' | 'status'>>;

/** `SET #n0 = :v0, …` for the defined fields of a patch (and `gsi1sk` with `receivedAt`). */
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
  for (const [k, v] of Object.entries(jsonSafe(patch))) {
    if (k === 'releaseId' || k === 'status' || k in keys.release('x')) continue;
    add(k, v);
    if (k === 'receivedAt') add(TABLE_KEYS.gsi1.sortKey, v);
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

  public async append(event: AuditEvent): Promise<'appended' | 'duplicate'> {
    let detailJson = JSON.stringify(event.detail ?? {});
    if (detailJson.length > MAX_DETAIL_CHARS) {
      detailJson = JSON.stringify({ truncated: true, originalChars: detailJson.length, preview: detailJson.slice(0, 2000) });
    }
    const { detail: _detail, ...rest } = event;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...jsonSafe(rest), ...keys.event(event.releaseId, event.eventId), entity: 'event', detailJson },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return 'appended';
    } catch (err) {
      if (isConditionFailed(err)) return 'duplicate';
      this.fail('PutItem', err);
    }
  }

  public async timeline(releaseId: string): Promise<AuditEvent[]> {
    const events = await this.queryAll(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.release(releaseId).pk, ':prefix': 'EVENT#' },
        ConsistentRead: true,
      },
      toEvent,
    );
    // Stable: ties keep the Query's (eventId) order.
    return events.sort((a, b) => a.at.localeCompare(b.at));
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
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...jsonSafe(record),
            ...keys.release(record.releaseId),
            [TABLE_KEYS.gsi1.partitionKey]: keys.releasesIndex,
            [TABLE_KEYS.gsi1.sortKey]: record.receivedAt,
            entity: 'release',
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, record };
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
    values[':to'] = to;
    from.forEach((s, i) => (values[`:from${i}`] = s));
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.release(releaseId),
          UpdateExpression: `SET ${['#status = :to', ...sets].join(', ')}`,
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
    const holder = await this.holder(model);
    return holder === null ? { acquired: false, holder: '(contended)' } : { acquired: false, holder };
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
