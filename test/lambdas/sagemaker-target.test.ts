import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  SageMakerClient,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/app/errors.js';
import { ServingStateSchema, SmokeSampleSchema, planSageMakerDeployment, sageMakerNames, type Deployment, type ServingState } from '../../core/deployment.js';
import { AwsCallError } from '../../lambdas/adapters/aws-errors.js';
import { SageMakerTarget } from '../../lambdas/adapters/sagemaker-target.js';
import { ONE_ATTEMPT, awsError, denied, internal, throttled } from './aws-helpers.js';

const sm = mockClient(SageMakerClient);
const rt = mockClient(SageMakerRuntimeClient);

const config = {
  endpointName: 'bb-endpoint',
  baselineVariant: 'baseline',
  canaryVariant: 'canary',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/bb-serve:1.4.0',
  executionRoleArn: 'arn:aws:iam::123456789012:role/bb-sagemaker-execution',
  environment: { LOG_LEVEL: 'info', MODEL_VERSION: 'set-by-the-team' },
};
const target = new SageMakerTarget(new SageMakerClient(ONE_ATTEMPT), new SageMakerRuntimeClient(ONE_ATTEMPT), config);

const PLAN = {
  endpointName: 'bb-endpoint',
  baselineVariant: 'baseline',
  canaryVariant: 'canary',
  releaseId: 'builderbrain-2_1_0-24c174c9',
  version: '2.1.0',
  artifact: { uri: 's3://bb-releases/models/builderbrain/2.1.0/model.tar.gz', sha256: 'ab'.repeat(32) },
  instanceType: 'ml.g5.xlarge',
  instanceCount: 2,
};
const NAMES = sageMakerNames(PLAN.endpointName, PLAN.releaseId, PLAN.version);
const OLD = { config: 'bb-endpoint-2-0-0-0a1b2c3d-s', model: 'bb-endpoint-2-0-0-0a1b2c3d-m' };

const NO_ENDPOINT: ServingState = { exists: false, status: 'idle', config: null, failureReason: null, slots: [] };
/** A converged endpoint: the previous release's model alone in the baseline variant. */
const CONVERGED: ServingState = {
  exists: true,
  status: 'idle',
  config: OLD.config,
  failureReason: null,
  slots: [{ name: 'baseline', model: OLD.model, weight: 100, instanceType: 'ml.m5.large', instanceCount: 1 }],
};
/** An earlier release's clean-up that did not finish: the baseline serves, a stale canary is still there. */
const LEFTOVER: ServingState = {
  ...CONVERGED,
  config: 'bb-endpoint-2-0-1-99999999-c',
  slots: [...CONVERGED.slots, { name: 'canary', model: 'bb-endpoint-2-0-1-99999999-m', weight: 0, instanceType: 'ml.m5.large', instanceCount: 1 }],
};

/** The real planner's deployments: an upgrade of a converged endpoint, a first release, an upgrade over a leftover canary. */
const upgrade = planSageMakerDeployment(CONVERGED, PLAN);
const first = planSageMakerDeployment(NO_ENDPOINT, PLAN);
const overLeftover = planSageMakerDeployment(LEFTOVER, PLAN);

const notFound = (what = 'endpoint "bb-endpoint"') => awsError('ValidationException', 400, `Could not find ${what}.`);
const inProgress = () => awsError('ValidationException', 400, 'Cannot update in-progress endpoint "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/bb-endpoint".');

/** DescribeEndpoint answers: the endpoint in `status` on `configName`. */
function endpoint(status: string, configName: string | null, variants: object[] = []): void {
  sm.on(DescribeEndpointCommand).resolves({ EndpointName: 'bb-endpoint', EndpointStatus: status, EndpointConfigName: configName ?? undefined, ProductionVariants: variants } as never);
}
function noEndpoint(): void {
  sm.on(DescribeEndpointCommand).rejects(notFound());
}

const inputs = <T>(command: new (input: T) => unknown): T[] => sm.commandCalls(command as never).map((c) => c.args[0].input as T);
const calls = (command: new (input: never) => unknown): number => sm.commandCalls(command as never).length;
/** Nothing the pipeline created is ever deleted: later rollbacks need it. */
const expectNothingDeleted = () => {
  expect(calls(DeleteModelCommand)).toBe(0);
  expect(calls(DeleteEndpointConfigCommand)).toBe(0);
};

beforeEach(() => {
  sm.reset();
  rt.reset();
  sm.on(CreateModelCommand).resolves({ ModelArn: 'arn:model' });
  sm.on(CreateEndpointConfigCommand).resolves({ EndpointConfigArn: 'arn:config' });
  sm.on(CreateEndpointCommand).resolves({ EndpointArn: 'arn:endpoint' });
  sm.on(UpdateEndpointCommand).resolves({ EndpointArn: 'arn:endpoint' });
  sm.on(DeleteEndpointCommand).resolves({});
  // apply() first observes the endpoint (goalReached): a config whose variants the test does not name.
  sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [] });
});

describe('SageMakerTarget.observe', () => {
  it('no endpoint: not there, nothing serves (and no config is looked up)', async () => {
    noEndpoint();
    expect(await target.observe()).toEqual(NO_ENDPOINT);
    expect(calls(DescribeEndpointConfigCommand)).toBe(0);
  });

  it('reports each variant with its share of traffic in percent, and its model and size from the EndpointConfig', async () => {
    endpoint('InService', 'cfg-c', [
      { VariantName: 'baseline', CurrentWeight: 2, CurrentInstanceCount: 3 },
      { VariantName: 'canary', CurrentWeight: 1 },
    ]);
    sm.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'cfg-c' }).resolves({
      EndpointConfigName: 'cfg-c',
      ProductionVariants: [
        { VariantName: 'canary', ModelName: 'cand-m', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 },
        { VariantName: 'baseline', ModelName: 'base-m', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 },
      ],
    });
    const state = await target.observe();
    expect(state).toEqual({
      exists: true,
      status: 'idle',
      config: 'cfg-c',
      failureReason: null,
      slots: [
        { name: 'baseline', model: 'base-m', weight: 66.67, instanceType: 'ml.m5.large', instanceCount: 3 },
        // No CurrentInstanceCount: the config's initial count.
        { name: 'canary', model: 'cand-m', weight: 33.33, instanceType: 'ml.g5.xlarge', instanceCount: 2 },
      ],
    });
    expect(ServingStateSchema.parse(state)).toEqual(state);
  });

  it('weights that sum to 0 are 0; an endpoint still Creating has no variants yet', async () => {
    endpoint('InService', 'cfg', [{ VariantName: 'baseline', CurrentWeight: 0, CurrentInstanceCount: 1 }]);
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [] });
    expect((await target.observe()).slots).toEqual([{ name: 'baseline', model: null, weight: 0, instanceType: null, instanceCount: 1 }]);
    endpoint('Creating', 'cfg');
    expect(await target.observe()).toMatchObject({ exists: true, status: 'busy', slots: [] });
  });

  it.each([
    ['InService', 'idle'],
    ['Creating', 'busy'],
    ['Updating', 'busy'],
    ['SystemUpdating', 'busy'],
    ['RollingBack', 'busy'],
    ['Deleting', 'busy'],
    ['Failed', 'failed'],
    ['OutOfService', 'failed'],
    ['UpdateRollbackFailed', 'failed'],
  ] as const)('%s is %s, with the FailureReason', async (status, expected) => {
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: status, EndpointConfigName: 'cfg', FailureReason: 'Image pull failed' } as never);
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [] });
    expect(await target.observe()).toMatchObject({ exists: true, status: expected, config: 'cfg', failureReason: 'Image pull failed' });
  });

  it('a deleted EndpointConfig leaves model and instance type unknown instead of failing', async () => {
    endpoint('InService', OLD.config, [{ VariantName: 'baseline', CurrentWeight: 1, CurrentInstanceCount: 1 }]);
    sm.on(DescribeEndpointConfigCommand).rejects(notFound(`endpoint configuration "arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/${OLD.config}"`));
    expect((await target.observe()).slots).toEqual([{ name: 'baseline', model: null, weight: 100, instanceType: null, instanceCount: 1 }]);
  });

  it('any other failure is an AwsCallError with the SDK name and the call', async () => {
    sm.on(DescribeEndpointCommand).rejects(throttled());
    await expect(target.observe()).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true, operation: 'SageMaker.DescribeEndpoint', resource: 'endpoint bb-endpoint' });
    endpoint('InService', 'cfg', []);
    sm.on(DescribeEndpointConfigCommand).rejects(denied());
    await expect(target.observe()).rejects.toMatchObject({ name: 'AccessDeniedException', retryable: false, operation: 'SageMaker.DescribeEndpointConfig', resource: 'endpoint config cfg' });
  });
});

describe('SageMakerTarget.apply candidate_deployed', () => {
  it('creates the candidate Model, a config with the baseline kept and the canary at weight 0, and updates the endpoint to it', async () => {
    endpoint('InService', OLD.config);
    await expect(target.apply('candidate_deployed', upgrade)).resolves.toBe(upgrade);
    expect(inputs(CreateModelCommand)).toEqual([
      {
        ModelName: NAMES.model,
        ExecutionRoleArn: config.executionRoleArn,
        PrimaryContainer: {
          Image: config.image,
          ModelDataUrl: PLAN.artifact.uri,
          // The pipeline's variables win over the config's.
          Environment: { LOG_LEVEL: 'info', MODEL_URI: PLAN.artifact.uri, MODEL_SHA256: PLAN.artifact.sha256, MODEL_VERSION: '2.1.0' },
        },
      },
    ]);
    expect(inputs(CreateEndpointConfigCommand)).toEqual([
      {
        EndpointConfigName: NAMES.candidateConfig,
        ProductionVariants: [
          { VariantName: 'baseline', ModelName: OLD.model, InstanceType: 'ml.m5.large', InitialInstanceCount: 1, InitialVariantWeight: 1 },
          { VariantName: 'canary', ModelName: NAMES.model, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 0 },
        ],
      },
    ]);
    expect(inputs(UpdateEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint', EndpointConfigName: NAMES.candidateConfig }]);
    expect(calls(CreateEndpointCommand)).toBe(0);
  });

  it('over a leftover canary, the new config holds the serving baseline and the candidate, nothing else', async () => {
    endpoint('InService', LEFTOVER.config);
    await target.apply('candidate_deployed', overLeftover);
    expect(inputs(CreateEndpointConfigCommand)[0]!.ProductionVariants!.map((v) => [v.VariantName, v.ModelName])).toEqual([
      ['baseline', OLD.model],
      ['canary', NAMES.model],
    ]);
    expect(inputs(UpdateEndpointCommand)).toHaveLength(1);
  });

  it('a first release creates the endpoint on a config holding the canary alone, at weight 1', async () => {
    noEndpoint();
    await target.apply('candidate_deployed', first);
    expect(inputs(CreateEndpointConfigCommand)).toEqual([
      {
        EndpointConfigName: NAMES.candidateConfig,
        ProductionVariants: [{ VariantName: 'canary', ModelName: NAMES.model, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
      },
    ]);
    expect(inputs(CreateEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint', EndpointConfigName: NAMES.candidateConfig }]);
    expect(calls(UpdateEndpointCommand)).toBe(0);
  });

  it('a first release whose endpoint exists (a retry after CreateEndpoint finished) updates it instead', async () => {
    endpoint('InService', 'someone-elses-config');
    await target.apply('candidate_deployed', first);
    expect(calls(CreateEndpointCommand)).toBe(0);
    expect(inputs(UpdateEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint', EndpointConfigName: NAMES.candidateConfig }]);
  });

  it('an already existing Model and EndpointConfig count as created (a retried step)', async () => {
    endpoint('InService', OLD.config);
    sm.on(CreateModelCommand).rejects(awsError('ValidationException', 400, `Cannot create already existing model "arn:aws:sagemaker:eu-west-1:123456789012:model/${NAMES.model}".`));
    sm.on(CreateEndpointConfigCommand).rejects(
      awsError('ValidationException', 400, `Cannot create already existing endpoint configuration "arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/${NAMES.candidateConfig}".`),
    );
    await target.apply('candidate_deployed', upgrade);
    expect(inputs(UpdateEndpointCommand)).toHaveLength(1);
  });

  it.each([
    ['already in service on the candidate config', 'InService', NAMES.candidateConfig],
    ['updating (our update, or another change the judge waits out)', 'Updating', OLD.config],
    ['busy with maintenance', 'SystemUpdating', OLD.config],
    ['failed on the candidate config (the judge reports it)', 'Failed', NAMES.candidateConfig],
  ])('resumes without updating again when the endpoint is %s', async (_, status, configName) => {
    endpoint(status, configName);
    await expect(target.apply('candidate_deployed', upgrade)).resolves.toBe(upgrade);
    expect(calls(CreateModelCommand)).toBe(1);
    expect(calls(CreateEndpointConfigCommand)).toBe(1);
    expect(calls(UpdateEndpointCommand)).toBe(0);
    expect(calls(CreateEndpointCommand)).toBe(0);
  });

  it('a first release whose endpoint is still Creating is not created again', async () => {
    endpoint('Creating', NAMES.candidateConfig);
    await target.apply('candidate_deployed', first);
    expect(calls(CreateEndpointCommand) + calls(UpdateEndpointCommand)).toBe(0);
  });

  it('"in-progress" from UpdateEndpoint, and a racing CreateEndpoint, count as busy: the poll waits', async () => {
    endpoint('InService', OLD.config);
    sm.on(UpdateEndpointCommand).rejects(inProgress());
    await expect(target.apply('candidate_deployed', upgrade)).resolves.toBe(upgrade);
    noEndpoint();
    sm.on(CreateEndpointCommand).rejects(awsError('ValidationException', 400, 'Cannot create already existing endpoint "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/bb-endpoint".'));
    await expect(target.apply('candidate_deployed', first)).resolves.toBe(first);
  });

  it('AccessDenied on CreateModel propagates as an AwsCallError and nothing more is created', async () => {
    endpoint('InService', OLD.config);
    sm.on(CreateModelCommand).rejects(denied());
    const err = await target.apply('candidate_deployed', upgrade).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err).toMatchObject({ name: 'AccessDeniedException', operation: 'SageMaker.CreateModel', resource: `model ${NAMES.model}`, retryable: false });
    expect(calls(CreateEndpointConfigCommand) + calls(UpdateEndpointCommand)).toBe(0);
  });

  it.each([
    ['CreateEndpointConfig: a ValidationException that is not "already existing"', 'ValidationException', 'SageMaker.CreateEndpointConfig', `endpoint config ${NAMES.candidateConfig}`, () => {
      endpoint('InService', OLD.config);
      sm.on(CreateEndpointConfigCommand).rejects(awsError('ValidationException', 400, `Could not find model "${NAMES.model}".`));
    }],
    ['UpdateEndpoint: a service limit', 'ResourceLimitExceeded', 'SageMaker.UpdateEndpoint', 'endpoint bb-endpoint', () => {
      endpoint('InService', OLD.config);
      sm.on(UpdateEndpointCommand).rejects(awsError('ResourceLimitExceeded', 400, 'The account-level service limit ml.g5.xlarge for endpoint usage is 0 Instances'));
    }],
    ['DescribeEndpoint: a 5xx', 'InternalFailure', 'SageMaker.DescribeEndpoint', 'endpoint bb-endpoint', () => {
      sm.on(DescribeEndpointCommand).rejects(internal());
    }],
  ])('%s propagates with the SDK name', async (_, name, operation, resource, arrange) => {
    arrange();
    await expect(target.apply('candidate_deployed', upgrade)).rejects.toMatchObject({ name, operation, resource });
  });

  it('AccessDenied on CreateEndpoint (a first release) propagates', async () => {
    noEndpoint();
    sm.on(CreateEndpointCommand).rejects(denied());
    await expect(target.apply('candidate_deployed', first)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'SageMaker.CreateEndpoint', resource: 'endpoint bb-endpoint' });
  });

  it('refuses a baseline it cannot rebuild (its config was deleted) before creating anything', async () => {
    const unknown = planSageMakerDeployment({ ...CONVERGED, slots: [{ ...CONVERGED.slots[0]!, model: null, instanceType: null }] }, PLAN);
    endpoint('InService', OLD.config);
    await expect(target.apply('candidate_deployed', unknown)).rejects.toThrow(ConfigurationError);
    await expect(target.apply('candidate_deployed', unknown)).rejects.toThrow(/baseline of endpoint bb-endpoint is not known in full/);
    expect(calls(CreateModelCommand) + calls(CreateEndpointConfigCommand) + calls(UpdateEndpointCommand)).toBe(0);
  });
});

describe('SageMakerTarget.apply converged', () => {
  it('puts the candidate alone into the baseline variant, on the converged config', async () => {
    endpoint('InService', NAMES.candidateConfig);
    await expect(target.apply('converged', upgrade)).resolves.toBe(upgrade);
    expect(inputs(CreateEndpointConfigCommand)).toEqual([
      {
        EndpointConfigName: NAMES.convergedConfig,
        ProductionVariants: [{ VariantName: 'baseline', ModelName: NAMES.model, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2, InitialVariantWeight: 1 }],
      },
    ]);
    expect(inputs(UpdateEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint', EndpointConfigName: NAMES.convergedConfig }]);
    expect(calls(CreateModelCommand)).toBe(0);
    expectNothingDeleted();
  });

  it('tolerates an existing config; does not update again when on it or busy; in-progress counts as busy', async () => {
    sm.on(CreateEndpointConfigCommand).rejects(awsError('ValidationException', 400, 'Cannot create already existing endpoint configuration "x".'));
    endpoint('InService', NAMES.convergedConfig);
    await target.apply('converged', upgrade);
    endpoint('Updating', NAMES.candidateConfig);
    await target.apply('converged', first);
    expect(calls(UpdateEndpointCommand)).toBe(0);
    endpoint('InService', NAMES.candidateConfig);
    sm.on(UpdateEndpointCommand).rejects(inProgress());
    await expect(target.apply('converged', upgrade)).resolves.toBe(upgrade);
    expect(calls(UpdateEndpointCommand)).toBe(1);
  });

  it('AccessDenied propagates', async () => {
    endpoint('InService', NAMES.candidateConfig);
    sm.on(UpdateEndpointCommand).rejects(denied());
    await expect(target.apply('converged', upgrade)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'SageMaker.UpdateEndpoint' });
  });
});

describe('SageMakerTarget.apply candidate_removed', () => {
  it.each([
    ['served alone', upgrade],
    ['served next to a leftover canary', overLeftover],
  ])('a baseline that %s: back to it alone, on a restore config of our own; nothing deleted', async (_, d) => {
    endpoint('InService', NAMES.candidateConfig);
    await expect(target.apply('candidate_removed', d)).resolves.toBe(d);
    expect(inputs(CreateEndpointConfigCommand)).toEqual([
      {
        EndpointConfigName: NAMES.restoreConfig,
        ProductionVariants: [{ VariantName: 'baseline', ModelName: OLD.model, InstanceType: 'ml.m5.large', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
      },
    ]);
    expect(inputs(UpdateEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint', EndpointConfigName: NAMES.restoreConfig }]);
    expect(calls(CreateModelCommand) + calls(DeleteEndpointCommand)).toBe(0);
    expectNothingDeleted();
  });

  it('resumes: an existing restore config is fine; on it or busy, no update; in-progress is busy', async () => {
    sm.on(CreateEndpointConfigCommand).rejects(awsError('ValidationException', 400, 'Cannot create already existing endpoint configuration "r".'));
    endpoint('InService', NAMES.restoreConfig);
    await target.apply('candidate_removed', upgrade);
    endpoint('RollingBack', NAMES.candidateConfig);
    await target.apply('candidate_removed', upgrade);
    endpoint('Updating', NAMES.candidateConfig);
    await target.apply('candidate_removed', overLeftover);
    expect(calls(UpdateEndpointCommand)).toBe(0);
    endpoint('InService', NAMES.candidateConfig);
    sm.on(UpdateEndpointCommand).rejects(inProgress());
    await expect(target.apply('candidate_removed', upgrade)).resolves.toBe(upgrade);
    expect(calls(UpdateEndpointCommand)).toBe(1);
  });

  it('a first release: the endpoint is deleted (its Model and EndpointConfig are kept)', async () => {
    endpoint('InService', NAMES.candidateConfig);
    await expect(target.apply('candidate_removed', first)).resolves.toBe(first);
    expect(inputs(DeleteEndpointCommand)).toEqual([{ EndpointName: 'bb-endpoint' }]);
    expect(calls(UpdateEndpointCommand) + calls(CreateEndpointConfigCommand)).toBe(0);
    expectNothingDeleted();
  });

  it.each([
    ['gone already', () => noEndpoint()],
    ['being deleted', () => endpoint('Deleting', NAMES.candidateConfig)],
    ['busy with an update (the poll waits)', () => endpoint('Updating', NAMES.candidateConfig)],
  ])('a first release whose endpoint is %s: no DeleteEndpoint', async (_, arrange) => {
    arrange();
    await target.apply('candidate_removed', first);
    expect(calls(DeleteEndpointCommand)).toBe(0);
  });

  it('DeleteEndpoint: "could not find" is done, "in-progress" is busy, AccessDenied propagates', async () => {
    endpoint('InService', NAMES.candidateConfig);
    sm.on(DeleteEndpointCommand).rejectsOnce(notFound()).rejectsOnce(awsError('ValidationException', 400, 'Cannot delete in-progress endpoint "bb-endpoint".')).rejectsOnce(denied());
    await expect(target.apply('candidate_removed', first)).resolves.toBe(first);
    await expect(target.apply('candidate_removed', first)).resolves.toBe(first);
    await expect(target.apply('candidate_removed', first)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'SageMaker.DeleteEndpoint', resource: 'endpoint bb-endpoint' });
  });

  it('refuses a restore config it cannot build', async () => {
    const unknown = planSageMakerDeployment({ ...LEFTOVER, slots: [{ ...LEFTOVER.slots[0]!, instanceCount: null }, LEFTOVER.slots[1]!] }, PLAN);
    endpoint('InService', NAMES.candidateConfig);
    await expect(target.apply('candidate_removed', unknown)).rejects.toThrow(ConfigurationError);
    expect(calls(CreateEndpointConfigCommand) + calls(UpdateEndpointCommand)).toBe(0);
  });
});

describe('SageMakerTarget refuses a deployment that is not its own', () => {
  const lambda: Deployment = { ...upgrade, target: 'lambda', configs: null };
  it.each([
    ['a Lambda deployment', lambda],
    ['no EndpointConfig names', { ...upgrade, configs: null }],
    ['another endpoint', { ...upgrade, resource: 'other-endpoint' }],
    ['a candidate without a model', { ...upgrade, candidate: { ...upgrade.candidate, model: null } }],
  ] as [string, Deployment][])('%s', async (_, d) => {
    await expect(target.apply('candidate_deployed', d)).rejects.toThrow(ConfigurationError);
    await expect(target.invoke(d, SmokeSampleSchema.parse({ name: 'x', body: '{}' }))).rejects.toThrow(ConfigurationError);
    expect(sm.calls()).toHaveLength(0);
    expect(rt.calls()).toHaveLength(0);
  });
});

describe('SageMakerTarget.invoke', () => {
  const sample = SmokeSampleSchema.parse({ name: 'hello', contentType: 'application/json', body: '{"prompt":"Design a 2-storey house"}' });

  it('sends the sample to the canary variant alone and returns the body (UTF-8) with the latency', async () => {
    rt.on(InvokeEndpointCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 25));
      return { Body: new TextEncoder().encode('{"plan":"maison à 2 étages ✓"}'), ContentType: 'application/json' };
    });
    const response = await target.invoke(upgrade, sample);
    expect(rt.commandCalls(InvokeEndpointCommand)[0]!.args[0].input).toEqual({
      EndpointName: 'bb-endpoint',
      TargetVariant: 'canary',
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: sample.body,
    });
    expect(response.error).toBeNull();
    expect(response.body).toBe('{"plan":"maison à 2 étages ✓"}');
    expect(response.latencyMs).toBeGreaterThanOrEqual(20);
    expect(response.latencyMs).toBeLessThan(5_000);
  });

  it('a ModelError is the answer, not an exception', async () => {
    rt.on(InvokeEndpointCommand).rejects(awsError('ModelError', 424, 'Received client error (400) from primary with message "bad input".'));
    const response = await target.invoke(first, sample);
    expect(response).toEqual({ error: 'ModelError: Received client error (400) from primary with message "bad input".', body: '', latencyMs: expect.any(Number) });
    expect(rt.commandCalls(InvokeEndpointCommand)[0]!.args[0].input.TargetVariant).toBe('canary');
  });

  it('every other failure (no such variant, throttling, 5xx) is returned as the error too', async () => {
    rt.on(InvokeEndpointCommand)
      .rejectsOnce(awsError('ValidationException', 400, 'Endpoint variant canary not found.'))
      .rejectsOnce(throttled())
      .rejectsOnce(awsError('ServiceUnavailable', 503, 'Service is unavailable'));
    expect((await target.invoke(upgrade, sample)).error).toBe('ValidationException: Endpoint variant canary not found.');
    expect((await target.invoke(upgrade, sample)).error).toBe('ThrottlingException: Rate exceeded');
    expect(await target.invoke(upgrade, sample)).toMatchObject({ error: 'ServiceUnavailable: Service is unavailable', body: '' });
  });
});

describe('SageMakerTarget.apply when the goal is already reached by another road', () => {
  it('candidate_removed: SageMaker rolled the failed update back to the baseline alone: no config, no update', async () => {
    const d = planSageMakerDeployment(CONVERGED, PLAN);
    sm.on(DescribeEndpointCommand).resolves({
      EndpointName: 'bb-endpoint',
      EndpointStatus: 'InService',
      EndpointConfigName: OLD.config,
      FailureReason: 'The primary container for production variant canary did not pass the ping health check.',
      ProductionVariants: [{ VariantName: 'baseline', CurrentWeight: 1, CurrentInstanceCount: 2 }],
    } as never);
    sm.on(DescribeEndpointConfigCommand).resolves({ ProductionVariants: [{ VariantName: 'baseline', ModelName: OLD.model, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 }] } as never);
    await target.apply('candidate_removed', d);
    expect(sm.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
    expect(sm.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });
});
