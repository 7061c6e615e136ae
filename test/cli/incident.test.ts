/**
 * `builderbrain incident ack|resolve|close|list`: against a deployed stack (AWS clients mocked: the
 * CLI invokes the incidents function as the caller), and the commands' output on a ledger.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { incidentListCommand, incidentTransitionCommand } from '../../cli/commands/incident.js';
import { statusCommand } from '../../cli/commands/status.js';
import { transitionIncident, type IncidentCommandOutput } from '../../core/app/incidents.js';
import { rollback } from '../../core/app/rollback.js';
import { MODEL, releaseInCanary, world } from '../app/helpers.js';
import { RELEASE_ID, STACK_LINE, cli } from '../ops/helpers.js';
import { ledgerBackend } from '../support/backend.js';

const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
mockClient(DynamoDBDocumentClient);

const ARN = 'arn:aws:sts::123456789012:assumed-role/OnCall/alice';
const FN = 'builderbrain-incidents';
const ID = `INC-${RELEASE_ID}-1`;
const outputs = { ModelName: 'builderbrain', AuditTableName: 'table', RollbackFunctionName: 'builderbrain-rollback', IncidentFunctionName: FN };
const stackWith = (o: Record<string, string>) => ({
  Stacks: [{ StackName: 'BuilderBrainRelease', StackStatus: 'UPDATE_COMPLETE' as const, CreationTime: new Date('2026-01-01T00:00:00Z'), Outputs: Object.entries(o).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
});
const blob = (text: string) => Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
const answer = (payload: IncidentCommandOutput) => ({ StatusCode: 200, Payload: blob(JSON.stringify(payload)) });
const incident = { id: ID, releaseId: RELEASE_ID, n: 1, severity: 'P1', reason: 'error_rate_increase', title: '[P1] rolled back', state: 'acknowledged', openedAt: '2026-01-05T10:00:00.000Z', acknowledgedBy: ARN, acknowledgedAt: '2026-01-05T10:20:00.000Z', resolvedBy: null, resolvedAt: null, closedBy: null, closedAt: null, lastUpdateAt: '2026-01-05T10:15:00.000Z', updates: 1 } as const;
const ops = (argv: string[]) => cli([...argv, '--region', 'eu-west-1']);

beforeEach(() => {
  for (const m of [cfn, sts, lambda]) m.reset();
  cfn.on(DescribeStacksCommand).resolves(stackWith(outputs));
  sts.on(GetCallerIdentityCommand).resolves({ Arn: ARN, Account: '123456789012', UserId: 'AROA:alice' });
});

describe('builderbrain incident (a deployed stack)', () => {
  it('ack invokes the incidents function with the caller as identity and the note, and prints what it did', async () => {
    lambda.on(InvokeCommand).resolves(answer({ outcome: 'changed', incident, message: `${ID} acknowledged by ${ARN}` }));
    const r = await ops(['incident', 'ack', ID, '--note', 'looking at the error rate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${ID} acknowledged by ${ARN}`);
    expect(r.stdout).toContain(`History: builderbrain history ${RELEASE_ID}`);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: FN, InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({ command: 'acknowledge', incidentId: ID, identity: ARN, note: 'looking at the error rate' });
  });

  it('close before resolve: exit 1 with the reason, no stack trace; already so: exit 0', async () => {
    lambda.on(InvokeCommand).resolvesOnce(answer({ outcome: 'refused', incident, message: `${ID} is acknowledged: resolve it first` })).resolvesOnce(answer({ outcome: 'unchanged', incident, message: `${ID} is already acknowledged (by ${ARN})` }));
    const refused = await ops(['incident', 'close', ID]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('resolve it first');
    expect(refused.stderr).not.toMatch(STACK_LINE);
    const again = await ops(['incident', 'ack', ID, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged', identity: ARN });
  });

  it('a malformed id is a usage error (exit 2) and nothing is invoked; a stack without the function says to deploy again', async () => {
    const bad = await ops(['incident', 'ack', 'not-an-incident']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'not-an-incident' is not an incident id");
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    const { IncidentFunctionName: _fn, ...older } = outputs;
    cfn.on(DescribeStacksCommand).resolves(stackWith(older));
    const old = await ops(['incident', 'resolve', ID]);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('deploy it again');
  });
});

describe('incident list and status (on a ledger)', () => {
  it('lists the incidents not closed; status shows them with their state', async () => {
    const w = world();
    const { releaseId } = await releaseInCanary(w);
    await rollback({ releaseId, model: MODEL, trigger: { kind: 'manual', actor: 'alice', note: 'bad outputs', emergency: true }, stopExecution: true }, w);
    let out = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (out += s), readFile: async () => '', isTTY: false };
    const backend = ledgerBackend('test ledger', w.ledger, {
      incident: async (command, incidentId, note) => ({ output: await transitionIncident({ command, incidentId, identity: 'bob', note }, w), identity: 'bob' }),
    });
    const args = { stack: 'S', local: false, stateDir: '.', json: false };
    expect(await incidentListCommand(io, backend, args)).toBe(0);
    expect(out).toMatch(new RegExp(`INC-${releaseId}-1  P0  open  \\[P0\\]`));
    out = '';
    expect(await incidentTransitionCommand(io, backend, 'acknowledge', `INC-${releaseId}-1`, args)).toBe(0);
    expect(out).toContain(`INC-${releaseId}-1 acknowledged by bob`);
    out = '';
    expect(await statusCommand(io, backend, releaseId, args)).toBe(0);
    expect(out).toMatch(/Incidents:\n {2}INC-\S+-1 {2}P0 {2}acknowledged by bob/);
  });
});
