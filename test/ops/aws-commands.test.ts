/**
 * The operator commands against a deployed stack, with every AWS client mocked
 * (aws-sdk-client-mock): each command's success and the failures of cli.md (no credentials,
 * access denied, throttling after the SDK's retries, stack not found, release not found, nothing
 * waiting, approve twice, approve after the release ended). The task token never appears in any
 * output.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clientConfig } from '../../cli/aws.js';
import type { ReleaseRecord } from '../../core/ports.js';
import { handoverItem } from '../../core/ledger-items.js';
import { keys } from '../../lambdas/adapters/dynamodb-ledger.js';
import { RELEASE_ID, STACK_LINE, awsError, cli, event, noCredentials, waitingRecord, type Captured } from './helpers.js';

const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);

const STACK = 'BuilderBrainRelease';
const TABLE = 'BuilderBrainRelease-AuditLedger-1ABC';
const ROLLBACK_FN = 'builderbrain-rollback';
const ARN = 'arn:aws:sts::123456789012:assumed-role/ReleaseApprover/bob';
const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAx-SECRET-TASK-TOKEN-zzzz';
const TARGET = ['--region', 'eu-west-1'];

const outputs = {
  ModelName: 'builderbrain',
  ArtifactBucketName: 'builderbrain-artifacts',
  AuditTableName: TABLE,
  PromotionStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:builderbrain-promotion',
  CanaryStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:builderbrain-canary',
  IncidentTopicArn: 'arn:aws:sns:eu-west-1:123456789012:builderbrain-incidents',
  ApprovalsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:builderbrain-approvals',
  PipelineAlarmsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:builderbrain-pipeline-alarms',
  RollbackFunctionName: ROLLBACK_FN,
  DashboardName: 'builderbrain-release',
};

const stackWith = (o: Record<string, string>) => ({
  Stacks: [
    {
      StackName: STACK,
      StackStatus: 'UPDATE_COMPLETE' as const,
      CreationTime: new Date('2026-01-01T00:00:00Z'),
      Outputs: Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    },
  ],
});

const recordItem = (r: ReleaseRecord) => ({ ...r, ...keys.release(r.releaseId), gsi1pk: 'RELEASES', gsi1sk: r.receivedAt, entity: 'release' });

/** The ledger holds `record` (and the task token of its current phase while it waits). */
function ledgerHolds(record: ReleaseRecord | null, token: string | null = record?.status === 'awaiting_approval' ? TOKEN : null): void {
  ddb.on(GetCommand, { Key: keys.release(RELEASE_ID) }).resolves(record === null ? {} : { Item: recordItem(record) });
  ddb.on(GetCommand, { Key: keys.token(RELEASE_ID, 1) }).resolves(token === null ? {} : { Item: { ...keys.token(RELEASE_ID, 1), token } });
  // A release uploaded to this environment itself: no hand-over record, no events asked for here.
  ddb.on(GetCommand, { Key: keys.handover('builderbrain', '2.1.0') }).resolves({});
  ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `RELEASE#${RELEASE_ID}`, ':prefix': 'EVENT#' } }).resolves({ Items: [] });
}

const writes = () => [...ddb.commandCalls(PutCommand), ...ddb.commandCalls(UpdateCommand), ...ddb.commandCalls(DeleteCommand)];
const sendTaskCalls = () => [...sfn.commandCalls(SendTaskSuccessCommand), ...sfn.commandCalls(SendTaskFailureCommand)];

/** No output of any command ever shows the task token, and no user error a stack trace. */
function clean(r: Captured): Captured {
  expect(r.stdout + r.stderr).not.toContain(TOKEN);
  expect(r.stderr).not.toMatch(STACK_LINE);
  return r;
}

const ops = async (argv: string[]) => clean(await cli([...argv, ...TARGET]));

beforeEach(() => {
  for (const m of [cfn, sts, ddb, sfn, lambda, s3]) m.reset();
  cfn.on(DescribeStacksCommand, { StackName: STACK }).resolves(stackWith(outputs));
  sts.on(GetCallerIdentityCommand).resolves({ Arn: ARN, Account: '123456789012', UserId: 'AROA:bob' });
  ddb.on(PutCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({ Attributes: recordItem({ ...waitingRecord, status: 'canary' }) });
  // What a test does not put in the ledger is not there (the rollback command reads the record first).
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
});

afterEach(() => {
  // Approvals answer with the token read from the ledger, and only then.
  for (const c of sendTaskCalls()) expect(c.args[0].input.taskToken).toBe(TOKEN);
});

describe('stack outputs and clients', () => {
  it('clients retry throttling in the standard mode, 5 attempts, with the region and profile asked for', () => {
    expect(clientConfig({ stack: STACK, region: 'eu-west-1', profile: 'prod' })).toEqual({ maxAttempts: 5, retryMode: 'standard', region: 'eu-west-1', profile: 'prod' });
    expect(clientConfig({ stack: STACK })).toEqual({ maxAttempts: 5, retryMode: 'standard' });
  });

  it('finds the stack by --stack (default BuilderBrainRelease) and reads the ledger table it names', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Other' }).resolves(stackWith({ ...outputs, AuditTableName: 'other-table' }));
    ddb.on(QueryCommand).resolves({ Items: [] });
    expect((await ops(['status'])).code).toBe(0);
    expect(cfn.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: STACK });
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input.TableName).toBe(TABLE);
    expect((await ops(['status', '--stack', 'Other'])).code).toBe(0);
    expect(ddb.commandCalls(QueryCommand)[1]!.args[0].input.TableName).toBe('other-table');
  });
});

describe('status', () => {
  it('lists the releases in flight: phase, weight, last verdict, and how to answer a waiting approval', async () => {
    const promoted = { ...waitingRecord, releaseId: 'builderbrain-2_0_9-00000000', status: 'released' as const, version: '2.0.9' };
    ddb.on(QueryCommand, { IndexName: 'active' }).resolves({ Items: [recordItem(waitingRecord), recordItem(promoted)] });
    const r = await ops(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Releases in flight in stack ${STACK} (eu-west-1)`);
    expect(r.stdout).toMatch(new RegExp(`${RELEASE_ID}\\s+2\\.1\\.0\\s+awaiting_approval\\s+2\\s+10%\\s+pass: canary healthy`));
    expect(r.stdout).not.toContain('2.0.9'); // ended: not in flight
    expect(r.stdout).toContain(`builderbrain approve ${RELEASE_ID}`);
    expect(r.stdout).toContain(`builderbrain reject ${RELEASE_ID} --reason`);
  });

  it('says so when nothing is in flight (exit 0)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    const r = await ops(['status']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`No release is in flight in stack ${STACK} (eu-west-1).\n`);
  });

  it('shows one release with its approvals and next steps; --json prints the record', async () => {
    ledgerHolds(waitingRecord);
    const r = await ops(['status', RELEASE_ID]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/status\s+awaiting_approval \(phase 2, 10% canary traffic\)/);
    expect(r.stdout).toMatch(/approvals\s+phase 1 approved by arn:aws:sts::123456789012:assumed-role\/ReleaseApprover\/alice/);
    expect(r.stdout).toMatch(/next\s+builderbrain approve/);
    const j = await ops(['status', RELEASE_ID, '--json']);
    // A record from before the bake and the recovery check reads them as null.
    expect(JSON.parse(j.stdout)).toEqual({ release: { ...waitingRecord, bake: null, recovery: null } });
    expect(JSON.parse(j.stdout).release.deployment.candidate.model).toBe('builderbrain--2-1-0-1a2b3c4d-m');
  });

  it('a release that came through the chain: the stages before this environment from its hand-over record, --env narrowing', async () => {
    ledgerHolds(waitingRecord);
    const stage = (environment: string, account: string) => ({
      environment,
      account,
      releaseId: `builderbrain-2_1_0-${environment.slice(0, 4)}0000`,
      outcome: 'promoted' as const,
      startedAt: '2026-01-04T09:00:00.000Z',
      endedAt: '2026-01-04T10:00:00.000Z',
      phases: [100],
      approvals: [],
      hooks: [{ hook: 'integration-tests', stage: 'before_traffic', phase: null, passed: true, message: 'ok' }],
      drill: environment === 'pre-production' ? { passed: true, message: 'the baseline served alone' } : null,
    });
    const record = {
      model: 'builderbrain',
      version: '2.1.0',
      sha256: 'a'.repeat(64),
      from: { environment: 'pre-production', account: '222222222222', releaseId: 'builderbrain-2_1_0-pre-0000' },
      to: 'production',
      acceptedAt: '2026-01-04T11:00:00.000Z',
      trail: [stage('staging', '111111111111'), stage('pre-production', '222222222222')],
    };
    ddb.on(GetCommand, { Key: keys.handover('builderbrain', '2.1.0') }).resolves({ Item: handoverItem(record) });
    const r = await ops(['status', RELEASE_ID]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Across the environments/);
    expect(r.stdout).toMatch(/staging\s+promoted\s+builderbrain-2_1_0-stag0000\s+100%\s+1\/1 passed/);
    expect(r.stdout).toMatch(/pre-production\s+promoted.*passed/);
    expect(r.stdout).toMatch(/production\s+in_progress\s+builderbrain-2_1_0-1a2b3c4d/);
    const j = await ops(['status', RELEASE_ID, '--json', '--env', 'pre-production']);
    expect((JSON.parse(j.stdout) as { chain: { environment: string }[] }).chain.map((c) => c.environment)).toEqual(['pre-production']);
  });

  it('--json of a record written before deployments were recorded shows deployment null', async () => {
    const { deployment: _d, ...older } = waitingRecord;
    ledgerHolds(older as ReleaseRecord);
    const j = await ops(['status', RELEASE_ID, '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ release: { ...waitingRecord, deployment: null, bake: null, recovery: null } });
  });

  it('a release that is not in the ledger: exit 1', async () => {
    ledgerHolds(null);
    const r = await ops(['status', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: release ${RELEASE_ID} is not in the audit ledger of stack ${STACK} (eu-west-1). \`builderbrain status\` lists the releases in flight.\n`);
  });

  it('an argument that names no release: exit 2, no AWS call', async () => {
    const r = await ops(['status', 'not a/release']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'not a\/release' names no release: give a release id .*<model>@<version>.*or a model name/);
    expect(cfn.calls()).toHaveLength(0);
  });

  it.each([['status'], ['history'], ['approve']])('%s takes <model>@<version> or the model: the release is looked up in the ledger\'s list', async (command) => {
    ledgerHolds(waitingRecord);
    ddb.on(QueryCommand, { IndexName: 'gsi1' }).resolves({ Items: [recordItem(waitingRecord)] });
    sfn.on(SendTaskSuccessCommand).resolves({});
    for (const ref of ['builderbrain@2.1.0', 'builderbrain']) {
      const r = await ops([command, ref]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(RELEASE_ID);
    }
  });

  it('a model with two releases in flight is ambiguous: the candidates are listed, nothing is done', async () => {
    const other = { ...waitingRecord, releaseId: 'builderbrain-2_2_0-5e6f7a8b', version: '2.2.0', receivedAt: '2026-01-05T09:30:00.000Z' };
    ddb.on(QueryCommand, { IndexName: 'gsi1' }).resolves({ Items: [recordItem(other), recordItem(waitingRecord)] });
    const r = await ops(['approve', 'builderbrain']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(RELEASE_ID);
    expect(r.stderr).toContain('builderbrain-2_2_0-5e6f7a8b');
    expect(sendTaskCalls()).toHaveLength(0);
  });
});

describe('history', () => {
  const timeline = [
    event('phase_started', '2026-01-05T09:00:00.000Z', { phase: 0, weight: 1, actor: 'step:StartPhase', detail: { monitorMinutes: 60, looks: 12, requiresApproval: true } }),
    event('approved', '2026-01-05T09:05:00.000Z', { phase: 0, weight: 1, actor: 'arn:aws:sts::123456789012:assumed-role/ReleaseApprover/alice' }),
    event('approval_rejected', '2026-01-05T10:04:00.000Z', { phase: 1, weight: 10, actor: ARN, detail: { reason: 'answers too long' } }),
    event('rollback', '2026-01-05T10:04:01.000Z', { phase: 1, weight: 10, actor: ARN, detail: { reason: 'manual', severity: 'P2', trigger: 'manual', title: '[P2] BuilderBrain 2.1.0 rolled back by bob' } }),
  ];
  const eventItems = timeline.map(({ detail, ...e }, i) => ({ ...e, ...keys.event(RELEASE_ID, i + 1), seq: i + 1, detailJson: JSON.stringify(detail) }));

  it('prints the timeline as a table, oldest first; --json for machines', async () => {
    ledgerHolds({ ...waitingRecord, status: 'rolled_back' });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `RELEASE#${RELEASE_ID}`, ':prefix': 'EVENT#' } }).resolves({ Items: [...eventItems].reverse() });
    const r = await ops(['history', RELEASE_ID]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`History of ${RELEASE_ID} — builderbrain 2.1.0, rolled_back (stack ${STACK} (eu-west-1))`);
    expect(lines[2]).toMatch(/^AT\s+EVENT\s+ACTOR\s+PHASE\s+WEIGHT\s+DETAIL$/);
    expect(lines[3]).toMatch(/phase_started\s+step:StartPhase\s+1\s+1%\s+1% for 60 min, 12 looks, approval required/);
    expect(lines[5]).toMatch(/approval_rejected\s+arn:aws:sts::123456789012:assumed-role\/ReleaseApprover\/bob\s+2\s+10%\s+rejected by .*: answers too long/);
    expect(lines[6]).toMatch(/rollback .* manual P2 \(manual\): \[P2\] BuilderBrain 2\.1\.0 rolled back by bob/);
    const j = JSON.parse((await ops(['history', RELEASE_ID, '--json'])).stdout) as { events: { type: string }[] };
    expect(j.events.map((e) => e.type)).toEqual(['phase_started', 'approved', 'approval_rejected', 'rollback']);
  });

  it('a release the ledger does not know: exit 1', async () => {
    ledgerHolds(null);
    ddb.on(QueryCommand).resolves({ Items: [] });
    const r = await ops(['history', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not in the audit ledger of stack BuilderBrainRelease/);
  });
});

describe('approve', () => {
  it('answers the waiting phase with the stored token and records the caller\'s ARN', async () => {
    ledgerHolds(waitingRecord);
    sfn.on(SendTaskSuccessCommand).resolves({});
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `Approved phase 2 of ${RELEASE_ID} as ${ARN}. The canary goes on to the next phase; follow it with \`builderbrain status ${RELEASE_ID}\`.\n`,
    );
    const sent = sfn.commandCalls(SendTaskSuccessCommand);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.args[0].input.output!)).toMatchObject({ approvedBy: ARN });
    // The ledger: token deleted, status canary with the approver, an `approved` event by the caller.
    expect(ddb.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual(keys.token(RELEASE_ID, 1));
    const update = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.ExpressionAttributeValues![':to']).toBe('canary');
    expect(Object.values(update.ExpressionAttributeValues!)).toContainEqual(expect.arrayContaining([expect.objectContaining({ phase: 1, identity: ARN, decision: 'approved' })]));
    const put = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    expect(put).toMatchObject({ type: 'approved', actor: ARN, phase: 1, weight: 10, eventId: 'approved:1' });
  });

  it('--json prints the answer', async () => {
    ledgerHolds(waitingRecord);
    sfn.on(SendTaskSuccessCommand).resolves({});
    expect(JSON.parse((await ops(['approve', RELEASE_ID, '--json'])).stdout)).toEqual({ releaseId: RELEASE_ID, phase: 1, decision: 'approved', identity: ARN });
  });

  it.each([
    ['in canary (the approval is not asked yet)', 'canary', 'the release is canary'],
    ['after the release ended (rolled back)', 'rolled_back', 'the release is rolled_back'],
    ['after the release ended (promoted)', 'promoted', 'the release is promoted'],
  ] as const)('nothing waiting %s: exit 1, nothing sent or written', async (_what, status, why) => {
    ledgerHolds({ ...waitingRecord, status }, null);
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: release ${RELEASE_ID}: no approval is waiting (${why}); nothing was changed. \`builderbrain status ${RELEASE_ID}\` shows where the release stands.\n`);
    expect(sendTaskCalls()).toHaveLength(0);
    expect(writes()).toHaveLength(0);
  });

  it('approving twice: the second answer finds nothing waiting (exit 1) and sends nothing', async () => {
    ddb.on(GetCommand, { Key: keys.release(RELEASE_ID) })
      .resolvesOnce({ Item: recordItem(waitingRecord) })
      .resolves({ Item: recordItem({ ...waitingRecord, status: 'canary', approvers: [...waitingRecord.approvers, { phase: 1, identity: ARN, at: '2026-01-05T10:10:00.000Z', decision: 'approved' }] }) });
    ddb.on(GetCommand, { Key: keys.token(RELEASE_ID, 1) }).resolvesOnce({ Item: { token: TOKEN } }).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    expect((await ops(['approve', RELEASE_ID])).code).toBe(0);
    const writesAfterFirst = writes().length;
    const second = await ops(['approve', RELEASE_ID]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/no approval is waiting \(the release is canary\); nothing was changed/);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(writes()).toHaveLength(writesAfterFirst);
  });

  it('a token Step Functions no longer waits for (timed out meanwhile): exit 1, the token not shown, the ledger unchanged', async () => {
    ledgerHolds(waitingRecord);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: `Task Timed Out: '${TOKEN}'`, $metadata: {} }));
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no approval is waiting \(TaskTimedOut: the approval was already answered or timed out\); nothing was changed/);
    expect(writes()).toHaveLength(0);
  });

  it('a release that is not in the ledger: exit 1', async () => {
    ledgerHolds(null);
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not in the audit ledger/);
    expect(sendTaskCalls()).toHaveLength(0);
  });
});

describe('reject', () => {
  it('SendTaskFailure "Rejected" with the JSON cause {actor, note}; approval_rejected by the caller', async () => {
    ledgerHolds(waitingRecord);
    sfn.on(SendTaskFailureCommand).resolves({});
    const r = await ops(['reject', RELEASE_ID, '--reason', 'answers too long at 10%']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Rejected phase 2 of ${RELEASE_ID} as ${ARN}: answers too long at 10%`);
    expect(r.stdout).toContain('rolls the release back now (reason manual, P2)');
    const sent = sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(sent.error).toBe('Rejected');
    expect(JSON.parse(sent.cause!)).toEqual({ actor: ARN, note: 'answers too long at 10%' });
    expect(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({ type: 'approval_rejected', actor: ARN, phase: 1 });
    expect(JSON.parse(ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!['detailJson'] as string)).toEqual({ reason: 'answers too long at 10%' });
  });

  it('--reason is required and must say something: exit 2, no AWS call', async () => {
    expect((await ops(['reject', RELEASE_ID])).code).toBe(2);
    const blank = await ops(['reject', RELEASE_ID, '--reason', '  ']);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/--reason must say why/);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('nothing waiting: exit 1, no SendTaskFailure', async () => {
    ledgerHolds({ ...waitingRecord, status: 'rolled_back' }, null);
    expect((await ops(['reject', RELEASE_ID, '--reason', 'x'])).code).toBe(1);
    expect(sendTaskCalls()).toHaveLength(0);
    expect(writes()).toHaveLength(0);
  });
});

/** What the SDK returns as a Lambda payload: bytes that can also say themselves as text. */
const blob = (text: string) => Object.assign(new TextEncoder().encode(text), { transformToString: () => text });

describe('rollback', () => {
  const answer = (payload: unknown, functionError?: string) => ({
    StatusCode: 200,
    ...(functionError === undefined ? {} : { FunctionError: functionError }),
    Payload: blob(JSON.stringify(payload)),
  });

  it('invokes the deployed rollback function with a manual trigger by the caller, and prints what it says', async () => {
    lambda.on(InvokeCommand).resolves(
      answer({ outcome: 'rolled_back', releaseId: RELEASE_ID, reason: 'manual', severity: 'P2', message: `[P2] BuilderBrain 2.1.0 rolled back by ${ARN} in phase 2 at 10% canary traffic. Traffic is 100% on the baseline.` }),
    );
    const r = await ops(['rollback', RELEASE_ID, '--reason', 'customer reports']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Rolled back ${RELEASE_ID}: [P2] BuilderBrain 2.1.0 rolled back by ${ARN}`);
    expect(r.stdout).toContain('Incident: manual P2');
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: ROLLBACK_FN, InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({
      releaseId: RELEASE_ID,
      model: 'builderbrain',
      trigger: { kind: 'manual', actor: ARN, note: 'customer reports' },
      stopExecution: true,
    });
  });

  it('<model>@<version> --emergency: the release resolved from the ledger, the trigger an emergency (P0 at once)', async () => {
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ ...waitingRecord, status: 'baking' })] });
    ledgerHolds({ ...waitingRecord, status: 'baking' });
    lambda.on(InvokeCommand).resolves(answer({ outcome: 'rolled_back', releaseId: RELEASE_ID, reason: 'manual', severity: 'P0', message: `[P0] BuilderBrain 2.1.0: EMERGENCY rollback by ${ARN}. Traffic is 100% on the baseline.` }));
    const r = await ops(['rollback', 'builderbrain@2.1.0', '--reason', 'PII in answers', '--emergency']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Incident: manual P0');
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({
      releaseId: RELEASE_ID,
      model: 'builderbrain',
      trigger: { kind: 'manual', actor: ARN, note: 'PII in answers', emergency: true },
      stopExecution: true,
    });
  });

  it('a planned rollback of a released version in its bake is recorded for a second identity, nothing invoked', async () => {
    ddb.on(QueryCommand).resolves({ Items: [recordItem({ ...waitingRecord, status: 'baking' })] });
    ledgerHolds({ ...waitingRecord, status: 'baking' });
    const r = await ops(['rollback', 'builderbrain@2.1.0', '--reason', 'plans too long']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Requested a planned rollback of builderbrain-2_1_0-1a2b3c4d .* as arn:aws:sts/);
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
    const put = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Record<string, unknown>).find((i) => i['type'] === 'rollback_requested');
    expect(put).toMatchObject({ actor: ARN });
    expect(JSON.parse(String(put!['detailJson']))).toEqual({ reason: 'plans too long', to: null });
  });

  it('a released, converged version: --emergency writes the previous version\'s manifest again with `rollback` (S3), nothing invoked', async () => {
    const previous = { ...waitingRecord, releaseId: 'builderbrain-2_0_9-00000000', version: '2.0.9', status: 'released' as const, receivedAt: '2026-01-04T09:00:00.000Z', source: { bucket: 'bb-artifacts', key: 'models/builderbrain/2.0.9/release.json', versionId: 'v9' } };
    const released = { ...waitingRecord, status: 'released' as const };
    ddb.on(QueryCommand).resolves({ Items: [recordItem(released), recordItem(previous)] });
    ddb.on(GetCommand, { Key: keys.release(RELEASE_ID) }).resolves({ Item: recordItem(released) });
    ddb.on(GetCommand, { Key: keys.release(previous.releaseId) }).resolves({ Item: recordItem(previous) });
    const text = readFileSync(new URL('../../examples/minor-pass.json', import.meta.url), 'utf8').replace('"version": "2.1.0"', '"version": "2.0.9"');
    s3.on(GetObjectCommand, { Bucket: 'bb-artifacts', Key: 'models/builderbrain/2.0.9/release.json', VersionId: 'v9' }).resolves({
      // The body as the SDK hands it over (the adapter reads it with transformToString).
      Body: { transformToString: async () => text } as never,
      ContentLength: Buffer.byteLength(text),
    });
    s3.on(PutObjectCommand).resolves({ VersionId: 'v10', ETag: '"e"' });
    const r = await ops(['rollback', 'builderbrain@2.1.0', '--reason', 'PII in answers', '--emergency', '--to', '2.0.9']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Rolling back builderbrain 2.1.0 to 2.0.9: released again through the pipeline as an emergency/);
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: 'bb-artifacts', Key: 'models/builderbrain/2.0.9/release.json', ContentType: 'application/json' });
    const written = JSON.parse(String(put.Body)) as { version: string; rollback: unknown };
    expect(written.version).toBe('2.0.9');
    expect(written.rollback).toEqual({ of: '2.1.0', reason: 'PII in answers', emergency: true, requestedBy: ARN, approvedBy: null });
  });

  it('already rolled back: says so, exit 0', async () => {
    lambda.on(InvokeCommand).resolves(
      answer({ outcome: 'already_rolled_back', releaseId: RELEASE_ID, reason: 'alarm', severity: 'P1', message: `release ${RELEASE_ID} was already rolled back (alarm, P1) at 2026-01-05T10:00:00.000Z; nothing changed` }),
    );
    const r = await ops(['rollback', RELEASE_ID, '--reason', 'again']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/was already rolled back \(alarm, P1\).*nothing changed/);
  });

  it('a promoted release cannot be rolled back: exit 1 with what to do', async () => {
    lambda.on(InvokeCommand).resolves(
      answer({ outcome: 'already_promoted', releaseId: RELEASE_ID, reason: null, severity: null, message: `release ${RELEASE_ID} was already promoted: it is the baseline now; nothing changed (to go back, release the previous version again)` }),
    );
    const r = await ops(['rollback', RELEASE_ID, '--reason', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/release the previous version again/);
  });

  it('the function failed (FunctionError): exit 1 with a clear message', async () => {
    lambda.on(InvokeCommand).resolves(answer({ errorType: 'RollbackFailed', errorMessage: 'traffic router: restoreBaseline failed' }, 'Unhandled'));
    const r = await ops(['rollback', RELEASE_ID, '--reason', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: THE ROLLBACK FAILED: traffic router: restoreBaseline failed\. Traffic may still reach the candidate: a P0 incident was paged/);
  });

  it('other function errors and unknown releases: exit 1', async () => {
    lambda.on(InvokeCommand).resolvesOnce(answer({ errorType: 'ReleaseNotFoundError', errorMessage: `release ${RELEASE_ID} is not in the audit ledger` }, 'Unhandled'))
      .resolvesOnce(answer({ errorType: 'Runtime.ExitError', errorMessage: 'out of memory' }, 'Unhandled'));
    const missing = await ops(['rollback', RELEASE_ID, '--reason', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/is not in the audit ledger of stack/);
    const crashed = await ops(['rollback', RELEASE_ID, '--reason', 'x']);
    expect(crashed.code).toBe(1);
    expect(crashed.stderr).toMatch(/the rollback function builderbrain-rollback failed: Runtime\.ExitError: out of memory\. See `builderbrain history/);
  });
});

describe('AWS failures: one sentence, what to do, no stack trace', () => {
  it('no credentials', async () => {
    cfn.on(DescribeStacksCommand).rejects(noCredentials());
    const r = await ops(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: no AWS credentials found. Sign in (e.g. `aws sso login --profile <name>` or `aws configure`), then pass --profile <name> or set AWS_PROFILE, and run the command again.\n',
    );
  });

  it('access denied names the identity and the call', async () => {
    ddb.on(GetCommand).rejects(awsError('AccessDeniedException', 400, `User: ${ARN} is not authorized to perform: dynamodb:GetItem`));
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: access denied: ${ARN} may not call DynamoDB.GetItem on table ${TABLE} (AccessDeniedException). Ask an administrator for the BuilderBrain operator permissions on stack '${STACK}': IAM decides who may approve or roll back.\n`,
    );
    expect(sendTaskCalls()).toHaveLength(0);
  });

  it('access denied on the rollback function (Lambda) and on STS', async () => {
    lambda.on(InvokeCommand).rejects(awsError('AccessDeniedException', 403));
    expect((await ops(['rollback', RELEASE_ID, '--reason', 'x'])).stderr).toMatch(/^error: access denied: .* may not call Lambda\.Invoke on function builderbrain-rollback/);
    sts.on(GetCallerIdentityCommand).rejects(awsError('AccessDenied', 403));
    expect((await ops(['approve', RELEASE_ID])).stderr).toMatch(/^error: access denied: your AWS identity may not call STS\.GetCallerIdentity/);
  });

  it('throttling still failing after the SDK\'s retries', async () => {
    cfn.on(DescribeStacksCommand).rejects(awsError('Throttling', 400, 'Rate exceeded'));
    const r = await ops(['history', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: AWS kept throttling CloudFormation.DescribeStacks on stack ${STACK} after 5 attempts (Throttling). Wait a minute and run the command again.\n`);
  });

  it('throttling of the rollback function', async () => {
    lambda.on(InvokeCommand).rejects(awsError('TooManyRequestsException', 429, 'Rate Exceeded.'));
    expect((await ops(['rollback', RELEASE_ID, '--reason', 'x'])).stderr).toMatch(/AWS kept throttling Lambda\.Invoke .* \(TooManyRequestsException\)/);
  });

  it('stack not found', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Nope' }).rejects(awsError('ValidationError', 400, 'Stack with id Nope does not exist'));
    const r = await ops(['status', '--stack', 'Nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: stack 'Nope' does not exist in eu-west-1. Check --stack and --region (or --profile); `aws cloudformation describe-stacks` lists the stacks of a region.\n",
    );
  });

  it('no region anywhere: exit 2, say how to give one', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    try {
      const r = clean(await cli(['status']));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe('error: no AWS region is configured. Pass --region (e.g. --region eu-west-1), set AWS_REGION, or set a region in your AWS profile.\n');
      expect(cfn.calls()).toHaveLength(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a region that is not one: exit 2', async () => {
    const r = clean(await cli(['status', '--region', 'eu west']));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe("error: 'eu west' is not an AWS region. Pass --region with a region code (e.g. --region eu-west-1), or fix AWS_REGION or your profile's region.\n");
  });

  it('a stack without the pipeline\'s outputs', async () => {
    cfn.on(DescribeStacksCommand).resolves(stackWith({ ModelName: 'builderbrain' }));
    const r = await ops(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: stack 'BuilderBrainRelease' in eu-west-1 has no output AuditTableName, RollbackFunctionName: it is not a BuilderBrain release stack/);
  });

  it('expired credentials and other service errors', async () => {
    cfn.on(DescribeStacksCommand).rejectsOnce(awsError('ExpiredToken', 400, 'The security token included in the request is expired')).rejectsOnce(awsError('InternalFailure', 500, 'We encountered an internal error.'));
    expect((await ops(['status'])).stderr).toMatch(/^error: your AWS credentials are expired or invalid \(ExpiredToken\)\. Sign in again/);
    const r = await ops(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: CloudFormation.DescribeStacks on stack ${STACK} failed: InternalFailure: We encountered an internal error. Run the command again; if it keeps failing, check stack '${STACK}' in the CloudFormation console.\n`,
    );
  });

  it('the token never reaches an error message', async () => {
    ledgerHolds(waitingRecord);
    sfn.on(SendTaskSuccessCommand).rejects(awsError('InvalidParameter', 400, `bad token ${TOKEN}`));
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/StepFunctions\.SendTaskSuccess on task token \(redacted\) failed: InvalidParameter: bad token <task token>/);
  });
});

describe('freeze and unfreeze (the emergency freeze, RELEASE.md §11)', () => {
  const FREEZE_KEY = keys.freeze();
  const frozenItem = { ...FREEZE_KEY, entity: 'freeze', reason: 'SEV-1 in the serving fleet', by: 'arn:aws:sts::123456789012:assumed-role/IC/carol', at: '2026-01-05T10:00:00.000Z' };

  it('freeze writes the freeze as the caller and audits it on the control log and every release in flight; status shows it first', async () => {
    ddb.on(QueryCommand, { IndexName: 'active' }).resolves({ Items: [recordItem({ ...waitingRecord, status: 'canary' })] });
    const r = await ops(['freeze', '--reason', 'SEV-1 in the serving fleet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^FROZEN by arn:aws:sts::123456789012:assumed-role\/ReleaseApprover\/bob \(stack BuilderBrainRelease \(eu-west-1\)\): SEV-1 in the serving fleet/);
    expect(r.stdout).toContain(`audited on 1 release(s) in flight: ${RELEASE_ID}`);
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);
    expect(puts.find((i) => i['pk'] === FREEZE_KEY.pk)).toMatchObject({ ...FREEZE_KEY, reason: 'SEV-1 in the serving fleet', by: ARN });
    const audited = puts.filter((i) => i['type'] === 'freeze');
    expect(audited.map((i) => i['pk'])).toEqual(['RELEASE#pipeline-control', `RELEASE#${RELEASE_ID}`]);
    expect(audited.every((i) => i['actor'] === ARN && typeof i['hash'] === 'string')).toBe(true);

    ddb.on(GetCommand, { Key: FREEZE_KEY }).resolves({ Item: frozenItem });
    const status = await ops(['status']);
    expect(status.stdout.split('\n')[0]).toBe('FROZEN: releases are frozen since 2026-01-05T10:00:00.000Z by arn:aws:sts::123456789012:assumed-role/IC/carol: SEV-1 in the serving fleet. No release starts; releases in flight hold at their next decision point (`builderbrain unfreeze --reason …` lifts it).');
    expect(JSON.parse((await ops(['status', '--json'])).stdout)).toMatchObject({ freeze: { by: 'arn:aws:sts::123456789012:assumed-role/IC/carol' } });
  });

  it('freezing a frozen pipeline changes nothing; unfreeze lifts it, naming who froze it', async () => {
    ddb.on(GetCommand, { Key: FREEZE_KEY }).resolves({ Item: frozenItem });
    const again = await ops(['freeze', '--reason', 'again']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Already frozen \(nothing changed\): releases are frozen since 2026-01-05T10:00:00.000Z by .*carol/);
    expect(writes()).toHaveLength(0);
    const un = await ops(['unfreeze', '--reason', 'SEV-1 resolved']);
    expect(un.code).toBe(0);
    expect(un.stdout).toMatch(/^Unfrozen by .*bob .*: SEV-1 resolved\. Was: releases are frozen since .* by .*carol/);
    expect(ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([FREEZE_KEY]);
  });

  it('while frozen, approve is refused (exit 1, nothing sent); a blank --reason is invalid (exit 2)', async () => {
    ledgerHolds(waitingRecord);
    ddb.on(GetCommand, { Key: FREEZE_KEY }).resolves({ Item: frozenItem });
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the approval is refused: releases are frozen since .* approvals wait until `builderbrain unfreeze`/);
    expect(sendTaskCalls()).toHaveLength(0);
    expect(writes()).toHaveLength(0);
    expect((await ops(['freeze', '--reason', '  '])).code).toBe(2);
  });
});

describe('a hotfix: its requester may not approve it (the two-person rule)', () => {
  const hotfixRecord: ReleaseRecord = { ...waitingRecord, hotfix: { reason: 'plans skip the foundation step', incident: 'INC-2041', requestedBy: 'bob@example.com', overrideFreeze: false } };

  it('approve as the requester (bob, behind an assumed role): exit 1 with a clear message; nothing sent, nothing written', async () => {
    ledgerHolds(hotfixRecord);
    sfn.on(SendTaskSuccessCommand).resolves({});
    const r = await ops(['approve', RELEASE_ID]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: release ${RELEASE_ID}: the approval is refused: ${ARN} (bob@example.com) requested hotfix INC-2041 and cannot also approve it: a second identity must\n`);
    expect(sendTaskCalls()).toHaveLength(0);
    expect(writes()).toHaveLength(0);
  });

  it('a second identity approves it; the requester may still reject it', async () => {
    ledgerHolds(hotfixRecord);
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:sts::123456789012:assumed-role/ReleaseApprover/carol', Account: '123456789012', UserId: 'AROA:carol' });
    expect((await ops(['approve', RELEASE_ID])).code).toBe(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);

    sts.on(GetCallerIdentityCommand).resolves({ Arn: ARN, Account: '123456789012', UserId: 'AROA:bob' });
    const rejected = await ops(['reject', RELEASE_ID, '--reason', 'the fix is incomplete']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(1);
  });

  it('status shows that it is a hotfix: the incident, why, who asked', async () => {
    ledgerHolds(hotfixRecord);
    const r = await ops(['status', RELEASE_ID]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hotfix\s+HOTFIX for INC-2041, requested by bob@example\.com: plans skip the foundation step\n\s+approvals need an identity other than bob@example\.com\n/);
  });
});
