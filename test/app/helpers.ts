/** Shared fixtures of the use-case tests: a release walked through the real use cases on in-memory ports. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { VariantMinute } from '../../core/analysis.js';
import { releaseIdFor } from '../../core/app/ids.js';
import { acquireReleaseLock } from '../../core/app/release-lock.js';
import { runGates } from '../../core/app/run-gates.js';
import { startPhase } from '../../core/app/start-phase.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import type { ServingDeps, ServingSettings } from '../../core/app/serving.js';
import type { CanaryInput, PhaseState, PromotionInput, ServingInput } from '../../core/contracts.js';
import { SageMakerServingSchema } from '../../core/deployment.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { SimulatedEndpoint, type SimulatedEndpointOptions } from '../../local/endpoint.js';
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
/** `minutes` minutes of 6,000 requests split at the first phase's 1% (or `weightPct`), the clock advancing. */
export function traffic(w: MemoryPorts, minutes: number, canary: (i: number) => Partial<VariantMinute> = () => ({}), weightPct = 1): void {
  const nc = Math.round(60 * weightPct);
  for (let i = 0; i < minutes; i++) {
    w.metrics.put(MODEL, w.clock.now(), { canary: minute(nc, i, canary(i)), baseline: minute(6000 - nc, i + 3) });
    w.clock.advanceMinutes(1);
  }
}

// ---- the serving target: a simulated SageMaker endpoint ------------------------------------------

export const ENDPOINT = 'bb-endpoint';
/** The model the simulated endpoint serves before the first simulated release. */
export const INITIAL_MODEL = 'bb-model-2-0-3';
export const INITIAL_CONFIG = `${ENDPOINT}-initial-config`;
export const PROVISION_MINUTES = 8;

/** The pipeline config's deployment.sagemaker: one more instance type and up to 2 instances on request. */
export const SAGEMAKER_SERVING = SageMakerServingSchema.parse({
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb-serving:2.1.0',
  executionRoleArn: 'arn:aws:iam::123456789012:role/bb-sagemaker-exec',
  instanceType: 'ml.g5.xlarge',
  allowedInstanceTypes: ['ml.g5.2xlarge'],
  maxInstanceCount: 2,
});

export function servingSettings(over: Partial<ServingSettings> = {}): ServingSettings {
  return {
    plan: { kind: 'sagemaker', endpointName: ENDPOINT, baselineVariant: 'baseline', canaryVariant: 'canary', serving: SAGEMAKER_SERVING },
    timeoutMinutes: 60,
    pollSeconds: 30,
    bakeMinutes: 60,
    ...over,
  };
}

/** In-memory ports and a simulated endpoint on the same clock, wired as the serving use cases' deps. */
export function servingWorld(opts: { endpoint?: Partial<SimulatedEndpointOptions>; settings?: Partial<ServingSettings> } = {}) {
  const w = world();
  const endpoint = new SimulatedEndpoint({
    endpointName: ENDPOINT,
    baselineVariant: 'baseline',
    canaryVariant: 'canary',
    image: SAGEMAKER_SERVING.image,
    clock: w.clock,
    provisionMinutes: PROVISION_MINUTES,
    deployFailure: null,
    smoke: 'ok',
    initialModel: INITIAL_MODEL,
    instanceType: 'ml.g5.xlarge',
    ...opts.endpoint,
  });
  const deps: ServingDeps = { target: endpoint, ledger: w.ledger, clock: w.clock, settings: servingSettings(opts.settings) };
  return { w, endpoint, deps };
}

/**
 * A release whose gates passed (status `gated`), recorded directly so any version can be used, and
 * the DeployCandidate input the promotion machine would build for it.
 */
export async function gatedRelease(w: MemoryPorts, version = '2.1.0'): Promise<{ releaseId: string; deploy: Extract<ServingInput, { action: 'deploy' }> }> {
  const releaseId = `${MODEL}-${version.replace(/\./g, '_')}-0a1b2c3d`;
  const artifact = { uri: `s3://${BUCKET}/models/${MODEL}/${version}/model.tar.gz`, sha256: 'c'.repeat(64) };
  const at = w.clock.now().toISOString();
  await w.ledger.createRelease({
    releaseId,
    model: MODEL,
    version,
    status: 'gated',
    artifact,
    manifestSha256: 'e'.repeat(64),
    source: { bucket: BUCKET, key: `models/${MODEL}/${version}/release.json`, versionId: 'v1' },
    receivedAt: at,
    updatedAt: at,
    canaryExecutionArn: null,
    phase: null,
    weight: 0,
    lastVerdict: null,
    approvers: [],
    outcome: null,
    incidentPublished: false,
  });
  return { releaseId, deploy: { action: 'deploy', releaseId, model: MODEL, version, artifact, serving: null } };
}
