/** AnalyzeCanary: one look of the monitor loop. */
import { analyzeCanaryStep, type AnalyzeCanaryDeps } from '../../core/app/analyze-canary.js';
import { AnalyzeInputSchema, type PhaseState } from '../../core/contracts.js';
import { parseEvent } from '../shared/parse.js';
import { noTelemetry, silentLog, type Observability } from '../shared/ports.js';

export type AnalyzeCanaryHandlerDeps = AnalyzeCanaryDeps & Observability;

export function createHandler(deps: AnalyzeCanaryHandlerDeps) {
  const log = deps.log ?? silentLog;
  const telemetry = deps.telemetry ?? noTelemetry;
  return async (event: unknown): Promise<PhaseState> => {
    const input = parseEvent(AnalyzeInputSchema, event, 'AnalyzeCanary');
    const phase = await analyzeCanaryStep(input, deps);
    const { verdict } = phase;
    log.info('canary analysed', { releaseId: input.releaseId, phase: phase.index, iteration: phase.iteration, verdict: verdict.verdict, action: phase.action, summary: verdict.summary });
    telemetry.count(`CanaryVerdict_${verdict.verdict}`);
    return phase;
  };
}
