/** AnalyzeCanary: one look of the monitor loop. */
import { analyzeCanaryStep } from '../../core/app/analyze-canary.js';
import { AnalyzeInputSchema } from '../../core/contracts.js';
import { defineStep, withSchema } from '../shared/step.js';

export const createHandler = defineStep({
  parse: withSchema(AnalyzeInputSchema, 'AnalyzeCanary'),
  run: analyzeCanaryStep,
  report: (phase, input, { log, telemetry }) => {
    const { verdict } = phase;
    log.info('canary analysed', { releaseId: input.releaseId, phase: phase.index, iteration: phase.iteration, verdict: verdict.verdict, action: phase.action, summary: verdict.summary });
    telemetry.count(`CanaryVerdict_${verdict.verdict}`);
  },
});
