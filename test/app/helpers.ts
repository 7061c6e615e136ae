/** Shared fixtures of the use-case tests: a release walked through the real use cases on in-memory ports. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VariantMinute } from '../../core/analysis.js';
import { releaseIdFor } from '../../core/app/ids.js';
import { acquireReleaseLock } from '../../core/app/release-lock.js';
import { runGates } from '../../core/app/run-gates.js';
import { startPhase } from '../../core/app/start-phase.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import type { CanaryInput, PhaseState, PromotionInput } from '../../core/contracts.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { ManualClock, memoryPorts, type MemoryPorts } from '../../local/memory.js';

export const BUCKET = 'bb-artifacts';
export const MODEL = 'builderbrain';

export const exampleText = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../examples/${name}`, import.meta.url)), 'utf8');

export const MANIFEST_TEXT = exampleText('minor-pass.json');

export function world(start = '2025-03-01T10:00:00.000Z'): MemoryPorts {
  return memoryPorts(new ManualClock(start));
}

/** Uploads `text` at models/<model>/<version>/release.json and returns the promotion input. */
export function upload(w: MemoryPorts, text = MANIFEST_TEXT, opts: { model?: string; version?: string; versionId?: string } = {}): PromotionInput {
  const key = `models/${opts.model ?? MODEL}/${opts.version ?? '2.1.0'}/release.json`;
  const versionId = opts.versionId ?? 'v1';
  w.artifacts.put(BUCKET, key, text, versionId);
  const source = { bucket: BUCKET, key, versionId, etag: 'etag-1' };
  return { releaseId: releaseIdFor(source), source, receivedAt: w.clock.now().toISOString() };
}

export function canaryInput(releaseId: string, phases = DEFAULT_PHASES): CanaryInput {
  return { releaseId, model: MODEL, version: '2.1.0', phases, maxLooksPerPhase: 120 };
}

export const EXECUTION_ARN = 'arn:aws:states:eu-west-1:123456789012:execution:canary:run-1';

/** A release validated, locked, gated and in phase 1 (1%): the in-flight release of MODEL. */
export async function releaseInCanary(w: MemoryPorts, opts: { versionId?: string } = {}): Promise<{ releaseId: string; phase: PhaseState }> {
  const input = upload(w, MANIFEST_TEXT, opts);
  const v = await validateManifest(input, w);
  if (!v.valid || v.manifest === null) throw new Error('fixture manifest is invalid');
  const lock = await acquireReleaseLock({ releaseId: input.releaseId, model: MODEL }, w);
  if (!lock.acquired) throw new Error('fixture lock busy');
  const gates = await runGates({ releaseId: input.releaseId, manifest: v.manifest }, { ...w, gatePolicy: DEFAULT_POLICY.gates });
  if (!gates.passed) throw new Error('fixture gates failed');
  const phase = await startPhase({ ...canaryInput(input.releaseId), phaseIndex: 0, executionArn: EXECUTION_ARN }, w);
  return { releaseId: input.releaseId, phase };
}

/** A healthy variant minute with a little deterministic jitter (rank tests need variation). */
export function minute(requests: number, i: number, over: Partial<VariantMinute> = {}): VariantMinute {
  const j = ((i * 7919) % 13) - 6;
  return {
    requests,
    errors: Math.round(requests * 0.004),
    latencyP50: 180 + j,
    latencyP95: 420 + 2 * j,
    latencyP99: 650 + 3 * j,
    riskEnergy: 0.3 + j / 1000,
    constraintViolations: Math.round(requests * 0.01),
    safetyIncidents: 0,
    ...over,
  };
}

/** Records `minutes` minutes of traffic from the clock's current minute, advancing the clock. */
export function traffic(w: MemoryPorts, minutes: number, canary: (i: number) => Partial<VariantMinute> = () => ({})): void {
  for (let i = 0; i < minutes; i++) {
    w.metrics.put(MODEL, w.clock.now(), { canary: minute(600, i, canary(i)), baseline: minute(5400, i + 3) });
    w.clock.advanceMinutes(1);
  }
}
