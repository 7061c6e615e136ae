/**
 * Deploying what was uploaded (RELEASE.md §6.2, §7.1, §7.2, §3.3, §4.2, §8.2): the pure decisions
 * behind verify → deploy → smoke test → canary → converge / clean up. No AWS import: the adapters
 * (lambdas/adapters/*-target.ts, local/endpoint.ts) observe and act; this module decides.
 *
 * The model of a serving target is the same for a SageMaker endpoint and a Lambda function:
 * - a {@link ServingState} observed from the target (which slots serve, with what, and whether the
 *   target is busy changing),
 * - a {@link Deployment} planned from that state before anything changes (what the baseline was,
 *   what the candidate is, the names of every resource the release creates), recorded in the ledger,
 * - goals the target is driven to ({@link DeploymentGoal}): the candidate deployed next to the
 *   baseline, only the candidate (converged after a promotion), only the baseline (after a
 *   rollback or rejection) — each judged from the observed state by {@link judgeGoal}.
 *
 * SageMaker variant names stay fixed (`baseline`, `canary` by default): a release adds the `canary`
 * variant; converging puts the promoted model into the `baseline` variant alone; so the next release
 * finds the endpoint exactly as the one before did.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { FieldIssue } from './errors.js';

// ---- configuration ------------------------------------------------------------------------------

/** Largest request body of one smoke sample, and of all of them together (they travel in a Step Functions payload, 256 KiB). */
export const MAX_SMOKE_SAMPLE_BYTES = 16 * 1024;
export const MAX_SMOKE_TOTAL_BYTES = 64 * 1024;

/**
 * One smoke request: sent to the candidate alone (SageMaker `TargetVariant`, the Lambda version)
 * before any user traffic; the response must satisfy `expect`.
 */
export const SmokeSampleSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'must be 1-64 chars of A-Z a-z 0-9 space _ . -'),
  contentType: z.string().min(1).max(255).default('application/json'),
  /** The request body, as text (JSON text for application/json). */
  body: z.string().refine((b) => Buffer.byteLength(b, 'utf8') <= MAX_SMOKE_SAMPLE_BYTES, {
    message: `must be at most ${MAX_SMOKE_SAMPLE_BYTES} bytes (UTF-8)`,
  }),
  expect: z
    .strictObject({
      /** JSON Schema (draft 2020-12, checked with Ajv) the response body, parsed as JSON, must satisfy. */
      jsonSchema: z.record(z.string(), z.unknown()).optional(),
      /** The response must arrive within this many milliseconds. */
      maxLatencyMs: z.number().int().min(1).max(60_000).default(10_000),
    })
    .prefault({}),
});
export type SmokeSample = z.output<typeof SmokeSampleSchema>;

const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const IMAGE_RE = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})$/;

/** SageMaker: how a candidate Model is built and sized. */
export const SageMakerServingSchema = z
  .strictObject({
    /** The serving container image (ECR URI, by tag or digest) that loads the artifact. */
    image: z.string().regex(IMAGE_RE, 'must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or @sha256:<digest>'),
    /** The role SageMaker assumes to pull the image and read the artifact (iam:PassRole is granted on it alone). */
    executionRoleArn: z.string().regex(ROLE_ARN_RE, 'must be an IAM role ARN arn:aws:iam::<account>:role/<name>'),
    /** Instance type of the candidate variant. */
    instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.xlarge'),
    /** Instances of the candidate variant. */
    instanceCount: z.number().int().min(1).max(100).default(1),
    /** Instance types a manifest may ask for (`serving.instanceType`); the configured one is always allowed. */
    allowedInstanceTypes: z.array(z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type')).default([]),
    /** Most instances a manifest may ask for (`serving.instanceCount`). @default instanceCount */
    maxInstanceCount: z.number().int().min(1).max(100).optional(),
    /** Environment of the serving container (besides MODEL_URI / MODEL_SHA256 / MODEL_VERSION, which the pipeline sets). */
    environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/), z.string().max(1024)).default({}),
  })
  .superRefine((s, ctx) => {
    if (s.maxInstanceCount !== undefined && s.maxInstanceCount < s.instanceCount) {
      ctx.addIssue({ code: 'custom', path: ['maxInstanceCount'], message: `must be at least instanceCount (${s.instanceCount})` });
    }
  });
export type SageMakerServing = z.output<typeof SageMakerServingSchema>;

/** Lambda: how the function receives the artifact (environment variables of a new published version). */
export const LambdaServingSchema = z.strictObject({
  delivery: z
    .strictObject({
      kind: z.literal('environment'),
      uriVariable: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/).default('MODEL_URI'),
      sha256Variable: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/).default('MODEL_SHA256'),
      versionVariable: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/).default('MODEL_VERSION'),
    })
    .prefault({ kind: 'environment' }),
});
export type LambdaServing = z.output<typeof LambdaServingSchema>;

/** The `deployment` section of the pipeline config. */
export const DeploymentConfigSchema = z.strictObject({
  /** SageMaker serving (required when the router is a SageMaker endpoint). */
  sagemaker: SageMakerServingSchema.optional(),
  /** Lambda delivery (used when the router is a Lambda alias). */
  lambda: LambdaServingSchema.prefault({}),
  /** Smoke requests sent to the candidate before any user traffic; none: the deployment's health alone is checked. */
  smoke: z
    .array(SmokeSampleSchema)
    .max(20)
    .default([])
    .refine((s) => s.reduce((n, x) => n + Buffer.byteLength(x.body, 'utf8'), 0) <= MAX_SMOKE_TOTAL_BYTES, {
      message: `the smoke bodies together must be at most ${MAX_SMOKE_TOTAL_BYTES} bytes`,
    }),
  /** How long a deployment, converge or clean-up may take before it counts as failed. */
  timeoutMinutes: z.number().int().min(5).max(240).default(60),
  /** How often the state machine looks at the target while it changes. */
  pollSeconds: z.number().int().min(5).max(600).default(30),
  /** After a promotion, the previous model's variant stays warm (weight 0) this long before it is removed. */
  bakeMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
});
export type DeploymentConfig = z.output<typeof DeploymentConfigSchema>;

/** What a manifest may ask for, within the config's limits (`serving` field of release.json). */
export const ServingRequestSchema = z.strictObject({
  instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.xlarge').optional(),
  instanceCount: z.number().int().min(1).max(100).optional(),
});
export type ServingRequest = z.infer<typeof ServingRequestSchema>;

// ---- the artifact --------------------------------------------------------------------------------

/** Where a release's artifact may live: the stack's bucket, under `models/<model>/<version>/`. */
export function artifactPrefix(model: string, version: string): string {
  return `models/${model}/${version}/`;
}

export type ArtifactLocation = { ok: true; bucket: string; key: string } | { ok: false; message: string };

/**
 * The artifact URI must name an object of the pipeline's bucket under the release's own folder
 * (next to its release.json), and not the manifest itself.
 *
 * @example checkArtifactLocation('s3://b/models/m/1.0.0/model.tar.gz', { bucket: 'b', model: 'm', version: '1.0.0' }) // ok
 */
export function checkArtifactLocation(uri: string, allowed: { bucket: string; model: string; version: string }): ArtifactLocation {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (m === null) return { ok: false, message: `${uri} is not an s3://bucket/key URI` };
  const [, bucket, key] = m as unknown as [string, string, string];
  const prefix = artifactPrefix(allowed.model, allowed.version);
  if (bucket !== allowed.bucket) {
    return { ok: false, message: `the artifact is in bucket ${bucket}; this pipeline deploys only from its own bucket ${allowed.bucket} (upload it to s3://${allowed.bucket}/${prefix})` };
  }
  const segments = key.slice(prefix.length).split('/');
  if (!key.startsWith(prefix) || key.endsWith('/') || segments.some((seg) => seg === '.' || seg === '..' || seg === '')) {
    return { ok: false, message: `the artifact key ${key} is not an object under ${prefix}, the release's own folder` };
  }
  if (key === `${prefix}release.json`) return { ok: false, message: 'the artifact URI names the manifest itself' };
  return { ok: true, bucket, key };
}

/** S3 reports a whole-object SHA-256 checksum as base64; manifests carry lowercase hex. */
export function base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

/**
 * Largest artifact the verify function streams through SHA-256 itself: hashing runs at ~1.9 GB/s on
 * one core (bench/artifact-digest.bench.ts), so the read from S3 bounds it; at a conservative
 * 64 MB/s sustained, 48 GiB take ~805 s of Lambda's 900. Larger artifacts must carry S3's
 * full-object SHA-256 checksum (uploaded with `--checksum-algorithm SHA256`), checked before any byte
 * is read — never discovered by a timeout.
 */
export const MAX_STREAMED_ARTIFACT_BYTES = 48 * 1024 ** 3;

/** What the artifact store reports about one object. */
export interface ArtifactFacts {
  /** True when the object has no full-object checksum and is too large to stream within Lambda's time (nothing was read). */
  readonly tooLargeToStream?: boolean;
  readonly exists: boolean;
  readonly size: number | null;
  readonly versionId: string | null;
  /** Lowercase hex SHA-256 of the whole object, or null when it could not be established. */
  readonly sha256: string | null;
  /** `checksum`: S3's stored full-object SHA-256; `computed`: streamed and hashed by the pipeline. */
  readonly digestSource: 'checksum' | 'computed' | null;
}

export type ArtifactVerdict =
  | { readonly ok: true; readonly message: string }
  | { readonly ok: false; readonly reason: 'artifact_location' | 'artifact_missing' | 'artifact_digest_mismatch'; readonly message: string };

/** The artifact is deployable only if it exists and its SHA-256 is the manifest's. */
export function judgeArtifact(expectedSha256: string, uri: string, facts: ArtifactFacts): ArtifactVerdict {
  if (!facts.exists) return { ok: false, reason: 'artifact_missing', message: `the artifact ${uri} does not exist (upload it before release.json)` };
  if (facts.tooLargeToStream === true) {
    return {
      ok: false,
      reason: 'artifact_digest_mismatch',
      message: `${uri} is ${facts.size ?? '?'} bytes without S3's full-object SHA-256 checksum, over the ${MAX_STREAMED_ARTIFACT_BYTES} bytes the pipeline can hash within Lambda's 15 minutes: upload it with a full-object SHA-256 checksum (aws s3 cp --checksum-algorithm SHA256) so S3 stores its digest`,
    };
  }
  if (facts.sha256 === null) return { ok: false, reason: 'artifact_digest_mismatch', message: `the SHA-256 of ${uri} could not be established` };
  if (facts.sha256 !== expectedSha256) {
    return {
      ok: false,
      reason: 'artifact_digest_mismatch',
      message: `the SHA-256 of ${uri} is ${facts.sha256} (${facts.digestSource === 'checksum' ? "S3's stored checksum" : 'computed by streaming the object'}), the manifest says ${expectedSha256}: the uploaded artifact is not the one the gates judged`,
    };
  }
  return {
    ok: true,
    message: `${uri} (${facts.size ?? '?'} bytes${facts.versionId === null ? '' : `, version ${facts.versionId}`}) has the manifest's SHA-256 (${facts.digestSource === 'checksum' ? "S3's stored checksum" : 'computed by streaming'})`,
  };
}

// ---- sizing ----------------------------------------------------------------------------------------

export type Sizing = { ok: true; instanceType: string; instanceCount: number } | { ok: false; issues: FieldIssue[] };

/**
 * The candidate's instance type and count: the config's, narrowed by the manifest's `serving`
 * request within what the config allows.
 */
export function resolveSizing(serving: SageMakerServing, request: ServingRequest | undefined): Sizing {
  const issues: FieldIssue[] = [];
  const allowed = new Set([serving.instanceType, ...serving.allowedInstanceTypes]);
  const maxCount = serving.maxInstanceCount ?? serving.instanceCount;
  const instanceType = request?.instanceType ?? serving.instanceType;
  const instanceCount = request?.instanceCount ?? serving.instanceCount;
  if (!allowed.has(instanceType)) {
    issues.push({ path: 'serving.instanceType', message: `${instanceType} is not allowed by the pipeline config (allowed: ${[...allowed].join(', ')})` });
  }
  if (instanceCount > maxCount) {
    issues.push({ path: 'serving.instanceCount', message: `${instanceCount} is over the pipeline config's maximum of ${maxCount}` });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, instanceType, instanceCount };
}

// ---- names -----------------------------------------------------------------------------------------

/** SageMaker Model and EndpointConfig names: at most 63 chars of `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`. */
export const SAGEMAKER_NAME_MAX = 63;
export const SAGEMAKER_NAME_RE = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * The first part of every SageMaker resource name the pipeline creates for an endpoint; the names
 * go on with `--`, which the prefix never contains (runs of hyphens are collapsed), so the IAM grant
 * `<prefix>--*` of endpoint `builderbrain` does not cover the names made for `builderbrain-staging`.
 */
export function sageMakerNamePrefix(endpointName: string): string {
  const cleaned = cleanName(endpointName);
  if (cleaned !== '' && cleaned === endpointName && cleaned.length <= 24) return cleaned;
  // Cut or changed: a short hash of the whole name keeps endpoints that share their first characters
  // (builderbrain-production-eu / -us) apart, in the names and in the grants.
  const hash = createHash('sha256').update(endpointName.toLowerCase(), 'utf8').digest('hex').slice(0, 4);
  return `${cleaned.slice(0, 19).replace(/-+$/, '') || 'bb'}-${hash}`;
}

const cleanName = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/**
 * The names of the SageMaker resources a release creates, derived from the release id (so a
 * retried step finds what the first attempt created): `<endpoint prefix>--<version>-<hash>-<role>`,
 * the version cut so the whole stays within 63 bytes.
 *
 * @example sageMakerNames('builderbrain', 'builderbrain-2_1_0-24c174c9', '2.1.0').model // 'builderbrain--2-1-0-<8 hex>-m'
 */
export function sageMakerNames(endpointName: string, releaseId: string, version: string) {
  const hash = createHash('sha256').update(releaseId, 'utf8').digest('hex').slice(0, 8);
  const prefix = sageMakerNamePrefix(endpointName);
  const name = (role: string) => {
    const tail = `-${hash}-${role}`;
    const room = SAGEMAKER_NAME_MAX - prefix.length - tail.length - 2;
    const v = cleanName(version).slice(0, room).replace(/-+$/, '');
    return v === '' ? `${prefix}-${tail}` : `${prefix}--${v}${tail}`;
  };
  return {
    /** The candidate's Model. */
    model: name('m'),
    /** Baseline + candidate variants. */
    candidateConfig: name('c'),
    /** The candidate alone, in the baseline variant (after promotion). */
    convergedConfig: name('s'),
    /** The baseline alone (after a rollback or rejection). */
    restoreConfig: name('r'),
  } as const;
}

// ---- the serving target ------------------------------------------------------------------------------

/** One production variant (SageMaker) or one version the live alias routes to (Lambda). */
export const ServingSlotSchema = z.strictObject({
  /** Variant name, or the Lambda version number. */
  name: z.string().min(1),
  /** SageMaker Model name; null for Lambda. */
  model: z.string().nullable(),
  /** Share of traffic, percent. */
  weight: z.number().min(0).max(100),
  instanceType: z.string().nullable(),
  instanceCount: z.number().int().min(0).nullable(),
});
export type ServingSlot = z.infer<typeof ServingSlotSchema>;

/** What a target reports about itself. */
export const ServingStateSchema = z.strictObject({
  exists: z.boolean(),
  /** `busy`: SageMaker Creating/Updating/SystemUpdating/RollingBack/Deleting, a Lambda update in progress; `failed`: SageMaker Failed. */
  status: z.enum(['idle', 'busy', 'failed']),
  /** EndpointConfig in service (SageMaker), the live alias's version (Lambda). */
  config: z.string().nullable(),
  /** The last failure the target reports (SageMaker FailureReason, Lambda LastUpdateStatusReason). */
  failureReason: z.string().nullable(),
  slots: z.array(ServingSlotSchema),
});
export type ServingState = z.infer<typeof ServingStateSchema>;

/** What the release deploys and what it replaces: recorded in the ledger, carried by the state machines. */
export const DeploymentSchema = z.strictObject({
  target: z.enum(['sagemaker', 'lambda']),
  /** Endpoint or function name. */
  resource: z.string().min(1),
  releaseId: z.string().min(1),
  version: z.string().min(1),
  artifact: z.strictObject({ uri: z.string(), sha256: z.string() }),
  /** What served before the release; null on a first release (nothing to compare with). */
  baseline: z
    .strictObject({
      slot: z.string(),
      model: z.string().nullable(),
      /** SageMaker EndpointConfig / Lambda version in service before the release. */
      config: z.string().nullable(),
      instanceType: z.string().nullable(),
      instanceCount: z.number().int().nullable(),
      /** True when the pre-release config held the baseline alone. */
      alone: z.boolean(),
    })
    .nullable(),
  /** When the plan was made: the deployment's timeout counts from here, across retries. */
  plannedAt: z.iso.datetime().optional(),
  /** The slot the candidate serves from once converged (SageMaker: the baseline variant; Lambda: the live alias). */
  convergedSlot: z.string().optional(),
  candidate: z.strictObject({
    slot: z.string(),
    /** SageMaker Model name; the published Lambda version once known. */
    model: z.string().nullable(),
    version: z.string().nullable(),
    instanceType: z.string().nullable(),
    instanceCount: z.number().int().nullable(),
  }),
  /** SageMaker EndpointConfig names of each goal; null for Lambda. */
  configs: z
    .strictObject({ candidate: z.string(), converged: z.string(), restore: z.string() })
    .nullable(),
});
export type Deployment = z.infer<typeof DeploymentSchema>;

export const DEPLOYMENT_GOALS = ['candidate_deployed', 'converged', 'candidate_removed'] as const;
export type DeploymentGoal = (typeof DEPLOYMENT_GOALS)[number];

export interface SageMakerPlanInput {
  /** When the plan is made. */
  readonly at?: string;
  readonly endpointName: string;
  readonly baselineVariant: string;
  readonly canaryVariant: string;
  readonly releaseId: string;
  readonly version: string;
  readonly artifact: { readonly uri: string; readonly sha256: string };
  readonly instanceType: string;
  readonly instanceCount: number;
}

/**
 * The SageMaker deployment of a release, planned from the endpoint as it is. The baseline is what
 * serves most traffic now (the `baseline` variant on a converged endpoint; whatever serves after a
 * clean-up that did not finish), so a half-finished earlier release never needs a hand-made fix:
 * the new config holds that baseline and the candidate, nothing else. No endpoint: a first release.
 */
export function planSageMakerDeployment(state: ServingState, input: SageMakerPlanInput): Deployment {
  const names = sageMakerNames(input.endpointName, input.releaseId, input.version);
  const serving = servingSlot(state, input.baselineVariant);
  return {
    ...planHeader('sagemaker', input.endpointName, input),
    convergedSlot: input.baselineVariant,
    baseline:
      !state.exists || serving === null
        ? null
        : {
            slot: input.baselineVariant,
            model: serving.model,
            config: state.config,
            instanceType: serving.instanceType,
            instanceCount: serving.instanceCount,
            alone: state.slots.length === 1 && serving.name === input.baselineVariant,
          },
    candidate: { slot: input.canaryVariant, model: names.model, version: input.version, instanceType: input.instanceType, instanceCount: input.instanceCount },
    configs: { candidate: names.candidateConfig, converged: names.convergedConfig, restore: names.restoreConfig },
  };
}

/** What every plan starts with: the target, the release and its artifact, when it was made. */
function planHeader(
  target: Deployment['target'],
  resource: string,
  input: { readonly releaseId: string; readonly version: string; readonly artifact: { readonly uri: string; readonly sha256: string }; readonly at?: string },
) {
  return {
    target,
    resource,
    releaseId: input.releaseId,
    version: input.version,
    artifact: { uri: input.artifact.uri, sha256: input.artifact.sha256 },
    ...(input.at === undefined ? {} : { plannedAt: input.at }),
  };
}

/** The slot serving most traffic (ties: the one named `preferred`); null when nothing serves. */
export function servingSlot(state: ServingState, preferred: string): ServingSlot | null {
  let best: ServingSlot | null = null;
  for (const s of state.slots) {
    if (best === null || s.weight > best.weight || (s.weight === best.weight && s.name === preferred)) best = s;
  }
  return best;
}

/** The EndpointConfig (SageMaker) the endpoint must be on for a goal; null when the goal is "no endpoint" (a first release removed). */
export function goalConfig(goal: DeploymentGoal, d: Deployment): string | null {
  if (d.configs === null) return null;
  switch (goal) {
    case 'candidate_deployed':
      return d.configs.candidate;
    case 'converged':
      return d.configs.converged;
    case 'candidate_removed':
      // Always a config of our own (the baseline alone), never the pre-release one: its name is the
      // team's, and UpdateEndpoint would need IAM rights on every endpoint config of the account.
      return d.baseline === null ? null : d.configs.restore;
  }
}

/**
 * Whether the target already is where a goal wants it, whatever config name it got there by: an
 * endpoint that SageMaker put back on the baseline alone after a failed deployment needs no removal.
 * Adapters ask this before acting, so an unneeded update (and its instances) never happens.
 */
export function goalReached(goal: DeploymentGoal, d: Deployment, state: ServingState): boolean {
  if (state.status !== 'idle') return false;
  if (d.target === 'lambda') return false;
  const want = goalConfig(goal, d);
  if (want === null) return !state.exists;
  if (!state.exists) return false;
  if (state.config === want) return true;
  const only = state.slots.length === 1 ? state.slots[0]! : null;
  switch (goal) {
    case 'candidate_deployed':
      return false;
    case 'converged':
      // The candidate alone, out of the canary variant (which the next release needs).
      return only !== null && only.model === d.candidate.model && only.name !== d.candidate.slot;
    case 'candidate_removed':
      return only !== null && d.baseline !== null && only.name === d.baseline.slot && only.model === d.baseline.model;
  }
}

export type GoalJudgement =
  | { readonly action: 'wait'; readonly message: string }
  | { readonly action: 'done'; readonly message: string }
  | { readonly action: 'failed'; readonly message: string; readonly failureReason: string | null };

/**
 * Where a target is on the way to a goal. SageMaker's in-progress states are waited on, never
 * failed — until `timedOut`. A SageMaker update that fails puts the endpoint back on its previous
 * config (InService) with a FailureReason: "idle but not on the goal's config" is that failure.
 */
export function judgeGoal(goal: DeploymentGoal, d: Deployment, state: ServingState, timedOut: boolean): GoalJudgement {
  const what = goalText(goal, d);
  if (d.target === 'lambda') return judgeLambdaGoal(goal, d, state, what, timedOut);
  const want = goalConfig(goal, d);
  if (want === null) {
    // A first release taken back: the endpoint the release created is deleted.
    if (!state.exists) return { action: 'done', message: `${what}: endpoint ${d.resource} deleted` };
    if (state.status === 'busy' && !timedOut) return { action: 'wait', message: `${what}: endpoint ${d.resource} is being deleted` };
    return failed(what, timedOut ? 'timed out' : 'the endpoint still exists', state.failureReason);
  }
  if (!state.exists) return failed(what, `endpoint ${d.resource} does not exist`, state.failureReason);
  if (state.status === 'busy') {
    return timedOut
      ? failed(what, `timed out while endpoint ${d.resource} was still changing`, state.failureReason)
      : { action: 'wait', message: `${what}: endpoint ${d.resource} is changing` };
  }
  if (goalReached(goal, d, state)) return { action: 'done', message: `${what}: endpoint ${d.resource} is in service on ${state.config ?? want}` };
  if (state.status === 'failed') return failed(what, `endpoint ${d.resource} failed`, state.failureReason);
  return failed(what, `SageMaker kept endpoint ${d.resource} on ${state.config ?? 'no config'} instead of ${want}`, state.failureReason);
}

function judgeLambdaGoal(goal: DeploymentGoal, d: Deployment, state: ServingState, what: string, timedOut: boolean): GoalJudgement {
  // A first release taken back: the live alias the release created is deleted (nothing else can serve).
  if (goal === 'candidate_removed' && d.baseline === null) {
    return state.exists ? failed(what, `the live alias of ${d.resource} still exists`, null) : { action: 'done', message: `${what}: the live alias of ${d.resource} deleted` };
  }
  if (!state.exists) return failed(what, `function ${d.resource} has no live alias`, state.failureReason);
  if (state.status === 'busy') {
    return timedOut
      ? failed(what, `timed out while function ${d.resource} was still updating`, state.failureReason)
      : { action: 'wait', message: `${what}: function ${d.resource} is updating` };
  }
  if (state.status === 'failed') return failed(what, `the update of function ${d.resource} failed`, state.failureReason);
  const candidate = d.candidate.version;
  switch (goal) {
    case 'candidate_deployed':
      return candidate === null ? failed(what, 'no version was published', state.failureReason) : { action: 'done', message: `${what}: version ${candidate} published` };
    case 'converged': {
      const only = state.slots.length === 1 && state.slots[0]!.name === candidate;
      return only ? { action: 'done', message: `${what}: the live alias serves version ${candidate} alone` } : failed(what, `the live alias does not serve version ${candidate} alone`, null);
    }
    case 'candidate_removed': {
      const serving = state.slots.some((s) => s.name === candidate && s.weight > 0);
      return serving ? failed(what, `the live alias still routes to version ${candidate}`, null) : { action: 'done', message: `${what}: version ${candidate ?? '?'} serves no traffic` };
    }
  }
}

function failed(what: string, why: string, reason: string | null): GoalJudgement {
  return { action: 'failed', message: `${what} failed: ${why}${reason === null ? '' : ` (${reason})`}`, failureReason: reason };
}

function goalText(goal: DeploymentGoal, d: Deployment): string {
  switch (goal) {
    case 'candidate_deployed':
      return `deploying ${d.version}`;
    case 'converged':
      return `converging on ${d.version}`;
    case 'candidate_removed':
      return `removing ${d.version}`;
  }
}

// ---- smoke tests: judged in core/smoke.ts (Ajv stays out of the handlers that do not need it) -----

/** What the candidate answered to one smoke request. */
export interface SmokeResponse {
  /** The invocation failed (HTTP error, ModelError, Lambda FunctionError, timeout): its message. */
  readonly error: string | null;
  readonly body: string;
  readonly latencyMs: number;
}

/** The judgement of one smoke request (core/smoke.ts judgeSmoke). */
export const SmokeResultSchema = z.object({
  name: z.string(),
  passed: z.boolean(),
  latencyMs: z.number(),
  message: z.string(),
});
export type SmokeResult = z.infer<typeof SmokeResultSchema>;

// ---- first releases ---------------------------------------------------------------------------------

/**
 * A first release has no baseline to compare with: only the last phase (100%) runs, where only the
 * absolute rules act (safety incidents, the constraint-violation ceiling), after the smoke tests.
 * Returns the index of the phase to run when the canary asks for `requested`.
 */
export function effectivePhaseIndex(requested: number, phaseCount: number, hasBaseline: boolean): number {
  return hasBaseline ? requested : Math.max(requested, phaseCount - 1);
}

export interface LambdaPlanInput {
  readonly at?: string;
  readonly functionName: string;
  readonly liveAlias?: string;
  readonly candidateAlias: string;
  readonly releaseId: string;
  readonly version: string;
  readonly artifact: { readonly uri: string; readonly sha256: string };
}

/**
 * The Lambda deployment of a release: the baseline is the version the live alias serves (most of
 * its traffic); no live alias: a first release. The candidate's version is known once published.
 */
export function planLambdaDeployment(state: ServingState, input: LambdaPlanInput): Deployment {
  const serving = state.exists ? servingSlot(state, state.config ?? '') : null;
  return {
    ...planHeader('lambda', input.functionName, input),
    ...(input.liveAlias === undefined ? {} : { convergedSlot: input.liveAlias }),
    baseline:
      serving === null
        ? null
        : { slot: serving.name, model: null, config: serving.name, instanceType: null, instanceCount: null, alone: state.slots.length === 1 },
    candidate: { slot: input.candidateAlias, model: null, version: null, instanceType: null, instanceCount: null },
    configs: null,
  };
}

/** What serves after a goal is reached, for the ledger's "what served when". */
export function servingAfter(goal: DeploymentGoal, d: Deployment): { model: string | null; config: string | null; version: string | null; slots: string[] } {
  switch (goal) {
    case 'candidate_deployed':
      return {
        model: d.candidate.model,
        config: goalConfig(goal, d),
        version: d.candidate.version,
        slots: d.baseline === null ? [d.candidate.slot] : [d.baseline.slot, d.candidate.slot],
      };
    case 'converged':
      return {
        model: d.candidate.model,
        config: goalConfig(goal, d),
        version: d.target === 'lambda' ? d.candidate.version : d.version,
        slots: [d.convergedSlot ?? d.baseline?.slot ?? d.candidate.slot],
      };
    case 'candidate_removed':
      return d.baseline === null
        ? { model: null, config: null, version: null, slots: [] }
        : { model: d.baseline.model, config: goalConfig(goal, d), version: d.target === 'lambda' ? d.baseline.config : null, slots: [d.baseline.slot] };
  }
}

/** The P2/P3 incident of a release rejected after its gates passed: the artifact, its deployment or its smoke test. */
export function deploymentRejection(
  ctx: { model: string; version: string; releaseId: string; displayName: string },
  cause: 'artifact_rejected' | 'deploy_failed' | 'smoke_failed',
  message: string,
): { severity: 'P2' | 'P3'; title: string; text: string } {
  const name = `${ctx.displayName} ${ctx.version}`;
  const severity = cause === 'artifact_rejected' ? 'P3' : 'P2';
  const why =
    cause === 'artifact_rejected'
      ? 'its artifact failed verification'
      : cause === 'deploy_failed'
        ? 'its deployment failed'
        : 'it failed its smoke test';
  const after =
    cause === 'artifact_rejected'
      ? 'Nothing was deployed; upload the artifact the manifest describes (or fix artifact.sha256) and upload release.json again.'
      : 'No user traffic reached it; the endpoint is back on the baseline alone and the candidate\'s instances are released.';
  return {
    severity,
    title: `[${severity}] ${name} rejected: ${why}`,
    text: [`${name} was rejected: ${why}.`, `✗ ${message}`, after, '', `Release: ${ctx.releaseId}`, `History: builderbrain history ${ctx.releaseId}`].join('\n'),
  };
}
