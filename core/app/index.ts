/**
 * The use cases (application services): one per pipeline step, pure of AWS. Each takes the ports
 * and configuration it needs and orchestrates the core's decisions; the Lambda handlers
 * (lambdas/<name>/handler.ts) and the embedded runtime (local/) call them.
 */
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export { CanaryVerdictSchema, HoldSchema, RuleEvidenceSchema } from '../analysis.js';
export { GateCheckSchema, GateResultSchema } from '../gates.js';
export { intake, type IntakeDeps, type IntakeResult } from './intake.js';
export { validateManifest, type ValidateManifestDeps } from './validate-manifest.js';
export { acquireReleaseLock, releaseReleaseLock, releaseLockStep, type ReleaseLockDeps } from './release-lock.js';
export { runGates, type RunGatesDeps } from './run-gates.js';
export { rejectRelease, lockBusyIncident, type RejectReleaseDeps, type RejectInput, type RejectResult } from './reject-release.js';
export { startPhase, type StartPhaseDeps, type StartPhaseInput } from './start-phase.js';
export { analyzeCanaryStep, type AnalyzeCanaryDeps, type AnalyzeInput, type AnalyzedPhase } from './analyze-canary.js';
export { requestApproval, approvalMessage, type RequestApprovalDeps, type ApprovalRequest, type ApprovalRequested } from './request-approval.js';
export { answerApproval, checkApprover, waitingPhase, type AnswerApprovalDeps, type ApprovalAnswer, type AnswerResult } from './answer-approval.js';
export { promote, type PromoteDeps, type PromoteResult } from './promote.js';
export { rollback, alarmRollbackInput, triggerActor, type RollbackDeps } from './rollback.js';
export { verifyArtifact, type VerifyArtifactDeps } from './verify-artifact.js';
export { servingStep, deployCandidate, startGoal, applyGoal, checkGoal, smokeTest, type ServingDeps, type ServingSettings } from './serving.js';
