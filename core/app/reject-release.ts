/**
 * RejectRelease: a release stopped before any user traffic moved — invalid manifest, failed
 * promotion gates, another release of the model in flight, an artifact that is not the one the
 * manifest describes (all P3); a failed deployment or smoke test (P2: something was built and broke).
 * One incident, the `rejected` audit event, the record's terminal status.
 */
import type { z } from 'zod';
import type { RejectInputSchema } from '../contracts.js';
import { InvalidInputError } from '../errors.js';
import { deploymentRejection } from '../deployment.js';
import { displayName } from '../notes.js';
import type { AuditLedger, Clock, Notifier } from '../ports.js';
import { rejectionIncident } from '../rollback.js';
import { parseWith } from '../validation.js';
import { eventIds } from './ids.js';
import { GateResultSchema } from './schemas.js';

export type RejectInput = z.infer<typeof RejectInputSchema>;

export interface RejectReleaseDeps {
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

export interface RejectResult {
  readonly outcome: 'rejected';
  readonly cause: string;
  readonly then: 'remove_candidate' | 'release_lock' | 'done';
}

/**
 * What must follow a rejection: a deployed candidate is removed (its instances released) before the
 * lock goes; a release that took the lock releases it; one that never took it has nothing to undo.
 */
export function afterRejection(cause: RejectInput['cause']): RejectResult['then'] {
  switch (cause) {
    case 'invalid_manifest':
    case 'lock_busy':
      return 'done';
    case 'gates_failed':
    case 'artifact_rejected':
      return 'release_lock';
    case 'deploy_failed':
    case 'smoke_failed':
      return 'remove_candidate';
  }
}

interface Incident {
  severity: 'P2' | 'P3';
  title: string;
  text: string;
  detail: Record<string, unknown>;
}

/**
 * The incident of a release rejected because another release of its model holds the lock. The
 * rule (README "One release per model"): the second release is rejected, not queued.
 */
export function lockBusyIncident(ctx: { model: string; version: string; releaseId: string }, holder: string): Omit<Incident, 'detail'> {
  const name = `${displayName(ctx.model)} ${ctx.version}`;
  return {
    severity: 'P3',
    title: `[P3] ${name} rejected: release ${holder} of ${ctx.model} is in flight`,
    text: [
      `${name} was rejected because release ${holder} of ${ctx.model} is still in flight; no production traffic was touched.`,
      `The pipeline runs one release per model at a time; retry after ${holder} finishes (re-upload release.json).`,
      '',
      `Release: ${ctx.releaseId}`,
      `In flight: builderbrain status ${holder}`,
    ].join('\n'),
  };
}

function incidentFor(input: RejectInput): Incident {
  const ctx = { model: input.validation.model, version: input.validation.version, releaseId: input.releaseId };
  switch (input.cause) {
    case 'invalid_manifest': {
      const issues = input.validation.issues;
      return { ...rejectionIncident(ctx, { invalid: issues }), detail: { cause: input.cause, severity: 'P3', issues } };
    }
    case 'gates_failed': {
      const gate = parseWith(GateResultSchema, input.gate);
      if (!gate.ok) throw new InvalidInputError('RejectRelease input (gate)', gate.issues.map((i) => ({ ...i, path: i.path ? `gate.${i.path}` : 'gate' })));
      return {
        ...rejectionIncident(ctx, { gate: gate.value }),
        detail: { cause: input.cause, severity: 'P3', failedChecks: gate.value.checks.filter((c) => !c.passed) },
      };
    }
    case 'lock_busy': {
      const holder = input.lock?.holder;
      if (holder === undefined || holder === null) {
        throw new InvalidInputError('RejectRelease input', [{ path: 'lock.holder', message: 'required when cause is lock_busy' }]);
      }
      return { ...lockBusyIncident(ctx, holder), detail: { cause: input.cause, severity: 'P3', holder } };
    }
    case 'artifact_rejected':
    case 'deploy_failed':
    case 'smoke_failed': {
      const message =
        input.cause === 'artifact_rejected' ? input.artifact?.message : input.cause === 'deploy_failed' ? input.serving?.message : input.smoke?.summary;
      if (message === undefined) {
        const field = input.cause === 'artifact_rejected' ? 'artifact' : input.cause === 'deploy_failed' ? 'serving' : 'smoke';
        throw new InvalidInputError('RejectRelease input', [{ path: field, message: `required when cause is ${input.cause}` }]);
      }
      const incident = deploymentRejection({ ...ctx, displayName: displayName(ctx.model) }, input.cause, message);
      return {
        ...incident,
        detail: {
          cause: input.cause,
          severity: incident.severity,
          message,
          ...(input.serving?.failureReason ? { failureReason: input.serving.failureReason } : {}),
          ...(input.smoke ? { smoke: input.smoke.results } : {}),
        },
      };
    }
  }
}

/**
 * Rejects the release. Idempotent: the audit event id is fixed (ValidateManifest already wrote it
 * for an invalid manifest, so it is not written twice) and the incident is claimed once.
 */
export async function rejectRelease(input: RejectInput, deps: RejectReleaseDeps): Promise<RejectResult> {
  const incident = incidentFor(input);
  const at = deps.clock.now().toISOString();
  const { releaseId } = input;
  await deps.ledger.append({ releaseId, eventId: eventIds.rejected(), at, type: 'rejected', actor: 'step:RejectRelease', detail: incident.detail });
  await deps.ledger.transition(releaseId, ['received', 'gated'], 'rejected', {
    updatedAt: at,
    outcome: { status: 'rejected', reason: input.cause, severity: incident.severity, at },
  });
  if (await deps.ledger.claimIncident(releaseId)) {
    try {
      await deps.notifier.publish({
        channel: 'incident',
        severity: incident.severity,
        reason: 'rejected',
        model: input.validation.model,
        version: input.validation.version,
        releaseId,
        title: incident.title,
        text: incident.text,
      });
    } catch (err) {
      await deps.ledger.releaseIncidentClaim(releaseId);
      throw err;
    }
  }
  return { outcome: 'rejected', cause: input.cause, then: afterRejection(input.cause) };
}
