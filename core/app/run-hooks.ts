/**
 * RunHooks: the environment's verification hooks of one stage (before traffic, during or after a
 * phase), each invoked with the release and the endpoint, each answer judged and audited
 * (core/verification.ts). Hooks run one after another, in the configured order, and the first
 * failure stops the rest: a load-test driver need not run against a candidate that failed its
 * integration tests.
 */
import type { HooksInput, HooksOutput } from '../contracts.js';
import { hooksFor, type EnvironmentSettings } from '../environments.js';
import type { AuditLedger, Clock, HookInvoker } from '../ports.js';
import { judgeHookCall, judgeHooks, type HookResult } from '../verification.js';
import { eventIds } from './ids.js';

export interface RunHooksDeps {
  readonly hooks: HookInvoker;
  readonly ledger: AuditLedger;
  readonly clock: Clock;
  readonly environment: EnvironmentSettings;
}

/** Runs the stage's hooks; `passed` with no results when the stage has none. */
export async function runHooks(input: HooksInput, deps: RunHooksDeps): Promise<HooksOutput> {
  const env = deps.environment;
  const phase = input.phase ?? null;
  const results: HookResult[] = [];
  for (const hook of hooksFor(env, input.stage, phase?.weight ?? null)) {
    const call = await deps.hooks.invoke(
      hook.functionArn,
      {
        releaseId: input.releaseId,
        model: input.model,
        version: input.version,
        environment: env.name,
        endpoint: env.endpoint,
        stage: input.stage,
        hook: hook.name,
        phase: phase?.index ?? null,
        weight: phase?.weight ?? null,
      },
      hook.timeoutSeconds * 1000,
    );
    const result = judgeHookCall(hook, call);
    results.push(result);
    await deps.ledger.append({
      releaseId: input.releaseId,
      eventId: eventIds.hook(input.stage, phase?.index ?? null, hook.name),
      at: deps.clock.now().toISOString(),
      type: 'hook',
      actor: `hook:${hook.name}`,
      ...(phase === null ? {} : { phase: phase.index, weight: phase.weight }),
      detail: { ...result, metrics: { ...result.metrics } },
    });
    if (!result.passed) break;
  }
  const verdict = judgeHooks(input.stage, results);
  return {
    passed: verdict.passed,
    stage: input.stage,
    results: verdict.results.map((r) => ({ ...r, metrics: { ...r.metrics } })),
    failure: verdict.failure,
    severity: verdict.severity,
  };
}
