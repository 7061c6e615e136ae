import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { DescribeEndpointCommand, SageMakerClient, UpdateEndpointWeightsAndCapacitiesCommand } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/app/errors.js';
import { LambdaAliasRouter } from '../../lambdas/adapters/lambda-alias-router.js';
import { SageMakerRouter } from '../../lambdas/adapters/sagemaker-router.js';
import { ONE_ATTEMPT, awsError, denied, internal, throttled } from './aws-helpers.js';

const noSleep = async () => {};

describe('SageMakerRouter', () => {
  const sm = mockClient(SageMakerClient);
  const config = { endpointName: 'bb-endpoint', baselineVariant: 'baseline', canaryVariant: 'canary' };
  const router = new SageMakerRouter(new SageMakerClient(ONE_ATTEMPT), config, { sleep: noSleep, pollMs: 5_000, maxWaitMs: 15_000 });
  /** DescribeEndpoint answers with these variants (both: a release's canary next to the baseline). */
  const holding = (...names: string[]) =>
    sm.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', ProductionVariants: names.map((VariantName) => ({ VariantName, CurrentWeight: 1 })) } as never);
  beforeEach(() => {
    sm.reset();
    holding('baseline', 'canary');
  });

  const weights = (i: number) => sm.commandCalls(UpdateEndpointWeightsAndCapacitiesCommand)[i]!.args[0].input;
  const updates = () => sm.commandCalls(UpdateEndpointWeightsAndCapacitiesCommand).length;

  it('sets the two variants to percent weights; promote and restore are the two extremes', async () => {
    sm.on(UpdateEndpointWeightsAndCapacitiesCommand).resolves({ EndpointArn: 'arn' });
    await router.setCandidateWeight('builderbrain', 10);
    await router.promoteCandidate('builderbrain');
    await router.restoreBaseline('builderbrain');
    expect(weights(0)).toEqual({ EndpointName: 'bb-endpoint', DesiredWeightsAndCapacities: [{ VariantName: 'baseline', DesiredWeight: 90 }, { VariantName: 'canary', DesiredWeight: 10 }] });
    expect(weights(1).DesiredWeightsAndCapacities).toEqual([{ VariantName: 'baseline', DesiredWeight: 0 }, { VariantName: 'canary', DesiredWeight: 100 }]);
    expect(weights(2).DesiredWeightsAndCapacities).toEqual([{ VariantName: 'baseline', DesiredWeight: 100 }, { VariantName: 'canary', DesiredWeight: 0 }]);
  });

  it('a first release (the canary variant alone): any weight above 0 is all of the traffic; promote and restore leave it', async () => {
    holding('canary');
    sm.on(UpdateEndpointWeightsAndCapacitiesCommand).resolves({});
    await router.setCandidateWeight('builderbrain', 10);
    expect(weights(0)).toEqual({ EndpointName: 'bb-endpoint', DesiredWeightsAndCapacities: [{ VariantName: 'canary', DesiredWeight: 100 }] });
    await router.setCandidateWeight('builderbrain', 0);
    await router.promoteCandidate('builderbrain');
    await router.restoreBaseline('builderbrain');
    expect(updates()).toBe(1);
    expect(await router.current('builderbrain')).toEqual({ baseline: 0, candidate: 100 });
  });

  it('the baseline variant alone (after a clean-up): restore and weight 0 have nothing to do; routing to the candidate is refused', async () => {
    holding('baseline');
    await router.restoreBaseline('builderbrain');
    await router.setCandidateWeight('builderbrain', 0);
    await expect(router.setCandidateWeight('builderbrain', 5)).rejects.toThrow(ConfigurationError);
    await expect(router.promoteCandidate('builderbrain')).rejects.toThrow(/bb-endpoint has no canary variant/);
    expect(updates()).toBe(0);
  });

  it('a DescribeEndpoint failure propagates before any weight is sent', async () => {
    sm.on(DescribeEndpointCommand).rejects(throttled());
    await expect(router.restoreBaseline('builderbrain')).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true, message: expect.stringContaining('SageMaker.DescribeEndpoint on endpoint bb-endpoint') });
    expect(updates()).toBe(0);
  });

  it('reads the current split from DescribeEndpoint', async () => {
    sm.on(DescribeEndpointCommand).resolves({ ProductionVariants: [{ VariantName: 'baseline', CurrentWeight: 9 }, { VariantName: 'canary', CurrentWeight: 1 }] } as never);
    expect(await router.current('builderbrain')).toEqual({ baseline: 90, candidate: 10 });
  });

  it('waits out an endpoint that is still Updating, then succeeds', async () => {
    sm.on(UpdateEndpointWeightsAndCapacitiesCommand)
      .rejectsOnce(awsError('ValidationException', 400, 'Cannot update in-progress endpoint "bb-endpoint".'))
      .resolves({});
    await router.restoreBaseline('builderbrain');
    expect(sm.commandCalls(UpdateEndpointWeightsAndCapacitiesCommand)).toHaveLength(2);
  });

  it('gives up after maxWaitMs of Updating, with the SDK error name', async () => {
    sm.on(UpdateEndpointWeightsAndCapacitiesCommand).rejects(awsError('ValidationException', 400, 'Cannot update in-progress endpoint'));
    await expect(router.restoreBaseline('builderbrain')).rejects.toMatchObject({ name: 'ValidationException', retryable: false });
    expect(sm.commandCalls(UpdateEndpointWeightsAndCapacitiesCommand)).toHaveLength(4);
  });

  it('5xx and throttling propagate (retryable); a permanent error propagates at once', async () => {
    sm.on(UpdateEndpointWeightsAndCapacitiesCommand).rejectsOnce(internal()).rejectsOnce(throttled()).rejectsOnce(denied());
    await expect(router.setCandidateWeight('builderbrain', 1)).rejects.toMatchObject({ name: 'InternalFailure', retryable: true });
    await expect(router.setCandidateWeight('builderbrain', 1)).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true });
    await expect(router.setCandidateWeight('builderbrain', 1)).rejects.toMatchObject({ name: 'AccessDeniedException', retryable: false, message: expect.stringContaining('endpoint bb-endpoint') });
    expect(sm.commandCalls(UpdateEndpointWeightsAndCapacitiesCommand)).toHaveLength(3);
  });
});

describe('LambdaAliasRouter', () => {
  const lambda = mockClient(LambdaClient);
  const config = { functionName: 'bb-serve', liveAlias: 'live', candidateAlias: 'candidate' };
  const router = new LambdaAliasRouter(new LambdaClient(ONE_ATTEMPT), config, { sleep: noSleep });
  beforeEach(() => {
    lambda.reset();
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ Name: 'live', FunctionVersion: '7' });
    lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ Name: 'candidate', FunctionVersion: '8' });
    lambda.on(UpdateAliasCommand).resolves({});
  });
  const update = (i: number) => lambda.commandCalls(UpdateAliasCommand)[i]!.args[0].input;

  it('routes the weight to the candidate version on the live alias, keeping the baseline version', async () => {
    await router.setCandidateWeight('builderbrain', 10);
    await router.setCandidateWeight('builderbrain', 100);
    expect(update(0)).toEqual({ FunctionName: 'bb-serve', Name: 'live', RoutingConfig: { AdditionalVersionWeights: { '8': 0.1 } } });
    expect(update(1).RoutingConfig).toEqual({ AdditionalVersionWeights: { '8': 1 } });
  });

  it('promote points the live alias at the candidate version; restore clears the routing', async () => {
    await router.promoteCandidate('builderbrain');
    await router.restoreBaseline('builderbrain');
    expect(update(0)).toEqual({ FunctionName: 'bb-serve', Name: 'live', FunctionVersion: '8', RoutingConfig: { AdditionalVersionWeights: {} } });
    expect(update(1)).toEqual({ FunctionName: 'bb-serve', Name: 'live', RoutingConfig: { AdditionalVersionWeights: {} } });
  });

  it('reads the current split from the live alias', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '8': 0.5 } } });
    expect(await router.current('builderbrain')).toEqual({ baseline: 50, candidate: 50 });
  });

  it('a first release (the live alias created on the candidate) routes nothing: the candidate serves everything already', async () => {
    lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ FunctionVersion: '7' });
    await router.setCandidateWeight('builderbrain', 100);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('retries a concurrent-update conflict', async () => {
    lambda.on(UpdateAliasCommand).rejectsOnce(awsError('ResourceConflictException', 409, 'update in progress')).resolves({});
    await router.restoreBaseline('builderbrain');
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(2);
  });

  it('propagates throttling (retryable) and permanent errors', async () => {
    lambda.on(UpdateAliasCommand).rejects(awsError('TooManyRequestsException', 429, 'Rate exceeded'));
    await expect(router.restoreBaseline('builderbrain')).rejects.toMatchObject({ name: 'TooManyRequestsException', retryable: true });
    lambda.on(UpdateAliasCommand).rejects(awsError('ResourceNotFoundException', 404, 'Alias not found'));
    await expect(router.restoreBaseline('builderbrain')).rejects.toMatchObject({ name: 'ResourceNotFoundException', retryable: false, message: expect.stringContaining('Lambda.UpdateAlias on bb-serve:live') });
    lambda.on(GetAliasCommand).rejects(denied());
    await expect(router.promoteCandidate('builderbrain')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
