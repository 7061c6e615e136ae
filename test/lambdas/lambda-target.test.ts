import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../core/app/errors.js';
import { DeploymentSchema, type Deployment, type SmokeSample } from '../../core/deployment.js';
import { AwsCallError } from '../../lambdas/adapters/aws-errors.js';
import { DeploymentFailedError, LambdaTarget, MAX_ENVIRONMENT_BYTES, environmentBytes } from '../../lambdas/adapters/lambda-target.js';
import { ONE_ATTEMPT, awsError, denied } from './aws-helpers.js';

const lambda = mockClient(LambdaClient);
const sleep = vi.fn(async (_ms: number) => {});
const delivery = { kind: 'environment', uriVariable: 'MODEL_URI', sha256Variable: 'MODEL_SHA256', versionVariable: 'MODEL_VERSION' } as const;
const target = new LambdaTarget(new LambdaClient(ONE_ATTEMPT), { functionName: 'bb-serve', liveAlias: 'live', candidateAlias: 'candidate', delivery }, { sleep, pollMs: 1_000, maxWaitMs: 3_000 });

const URI = 's3://bb-artifacts/models/builderbrain/2.1.0/model.tar.gz';
const SHA = 'ab'.repeat(32);
const RELEASE = 'builderbrain-2_1_0-24c174c9';
const DESCRIPTION = `builderbrain ${RELEASE}`;

/** A Lambda deployment as DeployCandidate plans it: baseline version 7, candidate not yet published. */
const deployment: Deployment = DeploymentSchema.parse({
  target: 'lambda',
  resource: 'bb-serve',
  releaseId: RELEASE,
  version: '2.1.0',
  artifact: { uri: URI, sha256: SHA },
  baseline: { slot: 'live', model: null, config: '7', instanceType: null, instanceCount: null, alone: true },
  candidate: { slot: 'candidate', model: null, version: null, instanceType: null, instanceCount: null },
  configs: null,
} satisfies Deployment);
const published: Deployment = { ...deployment, candidate: { ...deployment.candidate, version: '9' } };
const firstRelease: Deployment = { ...deployment, baseline: null };

const ownVariables = { LOG_LEVEL: 'info', MODEL_URI: 's3://bb-artifacts/models/builderbrain/2.0.0/model.tar.gz', MODEL_SHA256: 'cd'.repeat(32), MODEL_VERSION: '2.0.0' };
const releaseVariables = { ...ownVariables, MODEL_URI: URI, MODEL_SHA256: SHA, MODEL_VERSION: '2.1.0' };
const latest = (status: 'Successful' | 'InProgress' | 'Failed', variables: Record<string, string>, revision: string, reason?: string) => ({
  Version: '$LATEST',
  State: 'Active' as const,
  LastUpdateStatus: status,
  ...(reason === undefined ? {} : { LastUpdateStatusReason: reason, LastUpdateStatusReasonCode: 'DisabledKMSKey' as const }),
  RevisionId: revision,
  Environment: { Variables: variables },
});
const notFound = () => awsError('ResourceNotFoundException', 404, 'Function not found: bb-serve:live');

const input = <T>(calls: { args: [{ input: T }] }[], i = 0): T => calls[i]!.args[0].input;

beforeEach(() => {
  lambda.reset();
  sleep.mockClear();
  lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ Name: 'live', FunctionVersion: '7' });
  lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ Name: 'candidate', FunctionVersion: '8' });
  lambda.on(UpdateAliasCommand).resolves({});
  lambda.on(CreateAliasCommand).resolves({});
});

describe('LambdaTarget.observe', () => {
  it('no live alias: the function serves nothing yet', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).rejects(notFound());
    expect(await target.observe()).toEqual({ exists: false, status: 'idle', config: null, failureReason: null, slots: [] });
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(0);
  });

  it("the alias's version takes what its routing leaves; each routed version is a slot in percent", async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '9': 0.07 } } });
    lambda.on(GetFunctionConfigurationCommand).resolves(latest('Successful', releaseVariables, 'r1'));
    expect(await target.observe()).toEqual({
      exists: true,
      status: 'idle',
      config: '7',
      failureReason: null,
      slots: [
        { name: '7', model: null, weight: 93, instanceType: null, instanceCount: null },
        { name: '9', model: null, weight: 7, instanceType: null, instanceCount: null },
      ],
    });
    expect(input(lambda.commandCalls(GetAliasCommand))).toEqual({ FunctionName: 'bb-serve', Name: 'live' });
    expect(input(lambda.commandCalls(GetFunctionConfigurationCommand))).toEqual({ FunctionName: 'bb-serve', Qualifier: '$LATEST' });
  });

  it('all traffic routed: the baseline slot stays, at weight 0; no routing: one slot at 100', async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves(latest('Successful', releaseVariables, 'r1'));
    lambda.on(GetAliasCommand, { Name: 'live' }).resolvesOnce({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '9': 1 } } }).resolvesOnce({ FunctionVersion: '9' });
    expect((await target.observe()).slots.map((s) => [s.name, s.weight])).toEqual([['7', 0], ['9', 100]]);
    expect((await target.observe()).slots.map((s) => [s.name, s.weight])).toEqual([['9', 100]]);
  });

  it('LastUpdateStatus InProgress is busy; Failed is failed with its reason', async () => {
    lambda.on(GetFunctionConfigurationCommand)
      .resolvesOnce(latest('InProgress', releaseVariables, 'r1'))
      .resolvesOnce(latest('Failed', releaseVariables, 'r2', 'Lambda was unable to decrypt the environment variables because KMS access was denied.'));
    expect(await target.observe()).toMatchObject({ exists: true, status: 'busy', failureReason: null });
    expect(await target.observe()).toMatchObject({ exists: true, status: 'failed', failureReason: 'Lambda was unable to decrypt the environment variables because KMS access was denied.' });
  });

  it('any other failure propagates, naming the call', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).rejects(denied());
    await expect(target.observe()).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'Lambda.GetAlias', resource: 'bb-serve:live' });
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '7' });
    lambda.on(GetFunctionConfigurationCommand).rejects(denied());
    await expect(target.observe()).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'Lambda.GetFunctionConfiguration' });
  });
});

describe('LambdaTarget.apply candidate_deployed', () => {
  /** Two pages of versions, none of them the release's (one has its description but another artifact). */
  const noReleaseVersion = () => {
    lambda
      .on(ListVersionsByFunctionCommand)
      .resolvesOnce({ Versions: [{ Version: '$LATEST', Description: '' }, { Version: '7', Description: 'builderbrain builderbrain-2_0_0-aaaaaaaa', Environment: { Variables: ownVariables } }], NextMarker: 'm1' })
      .resolvesOnce({ Versions: [{ Version: '8', Description: DESCRIPTION, Environment: { Variables: ownVariables } }] });
  };

  it('fresh: merges the artifact into $LATEST, waits out the update, publishes that revision and points the candidate alias at it', async () => {
    noReleaseVersion();
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce(latest('Successful', ownVariables, 'r1'))
      .resolvesOnce(latest('InProgress', releaseVariables, 'r2'))
      .resolvesOnce(latest('InProgress', releaseVariables, 'r2'))
      .resolvesOnce(latest('Successful', releaseVariables, 'r3'));
    lambda.on(UpdateFunctionConfigurationCommand).resolves({ LastUpdateStatus: 'InProgress' });
    lambda.on(PublishVersionCommand).resolves({ Version: '9', Description: DESCRIPTION });

    expect(await target.apply('candidate_deployed', deployment)).toEqual({ ...deployment, candidate: { ...deployment.candidate, version: '9', model: null } });

    expect(input(lambda.commandCalls(ListVersionsByFunctionCommand), 0)).toEqual({ FunctionName: 'bb-serve' });
    expect(input(lambda.commandCalls(ListVersionsByFunctionCommand), 1)).toEqual({ FunctionName: 'bb-serve', Marker: 'm1' });
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(1);
    expect(input(lambda.commandCalls(UpdateFunctionConfigurationCommand))).toEqual({
      FunctionName: 'bb-serve',
      Environment: { Variables: { LOG_LEVEL: 'info', MODEL_URI: URI, MODEL_SHA256: SHA, MODEL_VERSION: '2.1.0' } },
    });
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(4);
    expect(sleep.mock.calls).toEqual([[1_000], [1_000]]);
    expect(input(lambda.commandCalls(PublishVersionCommand))).toEqual({ FunctionName: 'bb-serve', Description: DESCRIPTION, RevisionId: 'r3' });
    expect(lambda.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([{ FunctionName: 'bb-serve', Name: 'candidate', FunctionVersion: '9' }]);
    expect(lambda.commandCalls(CreateAliasCommand)).toHaveLength(0);
  });

  it('the delivery variables are the configured ones', async () => {
    const custom = new LambdaTarget(
      new LambdaClient(ONE_ATTEMPT),
      { functionName: 'bb-serve', liveAlias: 'live', candidateAlias: 'candidate', delivery: { kind: 'environment', uriVariable: 'ARTIFACT', sha256Variable: 'ARTIFACT_SHA', versionVariable: 'RELEASE' } },
      { sleep },
    );
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda.on(GetFunctionConfigurationCommand).resolvesOnce(latest('Successful', {}, 'r1')).resolves(latest('Successful', { ARTIFACT: URI, ARTIFACT_SHA: SHA, RELEASE: '2.1.0' }, 'r2'));
    lambda.on(UpdateFunctionConfigurationCommand).resolves({});
    lambda.on(PublishVersionCommand).resolves({ Version: '9' });
    await custom.apply('candidate_deployed', deployment);
    expect(input(lambda.commandCalls(UpdateFunctionConfigurationCommand)).Environment).toEqual({ Variables: { ARTIFACT: URI, ARTIFACT_SHA: SHA, RELEASE: '2.1.0' } });
  });

  it('resumed: the version an earlier attempt published is found by description and artifact; nothing is updated or published', async () => {
    lambda
      .on(ListVersionsByFunctionCommand)
      .resolvesOnce({ Versions: [{ Version: '8', Description: DESCRIPTION, Environment: { Variables: ownVariables } }], NextMarker: 'm1' })
      .resolvesOnce({ Versions: [{ Version: '9', Description: DESCRIPTION, Environment: { Variables: releaseVariables } }] });
    lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ FunctionVersion: '9' });

    expect((await target.apply('candidate_deployed', deployment)).candidate.version).toBe('9');
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(0);
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(lambda.commandCalls(PublishVersionCommand)).toHaveLength(0);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
    expect(lambda.commandCalls(CreateAliasCommand)).toHaveLength(0);
  });

  it('resumed after the update: $LATEST already carries the artifact, so it is published without another update', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda.on(GetFunctionConfigurationCommand).resolves(latest('Successful', releaseVariables, 'r7'));
    lambda.on(PublishVersionCommand).resolves({ Version: '9' });
    await target.apply('candidate_deployed', deployment);
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(input(lambda.commandCalls(PublishVersionCommand))).toEqual({ FunctionName: 'bb-serve', Description: DESCRIPTION, RevisionId: 'r7' });
  });

  it('a failed update is DeploymentFailed with Lambda\'s reason; nothing is published', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce(latest('Successful', ownVariables, 'r1'))
      .resolves(latest('Failed', releaseVariables, 'r2', 'Lambda was unable to configure access to your environment variables because the KMS key is disabled.'));
    lambda.on(UpdateFunctionConfigurationCommand).resolves({});
    const err = await target.apply('candidate_deployed', deployment).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeploymentFailedError);
    expect(err).toMatchObject({
      name: 'DeploymentFailed',
      resource: 'bb-serve',
      failureReason: 'Lambda was unable to configure access to your environment variables because the KMS key is disabled.',
      message: expect.stringContaining('(DisabledKMSKey): Lambda was unable to configure access to your environment variables because the KMS key is disabled.'),
    });
    expect(lambda.commandCalls(PublishVersionCommand)).toHaveLength(0);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('an environment over 4 KB (counted in UTF-8 bytes) is refused before any update', async () => {
    // 2,000 characters but 4,000 bytes: a character count would let it through.
    const big = { ...ownVariables, LABELS: 'é'.repeat(2_000) };
    expect(environmentBytes({ ...big, MODEL_URI: URI, MODEL_SHA256: SHA })).toBeGreaterThan(MAX_ENVIRONMENT_BYTES);
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda.on(GetFunctionConfigurationCommand).resolves(latest('Successful', big, 'r1'));
    const err = await target.apply('candidate_deployed', deployment).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/over Lambda's 4 KB \(4096-byte\) limit/);
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
    expect(lambda.commandCalls(PublishVersionCommand)).toHaveLength(0);
  });

  it('a first release creates the candidate and live aliases on the new version', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [{ Version: '$LATEST' }] });
    lambda.on(GetFunctionConfigurationCommand).resolvesOnce(latest('Successful', {}, 'r1')).resolves(latest('Successful', { MODEL_URI: URI, MODEL_SHA256: SHA, MODEL_VERSION: '2.1.0' }, 'r2'));
    lambda.on(UpdateFunctionConfigurationCommand).resolves({});
    lambda.on(PublishVersionCommand).resolves({ Version: '1' });
    lambda.on(GetAliasCommand).rejects(notFound());

    expect((await target.apply('candidate_deployed', firstRelease)).candidate.version).toBe('1');
    expect(lambda.commandCalls(CreateAliasCommand).map((c) => c.args[0].input)).toEqual([
      { FunctionName: 'bb-serve', Name: 'candidate', FunctionVersion: '1' },
      { FunctionName: 'bb-serve', Name: 'live', FunctionVersion: '1' },
    ]);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('retries a concurrent update (ResourceConflict) and a $LATEST changed before publishing (PreconditionFailed) from a fresh read', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce(latest('Successful', ownVariables, 'r1'))
      .resolvesOnce(latest('Successful', releaseVariables, 'r2'))
      .resolves(latest('Successful', { ...releaseVariables, LOG_LEVEL: 'debug' }, 'r3'));
    lambda.on(UpdateFunctionConfigurationCommand).rejectsOnce(awsError('ResourceConflictException', 409, 'An update is in progress for resource: bb-serve')).resolves({});
    lambda.on(PublishVersionCommand).rejectsOnce(awsError('PreconditionFailedException', 412, 'The RevisionId provided does not match the latest RevisionId')).resolves({ Version: '9' });

    expect((await target.apply('candidate_deployed', deployment)).candidate.version).toBe('9');
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(2);
    expect(lambda.commandCalls(PublishVersionCommand).map((c) => c.args[0].input.RevisionId)).toEqual(['r2', 'r3']);
  });

  it('variables replaced by someone else after the update: updated again, never published without the artifact', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda
      .on(GetFunctionConfigurationCommand)
      .resolvesOnce(latest('Successful', ownVariables, 'r1'))
      .resolvesOnce(latest('Successful', ownVariables, 'r2'))
      .resolvesOnce(latest('Successful', ownVariables, 'r2'))
      .resolves(latest('Successful', releaseVariables, 'r4'));
    lambda.on(UpdateFunctionConfigurationCommand).resolves({});
    lambda.on(PublishVersionCommand).resolves({ Version: '9' });
    await target.apply('candidate_deployed', deployment);
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(2);
    expect(lambda.commandCalls(PublishVersionCommand).map((c) => c.args[0].input.RevisionId)).toEqual(['r4']);
  });

  it('$LATEST still updating after maxWaitMs: DeploymentPending (a retried step resumes)', async () => {
    lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: [] });
    lambda.on(GetFunctionConfigurationCommand).resolves(latest('InProgress', ownVariables, 'r1'));
    await expect(target.apply('candidate_deployed', deployment)).rejects.toMatchObject({ name: 'DeploymentPending', message: expect.stringContaining('still updating after 3000 ms') });
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(4);
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)).toHaveLength(0);
  });

  it('permanent errors of each call propagate as AwsCallError naming the call', async () => {
    lambda.on(ListVersionsByFunctionCommand).rejectsOnce(denied()).resolves({ Versions: [] });
    await expect(target.apply('candidate_deployed', deployment)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'Lambda.ListVersionsByFunction' });

    lambda.on(GetFunctionConfigurationCommand).resolvesOnce(latest('Successful', ownVariables, 'r1')).resolves(latest('Successful', releaseVariables, 'r2'));
    lambda.on(UpdateFunctionConfigurationCommand).rejectsOnce(awsError('InvalidParameterValueException', 400, 'Reserved keys used in this request: AWS_REGION'));
    await expect(target.apply('candidate_deployed', deployment)).rejects.toMatchObject({ name: 'InvalidParameterValueException', operation: 'Lambda.UpdateFunctionConfiguration', retryable: false });

    lambda.on(PublishVersionCommand).rejectsOnce(awsError('CodeStorageExceededException', 400, 'Code storage limit exceeded.'));
    const err = await target.apply('candidate_deployed', deployment).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err).toMatchObject({ name: 'CodeStorageExceededException', operation: 'Lambda.PublishVersion', resource: 'bb-serve' });

    lambda.on(PublishVersionCommand).resolves({ Version: '9' });
    lambda.on(UpdateAliasCommand).rejectsOnce(awsError('ResourceNotFoundException', 404, 'Function not found'));
    await expect(target.apply('candidate_deployed', deployment)).rejects.toMatchObject({ name: 'ResourceNotFoundException', operation: 'Lambda.UpdateAlias', resource: 'bb-serve:candidate' });
  });

  it('refuses a SageMaker deployment', async () => {
    await expect(target.apply('candidate_deployed', { ...deployment, target: 'sagemaker' })).rejects.toBeInstanceOf(ConfigurationError);
    expect(lambda.calls()).toHaveLength(0);
  });
});

describe('LambdaTarget.apply converged and candidate_removed', () => {
  it('converged: promotion already moved the live alias; nothing is called', async () => {
    expect(await target.apply('converged', published)).toBe(published);
    expect(lambda.calls()).toHaveLength(0);
  });

  it('candidate_removed clears the routing to the candidate and points the candidate alias back at the baseline', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '9': 0.25 } } });
    lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ FunctionVersion: '9' });
    expect(await target.apply('candidate_removed', published)).toBe(published);
    expect(lambda.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
      { FunctionName: 'bb-serve', Name: 'live', RoutingConfig: { AdditionalVersionWeights: {} } },
      { FunctionName: 'bb-serve', Name: 'candidate', FunctionVersion: '7' },
    ]);
  });

  it('is idempotent: no routing to the candidate and the candidate alias already on the baseline change nothing', async () => {
    lambda.on(GetAliasCommand, { Name: 'candidate' }).resolves({ FunctionVersion: '7' });
    await target.apply('candidate_removed', published);
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(0);
  });

  it('a live alias already promoted to the candidate goes back to the baseline version', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '9' });
    lambda.on(GetAliasCommand, { Name: 'candidate' }).rejects(notFound());
    await target.apply('candidate_removed', published);
    expect(lambda.commandCalls(UpdateAliasCommand).map((c) => c.args[0].input)).toEqual([
      { FunctionName: 'bb-serve', Name: 'live', FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: {} } },
    ]);
    expect(lambda.commandCalls(CreateAliasCommand)).toHaveLength(0);
  });

  it('retries a concurrent update, then surfaces a permanent error', async () => {
    lambda.on(GetAliasCommand, { Name: 'live' }).resolves({ FunctionVersion: '7', RoutingConfig: { AdditionalVersionWeights: { '9': 0.5 } } });
    lambda.on(UpdateAliasCommand).rejectsOnce(awsError('ResourceConflictException', 409, 'update in progress')).resolvesOnce({}).rejects(denied());
    await expect(target.apply('candidate_removed', published)).rejects.toMatchObject({ name: 'AccessDeniedException', operation: 'Lambda.UpdateAlias', resource: 'bb-serve:candidate' });
    expect(lambda.commandCalls(UpdateAliasCommand)).toHaveLength(3);
  });
});

describe('LambdaTarget.invoke', () => {
  const sample: SmokeSample = { name: 'hello', contentType: 'application/json', body: '{"prompt":"hé"}', expect: { maxLatencyMs: 5_000 } };
  const bytes = (s: string) => Buffer.from(s, 'utf8') as never;

  it('sends the body to the candidate version synchronously and returns the answer with its latency', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes('{"answer":"ok"}'), ExecutedVersion: '9' });
    const res = await target.invoke(published, sample);
    expect(res).toEqual({ error: null, body: '{"answer":"ok"}', latencyMs: expect.any(Number) });
    expect(res.latencyMs).toBeGreaterThanOrEqual(0);
    const sent = input(lambda.commandCalls(InvokeCommand));
    expect({ ...sent, Payload: Buffer.from(sent.Payload as Uint8Array).toString('utf8') }).toEqual({ FunctionName: 'bb-serve', Qualifier: '9', InvocationType: 'RequestResponse', Payload: '{"prompt":"hé"}' });
  });

  it('a function error is returned with its payload', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes('{"errorType":"TypeError","errorMessage":"boom"}') });
    expect(await target.invoke(published, sample)).toMatchObject({ error: 'FunctionError Unhandled: {"errorType":"TypeError","errorMessage":"boom"}' });
  });

  it('an SDK error is returned, not thrown', async () => {
    lambda.on(InvokeCommand).rejects(awsError('TooManyRequestsException', 429, 'Rate Exceeded.'));
    expect(await target.invoke(published, sample)).toEqual({ error: 'TooManyRequestsException: Rate Exceeded.', body: '', latencyMs: expect.any(Number) });
  });

  it('a payload over the 6 MB synchronous limit (in bytes) is refused without a call', async () => {
    // 3.2 M characters, 6.4 MB in UTF-8.
    const res = await target.invoke(published, { ...sample, body: 'é'.repeat(3_200_000) });
    expect(res.error).toMatch(/6400000 bytes, over Lambda's 6291456-byte \(6 MB\) limit/);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('no published candidate version: an error, no call', async () => {
    expect((await target.invoke(deployment, sample)).error).toMatch(/no candidate version/);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
