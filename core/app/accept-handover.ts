/**
 * AcceptHandover: the receiving side of the chain (core/handover.ts). An event on this
 * environment's hand-over bus is admitted only from the previous environment (name and account),
 * for this model; the artifact is copied from the previous environment's bucket into this one's,
 * hashed as it streams, and must be the digest the previous environment promoted. Then the
 * hand-over is recorded (what admits the release: validate-manifest's upstream check) and the
 * release.json is written into this environment's bucket, which starts its release as a team's
 * upload would. A refused hand-over is audited and paged (P2); nothing is written.
 */
import type { EnvironmentSettings } from '../environments.js';
import { admitHandover, judgeCopiedArtifact, type HandoverDetail, type HandoverEvent } from '../handover.js';
import { displayName } from '../notes.js';
import type { AuditLedger, Clock, Notifier, UpstreamArtifacts } from '../ports.js';
import { eventIds, handoverLedgerId } from './ids.js';

export interface AcceptHandoverDeps {
  readonly upstream: UpstreamArtifacts;
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly model: string;
  readonly environment: EnvironmentSettings;
  /** This pipeline's artifact bucket. */
  readonly bucket: string;
}

export type AcceptHandoverResult =
  | { readonly outcome: 'accepted'; readonly model: string; readonly version: string; readonly manifestKey: string; readonly sha256: string }
  | { readonly outcome: 'duplicate'; readonly model: string; readonly version: string }
  | { readonly outcome: 'refused'; readonly reason: string };

/** Decides on a hand-over event and, admitted, copies, records and starts the release. */
export async function acceptHandover(event: HandoverEvent, deps: AcceptHandoverDeps): Promise<AcceptHandoverResult> {
  const env = deps.environment;
  const admission = admitHandover(event, env, deps.model, null);
  if (!admission.admitted) return refuse(event, admission.detail, admission.reason, null, deps);
  const d = admission.detail;
  const existing = await deps.ledger.getHandover(d.model, d.version);
  if (existing !== null && existing.from.releaseId === d.from.releaseId && existing.sha256 === d.artifact.sha256) {
    return { outcome: 'duplicate', model: d.model, version: d.version };
  }
  const copied = await deps.upstream.copy({ bucket: d.artifact.bucket, key: d.artifact.key }, { bucket: deps.bucket, key: d.artifact.key });
  const judged = judgeCopiedArtifact(d, copied.sha256);
  if (!judged.ok) return refuse(event, d, copied.error === null ? judged.message : `${judged.message} (${copied.error})`, copied.sha256, deps);
  const at = deps.clock.now().toISOString();
  await deps.ledger.putHandover({
    model: d.model,
    version: d.version,
    sha256: d.artifact.sha256,
    from: { environment: d.from.environment, account: event.account, releaseId: d.from.releaseId },
    to: env.name,
    acceptedAt: at,
    trail: d.trail,
  });
  await deps.ledger.append({
    releaseId: handoverLedgerId(d.model, d.version),
    eventId: eventIds.handover(d.from.environment, d.from.releaseId),
    at,
    type: 'handover',
    actor: `${d.from.environment}:${event.account}`,
    detail: { accepted: true, from: d.from.environment, account: event.account, sha256: copied.sha256, message: judged.message, trail: d.trail },
  });
  // The artifact now lies in this environment's bucket: the manifest says so (its digest unchanged).
  const manifest = { ...d.manifest, artifact: { ...d.manifest.artifact, uri: `s3://${deps.bucket}/${d.artifact.key}` } };
  const manifestKey = `models/${d.model}/${d.version}/release.json`;
  await deps.upstream.putManifest({ bucket: deps.bucket, key: manifestKey }, `${JSON.stringify(manifest, null, 2)}\n`);
  return { outcome: 'accepted', model: d.model, version: d.version, manifestKey, sha256: d.artifact.sha256 };
}

async function refuse(event: HandoverEvent, d: HandoverDetail | null, reason: string, sha256: string | null, deps: AcceptHandoverDeps): Promise<AcceptHandoverResult> {
  const env = deps.environment;
  const model = d?.model ?? deps.model;
  const version = d?.version ?? 'unknown';
  const from = d?.from.environment ?? 'unknown';
  const ledgerId = handoverLedgerId(model, version);
  await deps.ledger.append({
    releaseId: ledgerId,
    eventId: eventIds.handover(from, `refused-${d?.from.releaseId ?? event.account}`),
    at: deps.clock.now().toISOString(),
    type: 'handover',
    actor: `${from}:${event.account}`,
    detail: { accepted: false, from, account: event.account, sha256, message: reason },
  });
  const name = `${displayName(model)} ${version}`;
  await deps.notifier.publish({
    channel: 'incident',
    severity: 'P2',
    reason: 'rejected',
    model,
    version,
    releaseId: ledgerId,
    title: `[P2] ${name}: hand-over from ${from} to ${env.name} refused`,
    text: [
      `${env.name} refused the hand-over of ${name} from ${from} (account ${event.account}): ${reason}.`,
      `Nothing was released in ${env.name}. If ${from} did promote it, look at the chain's configuration (accounts, names) and the artifact in ${from}'s bucket.`,
      '',
      `History: builderbrain history ${ledgerId} --env ${env.name}`,
    ].join('\n'),
  });
  return { outcome: 'refused', reason };
}
