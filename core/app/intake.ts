/**
 * Intake: an uploaded `release.json` starts one promotion execution, named by the release id, so a
 * duplicate S3 event of the same object version starts nothing.
 */
import type { PromotionInput, ReleaseSource } from '../contracts.js';
import type { Clock, Executions } from '../ports.js';
import { parseManifestKey, releaseIdFor } from './ids.js';

export interface IntakeDeps {
  readonly executions: Executions;
  readonly clock: Clock;
  /**
   * The model this pipeline releases (BB_MODEL). Uploads under another model's prefix are
   * ignored: the stack's traffic router serves one model.
   */
  readonly model: string;
}

export type IntakeResult =
  | { readonly outcome: 'started' | 'duplicate'; readonly releaseId: string; readonly executionArn: string }
  | { readonly outcome: 'ignored'; readonly reason: string };

/**
 * Starts the promotion of the uploaded object version.
 *
 * `receivedAt` is the intake's clock, not the event's: a redelivered event then carries a different
 * input, and Step Functions answers `ExecutionAlreadyExists` for the name instead of silently
 * treating the second start as the first (which it does for an identical input of a running
 * execution), so the duplicate is reported as one.
 *
 * @example await intake({ bucket, key: 'models/builderbrain/2.1.0/release.json', versionId, etag }, deps)
 */
export async function intake(source: ReleaseSource, deps: IntakeDeps): Promise<IntakeResult> {
  const key = parseManifestKey(source.key);
  if (key === null) {
    return { outcome: 'ignored', reason: `key ${source.key} is not models/<model>/<version>/release.json` };
  }
  if (key.model !== deps.model) {
    return { outcome: 'ignored', reason: `key ${source.key} is for model ${key.model}; this pipeline releases ${deps.model}` };
  }
  const releaseId = releaseIdFor(source);
  const input: PromotionInput = { releaseId, source, receivedAt: deps.clock.now().toISOString() };
  const started = await deps.executions.start(releaseId, input);
  return { outcome: started.duplicate ? 'duplicate' : 'started', releaseId, executionArn: started.executionArn };
}
