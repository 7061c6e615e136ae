/**
 * In-memory implementations of every port (core/ports.ts): the embedded runtime runs the real
 * handlers on them, and the use-case tests use them. Deterministic: nothing reads the wall clock
 * (time comes from a {@link ManualClock}), and every stored value is copied in and out, so a
 * caller cannot change the "database" by mutating what it got back.
 */
import { HandoverRecordSchema, type HandoverRecord } from '../core/handover.js';
import { freezeItem, freezeOf, handoverItem, handoverOf } from '../core/ledger-items.js';
import type { Freeze } from '../core/freeze.js';
import { createHash } from 'node:crypto';
import type { MinuteDatapoint, VariantMinute } from '../core/analysis.js';
import type { ArtifactFacts } from '../core/deployment.js';
import { NothingWaitingError, ReleaseNotFoundError } from '../core/app/errors.js';
import { GENESIS_HASH } from '../core/ledger-chain.js';
import { reportWriteIssue } from '../core/post-rollback.js';
import { eventItem, eventOf, fitRecord, patchedRecord, recordItem, sortTimelineItems } from '../core/ledger-items.js';
import { isTerminal } from '../core/lifecycle.js';
import { datapointOf, type EmittedMinute } from './cloudwatch.js';
import type {
  ArtifactStore,
  AuditEvent,
  AuditLedger,
  Clock,
  Executions,
  LockResult,
  MetricsQuery,
  MetricsSource,
  Notification,
  Notifier,
  RecordPatch,
  ReleaseLock,
  ReleaseRecord,
  ReleaseStatus,
  StoredAuditEvent,
  TrafficRouter,
  TrafficSplit,
  TransitionResult,
} from '../core/ports.js';

const copy = <T>(value: T): T => structuredClone(value);
/** A copy of a variant's minute (flat but for `latencyAbove`), cheaper than structuredClone. */
const fresh = (v: VariantMinute): VariantMinute => (v.latencyAbove === undefined ? { ...v } : { ...v, latencyAbove: { ...v.latencyAbove } });


/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private current: number;

  public constructor(start: Date | string = '2025-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  public now(): Date {
    return new Date(this.current);
  }

  public set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }

  public advance(ms: number): void {
    this.current += ms;
  }

  public advanceMinutes(minutes: number): void {
    this.advance(minutes * 60_000);
  }
}

/**
 * Audit ledger, release records, incident claims and task tokens — kept as the DynamoDB ledger keeps
 * them (core/ledger-items.ts): events numbered per release in append order and returned in that
 * order; every item measured against DynamoDB's 400 KB limit in UTF-8 bytes, an event's detail and
 * a record's fields fitted as the DynamoDB adapter fits them, and a write whose item would still be
 * over refused with the error DynamoDB would give. Tests of the use cases on it see what a real
 * table would accept.
 */
export class MemoryLedger implements AuditLedger {
  /** Each release's event items as the DynamoDB ledger stores them (hash-chained), in chain order. */
  private readonly items = new Map<string, Record<string, unknown>[]>();
  private readonly records = new Map<string, ReleaseRecord>();
  private readonly tokens = new Map<string, string>();

  /** Links the event after the release's last one (as the DynamoDB ledger does) unless its eventId is there. */
  public async append(event: AuditEvent): Promise<'appended' | 'duplicate'> {
    const list = this.items.get(event.releaseId) ?? [];
    if (list.some((i) => i['eventId'] === event.eventId)) return 'duplicate';
    const last = list.at(-1);
    const item = eventItem(event, (last === undefined ? 0 : Number(last['seq'])) + 1, last === undefined ? GENESIS_HASH : String(last['hash']));
    eventOf(item);
    list.push(item);
    this.items.set(event.releaseId, list);
    return 'appended';
  }

  /**
   * Puts back an event item exactly as a ledger stored it (a saved state: local/state-dir.ts), after
   * those of its release so far: nothing is re-hashed, so a changed item stays detectably changed.
   */
  public restoreItem(releaseId: string, item: Record<string, unknown>): void {
    const list = this.items.get(releaseId) ?? [];
    list.push(copy(item));
    this.items.set(releaseId, list);
  }

  /** In sequence order: the order of the appends, whatever the events' `at`. */
  public async timeline(releaseId: string): Promise<StoredAuditEvent[]> {
    return (await this.chainItems(releaseId)).map(eventOf);
  }

  public async chainItems(releaseId: string): Promise<Record<string, unknown>[]> {
    return sortTimelineItems((this.items.get(releaseId) ?? []).map(copy));
  }

  public async createRelease(record: ReleaseRecord): Promise<{ created: boolean; record: ReleaseRecord }> {
    const existing = this.records.get(record.releaseId);
    if (existing !== undefined) return { created: false, record: copy(existing) };
    recordItem(record);
    const stored = fitRecord(record);
    this.records.set(record.releaseId, stored);
    return { created: true, record: copy(stored) };
  }

  public async getRelease(releaseId: string): Promise<ReleaseRecord | null> {
    const r = this.records.get(releaseId);
    return r === undefined ? null : copy(r);
  }

  /** Stores `next` if its item is within DynamoDB's limit (throws as DynamoDB would otherwise). */
  private store(next: ReleaseRecord): ReleaseRecord {
    recordItem(next);
    this.records.set(next.releaseId, next);
    return next;
  }

  public async transition(releaseId: string, from: readonly ReleaseStatus[], to: ReleaseStatus, patch: RecordPatch = {}): Promise<TransitionResult> {
    const r = this.records.get(releaseId);
    if (r === undefined) return { ok: false, record: null };
    if (!from.includes(r.status)) return { ok: false, record: copy(r) };
    const next = this.store(patchedRecord(r, patch, to));
    return { ok: true, record: copy(next) };
  }

  public async update(releaseId: string, patch: RecordPatch): Promise<void> {
    const r = this.records.get(releaseId);
    if (r === undefined) throw new ReleaseNotFoundError(releaseId);
    this.store(patchedRecord(r, patch));
  }

  /** A release without a record cannot be claimed for; it pages rather than stays silent. */
  public async claimIncident(releaseId: string): Promise<boolean> {
    const r = this.records.get(releaseId);
    if (r === undefined) return true;
    if (r.incidentPublished) return false;
    this.records.set(releaseId, { ...r, incidentPublished: true });
    return true;
  }

  public async releaseIncidentClaim(releaseId: string): Promise<void> {
    const r = this.records.get(releaseId);
    if (r !== undefined) this.records.set(releaseId, { ...r, incidentPublished: false });
  }

  public async listReleases(limit: number): Promise<ReleaseRecord[]> {
    return [...this.records.values()]
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt))
      .slice(0, limit)
      .map(copy);
  }

  /** The releases not yet ended, newest first (the DynamoDB ledger's sparse `active` index). */
  public async listActiveReleases(): Promise<ReleaseRecord[]> {
    return [...this.records.values()]
      .filter((r) => !isTerminal(r.status))
      .sort((a, b) => b.receivedAt.localeCompare(a.receivedAt))
      .map(copy);
  }

  public async putTaskToken(releaseId: string, phase: number, token: string): Promise<void> {
    this.tokens.set(`${releaseId}#${phase}`, token);
  }

  public async getTaskToken(releaseId: string, phase: number): Promise<string | null> {
    return this.tokens.get(`${releaseId}#${phase}`) ?? null;
  }

  public async deleteTaskToken(releaseId: string, phase: number): Promise<void> {
    this.tokens.delete(`${releaseId}#${phase}`);
  }
  private freeze: Freeze | null = null;

  public async getFreeze(): Promise<Freeze | null> {
    return this.freeze === null ? null : copy(this.freeze);
  }

  /** Through the DynamoDB item layout: the same validation and limits. */
  public async setFreeze(freeze: Freeze | null): Promise<void> {
    this.freeze = freeze === null ? null : freezeOf(freezeItem(freeze));
  }

  private readonly handovers = new Map<string, HandoverRecord>();

  public async putHandover(record: HandoverRecord): Promise<void> {
    // Through the DynamoDB item layout: the same validation, the same shrinking of a large trail, the same refusal.
    this.handovers.set(`${record.model}@${record.version}`, handoverOf(handoverItem(HandoverRecordSchema.parse(record))));
  }

  public async getHandover(model: string, version: string): Promise<HandoverRecord | null> {
    const r = this.handovers.get(`${model}@${version}`);
    return r === undefined ? null : structuredClone(r);
  }

}

/** One lock per model. */
export class MemoryLock implements ReleaseLock {
  private readonly holders = new Map<string, string>();

  public async acquire(model: string, releaseId: string): Promise<LockResult> {
    const holder = this.holders.get(model);
    if (holder !== undefined && holder !== releaseId) return { acquired: false, holder };
    this.holders.set(model, releaseId);
    return { acquired: true };
  }

  public async release(model: string, releaseId: string): Promise<void> {
    if (this.holders.get(model) === releaseId) this.holders.delete(model);
  }

  public async holder(model: string): Promise<string | null> {
    return this.holders.get(model) ?? null;
  }
}

/** Records every notification; `onPublish` may throw to simulate an SNS outage. */
export class MemoryNotifier implements Notifier {
  public readonly notifications: Notification[] = [];

  public constructor(private readonly onPublish: (n: Notification) => void = () => {}) {}

  public async publish(notification: Notification): Promise<void> {
    this.onPublish(notification);
    this.notifications.push(copy(notification));
  }

  /** The notifications of one channel. */
  public of(channel: Notification['channel']): Notification[] {
    return this.notifications.filter((n) => n.channel === channel);
  }
}

export type RouterOperation = 'setCandidateWeight' | 'promoteCandidate' | 'restoreBaseline';

/**
 * Traffic split per model (a model never routed is 100% baseline), with a log of every change.
 * `fail` may return an error for an operation, to simulate a router outage.
 */
export class MemoryRouter implements TrafficRouter {
  private readonly splits = new Map<string, TrafficSplit>();
  public readonly log: { op: RouterOperation; model: string; weight?: number }[] = [];

  public constructor(private readonly fail: (op: RouterOperation, model: string) => Error | undefined = () => undefined) {}

  private check(op: RouterOperation, model: string): void {
    const err = this.fail(op, model);
    if (err !== undefined) throw err;
  }

  public async setCandidateWeight(model: string, weight: number): Promise<void> {
    this.check('setCandidateWeight', model);
    this.splits.set(model, { baseline: 100 - weight, candidate: weight });
    this.log.push({ op: 'setCandidateWeight', model, weight });
  }

  public async current(model: string): Promise<TrafficSplit> {
    return { ...(this.splits.get(model) ?? { baseline: 100, candidate: 0 }) };
  }

  /** Promotion: the candidate serves 100% (as the SageMaker adapter leaves the endpoint); it is the new baseline. */
  public async promoteCandidate(model: string): Promise<void> {
    this.check('promoteCandidate', model);
    this.splits.set(model, { baseline: 0, candidate: 100 });
    this.log.push({ op: 'promoteCandidate', model });
  }

  public async restoreBaseline(model: string): Promise<void> {
    this.check('restoreBaseline', model);
    this.splits.set(model, { baseline: 100, candidate: 0 });
    this.log.push({ op: 'restoreBaseline', model });
  }
}

/** Starts an execution; returns its ARN. The embedded runtime plugs its interpreter in here. */
export type ExecutionStarter = (name: string, input: unknown) => string | Promise<string>;

export interface ExecutionRecord {
  readonly name: string;
  readonly executionArn: string;
  readonly input: unknown;
  status: 'RUNNING' | 'STOPPED';
  stopCause: string | null;
}

export type TaskAnswer =
  | { readonly token: string; readonly kind: 'success'; readonly output: unknown }
  | { readonly token: string; readonly kind: 'failure'; readonly error: string; readonly cause: string };

export interface MemoryExecutionsOptions {
  /** Gives a started execution its ARN (the embedded runtime starts its interpreter here). */
  readonly starter?: ExecutionStarter;
  /** Delivers a task-token answer (the embedded runtime resumes the waiting task); may throw. */
  readonly onAnswer?: (answer: TaskAnswer) => void | Promise<void>;
  /** Told of a stop once it is recorded (the embedded runtime aborts the execution's interpreter). */
  readonly onStop?: (executionArn: string, cause: string) => void | Promise<void>;
}

/**
 * Executions by name (a name is started once), stops, and the answers sent to task tokens. A token
 * is answered at most once: a second answer is {@link NothingWaitingError}, as Step Functions'
 * TaskDoesNotExist / TaskTimedOut.
 */
export class MemoryExecutions implements Executions {
  public readonly executions = new Map<string, ExecutionRecord>();
  public readonly stopped: { executionArn: string; cause: string }[] = [];
  public readonly answers: TaskAnswer[] = [];
  private readonly starter: ExecutionStarter;
  private readonly onAnswer: (answer: TaskAnswer) => void | Promise<void>;
  private readonly onStop: (executionArn: string, cause: string) => void | Promise<void>;

  public constructor(options: MemoryExecutionsOptions = {}) {
    this.starter = options.starter ?? ((name) => `arn:aws:states:local:000000000000:execution:promotion:${name}`);
    this.onAnswer = options.onAnswer ?? (() => {});
    this.onStop = options.onStop ?? (() => {});
  }

  public async start(name: string, input: unknown): Promise<{ executionArn: string; duplicate: boolean }> {
    const existing = this.executions.get(name);
    if (existing !== undefined) return { executionArn: existing.executionArn, duplicate: true };
    const executionArn = await this.starter(name, copy(input));
    this.executions.set(name, { name, executionArn, input: copy(input), status: 'RUNNING', stopCause: null });
    return { executionArn, duplicate: false };
  }

  public async stop(executionArn: string, cause: string): Promise<void> {
    this.stopped.push({ executionArn, cause });
    for (const e of this.executions.values()) {
      if (e.executionArn === executionArn && e.status === 'RUNNING') {
        e.status = 'STOPPED';
        e.stopCause = cause;
      }
    }
    await this.onStop(executionArn, cause);
  }

  public async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    await this.answer({ token, kind: 'success', output: copy(output) });
  }

  public async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    await this.answer({ token, kind: 'failure', error, cause });
  }

  private async answer(answer: TaskAnswer): Promise<void> {
    if (this.answers.some((a) => a.token === answer.token)) {
      throw new NothingWaitingError('(unknown)', 'the task token was already answered');
    }
    await this.onAnswer(answer);
    this.answers.push(answer);
  }
}

/** Manifests (and other objects) by `bucket/key` and version; model artifacts by their facts. */
export class MemoryArtifactStore implements ArtifactStore {
  private readonly objects = new Map<string, string>();
  private readonly artifacts = new Map<string, ArtifactFacts>();

  /**
   * Stores a model artifact: its bytes (hashed here), or — for simulated gigabytes — its size and
   * SHA-256 as S3 would report a full-object checksum.
   */
  public putArtifact(bucket: string, key: string, content: Uint8Array | { size: number; sha256: string }, versionId: string | null = null): void {
    const facts: ArtifactFacts =
      content instanceof Uint8Array
        ? { exists: true, size: content.byteLength, versionId, sha256: createHash('sha256').update(content).digest('hex'), digestSource: 'computed' }
        : { exists: true, size: content.size, versionId, sha256: content.sha256, digestSource: 'checksum' };
    this.artifacts.set(`${bucket}/${key}`, facts);
  }

  /** The stored facts of an artifact, if any (synchronous, for the simulator). */
  public peekArtifact(bucket: string, key: string): ArtifactFacts | null {
    const facts = this.artifacts.get(`${bucket}/${key}`);
    return facts === undefined ? null : copy(facts);
  }

  public async describeArtifact(location: { bucket: string; key: string }): Promise<ArtifactFacts> {
    return copy(this.artifacts.get(`${location.bucket}/${location.key}`) ?? { exists: false, size: null, versionId: null, sha256: null, digestSource: null });
  }

  /** The pipeline's own report (the post-rollback analysis), refused as the S3 adapter refuses it (core/post-rollback.ts reportWriteIssue). */
  public async putReport(location: { bucket: string; key: string }, text: string, maxBytes: number): Promise<{ bytes: number }> {
    const { bytes, issue } = reportWriteIssue(location.key, text, maxBytes);
    if (issue !== null) throw new Error(`ReportRefused: s3://${location.bucket}/${location.key}: ${issue}`);
    this.put(location.bucket, location.key, text);
    return { bytes };
  }

  /** Stores `text` at `bucket/key`, as version `versionId` (null: the unversioned object). */
  public put(bucket: string, key: string, text: string, versionId: string | null = null): void {
    this.objects.set(`${bucket}/${key}#${versionId ?? ''}`, text);
  }

  public async getObjectText(
    source: { bucket: string; key: string; versionId: string | null },
    maxBytes: number,
  ): Promise<{ text: string; tooLarge: boolean; size: number }> {
    const text = this.objects.get(`${source.bucket}/${source.key}#${source.versionId ?? ''}`);
    if (text === undefined) {
      throw new Error(`NoSuchKey: s3://${source.bucket}/${source.key}${source.versionId ? ` (version ${source.versionId})` : ''} does not exist`);
    }
    const size = Buffer.byteLength(text, 'utf8');
    return size > maxBytes ? { text: '', tooLarge: true, size } : { text, tooLarge: false, size };
  }
}

/** A minute of both variants, at an absolute time (the start of its minute). */
export interface StoredMinute {
  readonly at: Date;
  readonly canary: VariantMinute;
  readonly baseline: VariantMinute;
  /** What the fleet emitted that minute, when known: percentile ranks are computed from it. */
  readonly emitted: EmittedMinute | null;
}

const MINUTE = 60_000;

/**
 * Per-model, per-minute metrics, as CloudWatch would hold them. `window` answers like the
 * CloudWatch adapter: the minutes in [from, to) aligned to whole minutes, `minute` counted from
 * `from`'s minute, minutes without data left out; with latency thresholds, the values above them
 * from the emitted distributions (local/cloudwatch.ts latencyAbove, as PR(:T) gives them).
 */
export class MemoryMetricsSource implements MetricsSource {
  private readonly byModel = new Map<string, Map<number, StoredMinute>>();
  /**
   * A stored minute's variants as read with given thresholds: each look reads its whole phase again,
   * and the percentiles of every minute were most of a simulation's time. A minute stored again is a
   * new object, so its entry goes with the old one.
   */
  private readonly read = new WeakMap<StoredMinute, { thresholds: string; canary: VariantMinute; baseline: VariantMinute }>();

  /** Whether the minute containing `at` has a datapoint. */
  public has(model: string, at: Date): boolean {
    return this.byModel.get(model)?.has(Math.floor(at.getTime() / MINUTE) * MINUTE) ?? false;
  }

  /** Records (or replaces) the minute containing `at`. */
  public put(model: string, at: Date, minute: { canary: VariantMinute; baseline: VariantMinute }, emitted: EmittedMinute | null = null): void {
    const t = Math.floor(at.getTime() / MINUTE) * MINUTE;
    const m = this.byModel.get(model) ?? new Map<number, StoredMinute>();
    m.set(t, { at: new Date(t), canary: copy(minute.canary), baseline: copy(minute.baseline), emitted });
    this.byModel.set(model, m);
  }

  public async window(query: MetricsQuery): Promise<MinuteDatapoint[]> {
    const from = Math.floor(query.from.getTime() / MINUTE) * MINUTE;
    const to = Math.floor(query.to.getTime() / MINUTE) * MINUTE;
    const m = this.byModel.get(query.model);
    if (m === undefined) return [];
    const thresholds = query.latencyThresholdsMs ?? null;
    return [...m.entries()]
      .filter(([t]) => t >= from && t < to)
      .sort(([a], [b]) => a - b)
      .map(([t, v]) => {
        const minute = (t - from) / MINUTE;
        if (thresholds === null || v.emitted === null) return { minute, canary: copy(v.canary), baseline: copy(v.baseline) };
        const key = JSON.stringify(thresholds);
        let point = this.read.get(v);
        if (point?.thresholds !== key) {
          const { canary, baseline } = datapointOf(v.emitted, minute, thresholds);
          point = { thresholds: key, canary, baseline };
          this.read.set(v, point);
        }
        return { minute, canary: fresh(point.canary), baseline: fresh(point.baseline) };
      });
  }
}

/** Every port in memory, sharing one clock. */
export function memoryPorts(clock: ManualClock = new ManualClock()) {
  return {
    clock,
    ledger: new MemoryLedger(),
    lock: new MemoryLock(),
    notifier: new MemoryNotifier(),
    router: new MemoryRouter(),
    executions: new MemoryExecutions(),
    artifacts: new MemoryArtifactStore(),
    metrics: new MemoryMetricsSource(),
  };
}
export type MemoryPorts = ReturnType<typeof memoryPorts>;
