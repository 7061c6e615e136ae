/** VerifyArtifact: the uploaded artifact exists under the release's folder and has the manifest's SHA-256. */
import { verifyArtifact } from '../../core/app/verify-artifact.js';
import { VerifyArtifactInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(VerifyArtifactInputSchema, 'VerifyArtifact'),
  run: verifyArtifact,
  report: (out, input, { log, telemetry }) => {
    log.info(out.ok ? 'artifact verified' : 'artifact rejected', { releaseId: input.releaseId, reason: out.reason, digestSource: out.digestSource, size: out.size });
    telemetry.count(out.ok ? 'ArtifactsVerified' : 'ArtifactsRejected');
  },
});
