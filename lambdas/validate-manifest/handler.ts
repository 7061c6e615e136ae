/** ValidateManifest: reads and validates the uploaded release.json, opens the release record. */
import { validateManifest, type ValidateManifestDeps } from '../../core/app/validate-manifest.js';
import { ValidateInputSchema, type ValidateOutput } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type ValidateManifestHandlerDeps = ValidateManifestDeps & Observability;

export function createHandler(deps: ValidateManifestHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<ValidateOutput> => {
    const input = parseEvent(ValidateInputSchema, event, 'ValidateManifest');
    const out = await validateManifest(input, deps);
    log.info(out.valid ? 'manifest valid' : 'manifest invalid', { releaseId: input.releaseId, model: out.model, version: out.version, issues: out.issues.length });
    if (!out.valid) telemetry.count('ManifestsInvalid');
    return out;
  };
}
