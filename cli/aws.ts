/**
 * AWS plumbing of the commands that act on a deployed stack (`status`, `approve`, `reject`,
 * `rollback`, `history`): the SDK clients (created once per command, injectable for tests), the
 * stack's outputs, the caller's identity, and the mapping of an AWS failure to one sentence that
 * says what to do.
 *
 * Credentials come from the SDK's default chain (environment, SSO, shared config and credentials
 * files, IMDS/ECS); `--profile` sets the client's `profile`, which selects both the credentials and
 * the region of that profile in the shared config files, as the AWS CLI does.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { AwsCallError, errorName, isAwsError, THROTTLING_ERROR_NAMES } from '../lambdas/adapters/aws-errors.js';
import { STACK_OUTPUT_KEYS } from '../core/runtime-config.js';

/** Which deployed pipeline a command acts on, and as whom. */
export interface AwsTarget {
  /** CloudFormation stack name (`--stack`). */
  readonly stack: string;
  /** `--region`; else the SDK's resolution (AWS_REGION, the profile's region). */
  readonly region?: string | undefined;
  /** `--profile`; else AWS_PROFILE or the default profile. */
  readonly profile?: string | undefined;
}

/**
 * Attempts per call, in the SDK's standard retry mode: throttling, 5xx and transient network errors
 * are retried with exponential backoff and jitter (throttling from a 1 s base), the rest fail at once.
 */
export const CLI_MAX_ATTEMPTS = 5;

/** Client configuration the CLI uses for every service. `overrides` is for tests (request handler, credentials). */
export function clientConfig(target: AwsTarget, overrides: Record<string, unknown> = {}) {
  return {
    maxAttempts: CLI_MAX_ATTEMPTS,
    retryMode: 'standard',
    ...(target.region === undefined ? {} : { region: target.region }),
    ...(target.profile === undefined ? {} : { profile: target.profile }),
    ...overrides,
  };
}

/** The SDK clients of one command run, each created on first use. */
export class AwsClients {
  private cache = new Map<string, unknown>();

  public constructor(
    public readonly target: AwsTarget,
    private readonly overrides: Record<string, unknown> = {},
  ) {}

  private once<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  private get config() {
    return clientConfig(this.target, this.overrides);
  }

  public get cloudFormation(): CloudFormationClient {
    return this.once('cfn', () => new CloudFormationClient(this.config));
  }

  public get sts(): STSClient {
    return this.once('sts', () => new STSClient(this.config));
  }

  public get documents(): DynamoDBDocumentClient {
    return this.once('ddb', () =>
      DynamoDBDocumentClient.from(new DynamoDBClient(this.config), { marshallOptions: { removeUndefinedValues: true } }),
    );
  }

  public get stepFunctions(): SFNClient {
    return this.once('sfn', () => new SFNClient(this.config));
  }

  public get lambda(): LambdaClient {
    return this.once('lambda', () => new LambdaClient(this.config));
  }

  public get s3(): S3Client {
    return this.once('s3', () => new S3Client(this.config));
  }

  /** The region the clients use; throws the SDK's "Region is missing" when none is configured. */
  public async region(): Promise<string> {
    return this.cloudFormation.config.region();
  }
}

/** Builds the clients of one command run (tests inject their own). */
export type AwsClientFactory = (target: AwsTarget) => AwsClients;
export const createAwsClients: AwsClientFactory = (target) => new AwsClients(target);

// ── stack outputs ───────────────────────────────────────────────────────────────────────────────

export { STACK_OUTPUT_KEYS };

/** The outputs the commands need; the others are optional (an older stack may lack them). */
const StackOutputsSchema = z.object({
  ModelName: z.string().min(1),
  AuditTableName: z.string().min(1),
  RollbackFunctionName: z.string().min(1),
  /** Absent on a stack deployed before incidents had a life cycle. */
  IncidentFunctionName: z.string().min(1).optional(),
  ArtifactBucketName: z.string().optional(),
  PromotionStateMachineArn: z.string().optional(),
  CanaryStateMachineArn: z.string().optional(),
  IncidentTopicArn: z.string().optional(),
  ApprovalsTopicArn: z.string().optional(),
  PipelineAlarmsTopicArn: z.string().optional(),
  DashboardName: z.string().optional(),
});
export type StackOutputs = z.infer<typeof StackOutputsSchema>;

/** The stack exists but is not (or not fully) a BuilderBrain release stack. */
export class StackOutputsError extends Error {
  public constructor(
    public readonly stackName: string,
    public readonly missing: readonly string[],
  ) {
    super(`stack ${stackName} has no output ${missing.join(', ')}`);
    this.name = 'StackOutputsError';
  }
}

/**
 * Reads the stack's outputs with DescribeStacks.
 *
 * @example const outputs = await stackOutputs(clients.cloudFormation, 'BuilderBrainRelease'); // { AuditTableName: '…', … }
 */
export async function stackOutputs(cfn: CloudFormationClient, stack: string): Promise<StackOutputs> {
  let out;
  try {
    out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  } catch (err) {
    throw new AwsCallError('CloudFormation.DescribeStacks', `stack ${stack}`, err);
  }
  const found = out.Stacks?.[0];
  if (found === undefined) throw new AwsCallError('CloudFormation.DescribeStacks', `stack ${stack}`, stackMissing(stack));
  const values: Record<string, string> = {};
  for (const o of found.Outputs ?? []) if (o.OutputKey !== undefined && o.OutputValue !== undefined) values[o.OutputKey] = o.OutputValue;
  const parsed = StackOutputsSchema.safeParse(values);
  if (!parsed.success) throw new StackOutputsError(stack, [...new Set(parsed.error.issues.map((i) => String(i.path[0])))]);
  return parsed.data;
}

const stackMissing = (stack: string) => Object.assign(new Error(`Stack with id ${stack} does not exist`), { name: 'ValidationError' });

/** The caller's ARN (STS GetCallerIdentity): who approves, rejects or rolls back, in the audit ledger. */
export async function callerArn(sts: STSClient): Promise<string> {
  let out;
  try {
    out = await sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    throw new AwsCallError('STS.GetCallerIdentity', 'your credentials', err);
  }
  if (out.Arn === undefined || out.Arn === '') throw new Error('STS GetCallerIdentity returned no ARN');
  return out.Arn;
}

// ── errors → one sentence ───────────────────────────────────────────────────────────────────────

/** What the user reads about an AWS failure, and the exit code it gives. */
export interface ExplainedError {
  readonly message: string;
  /** 2: the command line or local configuration is wrong (e.g. no region); 1 otherwise. */
  readonly exitCode: 1 | 2;
}

const CREDENTIALS_MISSING = ['CredentialsProviderError'];
const CREDENTIALS_INVALID = [
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
];
const ACCESS_DENIED = ['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'AuthorizationError', 'KMSAccessDeniedException'];
const THROTTLED = [...THROTTLING_ERROR_NAMES];
const NETWORK = ['ENOTFOUND', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout'];

/** The SDK error under an {@link AwsCallError} (or the error itself). */
function sdkError(err: unknown): { name: string; message: string; code?: string } {
  const inner = err instanceof AwsCallError ? err.cause : err;
  const e = (typeof inner === 'object' && inner !== null ? inner : {}) as { message?: unknown; code?: unknown };
  return { name: errorName(inner), message: typeof e.message === 'string' ? e.message : String(inner), ...(typeof e.code === 'string' ? { code: e.code } : {}) };
}

/**
 * One sentence for an AWS failure: what was wrong and what to do. `where` names the target
 * (stack and region) for the messages that need it.
 *
 * @example explainAwsError(err, { stack: 'BuilderBrainRelease', region: 'eu-west-1' }).message
 * // "stack 'BuilderBrainRelease' does not exist in eu-west-1. Check --stack and --region (or --profile), …"
 */
export function explainAwsError(err: unknown, where: { stack: string; region?: string | undefined; identity?: string | undefined }): ExplainedError {
  const e = sdkError(err);
  const call = err instanceof AwsCallError ? `${err.operation} on ${err.resource}` : 'the AWS call';
  const inRegion = where.region === undefined ? '' : ` in ${where.region}`;
  if (err instanceof StackOutputsError) {
    return {
      message: `stack '${err.stackName}'${inRegion} has no output ${err.missing.join(', ')}: it is not a BuilderBrain release stack, or it was deployed by an older version. Pass the release pipeline's stack with --stack, or deploy it again with \`npx cdk deploy\`.`,
      exitCode: 1,
    };
  }
  const badRegion = /Region not accepted: region="([^"]*)"/.exec(e.message);
  if (badRegion !== null) {
    return { message: `'${badRegion[1]}' is not an AWS region. Pass --region with a region code (e.g. --region eu-west-1), or fix AWS_REGION or your profile's region.`, exitCode: 2 };
  }
  if (/region is missing/i.test(e.message)) {
    return { message: 'no AWS region is configured. Pass --region (e.g. --region eu-west-1), set AWS_REGION, or set a region in your AWS profile.', exitCode: 2 };
  }
  if (CREDENTIALS_MISSING.includes(e.name) || /could not load credentials/i.test(e.message)) {
    const profile = /profile/i.test(e.message) ? ` (${e.message.replace(/\s+/g, ' ').trim().replace(/\.$/, '')})` : '';
    return {
      message: `no AWS credentials found${profile}. Sign in (e.g. \`aws sso login --profile <name>\` or \`aws configure\`), then pass --profile <name> or set AWS_PROFILE, and run the command again.`,
      exitCode: 1,
    };
  }
  if (CREDENTIALS_INVALID.includes(e.name)) {
    return { message: `your AWS credentials are expired or invalid (${e.name}). Sign in again (e.g. \`aws sso login\`) and run the command again.`, exitCode: 1 };
  }
  if (ACCESS_DENIED.includes(e.name) || /not authorized to perform/i.test(e.message)) {
    const who = where.identity === undefined ? 'your AWS identity' : where.identity;
    return {
      message: `access denied: ${who} may not call ${call} (${e.name}). Ask an administrator for the BuilderBrain operator permissions on stack '${where.stack}': IAM decides who may approve or roll back.`,
      exitCode: 1,
    };
  }
  if (isAwsError(err, ...THROTTLED) || THROTTLED.includes(e.name)) {
    return { message: `AWS kept throttling ${call} after ${CLI_MAX_ATTEMPTS} attempts (${e.name}). Wait a minute and run the command again.`, exitCode: 1 };
  }
  if (/Stack with id .* does not exist/i.test(e.message)) {
    return {
      message: `stack '${where.stack}' does not exist${inRegion}. Check --stack and --region (or --profile); \`aws cloudformation describe-stacks\` lists the stacks of a region.`,
      exitCode: 1,
    };
  }
  if (e.name === 'ResourceNotFoundException') {
    return {
      message: `${call} failed: it does not exist (${e.name}). The outputs of stack '${where.stack}' name a resource that is gone; check the stack in the CloudFormation console.`,
      exitCode: 1,
    };
  }
  if (NETWORK.includes(e.name) || (e.code !== undefined && NETWORK.includes(e.code))) {
    return { message: `could not reach AWS for ${call} (${e.code ?? e.name}). Check your network connection or proxy and run the command again.`, exitCode: 1 };
  }
  return {
    message: `${call} failed: ${e.name}: ${e.message.replace(/\s+/g, ' ').trim().replace(/\.$/, '')}. Run the command again; if it keeps failing, check stack '${where.stack}' in the CloudFormation console.`,
    exitCode: 1,
  };
}
