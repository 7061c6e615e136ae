/** Intake: S3 "Object Created" (EventBridge) → one promotion execution per uploaded object version. */
import { S3ObjectCreatedEventSchema } from '../../core/app/events.js';
import { intake } from '../../core/app/intake.js';
import { parseEvent } from '../shared/parse.js';
import { defineStep } from '../shared/step.js';

export const createHandler = defineStep({
  parse: (event) => {
    const { detail } = parseEvent(S3ObjectCreatedEventSchema, event, 'S3 Object Created');
    return { bucket: detail.bucket.name, key: detail.object.key, versionId: detail.object['version-id'] ?? null, etag: detail.object.etag ?? null };
  },
  run: intake,
  report: (result, _input, { log, telemetry }) => {
    if (result.outcome === 'ignored') log.warn('upload ignored', { reason: result.reason });
    else log.info(`release ${result.outcome}`, { releaseId: result.releaseId, executionArn: result.executionArn });
    telemetry.count(result.outcome === 'started' ? 'ReleasesStarted' : result.outcome === 'duplicate' ? 'DuplicateUploads' : 'UploadsIgnored');
  },
});
