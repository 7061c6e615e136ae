/** Intake: S3 "Object Created" (EventBridge) → one promotion execution per uploaded object version. */
import { S3ObjectCreatedEventSchema } from '../../core/app/events.js';
import { intake, type IntakeDeps, type IntakeResult } from '../../core/app/intake.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type IntakeHandlerDeps = IntakeDeps & Observability;

export function createHandler(deps: IntakeHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<IntakeResult> => {
    const { detail } = parseEvent(S3ObjectCreatedEventSchema, event, 'S3 Object Created');
    const result = await intake(
      { bucket: detail.bucket.name, key: detail.object.key, versionId: detail.object['version-id'] ?? null, etag: detail.object.etag ?? null },
      deps,
    );
    if (result.outcome === 'ignored') log.warn('upload ignored', { reason: result.reason });
    else log.info(`release ${result.outcome}`, { releaseId: result.releaseId, executionArn: result.executionArn });
    telemetry.count(result.outcome === 'started' ? 'ReleasesStarted' : result.outcome === 'duplicate' ? 'DuplicateUploads' : 'UploadsIgnored');
    return result;
  };
}
