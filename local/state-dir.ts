/**
 * The file-backed side of a local simulation left waiting at an approval, so the operator commands
 * (`status`, `history`, `approve`, `reject`, `rollback` with `--local`) work without AWS.
 *
 * ```
 * <dir>/state.json          the simulation's ledger (release records, timelines, task tokens) and
 *                           whether the simulation still runs; rewritten after every change
 * <dir>/answers/<id>.json   requests of the commands (approve, reject, rollback), one file each
 * <dir>/results/<id>.json   the simulation's answer to each request
 * ```
 *
 * The running simulation (`builderbrain simulate --manual`) polls `answers/` every paced minute while
 * an approval waits, and applies each request through the real paths: an approval or rejection with
 * `answerApproval` (the task token from its ledger, SendTaskSuccess/Failure through its Executions
 * port), a rollback through the rollback handler with a manual trigger. Every file is written to a
 * temporary name and renamed, so a reader never sees half a file; a request is claimed by renaming
 * it, so it is applied at most once even if the command gives up waiting at the same moment.
 */
import { prepareRollbackRelease, requestRollback } from '../core/app/request-rollback.js';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { answerApproval } from '../core/app/answer-approval.js';
import { ReleaseNotFoundError } from '../core/app/errors.js';
import { ReleaseIdSchema, type RollbackInput } from '../core/contracts.js';
import { SealedItemSchema } from '../core/ledger-chain.js';
import { FreezeSchema, type Freeze } from '../core/freeze.js';
import { setFreezeState } from '../core/app/freeze.js';
import { IncidentCommandInputSchema, transitionIncident } from '../core/app/incidents.js';
import type { ArtifactStore, AuditEvent, AuditLedger, Clock, Executions, Notifier, ReleaseRecord, ReleaseStatus, StoredAuditEvent, TransitionResult } from '../core/ports.js';
import { ReleaseRecordSchema } from '../core/release-record.js';
import { MemoryLedger } from './memory.js';
import type { ApprovalResponder } from './runtime.js';

/** Where `simulate --manual` keeps its state unless told otherwise (relative to the working directory). */
export const DEFAULT_STATE_DIR = '.builderbrain/local';
export const STATE_FILE = 'state.json';
const ANSWERS = 'answers';
const RESULTS = 'results';
const FORMAT = 'builderbrain-local-state/2';

// ── the snapshot ────────────────────────────────────────────────────────────────────────────────

export const LocalSnapshotSchema = z.strictObject({
  format: z.literal(FORMAT),
  /** Wall-clock time of the write. */
  writtenAt: z.string(),
  simulation: z.strictObject({
    pid: z.number().int(),
    /** False once the simulation has ended (it answers no more requests). */
    running: z.boolean(),
    startedAt: z.string(),
    scenario: z.string().nullable(),
  }),
  /** The release records, as core/release-record.ts defines them. */
  releases: z.array(ReleaseRecordSchema),
  /**
   * Each release's event items as the ledger stores them (core/ledger-items.ts): the event's fields,
   * its detail as JSON text, and its hash-chain fields (core/ledger-chain.ts), so that
   * `audit verify --local` checks what was written.
   */
  events: z.record(z.string(), z.array(SealedItemSchema)),
  taskTokens: z.array(z.strictObject({ releaseId: z.string(), phase: z.number().int(), token: z.string() })),
  /** The emergency freeze (core/freeze.ts), null when not frozen. */
  freeze: FreezeSchema.nullable().default(null),
});
export type LocalSnapshot = z.infer<typeof LocalSnapshotSchema>;

/** No `state.json` in the state directory: no simulation was started there. */
export class LocalStateMissingError extends Error {
  public constructor(public readonly dir: string) {
    super(`no local simulation state in ${dir}`);
    this.name = 'LocalStateMissingError';
  }
}

/** `state.json` is not what a simulation writes. */
export class LocalStateInvalidError extends Error {
  public constructor(
    public readonly file: string,
    detail: string,
  ) {
    super(`${file} is not a builderbrain simulation state (${detail})`);
    this.name = 'LocalStateInvalidError';
  }
}

/** Another live simulation already uses the state directory. */
export class StateDirBusyError extends Error {
  public constructor(
    public readonly dir: string,
    public readonly pid: number,
  ) {
    super(`another simulation (pid ${pid}) is using ${dir}`);
    this.name = 'StateDirBusyError';
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, file);
}

const isMissing = (err: unknown) => (err as { code?: unknown } | null)?.code === 'ENOENT';

/** Reads `<dir>/state.json`. */
export async function readSnapshot(dir: string): Promise<LocalSnapshot> {
  const file = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) throw new LocalStateMissingError(dir);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LocalStateInvalidError(file, 'not JSON');
  }
  const parsed = LocalSnapshotSchema.safeParse(json);
  if (!parsed.success) throw new LocalStateInvalidError(file, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** True while the simulation that wrote the snapshot runs (it said so, and its process is alive). */
export function simulationAlive(snapshot: LocalSnapshot): boolean {
  if (!snapshot.simulation.running) return false;
  try {
    process.kill(snapshot.simulation.pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

/** A ledger holding what a snapshot holds (for reading it through the AuditLedger port). */
export async function ledgerFromSnapshot(snapshot: LocalSnapshot): Promise<MemoryLedger> {
  const ledger = new MemoryLedger();
  for (const r of snapshot.releases) await ledger.createRelease(r);
  for (const [releaseId, items] of Object.entries(snapshot.events)) for (const item of items) ledger.restoreItem(releaseId, item);
  for (const t of snapshot.taskTokens) await ledger.putTaskToken(t.releaseId, t.phase, t.token);
  await ledger.setFreeze(snapshot.freeze);
  return ledger;
}

/**
 * The simulation's ledger, written to `<dir>/state.json` after every change. Writes are coalesced
 * (a change during a write causes one more write, not one per change) and never block the pipeline;
 * {@link flush} waits until the file holds the latest state.
 */
export class PersistedLedger extends MemoryLedger {
  private writing: Promise<void> | null = null;
  private dirty = false;
  private running = true;
  private warned = false;
  private readonly startedAt = new Date().toISOString();

  public constructor(
    private readonly dir: string,
    private readonly options: { readonly scenario?: string | null; readonly onWriteError?: (err: unknown) => void } = {},
  ) {
    super();
  }

  public override async append(event: AuditEvent): Promise<'appended' | 'duplicate'> {
    return this.changed(await super.append(event));
  }

  public override async createRelease(record: ReleaseRecord): Promise<{ created: boolean; record: ReleaseRecord }> {
    return this.changed(await super.createRelease(record));
  }

  public override async transition(
    releaseId: string,
    from: readonly ReleaseStatus[],
    to: ReleaseStatus,
    patch?: Partial<Omit<ReleaseRecord, 'releaseId' | 'status'>>,
  ): Promise<TransitionResult> {
    return this.changed(await super.transition(releaseId, from, to, patch));
  }

  public override async update(releaseId: string, patch: Partial<Omit<ReleaseRecord, 'releaseId' | 'status'>>): Promise<void> {
    await super.update(releaseId, patch);
    this.changed(undefined);
  }

  public override async claimIncident(releaseId: string): Promise<boolean> {
    return this.changed(await super.claimIncident(releaseId));
  }

  public override async releaseIncidentClaim(releaseId: string): Promise<void> {
    await super.releaseIncidentClaim(releaseId);
    this.changed(undefined);
  }

  public override async setFreeze(freeze: Freeze | null): Promise<void> {
    await super.setFreeze(freeze);
    this.changed(undefined);
  }

  public override async putTaskToken(releaseId: string, phase: number, token: string): Promise<void> {
    await super.putTaskToken(releaseId, phase, token);
    this.changed(undefined);
  }

  public override async deleteTaskToken(releaseId: string, phase: number): Promise<void> {
    await super.deleteTaskToken(releaseId, phase);
    this.changed(undefined);
  }

  /** Everything the ledger holds, as written to state.json. */
  public async snapshot(): Promise<LocalSnapshot> {
    const releases = await this.listReleases(Number.MAX_SAFE_INTEGER);
    const events: LocalSnapshot['events'] = {};
    const taskTokens: LocalSnapshot['taskTokens'] = [];
    for (const r of releases) {
      // Sealed by the ledger's own append (core/ledger-items.ts eventItem).
      events[r.releaseId] = (await this.chainItems(r.releaseId)) as LocalSnapshot['events'][string];
      for (let phase = 0; phase <= (r.phase ?? -1); phase++) {
        const token = await this.getTaskToken(r.releaseId, phase);
        if (token !== null) taskTokens.push({ releaseId: r.releaseId, phase, token });
      }
    }
    return {
      format: FORMAT,
      writtenAt: new Date().toISOString(),
      simulation: { pid: process.pid, running: this.running, startedAt: this.startedAt, scenario: this.options.scenario ?? null },
      releases,
      events,
      taskTokens,
      freeze: await this.getFreeze(),
    };
  }

  /** Resolves once state.json holds the current state. */
  public async flush(): Promise<void> {
    this.changed(undefined);
    await this.writing;
  }

  /** Marks the simulation ended (the commands stop waiting for it) and writes the final state. */
  public async finish(): Promise<void> {
    this.running = false;
    await this.flush();
  }

  private changed<T>(result: T): T {
    this.dirty = true;
    this.writing ??= this.writeLoop();
    return result;
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await writeAtomically(join(this.dir, STATE_FILE), `${JSON.stringify(await this.snapshot(), null, 1)}\n`);
      }
    } catch (err) {
      // The simulation goes on without its state file; say so once.
      if (!this.warned) this.options.onWriteError?.(err);
      this.warned = true;
    } finally {
      this.writing = null;
    }
  }
}

// ── requests and results ────────────────────────────────────────────────────────────────────────

const RequestIdSchema = z.string().regex(/^[0-9]{13}-[0-9a-f]{8}$/);

export const AnswerRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ id: RequestIdSchema, action: z.literal('approve'), releaseId: ReleaseIdSchema, identity: z.string().min(1), requestedAt: z.string() }),
  z.strictObject({ id: RequestIdSchema, action: z.literal('reject'), releaseId: ReleaseIdSchema, identity: z.string().min(1), reason: z.string().min(1), requestedAt: z.string() }),
  z.strictObject({
    id: RequestIdSchema,
    action: z.literal('rollback'),
    releaseId: ReleaseIdSchema,
    identity: z.string().min(1),
    reason: z.string().min(1),
    emergency: z.boolean().optional(),
    requestedBy: z.string().min(1).optional(),
    requestedAt: z.string(),
  }),
  z.strictObject({
    id: RequestIdSchema,
    action: z.literal('rollback_release'),
    previousReleaseId: ReleaseIdSchema,
    identity: z.string().min(1),
    of: z.string().min(1),
    reason: z.string().min(1),
    emergency: z.boolean(),
    requestedBy: z.string().min(1),
    approvedBy: z.string().min(1).nullable(),
    requestedAt: z.string(),
  }),
  z.strictObject({ id: RequestIdSchema, action: z.literal('request_rollback'), releaseId: ReleaseIdSchema, identity: z.string().min(1), reason: z.string().min(1), to: z.string().nullable(), requestedAt: z.string() }),
  z.strictObject({ id: RequestIdSchema, action: z.enum(['freeze', 'unfreeze']), identity: z.string().min(1), reason: z.string().min(1), requestedAt: z.string() }),
  IncidentCommandInputSchema.extend({ id: RequestIdSchema, action: z.literal('incident'), requestedAt: z.string() }),
]);
export type AnswerRequest = z.infer<typeof AnswerRequestSchema>;
/** What a command asks for; the id and time are added when it is written. */
type WithoutStamp<T> = T extends unknown ? Omit<T, 'id' | 'requestedAt'> : never;
export type AnswerRequestInput = WithoutStamp<AnswerRequest>;

export const RequestResultSchema = z.discriminatedUnion('ok', [
  z.strictObject({ id: z.string(), ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ id: z.string(), ok: z.literal(false), error: z.strictObject({ name: z.string(), message: z.string() }) }),
]);
export type RequestResult = z.infer<typeof RequestResultSchema>;

/**
 * Writes a request to `<dir>/answers/<id>.json` (ids sort in the order they were written).
 *
 * @example const id = await submitRequest('.builderbrain/local', { action: 'approve', releaseId, identity: 'local:alice' });
 */
export async function submitRequest(dir: string, input: AnswerRequestInput, now: Date = new Date()): Promise<string> {
  const id = `${String(now.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
  const request: AnswerRequest = AnswerRequestSchema.parse({ ...input, id, requestedAt: now.toISOString() });
  await mkdir(join(dir, ANSWERS), { recursive: true });
  await writeAtomically(join(dir, ANSWERS, `${id}.json`), `${JSON.stringify(request, null, 2)}\n`);
  return id;
}

/** The simulation's result of request `id`, or null while there is none (the file is removed once read). */
export async function takeResult(dir: string, id: string): Promise<RequestResult | null> {
  const file = join(dir, RESULTS, `${id}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
  await rm(file, { force: true });
  return RequestResultSchema.parse(JSON.parse(text));
}

/** Takes back a request the simulation has not claimed yet; false when it already has. */
export async function withdrawRequest(dir: string, id: string): Promise<boolean> {
  try {
    await unlink(join(dir, ANSWERS, `${id}.json`));
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** The simulation that wrote the state has ended (or died): nothing can apply a request. */
export class SimulationNotRunningError extends Error {
  public constructor(public readonly dir: string) {
    super(`the simulation that wrote ${join(dir, STATE_FILE)} is not running any more`);
    this.name = 'SimulationNotRunningError';
  }
}

/** The simulation did not answer a request in time (the request was taken back: nothing changed). */
export class LocalTimeoutError extends Error {
  public constructor(
    public readonly dir: string,
    public readonly timeoutMs: number,
  ) {
    super(`the simulation in ${dir} did not answer within ${(timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0)} s`);
    this.name = 'LocalTimeoutError';
  }
}

export interface WaitOptions {
  /** Give up after this long (the request is taken back unless the simulation has claimed it). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function aliveIn(dir: string): Promise<boolean> {
  try {
    return simulationAlive(await readSnapshot(dir));
  } catch {
    return false;
  }
}

/**
 * The command's end: writes a request and waits for the simulation's result. A simulation that is
 * not running, or does not answer in time, gets its request taken back, so it is never applied
 * later by surprise.
 *
 * @example const result = await requestAndWait(dir, { action: 'approve', releaseId, identity });
 */
export async function requestAndWait(dir: string, input: AnswerRequestInput, options: WaitOptions = {}): Promise<RequestResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 100;
  if (!(await aliveIn(dir))) throw new SimulationNotRunningError(dir);
  const id = await submitRequest(dir, input);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await takeResult(dir, id);
    if (result !== null) return result;
    const alive = await aliveIn(dir);
    if (!alive || Date.now() > deadline) {
      if (await withdrawRequest(dir, id)) throw alive ? new LocalTimeoutError(dir, timeoutMs) : new SimulationNotRunningError(dir);
      // Claimed: the simulation is applying it now. It writes the result before it says it ended,
      // so an ended simulation without a result died while applying it.
      const late = await takeResult(dir, id);
      if (late !== null) return late;
      if (!alive) throw new SimulationNotRunningError(dir);
      if (Date.now() > deadline + timeoutMs) throw new LocalTimeoutError(dir, 2 * timeoutMs);
    }
    await sleep(pollMs);
  }
}

/** What the simulation applies requests to: the embedded runtime (its ports, and its rollback handler). */
export interface LocalPipeline {
  readonly ledger: AuditLedger;
  readonly executions: Executions;
  readonly clock: Clock;
  /** Where an incident's transitions are told (its thread on the incident topic). */
  readonly notifier: Notifier;
  /** Invokes the rollback handler (as the alarm path does). */
  rollback(input: RollbackInput): Promise<unknown>;
  /** Where manifests are read from (a rollback release reads the previous version's). */
  readonly artifacts: ArtifactStore;
  /** Uploads a release.json, as a team (or `builderbrain rollback`) does; the intake's answers. */
  upload(manifestText: string, options: { version: string; versionId: string }): Promise<unknown[]>;
}

const errorOf = (err: unknown) => ({
  name: err instanceof Error ? err.name : 'Error',
  message: err instanceof Error ? err.message : String(err),
});

/** Applies one request through the real paths; failures become results, never exceptions. */
export async function applyRequest(request: AnswerRequest, pipeline: LocalPipeline): Promise<RequestResult> {
  try {
    switch (request.action) {
      case 'approve':
        return { id: request.id, ok: true, value: await answerApproval(request.releaseId, { decision: 'approved', identity: request.identity }, pipeline) };
      case 'reject':
        return {
          id: request.id,
          ok: true,
          value: await answerApproval(request.releaseId, { decision: 'rejected', identity: request.identity, reason: request.reason }, pipeline),
        };
      case 'rollback': {
        const record = await pipeline.ledger.getRelease(request.releaseId);
        if (record === null) throw new ReleaseNotFoundError(request.releaseId);
        const value = await pipeline.rollback({
          releaseId: request.releaseId,
          model: record.model,
          trigger: {
            kind: 'manual',
            actor: request.identity,
            note: request.reason,
            ...(request.emergency === true ? { emergency: true } : {}),
            ...(request.requestedBy === undefined ? {} : { requestedBy: request.requestedBy }),
          },
          stopExecution: true,
        });
        return { id: request.id, ok: true, value };
      }
      case 'rollback_release': {
        const prepared = await prepareRollbackRelease(request, pipeline);
        const started = (await pipeline.upload(prepared.text, { version: prepared.version, versionId: `rollback-${request.id}` })) as { releaseId?: string }[];
        return { id: request.id, ok: true, value: { releaseId: started.find((r) => r.releaseId !== undefined)?.releaseId ?? null } };
      }
      case 'request_rollback':
        return { id: request.id, ok: true, value: await requestRollback({ releaseId: request.releaseId, identity: request.identity, reason: request.reason, to: request.to }, pipeline) };
      case 'incident': {
        const { id: _id, action: _action, requestedAt: _at, ...command } = request;
        return { id: request.id, ok: true, value: await transitionIncident(command, pipeline) };
      }
      case 'freeze':
      case 'unfreeze':
        return { id: request.id, ok: true, value: await setFreezeState({ action: request.action, identity: request.identity, reason: request.reason }, pipeline) };
    }
  } catch (err) {
    return { id: request.id, ok: false, error: errorOf(err) };
  }
}

/** The simulation's end of a state directory: its persisted ledger and the requests inbox. */
export class LocalStateDir {
  private draining: Promise<number> | null = null;

  private constructor(
    public readonly dir: string,
    public readonly ledger: PersistedLedger,
  ) {}

  /**
   * Prepares `dir` for a new simulation: refuses a directory another live simulation uses, drops
   * requests and results left by an earlier one, writes the (empty) initial state.
   */
  public static async open(dir: string, options: { scenario?: string | null; onWriteError?: (err: unknown) => void } = {}): Promise<LocalStateDir> {
    try {
      const previous = await readSnapshot(dir);
      if (previous.simulation.pid !== process.pid && simulationAlive(previous)) throw new StateDirBusyError(dir, previous.simulation.pid);
    } catch (err) {
      if (!(err instanceof LocalStateMissingError || err instanceof LocalStateInvalidError)) throw err;
    }
    await rm(join(dir, ANSWERS), { recursive: true, force: true });
    await rm(join(dir, RESULTS), { recursive: true, force: true });
    await mkdir(join(dir, ANSWERS), { recursive: true });
    await mkdir(join(dir, RESULTS), { recursive: true });
    const state = new LocalStateDir(dir, new PersistedLedger(dir, options));
    await state.ledger.flush();
    return state;
  }

  /**
   * Applies every waiting request, oldest first; returns how many succeeded. Calls do not overlap
   * (a second call waits for the first).
   */
  public async drain(pipeline: LocalPipeline): Promise<number> {
    while (this.draining !== null) await this.draining;
    this.draining = this.drainOnce(pipeline).finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drainOnce(pipeline: LocalPipeline): Promise<number> {
    let names: string[];
    try {
      names = (await readdir(join(this.dir, ANSWERS))).filter((n) => /^[0-9]{13}-[0-9a-f]{8}\.json$/.test(n)).sort();
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
    let applied = 0;
    for (const name of names) {
      const id = name.slice(0, -'.json'.length);
      const claimed = join(this.dir, ANSWERS, `${id}.claimed`);
      try {
        await rename(join(this.dir, ANSWERS, name), claimed); // withdrawn meanwhile: skip
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      let result: RequestResult;
      try {
        const request = AnswerRequestSchema.parse(JSON.parse(await readFile(claimed, 'utf8')));
        result = await applyRequest(request, pipeline);
      } catch (err) {
        result = { id, ok: false, error: { name: 'InvalidRequest', message: `request ${name} is not a valid answer request: ${errorOf(err).message}` } };
      }
      if (result.ok) applied += 1;
      // The state first: whoever reads the result then reads a state that includes it.
      await this.ledger.flush();
      await writeAtomically(join(this.dir, RESULTS, `${id}.json`), `${JSON.stringify(result, null, 2)}\n`);
      await rm(claimed, { force: true });
    }
    return applied;
  }

  /**
   * The approval responder of the inbox: applies waiting requests, then lets the runtime go on
   * (an applied answer is seen by the runtime's own loop, through the Executions port).
   */
  public responder(): Exclude<ApprovalResponder, 'auto'> {
    return async (_request, runtime) => {
      await this.drain(runtime);
      await this.ledger.flush();
      return 'wait';
    };
  }

  /** After the run: answers the requests still waiting (the release has ended) and marks the state final. */
  public async close(pipeline: LocalPipeline | null): Promise<void> {
    if (pipeline !== null) await this.drain(pipeline);
    await this.ledger.finish();
  }
}
