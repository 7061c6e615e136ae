/**
 * Throttling through the real SDK clients, as the CLI configures them (standard retry mode, 5
 * attempts): aws-sdk-client-mock replaces `send` and with it the retry middleware, so here the
 * clients are real and only the HTTP layer is fake — CloudFormation answers in its own XML,
 * DynamoDB in its JSON. Backoff jitter is pinned to 0 so the retries take no wall time.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../cli/aws.js';
import { STACK_LINE, cli } from './helpers.js';

interface FakeRequest {
  readonly hostname: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

type Reply = { status: number; body: string; headers?: Record<string, string> };

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const throttledXml: Reply = {
  status: 400,
  body: `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
};
const noStackXml = (name: string): Reply => ({
  status: 400,
  body: `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`,
});
const OUTPUTS: Record<string, string> = { ModelName: 'builderbrain', AuditTableName: 'bb-ledger', RollbackFunctionName: 'bb-rollback' };
const stackXml: Reply = {
  status: 200,
  body:
    `<DescribeStacksResponse xmlns="${CFN_NS}"><DescribeStacksResult><Stacks><member>` +
    '<StackName>BuilderBrainRelease</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/BuilderBrainRelease/1</StackId>' +
    '<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>' +
    Object.entries(OUTPUTS)
      .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
      .join('') +
    '</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></DescribeStacksResponse>',
};
const dynamoThrottled: Reply = {
  status: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException' },
  body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' }),
};
const dynamoEmpty: Reply = { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }) };

/** An HTTP handler answering each service from its own queue of replies (the last one repeats). */
function fakeHttp(replies: { cloudformation: Reply[]; dynamodb?: Reply[] }) {
  const calls: string[] = [];
  const next = (service: 'cloudformation' | 'dynamodb'): Reply => {
    const queue = replies[service] ?? [];
    const reply = queue.length > 1 ? queue.shift()! : queue[0];
    if (reply === undefined) throw new Error(`unexpected ${service} request`);
    return reply;
  };
  const handler = {
    handle: async (request: FakeRequest) => {
      const service = request.hostname.startsWith('cloudformation') ? 'cloudformation' : 'dynamodb';
      calls.push(service === 'dynamodb' ? `dynamodb:${request.headers['x-amz-target'] ?? ''}` : 'cloudformation');
      const reply = next(service);
      return {
        response: {
          statusCode: reply.status,
          reason: reply.status === 200 ? 'OK' : 'Bad Request',
          headers: { 'x-amzn-requestid': 'req', ...(reply.headers ?? { 'content-type': 'text/xml' }) },
          body: Readable.from([Buffer.from(reply.body)]),
        },
      };
    },
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
    destroy: () => {},
  };
  return { handler, calls };
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

async function status(replies: Parameters<typeof fakeHttp>[0], argv: string[] = []) {
  const http = fakeHttp(replies);
  const r = await cli(['status', '--region', 'eu-west-1', ...argv], {
    awsClients: (target) => new AwsClients(target, { requestHandler: http.handler, credentials }),
  });
  expect(r.stderr).not.toMatch(STACK_LINE);
  return { ...r, calls: http.calls };
}

beforeEach(() => {
  vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff jitter: retries without waiting
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('throttling through the real clients', () => {
  it('is retried with backoff and then succeeds', async () => {
    const r = await status({ cloudformation: [throttledXml, throttledXml, stackXml], dynamodb: [dynamoThrottled, dynamoEmpty] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('No release is in flight in stack BuilderBrainRelease (eu-west-1).\n');
    // status reads the emergency freeze first (GetItem: throttled, then answered), then the releases in flight.
    expect(r.calls).toEqual(['cloudformation', 'cloudformation', 'cloudformation', 'dynamodb:DynamoDB_20120810.GetItem', 'dynamodb:DynamoDB_20120810.GetItem', 'dynamodb:DynamoDB_20120810.Query']);
  });

  it('gives up after 5 attempts with one sentence and exit 1', async () => {
    const r = await status({ cloudformation: [throttledXml] });
    expect(r.code).toBe(1);
    expect(r.calls).toEqual(Array(5).fill('cloudformation'));
    expect(r.stderr).toBe(
      'error: AWS kept throttling CloudFormation.DescribeStacks on stack BuilderBrainRelease after 5 attempts (Throttling). Wait a minute and run the command again.\n',
    );
  });

  it('a stack that does not exist is not retried', async () => {
    const r = await status({ cloudformation: [noStackXml('Nope')] }, ['--stack', 'Nope']);
    expect(r.code).toBe(1);
    expect(r.calls).toEqual(['cloudformation']);
    expect(r.stderr).toBe("error: stack 'Nope' does not exist in eu-west-1. Check --stack and --region (or --profile); `aws cloudformation describe-stacks` lists the stacks of a region.\n");
  });
});
