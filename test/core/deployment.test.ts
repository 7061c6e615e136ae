/**
 * core/deployment.ts: the pure decisions behind verify → deploy → smoke test → canary → converge /
 * clean up. Table-driven cases for every function, and properties for the ones whose promises hold
 * for any input (SageMaker names, the timeout, the artifact's folder, the sizing limits). Smoke
 * judgements (core/smoke.ts) are in smoke.test.ts.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_GOALS,
  DeploymentConfigSchema,
  DeploymentSchema,
  MAX_SMOKE_SAMPLE_BYTES,
  SAGEMAKER_NAME_MAX,
  SAGEMAKER_NAME_RE,
  SageMakerServingSchema,
  ServingRequestSchema,
  SmokeSampleSchema,
  artifactPrefix,
  base64ToHex,
  checkArtifactLocation,
  deploymentRejection,
  effectivePhaseIndex,
  goalConfig,
  goalReached,
  judgeArtifact,
  judgeGoal,
  planLambdaDeployment,
  planSageMakerDeployment,
  resolveSizing,
  sageMakerNamePrefix,
  sageMakerNames,
  servingAfter,
  servingSlot,
  type ArtifactFacts,
  type Deployment,
  type DeploymentGoal,
  type SageMakerPlanInput,
  type SageMakerServing,
  type ServingSlot,
  type ServingState,
} from '../../core/deployment.js';

// ---- fixtures ----------------------------------------------------------------------------------

const EP = 'bb-endpoint';
const RELEASE_ID = 'builderbrain-2_1_0-24c174c9';
const SHA = 'a'.repeat(64);
const OLD_MODEL = 'bb-endpoint-2-0-3-0badf00d-m';
const OLD_CONFIG = 'bb-endpoint-2-0-3-0badf00d-s';

const SERVING: SageMakerServing = SageMakerServingSchema.parse({
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb-serving:2.1.0',
  executionRoleArn: 'arn:aws:iam::123456789012:role/bb-sagemaker-exec',
  instanceType: 'ml.g5.xlarge',
});

const slot = (name: string, model: string | null, weight: number, instanceType: string | null = 'ml.g5.xlarge', instanceCount: number | null = 1): ServingSlot => ({
  name,
  model,
  weight,
  instanceType,
  instanceCount,
});

/** A converged endpoint: the previous release's model alone in the baseline variant. */
const endpoint = (over: Partial<ServingState> = {}): ServingState => ({
  exists: true,
  status: 'idle',
  config: OLD_CONFIG,
  failureReason: null,
  slots: [slot('baseline', OLD_MODEL, 100)],
  ...over,
});
const NO_ENDPOINT: ServingState = { exists: false, status: 'idle', config: null, failureReason: null, slots: [] };

const planInput = (over: Partial<SageMakerPlanInput> = {}): SageMakerPlanInput => ({
  endpointName: EP,
  baselineVariant: 'baseline',
  canaryVariant: 'canary',
  releaseId: RELEASE_ID,
  version: '2.1.0',
  artifact: { uri: 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: SHA },
  instanceType: 'ml.g5.2xlarge',
  instanceCount: 2,
  ...over,
});

const NAMES = sageMakerNames(EP, RELEASE_ID, '2.1.0');
/** A release planned on a converged endpoint. */
const D = planSageMakerDeployment(endpoint(), planInput());
/** A first release: no endpoint yet. */
const FIRST = planSageMakerDeployment(NO_ENDPOINT, planInput());

const lambdaPlanInput = { functionName: 'bb-fn', candidateAlias: 'candidate', releaseId: RELEASE_ID, version: '2.1.0', artifact: { uri: 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: SHA } };
const lambdaSlot = (version: string, weight: number) => slot(version, null, weight, null, null);
const liveAlias = (over: Partial<ServingState> = {}): ServingState => ({ exists: true, status: 'idle', config: '3', failureReason: null, slots: [lambdaSlot('3', 100)], ...over });
const L = planLambdaDeployment(liveAlias(), lambdaPlanInput);
/** The Lambda deployment once version 4 was published. */
const L4: Deployment = { ...L, candidate: { ...L.candidate, version: '4' } };
const LFIRST: Deployment = { ...planLambdaDeployment({ ...NO_ENDPOINT }, lambdaPlanInput), candidate: { ...L.candidate, version: '1' } };

const semverArb = fc.stringMatching(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/);

// ---- configuration schemas -----------------------------------------------------------------------

describe('configuration schemas', () => {
  it('deployment config defaults: no smoke samples, 60 min timeout, 30 s polls, 60 min bake, environment delivery', () => {
    expect(DeploymentConfigSchema.parse({})).toEqual({
      lambda: { delivery: { kind: 'environment', uriVariable: 'MODEL_URI', sha256Variable: 'MODEL_SHA256', versionVariable: 'MODEL_VERSION' } },
      smoke: [],
      timeoutMinutes: 60,
      pollSeconds: 30,
      bakeMinutes: 60,
    });
  });

  it('a smoke sample defaults to JSON and a 10 s limit; bodies are bounded one by one and together', () => {
    expect(SmokeSampleSchema.parse({ name: 'hello', body: '{}' })).toEqual({ name: 'hello', contentType: 'application/json', body: '{}', expect: { maxLatencyMs: 10_000 } });
    expect(SmokeSampleSchema.safeParse({ name: 'big', body: 'x'.repeat(MAX_SMOKE_SAMPLE_BYTES + 1) }).success).toBe(false);
    expect(SmokeSampleSchema.safeParse({ name: 'ok', body: 'é'.repeat(MAX_SMOKE_SAMPLE_BYTES / 2) }).success).toBe(true);
    expect(SmokeSampleSchema.safeParse({ name: 'utf8', body: 'é'.repeat(MAX_SMOKE_SAMPLE_BYTES / 2 + 1) }).success).toBe(false);
    expect(SmokeSampleSchema.safeParse({ name: '-dash first', body: '{}' }).success).toBe(false);
    const five = Array.from({ length: 5 }, (_, i) => ({ name: `s${i}`, body: 'x'.repeat(MAX_SMOKE_SAMPLE_BYTES) }));
    const total = DeploymentConfigSchema.safeParse({ smoke: five });
    expect(total.success).toBe(false);
    expect(total.error?.issues[0]?.message).toMatch(/smoke bodies together must be at most 65536 bytes/);
    expect(DeploymentConfigSchema.safeParse({ smoke: five.slice(0, 4) }).success).toBe(true);
  });

  it('SageMaker serving: image, role and instance type are checked; maxInstanceCount is at least instanceCount', () => {
    expect(SERVING).toMatchObject({ instanceCount: 1, allowedInstanceTypes: [], environment: {} });
    expect(SERVING.maxInstanceCount).toBeUndefined();
    const bad = SageMakerServingSchema.safeParse({ ...SERVING, image: 'docker.io/bb:latest', executionRoleArn: 'bb-role', instanceType: 'g5.xlarge' });
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['executionRoleArn', 'image', 'instanceType']);
    const max = SageMakerServingSchema.safeParse({ ...SERVING, instanceCount: 3, maxInstanceCount: 2 });
    expect(max.error?.issues).toEqual([expect.objectContaining({ path: ['maxInstanceCount'], message: 'must be at least instanceCount (3)' })]);
    expect(SageMakerServingSchema.safeParse({ ...SERVING, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb@sha256:' + 'f'.repeat(64) }).success).toBe(true);
  });

  it('a manifest may ask for an instance type and count, nothing else', () => {
    expect(ServingRequestSchema.parse({ instanceType: 'ml.g5.2xlarge', instanceCount: 2 })).toEqual({ instanceType: 'ml.g5.2xlarge', instanceCount: 2 });
    expect(ServingRequestSchema.safeParse({ instanceCount: 0 }).success).toBe(false);
    expect(ServingRequestSchema.safeParse({ image: 'x' }).success).toBe(false);
  });
});

// ---- the artifact --------------------------------------------------------------------------------

describe('artifactPrefix / checkArtifactLocation', () => {
  const allowed = { bucket: 'bb-artifacts', model: 'builderbrain', version: '2.1.0' };

  it('the release folder is models/<model>/<version>/', () => {
    expect(artifactPrefix('builderbrain', '2.1.0')).toBe('models/builderbrain/2.1.0/');
  });

  it.each([
    ['s3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz', 'models/builderbrain/2.1.0/model.tar.gz'],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/weights/part-0001.safetensors', 'models/builderbrain/2.1.0/weights/part-0001.safetensors'],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/release.json.bak', 'models/builderbrain/2.1.0/release.json.bak'],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/sub/release.json', 'models/builderbrain/2.1.0/sub/release.json'],
  ])('accepts %s', (uri, key) => {
    expect(checkArtifactLocation(uri, allowed)).toEqual({ ok: true, bucket: 'bb-artifacts', key });
  });

  it.each([
    ['https://bb-artifacts.s3.amazonaws.com/models/builderbrain/2.1.0/model.tar.gz', /is not an s3:\/\/bucket\/key URI/],
    ['s3://bb-artifacts', /is not an s3:\/\/bucket\/key URI/],
    ['s3://bb-artifacts/', /is not an s3:\/\/bucket\/key URI/],
    ['S3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz', /is not an s3:\/\/bucket\/key URI/],
    ['s3://other-bucket/models/builderbrain/2.1.0/model.tar.gz', /in bucket other-bucket; this pipeline deploys only from its own bucket bb-artifacts \(upload it to s3:\/\/bb-artifacts\/models\/builderbrain\/2\.1\.0\/\)/],
    ['s3://BB-artifacts/models/builderbrain/2.1.0/model.tar.gz', /in bucket BB-artifacts/],
    ['s3://bb-artifacts/models/builderbrain/2.0.9/model.tar.gz', /the artifact key models\/builderbrain\/2\.0\.9\/model\.tar\.gz is not an object under models\/builderbrain\/2\.1\.0\//],
    ['s3://bb-artifacts/models/builderbrain/2.1.0-rc.1/model.tar.gz', /is not an object under models\/builderbrain\/2\.1\.0\//],
    ['s3://bb-artifacts/models/builderbrain-v2/2.1.0/model.tar.gz', /is not an object under/],
    ['s3://bb-artifacts/model.tar.gz', /is not an object under/],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/../2.0.9/model.tar.gz', /is not an object under/],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/weights/', /is not an object under/],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/', /is not an object under/],
    ['s3://bb-artifacts/models/builderbrain/2.1.0/release.json', /names the manifest itself/],
  ])('rejects %s', (uri, message) => {
    const out = checkArtifactLocation(uri, allowed);
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.message).toMatch(message);
  });
});

describe('checkArtifactLocation: properties', () => {
  const allowedArb = fc.record({
    bucket: fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/),
    model: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    version: semverArb,
  });
  /** A path segment that is not `.` or `..`. */
  const segArb = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}$/);

  it('property: whatever the URI, only an object of the bucket under models/<model>/<version>/ is accepted, never the manifest', () => {
    const near = (a: { bucket: string; model: string; version: string }) =>
      fc.oneof(
        fc.string(),
        fc
          .tuple(
            fc.constantFrom(a.bucket, `${a.bucket}x`, a.bucket.toUpperCase(), 'other-bucket'),
            fc.array(fc.oneof(segArb, fc.constantFrom('models', a.model, a.version, 'release.json', '..', '.', '')), { maxLength: 6 }),
            fc.boolean(),
          )
          .map(([b, segs, slash]) => `s3://${b}/${segs.join('/')}${slash ? '/' : ''}`),
        fc
          .tuple(fc.array(fc.oneof(segArb, fc.constantFrom('..', '.', '', 'release.json')), { maxLength: 4 }), fc.constantFrom('', '/'))
          .map(([segs, end]) => `s3://${a.bucket}/${artifactPrefix(a.model, a.version)}${segs.join('/')}${end}`),
      );
    fc.assert(
      fc.property(
        allowedArb.chain((a) => fc.tuple(fc.constant(a), near(a))),
        ([a, uri]) => {
          const out = checkArtifactLocation(uri, a);
          if (!out.ok) return;
          const prefix = artifactPrefix(a.model, a.version);
          expect(out.bucket).toBe(a.bucket);
          expect(`s3://${out.bucket}/${out.key}`).toBe(uri);
          expect(out.key.startsWith(prefix)).toBe(true);
          expect(out.key.length).toBeGreaterThan(prefix.length);
          expect(out.key).not.toBe(`${prefix}release.json`);
          expect(out.key.endsWith('/')).toBe(false);
          expect(out.key.includes('/../')).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: every object in the release folder other than the manifest is accepted', () => {
    fc.assert(
      fc.property(allowedArb, fc.array(segArb, { minLength: 1, maxLength: 4 }), (a, segs) => {
        const rest = segs.join('/');
        fc.pre(rest !== 'release.json');
        const key = `${artifactPrefix(a.model, a.version)}${rest}`;
        expect(checkArtifactLocation(`s3://${a.bucket}/${key}`, a)).toEqual({ ok: true, bucket: a.bucket, key });
      }),
    );
  });
});

describe('base64ToHex', () => {
  it("turns S3's base64 full-object checksum into the manifest's lowercase hex", () => {
    const digest = createHash('sha256').update('abc').digest();
    expect(base64ToHex(digest.toString('base64'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(base64ToHex('')).toBe('');
  });
});

describe('judgeArtifact', () => {
  const URI = 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz';
  const OTHER = 'b'.repeat(64);
  const facts = (over: Partial<ArtifactFacts>): ArtifactFacts => ({ exists: true, size: 1234, versionId: 'v7', sha256: SHA, digestSource: 'checksum', ...over });

  it.each<[string, ArtifactFacts, { ok: boolean; reason?: string; message: RegExp }]>([
    ['missing', { exists: false, size: null, versionId: null, sha256: null, digestSource: null }, { ok: false, reason: 'artifact_missing', message: /does not exist \(upload it before release\.json\)/ }],
    ['no digest', facts({ sha256: null, digestSource: null }), { ok: false, reason: 'artifact_digest_mismatch', message: /SHA-256 of .* could not be established/ }],
    ['mismatch (checksum)', facts({ sha256: OTHER }), { ok: false, reason: 'artifact_digest_mismatch', message: new RegExp(`is ${OTHER} \\(S3's stored checksum\\), the manifest says ${SHA}: the uploaded artifact is not the one the gates judged`) }],
    ['mismatch (computed)', facts({ sha256: OTHER, digestSource: 'computed' }), { ok: false, reason: 'artifact_digest_mismatch', message: new RegExp(`is ${OTHER} \\(computed by streaming the object\\), the manifest says ${SHA}`) }],
    ['match (checksum, versioned)', facts({}), { ok: true, message: /\(1234 bytes, version v7\) has the manifest's SHA-256 \(S3's stored checksum\)/ }],
    ['match (computed, unversioned)', facts({ size: null, versionId: null, digestSource: 'computed' }), { ok: true, message: /\(\? bytes\) has the manifest's SHA-256 \(computed by streaming\)/ }],
  ])('%s', (_name, f, want) => {
    const v = judgeArtifact(SHA, URI, f);
    expect(v.ok).toBe(want.ok);
    if (!v.ok) expect(v.reason).toBe(want.reason);
    expect(v.message).toMatch(want.message);
    expect(v.message).toContain(URI);
  });

  it('digests compare exactly (the manifest carries lowercase hex)', () => {
    expect(judgeArtifact(SHA, URI, facts({ sha256: SHA.toUpperCase() })).ok).toBe(false);
  });
});

// ---- sizing ----------------------------------------------------------------------------------------

describe('resolveSizing', () => {
  const roomy = SageMakerServingSchema.parse({ ...SERVING, allowedInstanceTypes: ['ml.g5.2xlarge', 'ml.g5.4xlarge'], instanceCount: 2, maxInstanceCount: 4 });

  it.each<[string, SageMakerServing, Parameters<typeof resolveSizing>[1], ReturnType<typeof resolveSizing>]>([
    ['no request: the config', SERVING, undefined, { ok: true, instanceType: 'ml.g5.xlarge', instanceCount: 1 }],
    ['an empty request: the config', roomy, {}, { ok: true, instanceType: 'ml.g5.xlarge', instanceCount: 2 }],
    ['an allowed type', roomy, { instanceType: 'ml.g5.4xlarge' }, { ok: true, instanceType: 'ml.g5.4xlarge', instanceCount: 2 }],
    ['the configured type is always allowed', roomy, { instanceType: 'ml.g5.xlarge', instanceCount: 4 }, { ok: true, instanceType: 'ml.g5.xlarge', instanceCount: 4 }],
    ['fewer instances', roomy, { instanceCount: 1 }, { ok: true, instanceType: 'ml.g5.xlarge', instanceCount: 1 }],
    [
      'a type not allowed',
      roomy,
      { instanceType: 'ml.p5.48xlarge' },
      { ok: false, issues: [{ path: 'serving.instanceType', message: 'ml.p5.48xlarge is not allowed by the pipeline config (allowed: ml.g5.xlarge, ml.g5.2xlarge, ml.g5.4xlarge)' }] },
    ],
    ['over the maximum', roomy, { instanceCount: 5 }, { ok: false, issues: [{ path: 'serving.instanceCount', message: "5 is over the pipeline config's maximum of 4" }] }],
    ['no maximum: instanceCount is the maximum', SERVING, { instanceCount: 2 }, { ok: false, issues: [{ path: 'serving.instanceCount', message: "2 is over the pipeline config's maximum of 1" }] }],
    [
      'both wrong: both named',
      SERVING,
      { instanceType: 'ml.g5.2xlarge', instanceCount: 3 },
      {
        ok: false,
        issues: [
          { path: 'serving.instanceType', message: 'ml.g5.2xlarge is not allowed by the pipeline config (allowed: ml.g5.xlarge)' },
          { path: 'serving.instanceCount', message: "3 is over the pipeline config's maximum of 1" },
        ],
      },
    ],
  ])('%s', (_name, serving, request, want) => {
    expect(resolveSizing(serving, request)).toEqual(want);
  });

  it('property: never a type outside the allowed set nor a count above the maximum; refused exactly when the request is outside them', () => {
    const types = ['ml.g5.xlarge', 'ml.g5.2xlarge', 'ml.g5.4xlarge', 'ml.m5.large', 'ml.p4d.24xlarge', 'ml.inf2.xlarge'];
    const servingArb = fc
      .record({
        instanceType: fc.constantFrom(...types),
        allowedInstanceTypes: fc.subarray(types),
        instanceCount: fc.integer({ min: 1, max: 100 }),
        extra: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      })
      .map(({ extra, ...s }): SageMakerServing => ({
        ...SERVING,
        ...s,
        ...(extra === undefined ? {} : { maxInstanceCount: Math.min(100, s.instanceCount + extra) }),
      }));
    const requestArb = fc.option(
      fc.record({ instanceType: fc.constantFrom(...types, 'ml.trn1.32xlarge'), instanceCount: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: [] }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(servingArb, requestArb, (serving, request) => {
        const allowed = new Set([serving.instanceType, ...serving.allowedInstanceTypes]);
        const max = serving.maxInstanceCount ?? serving.instanceCount;
        const out = resolveSizing(serving, request);
        const type = request?.instanceType ?? serving.instanceType;
        const count = request?.instanceCount ?? serving.instanceCount;
        expect(out.ok).toBe(allowed.has(type) && count <= max);
        if (out.ok) {
          expect(allowed.has(out.instanceType)).toBe(true);
          expect(out.instanceCount).toBeLessThanOrEqual(max);
          expect(out).toEqual({ ok: true, instanceType: type, instanceCount: count });
        } else {
          expect(out.issues.length).toBeGreaterThan(0);
          for (const i of out.issues) expect(['serving.instanceType', 'serving.instanceCount']).toContain(i.path);
        }
      }),
    );
  });
});

// ---- names -----------------------------------------------------------------------------------------

describe('sageMakerNamePrefix / sageMakerNames', () => {
  const h4 = (endpoint: string) => createHash('sha256').update(endpoint.toLowerCase()).digest('hex').slice(0, 4);
  it.each([
    // short and clean: the endpoint's own name
    ['builderbrain', 'builderbrain'],
    ['bb-endpoint', 'bb-endpoint'],
    // cut or changed: 19 characters and 4 hex of the whole name, so endpoints that share a start stay apart
    ['BuilderBrain--Prod', `BuilderBrain-Prod-${h4('BuilderBrain--Prod')}`],
    ['builderbrain-production-eu-west-1', `builderbrain-produc-${h4('builderbrain-production-eu-west-1')}`],
    ['builderbrain-production-x-eu', `builderbrain-produc-${h4('builderbrain-production-x-eu')}`],
    ['a'.repeat(63), `${'a'.repeat(19)}-${h4('a'.repeat(63))}`],
    ['bb_endpoint.prod', `bb-endpoint-prod-${h4('bb_endpoint.prod')}`],
    ['___', `bb-${h4('___')}`],
  ])('prefix of %s is %s', (endpoint, prefix) => {
    expect(sageMakerNamePrefix(endpoint)).toBe(prefix);
    expect(prefix.length).toBeLessThanOrEqual(24);
  });

  it('endpoints that share their first 24 characters get different prefixes (and so different grants)', () => {
    expect(sageMakerNamePrefix('builderbrain-production-eu')).not.toBe(sageMakerNamePrefix('builderbrain-production-us'));
  });

  it('names are <prefix>--<version>-<8 hex of the release id>-<role>, one role letter per resource', () => {
    const hash = createHash('sha256').update(RELEASE_ID).digest('hex').slice(0, 8);
    expect(NAMES).toEqual({
      model: `bb-endpoint--2-1-0-${hash}-m`,
      candidateConfig: `bb-endpoint--2-1-0-${hash}-c`,
      convergedConfig: `bb-endpoint--2-1-0-${hash}-s`,
      restoreConfig: `bb-endpoint--2-1-0-${hash}-r`,
    });
    expect(sageMakerNames(EP, RELEASE_ID, '2.1.0')).toEqual(NAMES); // a retried step finds what the first created
  });

  it('a long version is cut so the whole stays within 63; a version without letters or digits is left out', () => {
    const long = sageMakerNames('a'.repeat(63), 'r-1', `1.0.0-${'x'.repeat(80)}`);
    expect(long.model).toHaveLength(SAGEMAKER_NAME_MAX);
    expect(long.model).toMatch(/^a{19}-[0-9a-f]{4}--1-0-0-x+-[0-9a-f]{8}-m$/);
    const hash = createHash('sha256').update('r-1').digest('hex').slice(0, 8);
    expect(sageMakerNames(EP, 'r-1', '...').model).toBe(`bb-endpoint--${hash}-m`);
    // a cut that lands on a hyphen does not leave it before the hash
    const cut = sageMakerNames('a'.repeat(24), 'r-1', `${'1'.repeat(25)}-${'2'.repeat(10)}`);
    expect(cut.model).toBe(`${'a'.repeat(24)}--${'1'.repeat(25)}-${hash}-m`);
  });

  const endpointArb = fc.stringMatching(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  const versionArb = fc.oneof({ arbitrary: semverArb, weight: 4 }, { arbitrary: fc.string({ maxLength: 100, unit: 'grapheme' }), weight: 1 });
  const releaseIdArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);

  it('property: valid SageMaker names, ≤ 63 bytes, under the endpoint prefix, one per role', () => {
    fc.assert(
      fc.property(endpointArb, releaseIdArb, versionArb, (endpoint, releaseId, version) => {
        const names = Object.values(sageMakerNames(endpoint, releaseId, version));
        const prefix = sageMakerNamePrefix(endpoint);
        expect(prefix).not.toContain('--');
        for (const n of names) {
          expect(n).toMatch(SAGEMAKER_NAME_RE);
          expect(Buffer.byteLength(n, 'utf8')).toBeLessThanOrEqual(SAGEMAKER_NAME_MAX);
          expect(n.startsWith(`${prefix}-`)).toBe(true);
          expect(n.startsWith(`${prefix}--`)).toBe(true);
        }
        expect(new Set(names).size).toBe(4);
      }),
      { numRuns: 500 },
    );
  });

  it("property: the IAM pattern <prefix>--* of one endpoint never matches the names made for an endpoint of another prefix", () => {
    const related = endpointArb.chain((a) => fc.tuple(fc.constant(a), fc.oneof(endpointArb, fc.stringMatching(/^-?[a-zA-Z0-9]{1,8}$/).map((x) => `${a}${x}`).filter((b) => SAGEMAKER_NAME_RE.test(b)))));
    fc.assert(
      fc.property(related, releaseIdArb, versionArb, ([a, b], releaseId, version) => {
        const pa = sageMakerNamePrefix(a);
        fc.pre(pa !== sageMakerNamePrefix(b));
        for (const n of Object.values(sageMakerNames(b, releaseId, version))) expect(n.startsWith(`${pa}--`)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('property: two releases never share a name', () => {
    fc.assert(
      fc.property(endpointArb, releaseIdArb, releaseIdArb, versionArb, versionArb, (endpoint, a, b, va, vb) => {
        fc.pre(a !== b);
        const x = Object.values(sageMakerNames(endpoint, a, va));
        const y = new Set(Object.values(sageMakerNames(endpoint, b, vb)));
        for (const n of x) expect(y.has(n)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- plans -----------------------------------------------------------------------------------------

describe('servingSlot', () => {
  it.each<[string, ServingSlot[], string | null]>([
    ['nothing serves', [], null],
    ['the only slot', [slot('baseline', 'm1', 100)], 'baseline'],
    ['the one with most traffic', [slot('baseline', 'm1', 10), slot('canary', 'm2', 90)], 'canary'],
    ['a tie goes to the preferred one', [slot('canary', 'm2', 50), slot('baseline', 'm1', 50)], 'baseline'],
    ['a tie without the preferred one: the first', [slot('a', 'm2', 0), slot('b', 'm1', 0)], 'a'],
  ])('%s', (_name, slots, want) => {
    expect(servingSlot(endpoint({ slots }), 'baseline')?.name ?? null).toBe(want);
  });
});

describe('planSageMakerDeployment', () => {
  it('a converged endpoint: the baseline variant alone is the baseline; the candidate and configs are named from the release', () => {
    expect(D).toEqual({
      target: 'sagemaker',
      resource: EP,
      releaseId: RELEASE_ID,
      version: '2.1.0',
      artifact: { uri: 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz', sha256: SHA },
      // the candidate ends up in the baseline variant once converged
      convergedSlot: 'baseline',
      baseline: { slot: 'baseline', model: OLD_MODEL, config: OLD_CONFIG, instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true },
      candidate: { slot: 'canary', model: NAMES.model, version: '2.1.0', instanceType: 'ml.g5.2xlarge', instanceCount: 2 },
      configs: { candidate: NAMES.candidateConfig, converged: NAMES.convergedConfig, restore: NAMES.restoreConfig },
    });
    expect(DeploymentSchema.parse(D)).toEqual(D);
  });

  it('a half-finished earlier release (promoted, never converged): what serves most is the baseline, kept in the baseline variant', () => {
    const state = endpoint({ config: 'bb-endpoint-2-0-3-0badf00d-c', slots: [slot('baseline', 'bb-endpoint-2-0-2-11111111-m', 0), slot('canary', OLD_MODEL, 100, 'ml.g5.2xlarge', 3)] });
    expect(planSageMakerDeployment(state, planInput()).baseline).toEqual({
      slot: 'baseline',
      model: OLD_MODEL,
      config: 'bb-endpoint-2-0-3-0badf00d-c',
      instanceType: 'ml.g5.2xlarge',
      instanceCount: 3,
      alone: false,
    });
  });

  it('an earlier release whose clean-up did not finish (baseline still serving next to a 0% canary)', () => {
    const state = endpoint({ slots: [slot('baseline', OLD_MODEL, 100), slot('canary', 'bb-endpoint-2-1-0-deadbeef-m', 0)] });
    expect(planSageMakerDeployment(state, planInput()).baseline).toMatchObject({ slot: 'baseline', model: OLD_MODEL, alone: false });
  });

  it('no endpoint, or an endpoint serving nothing: a first release (baseline null), names still planned', () => {
    expect(FIRST.baseline).toBeNull();
    expect(FIRST.configs).toEqual({ candidate: NAMES.candidateConfig, converged: NAMES.convergedConfig, restore: NAMES.restoreConfig });
    expect(planSageMakerDeployment(endpoint({ slots: [] }), planInput()).baseline).toBeNull();
  });
});

describe('planLambdaDeployment', () => {
  it('the live alias version is the baseline; the candidate version is known once published', () => {
    expect(L).toEqual({
      target: 'lambda',
      resource: 'bb-fn',
      releaseId: RELEASE_ID,
      version: '2.1.0',
      artifact: lambdaPlanInput.artifact,
      baseline: { slot: '3', model: null, config: '3', instanceType: null, instanceCount: null, alone: true },
      candidate: { slot: 'candidate', model: null, version: null, instanceType: null, instanceCount: null },
      configs: null,
    });
  });

  it('a weighted alias: the version with most traffic, not alone; no live alias: a first release', () => {
    const split = liveAlias({ config: '3', slots: [lambdaSlot('3', 80), lambdaSlot('2', 20)] });
    expect(planLambdaDeployment(split, lambdaPlanInput).baseline).toMatchObject({ slot: '3', config: '3', alone: false });
    const tie = liveAlias({ config: '3', slots: [lambdaSlot('2', 50), lambdaSlot('3', 50)] });
    expect(planLambdaDeployment(tie, lambdaPlanInput).baseline?.slot).toBe('3');
    expect(planLambdaDeployment(NO_ENDPOINT, lambdaPlanInput).baseline).toBeNull();
  });
});

// ---- goals -----------------------------------------------------------------------------------------

describe('goalConfig', () => {
  it.each<[string, DeploymentGoal, Deployment, string | null]>([
    ['deploy', 'candidate_deployed', D, NAMES.candidateConfig],
    ['converge', 'converged', D, NAMES.convergedConfig],
    ['remove: a config of our own holding the baseline alone, never the team\'s', 'candidate_removed', D, NAMES.restoreConfig],
    ['first release deploy', 'candidate_deployed', FIRST, NAMES.candidateConfig],
    ['first release converge', 'converged', FIRST, NAMES.convergedConfig],
    ['first release removed: no endpoint', 'candidate_removed', FIRST, null],
    ['Lambda: no endpoint configs', 'candidate_deployed', L, null],
  ])('%s', (_name, goal, d, want) => {
    expect(goalConfig(goal, d)).toBe(want);
  });
});

describe('goalReached', () => {
  it.each<[string, DeploymentGoal, Deployment, ServingState, boolean]>([
    ['on the goal config', 'candidate_deployed', D, endpoint({ config: NAMES.candidateConfig }), true],
    ['busy, even on the goal config', 'candidate_deployed', D, endpoint({ config: NAMES.candidateConfig, status: 'busy' }), false],
    ['deploy is reached only on its config', 'candidate_deployed', D, endpoint({ slots: [slot('baseline', OLD_MODEL, 100), slot('canary', NAMES.model, 0)] }), false],
    ['converged: the candidate alone in the baseline variant, whatever the config', 'converged', D, endpoint({ config: 'x', slots: [slot('baseline', NAMES.model, 100)] }), true],
    ['converged: not while the old model still serves', 'converged', D, endpoint({ config: 'x', slots: [slot('baseline', NAMES.model, 100), slot('canary', OLD_MODEL, 0)] }), false],
    ['converged: not in the canary variant', 'converged', D, endpoint({ config: 'x', slots: [slot('canary', NAMES.model, 100)] }), false],
    ['removed: SageMaker rolled a failed deploy back to the baseline alone', 'candidate_removed', D, endpoint(), true],
    ['removed: not while the candidate serves next to it', 'candidate_removed', D, endpoint({ slots: [slot('baseline', OLD_MODEL, 100), slot('canary', NAMES.model, 0)] }), false],
    ['removed: not another model', 'candidate_removed', D, endpoint({ slots: [slot('baseline', NAMES.model, 100)] }), false],
    ['first release removed: no endpoint', 'candidate_removed', FIRST, NO_ENDPOINT, true],
    ['first release removed: not while it exists', 'candidate_removed', FIRST, endpoint(), false],
    ['no endpoint, a config wanted', 'converged', D, NO_ENDPOINT, false],
    ['Lambda: judged by judgeGoal alone', 'converged', L4, liveAlias({ slots: [lambdaSlot('4', 100)] }), false],
  ])('%s → %s', (_name, goal, d, state, want) => {
    expect(goalReached(goal, d, state)).toBe(want);
  });
});

describe('judgeGoal (SageMaker)', () => {
  const R = 'The primary container for production variant canary did not pass the ping health check.';
  it.each<[string, DeploymentGoal, Deployment, ServingState, boolean, { action: string; message: RegExp; failureReason?: string | null }]>([
    ['changing: wait', 'candidate_deployed', D, endpoint({ status: 'busy' }), false, { action: 'wait', message: /^deploying 2\.1\.0: endpoint bb-endpoint is changing$/ }],
    ['changing past the timeout: failed', 'candidate_deployed', D, endpoint({ status: 'busy', failureReason: R }), true, { action: 'failed', message: /^deploying 2\.1\.0 failed: timed out while endpoint bb-endpoint was still changing \(.*ping health check\.\)$/, failureReason: R }],
    ['in service on the goal config: done', 'candidate_deployed', D, endpoint({ config: NAMES.candidateConfig }), false, { action: 'done', message: new RegExp(`^deploying 2\\.1\\.0: endpoint bb-endpoint is in service on ${NAMES.candidateConfig}$`) }],
    ['done even when the check comes late', 'candidate_deployed', D, endpoint({ config: NAMES.candidateConfig }), true, { action: 'done', message: /in service/ }],
    [
      'SageMaker rolled the update back: failed with its FailureReason',
      'candidate_deployed',
      D,
      endpoint({ failureReason: R }),
      false,
      { action: 'failed', message: new RegExp(`^deploying 2\\.1\\.0 failed: SageMaker kept endpoint bb-endpoint on ${OLD_CONFIG} instead of ${NAMES.candidateConfig} \\(${R.replace(/\./g, '\\.')}\\)$`), failureReason: R },
    ],
    ['the endpoint Failed', 'candidate_deployed', FIRST, { ...NO_ENDPOINT, exists: true, status: 'failed', failureReason: 'CapacityError' }, false, { action: 'failed', message: /endpoint bb-endpoint failed \(CapacityError\)$/, failureReason: 'CapacityError' }],
    ['no endpoint while one is wanted', 'converged', D, NO_ENDPOINT, false, { action: 'failed', message: /^converging on 2\.1\.0 failed: endpoint bb-endpoint does not exist$/, failureReason: null }],
    ['converged: done', 'converged', D, endpoint({ config: NAMES.convergedConfig, slots: [slot('baseline', NAMES.model, 100)] }), false, { action: 'done', message: /^converging on 2\.1\.0: endpoint bb-endpoint is in service on/ }],
    ['removed: done', 'candidate_removed', D, endpoint({ config: NAMES.restoreConfig }), false, { action: 'done', message: /^removing 2\.1\.0: endpoint bb-endpoint is in service on/ }],
    ['first release removed: deleted', 'candidate_removed', FIRST, NO_ENDPOINT, false, { action: 'done', message: /^removing 2\.1\.0: endpoint bb-endpoint deleted$/ }],
    ['first release removed: being deleted', 'candidate_removed', FIRST, endpoint({ status: 'busy' }), false, { action: 'wait', message: /is being deleted$/ }],
    ['first release removed: deletion timed out', 'candidate_removed', FIRST, endpoint({ status: 'busy' }), true, { action: 'failed', message: /^removing 2\.1\.0 failed: timed out$/, failureReason: null }],
    ['first release removed: still there', 'candidate_removed', FIRST, endpoint(), false, { action: 'failed', message: /failed: the endpoint still exists$/ }],
  ])('%s', (_name, goal, d, state, timedOut, want) => {
    const j = judgeGoal(goal, d, state, timedOut);
    expect(j.action).toBe(want.action);
    expect(j.message).toMatch(want.message);
    if (want.failureReason !== undefined && j.action === 'failed') expect(j.failureReason).toBe(want.failureReason);
  });

  // Arbitrary states an endpoint may report, around a deployment's own names.
  const deploymentArb = fc.constantFrom(D, FIRST);
  // What an endpoint can report: one that does not exist is idle with nothing in it (observe()).
  const stateArb = (over: { exists?: fc.Arbitrary<boolean>; status?: fc.Arbitrary<ServingState['status']> } = {}) =>
    fc
      .record({
        exists: over.exists ?? fc.boolean(),
        status: over.status ?? fc.constantFrom<ServingState['status']>('idle', 'busy', 'failed'),
        config: fc.option(fc.constantFrom(OLD_CONFIG, NAMES.candidateConfig, NAMES.convergedConfig, NAMES.restoreConfig, 'someone-elses-config'), { nil: null }),
        failureReason: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        slots: fc.array(
          fc.record({
            name: fc.constantFrom('baseline', 'canary', 'AllTraffic'),
            model: fc.constantFrom<string | null>(OLD_MODEL, NAMES.model, 'other-model', null),
            weight: fc.integer({ min: 0, max: 100 }),
            instanceType: fc.constant('ml.g5.xlarge'),
            instanceCount: fc.integer({ min: 0, max: 4 }),
          }),
          { maxLength: 3 },
        ),
      })
      .map((s): ServingState => (s.exists ? s : NO_ENDPOINT));
  const goalArb = fc.constantFrom(...DEPLOYMENT_GOALS);

  it('property: past the timeout a goal is never waited on (SageMaker or Lambda)', () => {
    fc.assert(
      fc.property(goalArb, fc.constantFrom(D, FIRST, L, L4, LFIRST), stateArb(), (goal, d, state) => {
        expect(judgeGoal(goal, d, state, true).action).not.toBe('wait');
      }),
      { numRuns: 1000 },
    );
  });

  it('property: a busy endpoint is waited on while not timed out', () => {
    fc.assert(
      fc.property(goalArb, deploymentArb, stateArb({ exists: fc.constant(true), status: fc.constant('busy') }), (goal, d, state) => {
        expect(judgeGoal(goal, d, state, false).action).toBe('wait');
      }),
      { numRuns: 500 },
    );
  });

  it('property: "done" only when the goal is reached; a failure carries the endpoint\'s FailureReason', () => {
    fc.assert(
      fc.property(goalArb, deploymentArb, stateArb(), fc.boolean(), (goal, d, state, timedOut) => {
        const j = judgeGoal(goal, d, state, timedOut);
        if (j.action === 'done') expect(goalReached(goal, d, state)).toBe(true);
        if (j.action === 'failed') expect(j.failureReason).toBe(state.failureReason);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('judgeGoal (Lambda)', () => {
  it.each<[string, DeploymentGoal, Deployment, ServingState, { action: string; message: RegExp }]>([
    ['updating: wait', 'candidate_deployed', L, liveAlias({ status: 'busy' }), { action: 'wait', message: /^deploying 2\.1\.0: function bb-fn is updating$/ }],
    ['the update failed', 'candidate_deployed', L, liveAlias({ status: 'failed', failureReason: 'InvalidImage' }), { action: 'failed', message: /^deploying 2\.1\.0 failed: the update of function bb-fn failed \(InvalidImage\)$/ }],
    ['no live alias', 'candidate_deployed', L, NO_ENDPOINT, { action: 'failed', message: /function bb-fn has no live alias$/ }],
    ['nothing published yet', 'candidate_deployed', L, liveAlias(), { action: 'failed', message: /no version was published$/ }],
    ['published', 'candidate_deployed', L4, liveAlias(), { action: 'done', message: /: version 4 published$/ }],
    ['converged: version 4 alone', 'converged', L4, liveAlias({ config: '4', slots: [lambdaSlot('4', 100)] }), { action: 'done', message: /the live alias serves version 4 alone$/ }],
    ['converged: not while 3 still takes traffic', 'converged', L4, liveAlias({ slots: [lambdaSlot('3', 90), lambdaSlot('4', 10)] }), { action: 'failed', message: /does not serve version 4 alone$/ }],
    ['removed: 4 serves nothing', 'candidate_removed', L4, liveAlias(), { action: 'done', message: /version 4 serves no traffic$/ }],
    ['removed: 4 at weight 0 is fine', 'candidate_removed', L4, liveAlias({ slots: [lambdaSlot('3', 100), lambdaSlot('4', 0)] }), { action: 'done', message: /serves no traffic/ }],
    ['removed: not while 4 takes traffic', 'candidate_removed', L4, liveAlias({ slots: [lambdaSlot('3', 90), lambdaSlot('4', 10)] }), { action: 'failed', message: /still routes to version 4$/ }],
    ['first release removed: the alias deleted', 'candidate_removed', LFIRST, NO_ENDPOINT, { action: 'done', message: /the live alias of bb-fn deleted$/ }],
    ['first release removed: the alias still there', 'candidate_removed', LFIRST, liveAlias({ slots: [lambdaSlot('1', 100)] }), { action: 'failed', message: /the live alias of bb-fn still exists$/ }],
  ])('%s', (_name, goal, d, state, want) => {
    const j = judgeGoal(goal, d, state, false);
    expect(j.action).toBe(want.action);
    expect(j.message).toMatch(want.message);
  });

  it('a Lambda update still in progress past the timeout is failed, not waited on', () => {
    for (const goal of DEPLOYMENT_GOALS) {
      expect(judgeGoal(goal, L4, liveAlias({ status: 'busy', failureReason: 'still InProgress' }), true)).toEqual({
        action: 'failed',
        message: `${goal === 'candidate_deployed' ? 'deploying 2.1.0' : goal === 'converged' ? 'converging on 2.1.0' : 'removing 2.1.0'} failed: timed out while function bb-fn was still updating (still InProgress)`,
        failureReason: 'still InProgress',
      });
    }
  });
});

describe('servingAfter', () => {
  it.each<[string, DeploymentGoal, Deployment, ReturnType<typeof servingAfter>]>([
    ['deployed next to the baseline', 'candidate_deployed', D, { model: NAMES.model, config: NAMES.candidateConfig, version: '2.1.0', slots: ['baseline', 'canary'] }],
    ['converged', 'converged', D, { model: NAMES.model, config: NAMES.convergedConfig, version: '2.1.0', slots: ['baseline'] }],
    ['removed: the baseline again', 'candidate_removed', D, { model: OLD_MODEL, config: NAMES.restoreConfig, version: null, slots: ['baseline'] }],
    ['first release deployed: the candidate alone', 'candidate_deployed', FIRST, { model: NAMES.model, config: NAMES.candidateConfig, version: '2.1.0', slots: ['canary'] }],
    ['first release removed: nothing', 'candidate_removed', FIRST, { model: null, config: null, version: null, slots: [] }],
    ['Lambda deployed', 'candidate_deployed', L4, { model: null, config: null, version: '4', slots: ['3', 'candidate'] }],
    ['Lambda converged', 'converged', L4, { model: null, config: null, version: '4', slots: ['3'] }],
    ['Lambda removed: version 3 again', 'candidate_removed', L4, { model: null, config: null, version: '3', slots: ['3'] }],
  ])('%s', (_name, goal, d, want) => {
    expect(servingAfter(goal, d)).toEqual(want);
  });

  // Source bug (reported): a first SageMaker release converges into the *baseline* variant (the
  // adapter and the simulated endpoint both build it so), but the ledger records slots ['canary'].
  it('a first SageMaker release converged serves from the baseline variant', () => {
    expect(servingAfter('converged', FIRST).slots).toEqual(['baseline']);
  });
});

// ---- first releases and rejections -----------------------------------------------------------------

describe('effectivePhaseIndex', () => {
  it.each([
    [0, 4, true, 0],
    [2, 4, true, 2],
    [0, 4, false, 3],
    [2, 4, false, 3],
    [3, 4, false, 3],
    [5, 4, false, 5], // past the end stays past the end: StartPhase reports it
    [0, 1, false, 0],
  ])('phase %i of %i (baseline %s) → %i', (requested, count, hasBaseline, want) => {
    expect(effectivePhaseIndex(requested, count, hasBaseline)).toBe(want);
  });
});

describe('deploymentRejection', () => {
  const ctx = { model: 'builderbrain', version: '2.1.0', releaseId: RELEASE_ID, displayName: 'BuilderBrain' };
  it.each([
    ['artifact_rejected', 'P3', '[P3] BuilderBrain 2.1.0 rejected: its artifact failed verification', /^Nothing was deployed; upload the artifact the manifest describes/m],
    ['deploy_failed', 'P2', '[P2] BuilderBrain 2.1.0 rejected: its deployment failed', /^No user traffic reached it; the endpoint is back on the baseline alone/m],
    ['smoke_failed', 'P2', '[P2] BuilderBrain 2.1.0 rejected: it failed its smoke test', /^No user traffic reached it/m],
  ] as const)('%s: %s', (cause, severity, title, after) => {
    const i = deploymentRejection(ctx, cause, 'what went wrong');
    expect(i.severity).toBe(severity);
    expect(i.title).toBe(title);
    const lines = i.text.split('\n');
    expect(lines[0]).toBe(`BuilderBrain 2.1.0 was rejected: ${title.replace(/^\[P\d\] BuilderBrain 2\.1\.0 rejected: /, '')}.`);
    expect(lines[1]).toBe('✗ what went wrong');
    expect(i.text).toMatch(after);
    expect(lines.slice(-2)).toEqual([`Release: ${RELEASE_ID}`, `History: builderbrain history ${RELEASE_ID}`]);
  });
});
