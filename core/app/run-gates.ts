/** RunGates: every promotion gate of policy.md §1, one audit event per check. */
import { evaluateGates, type GateResult } from '../gates.js';
import type { ReleaseManifest } from '../manifest.js';
import { moveRelease } from '../lifecycle.js';
import type { GatePolicy } from '../policy.js';
import type { AuditLedger, Clock } from '../ports.js';
import { eventIds } from './ids.js';

export interface RunGatesDeps {
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly gatePolicy: GatePolicy;
}

/** Evaluates the gates; a pass moves the release received → gated (a failure is rejected by RejectRelease). */
export async function runGates(input: { releaseId: string; manifest: ReleaseManifest }, deps: RunGatesDeps): Promise<GateResult> {
  const result = evaluateGates(input.manifest, deps.gatePolicy);
  const at = deps.clock.now().toISOString();
  for (const [i, check] of result.checks.entries()) {
    await deps.ledger.append({
      releaseId: input.releaseId,
      eventId: eventIds.gateCheck(i, check.name),
      at,
      type: 'gate_check',
      actor: 'step:RunGates',
      detail: { name: check.name, passed: check.passed, value: check.value, threshold: check.threshold, message: check.message },
    });
  }
  if (result.passed) {
    await moveRelease(deps.ledger, input.releaseId, 'gatesPassed', { updatedAt: at });
  }
  return result;
}
