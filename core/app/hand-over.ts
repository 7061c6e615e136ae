/**
 * HandOver: after a promotion (the lock released), tells the next environment of the chain — one
 * EventBridge event on its hand-over bus, sized before the call, carrying the manifest, where the
 * promoted artifact lies with the digest this environment verified and served, and the trail of
 * every environment so far (core/handover.ts). The last environment hands over nothing.
 * Idempotent: a retried step finds its `handed_over` event and does not send again.
 */
import type { StoredAuditEvent } from '../audit.js';
import type { HandOverOutput } from '../contracts.js';
import type { EnvironmentSettings } from '../environments.js';
import { handoverEntry, type HandoverDetail, type TrailEntry } from '../handover.js';
import { MAX_MANIFEST_BYTES, parseManifestText } from '../manifest.js';
import type { ArtifactStore, AuditLedger, Clock, HandoverBus, ReleaseRecord } from '../ports.js';
import { eventIds } from './ids.js';

export interface HandOverDeps {
  readonly ledger: AuditLedger;
  readonly artifacts: ArtifactStore;
  readonly bus: HandoverBus;
  readonly clock: Clock;
  readonly environment: EnvironmentSettings;
}

/**
 * This environment's stage of the trail, from the release's record and its audit timeline.
 *
 * @example trailEntry(record, await ledger.timeline(id), env, null).approvals
 */
export function trailEntry(record: ReleaseRecord, timeline: readonly StoredAuditEvent[], env: EnvironmentSettings, account: string | null): TrailEntry {
  const phases = [...new Set(timeline.flatMap((e) => (e.type === 'phase_started' && e.weight !== undefined ? [e.weight] : [])))];
  const approvals = timeline.flatMap((e) => (e.type === 'approved' ? [{ phase: e.phase ?? 0, by: e.actor, at: e.at }] : []));
  const hooks = timeline.flatMap((e) =>
    e.type === 'hook' ? [{ hook: e.detail.hook ?? '?', stage: e.detail.stage ?? '?', phase: e.phase ?? null, passed: e.detail.passed === true, message: e.detail.message ?? '' }] : [],
  );
  const verified = timeline.find((e) => e.type === 'drill' && e.detail.action === 'verify');
  const drill = verified?.type === 'drill' ? { passed: verified.detail.passed === true, message: verified.detail.message ?? '' } : null;
  const status = record.status;
  const outcome: TrailEntry['outcome'] = status === 'promoted' || status === 'released' ? 'promoted' : status === 'rolled_back' ? 'rolled_back' : status === 'rejected' ? 'rejected' : 'in_progress';
  return { environment: env.name, account, releaseId: record.releaseId, outcome, startedAt: record.receivedAt, endedAt: record.outcome?.at ?? null, phases, approvals, hooks, drill };
}

const S3_URI_RE = /^s3:\/\/([^/]+)\/(.+)$/;

/** Sends the hand-over of a promoted release to the next environment. */
export async function handOver(input: { releaseId: string; model: string; version: string }, deps: HandOverDeps): Promise<HandOverOutput> {
  const env = deps.environment;
  if (env.next === null) return { sent: false, to: null, bytes: 0 };
  const record = await deps.ledger.getRelease(input.releaseId);
  // Released after its bake (or at once, with none); `promoted` for a record written before the bake existed.
  if (record === null || (record.status !== 'released' && record.status !== 'promoted')) {
    throw new Error(`release ${input.releaseId} is ${record?.status ?? 'unknown'}, not released: nothing to hand over to ${env.next.name}`);
  }
  const timeline = await deps.ledger.timeline(input.releaseId);
  const previous = timeline.find((e) => e.type === 'handed_over');
  if (previous?.type === 'handed_over') return { sent: true, to: env.next.name, bytes: previous.detail.bytes ?? 0 };
  const object = await deps.artifacts.getObjectText(record.source, MAX_MANIFEST_BYTES);
  const parsed = parseManifestText(object.text);
  if (!parsed.ok) throw new Error(`the manifest of ${input.releaseId} no longer parses (${parsed.issues.map((i) => i.message).join('; ')})`);
  const manifest = parsed.value;
  const location = S3_URI_RE.exec(manifest.artifact.uri);
  if (location === null) throw new Error(`the artifact URI ${manifest.artifact.uri} is not s3://bucket/key`);
  const upstream = (await deps.ledger.getHandover(manifest.model, manifest.version))?.trail ?? [];
  const promotedAt = timeline.find((e) => e.type === 'promoted')?.at ?? record.updatedAt;
  const detail: HandoverDetail = {
    model: manifest.model,
    version: manifest.version,
    from: { environment: env.name, releaseId: input.releaseId },
    to: env.next.name,
    artifact: { bucket: location[1]!, key: location[2]!, sha256: manifest.artifact.sha256 },
    manifest,
    promotedAt,
    trail: [...upstream, trailEntry(record, timeline, env, null)],
  };
  const entry = handoverEntry(detail, env.next.eventBusArn);
  await deps.bus.send(entry);
  const bytes = Buffer.byteLength(entry.Detail, 'utf8');
  await deps.ledger.append({
    releaseId: input.releaseId,
    eventId: eventIds.handedOver(),
    at: deps.clock.now().toISOString(),
    type: 'handed_over',
    actor: 'step:HandOver',
    detail: { to: env.next.name, eventBusArn: env.next.eventBusArn, bytes, sha256: manifest.artifact.sha256 },
  });
  return { sent: true, to: env.next.name, bytes };
}
