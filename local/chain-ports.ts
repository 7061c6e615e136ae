/**
 * The environment chain's ports in the embedded runtime: simulated verification hooks (with knobs
 * to fail them), the hand-over bus (it keeps what was sent; local/chain.ts delivers it to the next
 * environment's runtime), and the copy of the previous environment's artifact between two
 * in-memory stores (as S3 would, the digest travels with the bytes; a knob corrupts it).
 */
import { createHash } from 'node:crypto';
import type { HandoverBus, HandoverEntry, HookInvoker, UpstreamArtifacts } from '../core/ports.js';
import type { HookCall, HookRequest } from '../core/verification.js';
import type { AccountContext } from '../lib/config.js';
import type { MemoryArtifactStore } from './memory.js';

/** The account and region of a simulated pipeline outside a chain. */
export const LOCAL_ACCOUNT: AccountContext = { partition: 'aws', account: '000000000000', region: 'us-east-1' };

/** What a simulated hook does: answer passed, failed, nothing in time, or fail as a function. */
export type HookBehaviour = 'pass' | 'fail' | 'timeout' | 'error';

/** What each simulated hook answers (its name: the hook's `name`), and how long it takes (virtual). */
export class LocalHookInvoker implements HookInvoker {
  /** Every call made, in order (tests and the report read it). */
  public readonly calls: { hook: string; stage: string; environment: string; phase: number | null; outcome: HookCall['kind'] }[] = [];

  public constructor(private readonly behaviours: Readonly<Record<string, HookBehaviour>> = {}) {}

  public async invoke(functionArn: string, request: HookRequest, timeoutMs: number): Promise<HookCall> {
    const behaviour = this.behaviours[request.hook] ?? this.behaviours[functionArn] ?? 'pass';
    const call = simulatedCall(behaviour, request, timeoutMs);
    this.calls.push({ hook: request.hook, stage: request.stage, environment: request.environment, phase: request.phase, outcome: call.kind });
    return call;
  }
}

function simulatedCall(behaviour: HookBehaviour, request: HookRequest, timeoutMs: number): HookCall {
  const where = `${request.environment} ${request.stage}${request.weight === null ? '' : ` at ${request.weight}%`}`;
  switch (behaviour) {
    case 'pass':
      return { kind: 'answered', durationMs: 1200, payload: { status: 'passed', message: `${request.hook}: 42 of 42 checks passed against ${request.endpoint} (${where})`, metrics: { checks: 42, failures: 0 } } };
    case 'fail':
      return { kind: 'answered', durationMs: 1500, payload: { status: 'failed', message: `${request.hook}: 3 of 42 checks failed against ${request.endpoint} (${where}): plan schema mismatch`, metrics: { checks: 42, failures: 3 } } };
    case 'timeout':
      return { kind: 'timed_out', durationMs: timeoutMs };
    case 'error':
      return { kind: 'error', durationMs: 30, message: `Unhandled: TypeError: cannot read properties of undefined (simulated ${request.hook})` };
  }
}

/** Every hook passes: the default of a runtime outside a chain. */
export const PASSING_HOOKS: HookInvoker = new LocalHookInvoker();

/** Keeps what was sent, with the sender's account (EventBridge stamps it on the event). */
export class LocalHandoverBus implements HandoverBus {
  public readonly sent: HandoverEntry[] = [];

  public async send(entry: HandoverEntry): Promise<void> {
    this.sent.push(entry);
  }
}

/** A pipeline without a next environment has no bus: a hand-over there is a wiring error. */
export const NO_NEXT_ENVIRONMENT: HandoverBus = {
  send: async (entry) => {
    throw new Error(`no next environment to hand over to (bus ${entry.EventBusName})`);
  },
};

/** Copies between two in-memory artifact stores: the previous environment's and this one's. */
export class LocalUpstreamArtifacts implements UpstreamArtifacts {
  public constructor(
    private readonly from: MemoryArtifactStore,
    private readonly to: MemoryArtifactStore,
    /** The bytes arrive altered (a corrupted copy, a replaced object): the digest will not match. */
    private readonly corrupt = false,
  ) {}

  public async copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<{ sha256: string | null; size: number | null; error: string | null }> {
    const facts = this.from.peekArtifact(from.bucket, from.key);
    if (facts === null || !facts.exists || facts.sha256 === null) return { sha256: null, size: null, error: `NoSuchKey: s3://${from.bucket}/${from.key}` };
    const sha256 = this.corrupt ? createHash('sha256').update(`corrupted ${facts.sha256}`).digest('hex') : facts.sha256;
    this.to.putArtifact(to.bucket, to.key, { size: facts.size ?? 0, sha256 }, `copied-${sha256.slice(0, 8)}`);
    return { sha256, size: facts.size, error: null };
  }

  /** The release.json files written, in order (the chain delivers each one's upload event). */
  public readonly manifests: { key: string; text: string; versionId: string }[] = [];

  public async putManifest(to: { bucket: string; key: string }, text: string): Promise<{ versionId: string | null }> {
    const versionId = `handover-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
    this.to.put(to.bucket, to.key, text, versionId);
    this.manifests.push({ key: to.key, text, versionId });
    return { versionId };
  }
}

/** A pipeline without a previous environment reads nothing upstream. */
export const NO_PREVIOUS_ENVIRONMENT: UpstreamArtifacts = {
  copy: async (from) => ({ sha256: null, size: null, error: `no previous environment to copy s3://${from.bucket}/${from.key} from` }),
  putManifest: async (to) => {
    throw new Error(`no previous environment: nothing hands over s3://${to.bucket}/${to.key}`);
  },
};
