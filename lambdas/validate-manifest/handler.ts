/** ValidateManifest: reads and validates the uploaded release.json, opens the release record. */
import { validateManifest } from '../../core/app/validate-manifest.js';
import { ValidateInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(ValidateInputSchema, 'ValidateManifest'),
  run: validateManifest,
  report: (out, input, { log, telemetry }) => {
    log.info(out.valid ? 'manifest valid' : 'manifest invalid', { releaseId: input.releaseId, model: out.model, version: out.version, issues: out.issues.length });
    if (!out.valid) telemetry.count('ManifestsInvalid');
  },
});
