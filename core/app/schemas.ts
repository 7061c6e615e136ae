/**
 * zod schemas of the core's own results when they travel through a state machine as `unknown`
 * (contracts.ts types them loosely: `PhaseState.verdict`, `RejectInput.gate`, the rollback
 * trigger's verdict). Parsed again where they are used: a state machine payload is an edge.
 */
import * as z from 'zod';
import type { CanaryVerdict } from '../analysis.js';
import type { GateResult } from '../gates.js';
import { REASON_CODES, SEVERITIES } from '../severity.js';

const nullableNumber = z.number().nullable();

export const RuleEvidenceSchema = z.object({
  rule: z.enum(['safety_incidents', 'risk_energy', 'error_rate', 'constraint_violations', 'latency_p50', 'latency_p95', 'latency_p99']),
  canary: nullableNumber,
  baseline: nullableNumber,
  ratio: nullableNumber,
  threshold: z.number(),
  test: z.string(),
  pValue: nullableNumber,
  alpha: nullableNumber,
  significant: z.boolean(),
  breached: z.boolean(),
  failed: z.boolean(),
  window: z.object({ fromMinute: z.number(), toMinute: z.number(), minutes: z.number() }),
  samples: z.object({ canary: z.number(), baseline: z.number() }),
  message: z.string(),
});

/** core/analysis.ts CanaryVerdict. */
export const CanaryVerdictSchema = z.object({
  verdict: z.enum(['pass', 'fail', 'inconclusive', 'hold']),
  reason: z.enum(REASON_CODES).nullable(),
  severity: z.enum(SEVERITIES).nullable(),
  immediate: z.boolean(),
  summary: z.string(),
  evidence: z.array(RuleEvidenceSchema),
  sample: z.object({ minutes: z.number(), canaryRequests: z.number(), baselineRequests: z.number() }),
  hold: z.object({ reason: z.enum(['fleet_wide', 'no_data', 'traffic_mismatch']), minutes: z.array(z.number()), message: z.string() }).nullable().optional(),
}) satisfies z.ZodType<CanaryVerdict>;

/** core/gates.ts GateResult. */
export const GateResultSchema = z.object({
  passed: z.boolean(),
  checks: z.array(
    z.object({
      name: z.enum(['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility']),
      passed: z.boolean(),
      value: z.union([z.number(), z.string()]),
      threshold: z.union([z.number(), z.string()]),
      message: z.string(),
    }),
  ),
}) satisfies z.ZodType<GateResult>;
