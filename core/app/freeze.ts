/**
 * `builderbrain freeze` / `unfreeze` (RELEASE.md §11): sets or lifts the emergency freeze
 * (core/freeze.ts) in the ledger and audits it — on the pipeline's control log (a timeline of its
 * own, hash-chained like a release's: `builderbrain history pipeline-control`, `audit verify`) and on
 * every release then in flight, whose timeline then says why it holds. Idempotent: freezing a frozen
 * pipeline or unfreezing one that is not frozen changes nothing and says so.
 */
import { CONTROL_LOG, type Freeze } from '../freeze.js';
import type { AuditLedger, Clock } from '../ports.js';


export interface FreezeInput {
  readonly action: 'freeze' | 'unfreeze';
  readonly reason: string;
  /** Who (an STS ARN on AWS, `local:<user>` locally). */
  readonly identity: string;
}

export interface FreezeOutcome {
  /** False: it already was as asked (nothing written). */
  readonly changed: boolean;
  /** The freeze now in force (null: not frozen). */
  readonly freeze: Freeze | null;
  /** The freeze that was lifted (unfreeze), or that was already in force (freeze, unchanged). */
  readonly previous: Freeze | null;
  /** The releases in flight it was audited on. */
  readonly releases: readonly string[];
}

export async function setFreezeState(input: FreezeInput, deps: { readonly ledger: AuditLedger; readonly clock: Clock }): Promise<FreezeOutcome> {
  const previous = await deps.ledger.getFreeze();
  const at = deps.clock.now().toISOString();
  if (input.action === 'freeze' ? previous !== null : previous === null) return { changed: false, freeze: previous, previous, releases: [] };
  const next: Freeze | null = input.action === 'freeze' ? { reason: input.reason, by: input.identity, at } : null;
  await deps.ledger.setFreeze(next);
  const detail = {
    state: input.action === 'freeze' ? ('frozen' as const) : ('unfrozen' as const),
    reason: input.reason,
    since: previous?.at ?? null,
    frozenBy: previous?.by ?? null,
  };
  const active = (await deps.ledger.listActiveReleases()).map((r) => r.releaseId);
  for (const releaseId of [CONTROL_LOG, ...active]) {
    await deps.ledger.append({ releaseId, eventId: `${input.action}:${at}`, at, type: 'freeze', actor: input.identity, detail });
  }
  return { changed: true, freeze: next, previous, releases: active };
}
