/**
 * Every step's handler factory, by its registry name (core/steps.ts): what the embedded runtime
 * invokes for a Lambda task. The type checks each factory accepts the deps its registry entry
 * lists, so a step cannot be registered with fewer ports or settings than its use case needs.
 * Never imported by a Lambda entry (each bundle holds its own handler only).
 */
import type { StepDeps, StepName } from '../core/steps.js';
import { createHandler as acceptHandover } from './accept-handover/handler.js';
import { createHandler as analyzeCanary } from './analyze-canary/handler.js';
import { createHandler as bake } from './bake/handler.js';
import { createHandler as drill } from './drill/handler.js';
import { createHandler as handOver } from './hand-over/handler.js';
import { createHandler as executionEnded } from './execution-ended/handler.js';
import { createHandler as incidents } from './incidents/handler.js';
import { createHandler as intake } from './intake/handler.js';
import { createHandler as promote } from './promote/handler.js';
import { createHandler as recovery } from './recovery/handler.js';
import { createHandler as rejectRelease } from './reject-release/handler.js';
import { createHandler as releaseLock } from './release-lock/handler.js';
import { createHandler as requestApproval } from './request-approval/handler.js';
import { createHandler as rollback } from './rollback/handler.js';
import { createHandler as runGates } from './run-gates/handler.js';
import { createHandler as runHooks } from './run-hooks/handler.js';
import { createHandler as serving } from './serving/handler.js';
import type { Observability } from './shared/ports.js';
import { createHandler as startPhase } from './start-phase/handler.js';
import { createHandler as validateManifest } from './validate-manifest/handler.js';
import { createHandler as verifyArtifact } from './verify-artifact/handler.js';

/** A handler as Lambda runs it: one event in, one JSON-able result out. */
export type StepHandler = (event: unknown) => Promise<unknown>;

export type HandlerFactories = { readonly [N in StepName]: (deps: StepDeps<N> & Observability) => StepHandler };

export const HANDLER_FACTORIES: HandlerFactories = {
  intake,
  'validate-manifest': validateManifest,
  'release-lock': releaseLock,
  'run-gates': runGates,
  'verify-artifact': verifyArtifact,
  serving,
  'reject-release': rejectRelease,
  'start-phase': startPhase,
  'analyze-canary': analyzeCanary,
  'request-approval': requestApproval,
  promote,
  rollback,
  'execution-ended': executionEnded,
  bake,
  recovery,
  incidents,
  'run-hooks': runHooks,
  drill,
  'hand-over': handOver,
  'accept-handover': acceptHandover,
};
