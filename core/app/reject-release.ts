/**
 * RejectRelease: a release stopped before any user traffic moved — invalid manifest, failed
 * promotion gates, another release of the model in flight, an artifact that is not the one the
 * manifest describes (all P3); a failed deployment or smoke test (P2: something was built and broke).
 * One incident, the `rejected` audit event, the record's terminal status.
 */
import type { z } from 'zod';
import type { AuditDetail } from '../audit.js';
import type { RejectInputSchema, RejectOutput } from '../contracts.js';
import { InvalidInputError } from '../errors.js';
import { deploymentRejection } from '../deployment.js';
import { AFTER_REJECTION, moveRelease, type RejectionFollowUp } from '../lifecycle.js';
import { displayName } from '../notes.js';
import type { AuditLedger, Clock, Notifier } from '../ports.js';
import { rejectionIncident } from '../rollback.js';
import { eventIds } from './ids.js';

export type RejectInput = z.infer<typeof RejectInputSchema>;

export interface RejectReleaseDeps {
  readonly ledger: AuditLedger;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

export type RejectResult = RejectOutput;

/** What must follow a rejection (core/lifecycle.ts AFTER_REJECTION). */
export function afterRejection(cause: RejectInput['cause']): RejectionFollowUp {
  return AFTER_REJECTION[cause];
}

interface Incident {
  severity: 'P2' | 'P3';
  title: string;
  text: string;
  detail: AuditDetail<'rejected'>;
}

/**
 * The incident of a release rejected because another release of its model holds the lock. The
 * rule (README "One release per model"): the second release is rejected, not queued. `holder` null:
 * the lock changed hands while it was asked and nobody could be named.
 */
export function lockBusyIncident(ctx: { model: string; version: string; releaseId: string }, holder: string | null): Omit<Incident, 'detail'> {
  const name = `${displayName(ctx.model)} ${ctx.version}`;
  const footer = ['', `Release: ${ctx.releaseId}`];
  if (holder === null) {
    return {
      severity: 'P3',
      title: `[P3] ${name} rejected: another release of ${ctx.model} took the lock`,
      text: [
        `${name} was rejected because another release of ${ctx.model} took the model's lock at the same moment; no production traffic was touched.`,
        `The pipeline runs one release per model at a time; see which with \`builderbrain status\`, and retry after it finishes (re-upload release.json).`,
        ...footer,
      ].join('\n'),
    };
  }
  return {
    severity: 'P3',
    title: `[P3] ${name} rejected: release ${holder} of ${ctx.model} is in flight`,
    text: [
      `${name} was rejected because release ${holder} of ${ctx.model} is still in flight; no production traffic was touched.`,
      `The pipeline runs one release per model at a time; retry after ${holder} finishes (re-upload release.json).`,
      ...footer,
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
      const { gate } = input;
      if (gate === undefined) throw new InvalidInputError('RejectRelease input', [{ path: 'gate', message: 'required when cause is gates_failed' }]);
      return {
        ...rejectionIncident(ctx, { gate }),
        detail: { cause: input.cause, severity: 'P3', failedChecks: gate.checks.filter((c) => !c.passed) },
      };
    }
    case 'lock_busy': {
      if (input.lock === undefined) {
        throw new InvalidInputError('RejectRelease input', [{ path: 'lock.holder', message: 'required when cause is lock_busy (null when the lock could not name it)' }]);
      }
      const { holder } = input.lock;
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
    case 'verification_failed': {
      const hooks = input.hooks;
      if (hooks?.failure == null) throw new InvalidInputError('RejectRelease input', [{ path: 'hooks.failure', message: 'required when cause is verification_failed' }]);
      const name = `${displayName(ctx.model)} ${ctx.version}`;
      const message = `${hooks.failure.hook}: ${hooks.failure.message}`;
      return {
        severity: 'P3',
        title: `[P3] ${name} rejected: verification hook ${hooks.failure.hook} failed before traffic`,
        text: [
          `${name} was rejected because the verification hook ${hooks.failure.hook} (before_traffic) failed; the candidate served no user traffic and is removed.`,
          `Hook: ${hooks.failure.message}`,
          ...hooks.results.map((r) => `${r.passed ? '✓' : '✗'} ${r.hook}: ${r.message} (${r.durationMs} ms)`),
          '',
          `Release: ${ctx.releaseId}`,
        ].join('\n'),
        detail: { cause: input.cause, severity: 'P3', message },
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
  await moveRelease(deps.ledger, releaseId, 'reject', {
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
