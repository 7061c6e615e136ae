/**
 * What the operator commands (`status`, `approve`, `reject`, `rollback`, `history`) share: the
 * options that pick the pipeline (`--stack/--region/--profile`, or `--local` for a simulation),
 * the two backends behind one interface, and the mapping of every failure to one sentence and an
 * exit code (cli.md). The commands themselves only decide what to print.
 *
 * The AWS SDK is loaded only when a command acts on a deployed stack (dynamic imports below), so
 * the other commands do not pay for it at start-up.
 */
import { prepareRollbackRelease, requestRollback } from '../core/app/request-rollback.js';
import { releaseIdFor } from '../core/app/ids.js';
import { candidateLines, parseReleaseRef, resolveReleaseRef } from '../core/release-ref.js';
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import * as z from 'zod';
import { answerApproval, checkApprover, waitingPhase, type AnswerResult } from '../core/app/answer-approval.js';
import { IncidentCommandOutputSchema, type IncidentCommandInput, type IncidentCommandOutput } from '../core/app/incidents.js';
import type { IncidentCommand } from '../core/incidents.js';
import { ApprovalRefusedError, NothingWaitingError, ReleaseNotFoundError } from '../core/app/errors.js';
import { setFreezeState, type FreezeInput, type FreezeOutcome } from '../core/app/freeze.js';
import { FreezeSchema } from '../core/freeze.js';
import { RollbackOutputSchema, type RollbackInput, type RollbackOutput } from '../core/contracts.js';
import { settledRollback } from '../core/lifecycle.js';
import type { ArtifactStore, AuditLedger } from '../core/ports.js';
import { DEFAULT_PIPELINE_CONFIG } from '../lib/config.js';
import { AwsCallError, call } from '../lambdas/adapters/aws-errors.js';
import {
  DEFAULT_STATE_DIR,
  LocalStateInvalidError,
  LocalStateMissingError,
  LocalTimeoutError,
  SimulationNotRunningError,
  StateDirBusyError,
  ledgerFromSnapshot,
  readSnapshot,
  requestAndWait,
  type AnswerRequestInput,
  type WaitOptions,
} from '../local/state-dir.js';
import type { AwsClientFactory, AwsClients } from './aws.js';
import { EXIT, styleFor, type CliIO, type CommandContext } from './common.js';

/** Extra I/O of the operator commands: the AWS clients and the --local waits (tests inject them). */
export interface OpsIO extends CliIO {
  readonly awsClients?: AwsClientFactory;
  readonly localWait?: WaitOptions;
}

/** The options every operator command takes. */
export interface TargetOptions {
  readonly stack: string;
  readonly region?: string;
  readonly profile?: string;
  readonly local: boolean;
  readonly stateDir: string;
}

/** Adds `--stack`, `--region`, `--profile`, `--local` and `--state-dir` to a command. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--stack <name>', 'the pipeline\'s CloudFormation stack').default(DEFAULT_PIPELINE_CONFIG.stackName).env('BUILDERBRAIN_STACK'),
    )
    .option('--region <region>', 'AWS region of the stack (default: AWS_REGION, or the profile\'s region)')
    .option('--profile <name>', 'AWS profile of your shared config files (default: AWS_PROFILE, or the default chain)')
    .option('--local', 'act on a local simulation (builderbrain simulate --manual) instead of AWS', false)
    .option('--state-dir <dir>', 'with --local: the simulation\'s state directory', DEFAULT_STATE_DIR);
}

/** The flags that repeat the target in printed commands (`--local`, a non-default state dir). */
export function targetFlags(opts: TargetOptions): string {
  if (!opts.local) return '';
  return opts.stateDir === DEFAULT_STATE_DIR ? ' --local' : ` --local --state-dir ${opts.stateDir}`;
}

/**
 * The release an operator named — an id, `<model>@<version>`, or a model (its current release) —
 * resolved on the backend's ledger (core/release-ref.ts); null (and the candidates on stderr) when
 * it names none or several.
 */
export async function resolveRelease(io: CliIO, backend: OperatorBackend, text: string): Promise<string | null> {
  const ref = parseReleaseRef(text);
  if (ref === null) return null;
  if (ref.kind === 'id') return ref.id;
  const resolved = resolveReleaseRef(ref, await backend.ledger.listReleases(200));
  if (resolved.ok) return resolved.releaseId;
  io.stderr(`${styleFor(io).red('error:')} ${resolved.message}${resolved.candidates.length === 0 ? '' : `:\n${candidateLines(resolved.candidates).join('\n')}`}\n`);
  return null;
}

/** True for what names a release (an id, `<model>@<version>`, a model); false (and a message on stderr) otherwise. */
export function checkReleaseRef(io: CliIO, text: string): boolean {
  if (parseReleaseRef(text) !== null) return true;
  io.stderr(`${styleFor(io).red('error:')} '${text}' names no release: give a release id (builderbrain-2_1_0-1a2b3c4d), <model>@<version> (builderbrain@2.1.0) or a model name (its current release).\n`);
  return false;
}

/** A reason given with --reason: required, not blank. */
export function checkReason(io: CliIO, reason: string): boolean {
  if (reason.trim() !== '') return true;
  io.stderr(`${styleFor(io).red('error:')} --reason must say why (it goes into the audit ledger and the incident), e.g. --reason "p99 latency regressed at 10%".\n`);
  return false;
}

// ── backends ────────────────────────────────────────────────────────────────────────────────────

export type OperatorAnswer = { readonly decision: 'approved' } | { readonly decision: 'rejected'; readonly reason: string };

/** One deployed stack or one local simulation, as the commands see it. */
export interface OperatorBackend {
  /** For messages: `stack BuilderBrainRelease (eu-west-1)`, `the local simulation in .builderbrain/local`. */
  readonly where: string;
  readonly ledger: Pick<AuditLedger, 'getRelease' | 'timeline' | 'chainItems' | 'listReleases' | 'listActiveReleases' | 'getHandover' | 'getFreeze'>;
  /** The artifact bucket (AWS): stored post-rollback reports and manifests (`builderbrain analyze`); absent locally. */
  readonly artifacts?: { readonly bucket: string; readonly store: Pick<ArtifactStore, 'getObjectText'> };
  /** Answers the approval the release waits for; NothingWaitingError / ReleaseNotFoundError change nothing. */
  answer(releaseId: string, answer: OperatorAnswer): Promise<{ readonly result: AnswerResult; readonly identity: string }>;
  /** The operator rollback: the rollback handler with a manual trigger. */
  rollback(releaseId: string, reason: string, options?: RollbackOptions): Promise<{ readonly output: RollbackOutput; readonly identity: string }>;
  /** Sets or lifts the emergency freeze as the caller (core/app/freeze.ts), audited on the control log and every release in flight. */
  setFreeze(action: FreezeInput['action'], reason: string): Promise<{ readonly outcome: FreezeOutcome; readonly identity: string }>;
  /** Records a planned rollback of a released version, for a second identity to approve (core/app/request-rollback.ts). */
  requestRollback(releaseId: string, reason: string, to: string | null): Promise<{ readonly requestedBy: string; readonly at: string }>;
  /**
   * Starts a rollback release: the previous version's manifest with `rollback`, uploaded again at its
   * key (core/app/request-rollback.ts prepareRollbackRelease). The caller is who decided: the
   * emergency's requester, or the planned rollback's approver (`requestedBy` then names the requester).
   */
  rollbackRelease(previousReleaseId: string, rollback: { of: string; reason: string; emergency: boolean; requestedBy: string | null }): Promise<{ readonly releaseId: string | null; readonly identity: string }>;
  /**
   * Acknowledges, resolves or closes an incident as the caller (core/app/incidents.ts), through the
   * pipeline's incidents function (only the pipeline's roles may publish to the incident topic).
   */
  incident(command: IncidentCommand, incidentId: string, note: string | null): Promise<{ readonly output: IncidentCommandOutput; readonly identity: string }>;
}

/** How an operator's rollback is asked for: as an emergency, or approving another identity's request. */
export interface RollbackOptions {
  readonly emergency?: boolean;
  readonly requestedBy?: string;
}

/** The manual trigger of an operator's rollback. */
const manualTrigger = (actor: string, note: string, options: RollbackOptions = {}): RollbackInput['trigger'] => ({
  kind: 'manual',
  actor,
  note,
  ...(options.emergency === true ? { emergency: true } : {}),
  ...(options.requestedBy === undefined ? {} : { requestedBy: options.requestedBy }),
});

/** A pipeline step run for the command (the rollback function, the local simulation) failed with `errorType`. */
export class StepFailedError extends Error {
  public constructor(
    public readonly errorType: string,
    message: string,
    /** Who ran it: "the rollback function", "the local simulation". */
    public readonly source: string,
  ) {
    super(message);
    this.name = 'StepFailedError';
  }
}

/** What an error message may say about the target; filled in as the command learns it. */
interface TargetContext {
  stack: string;
  region?: string | undefined;
  identity?: string | undefined;
}

const wallClock = { now: () => new Date() };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The deployed stack: outputs from CloudFormation, the ledger on DynamoDB, task tokens answered on
 * Step Functions, rollbacks through the deployed rollback function, the caller's ARN as identity.
 */
export async function awsBackend(clients: AwsClients, ctx: TargetContext): Promise<OperatorBackend> {
  const [{ callerArn, stackOutputs }, { DynamoLedger }, { SfnExecutions }, { InvokeCommand }] = await Promise.all([
    import('./aws.js'),
    import('../lambdas/adapters/dynamodb-ledger.js'),
    import('../lambdas/adapters/sfn-executions.js'),
    import('@aws-sdk/client-lambda'),
  ]);
  const region = await clients.region();
  ctx.region = region;
  const { stack } = clients.target;
  const outputs = await stackOutputs(clients.cloudFormation, stack);
  const ledger = new DynamoLedger(clients.documents, outputs.AuditTableName);
  const identity = async (): Promise<string> => (ctx.identity ??= await callerArn(clients.sts));
  const bucket = outputs.ArtifactBucketName;
  const artifacts = bucket === undefined ? undefined : { bucket, store: new (await import('../lambdas/adapters/s3-artifacts.js')).S3ArtifactStore(clients.s3) };
  /**
   * Invokes one of the pipeline's functions as the caller (RequestResponse) and reads its answer
   * through `schema`; a function error or an answer of another shape is a StepFailedError naming `source`.
   */
  const invoke = async <T>(fn: string, input: unknown, schema: z.ZodType<T>, source: string): Promise<T> => {
    const out = await call('Lambda.Invoke', `function ${fn}`, () =>
      clients.lambda.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'RequestResponse', Payload: encoder.encode(JSON.stringify(input)) })),
    );
    const text = out.Payload === undefined ? '' : decoder.decode(out.Payload);
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below
    }
    if (out.FunctionError !== undefined) {
      const e = (json ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      throw new StepFailedError(typeof e.errorType === 'string' ? e.errorType : out.FunctionError, typeof e.errorMessage === 'string' ? e.errorMessage : text.slice(0, 500), source);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new StepFailedError('UnexpectedResponse', `it answered ${text.slice(0, 300) || 'nothing'}`, source);
    return parsed.data;
  };
  return {
    where: `stack ${stack} (${region})`,
    ledger,
    ...(artifacts === undefined ? {} : { artifacts }),
    async answer(releaseId, answer) {
      const who = await identity();
      const executions = new SfnExecutions(clients.stepFunctions, null);
      const result = await answerApproval(releaseId, { ...answer, identity: who }, { ledger, executions, clock: wallClock });
      return { result, identity: who };
    },
    async requestRollback(releaseId, reason, to) {
      return requestRollback({ releaseId, identity: await identity(), reason, to }, { ledger, clock: wallClock });
    },
    async setFreeze(action, reason) {
      const who = await identity();
      return { outcome: await setFreezeState({ action, reason, identity: who }, { ledger, clock: wallClock }), identity: who };
    },
    async rollbackRelease(previousReleaseId, rollback) {
      const who = await identity();
      const [{ S3ArtifactStore }, { PutObjectCommand }] = await Promise.all([import('../lambdas/adapters/s3-artifacts.js'), import('@aws-sdk/client-s3')]);
      const decided = rollback.requestedBy === null ? { requestedBy: who, approvedBy: null } : { requestedBy: rollback.requestedBy, approvedBy: who };
      const prepared = await prepareRollbackRelease({ previousReleaseId, of: rollback.of, reason: rollback.reason, emergency: rollback.emergency, ...decided }, { ledger, artifacts: new S3ArtifactStore(clients.s3) });
      const put = await call('S3.PutObject', `s3://${prepared.bucket}/${prepared.key}`, () =>
        clients.s3.send(new PutObjectCommand({ Bucket: prepared.bucket, Key: prepared.key, Body: prepared.text, ContentType: 'application/json' })),
      );
      const releaseId = put.VersionId === undefined && put.ETag === undefined ? null : releaseIdFor({ bucket: prepared.bucket, key: prepared.key, versionId: put.VersionId ?? null, etag: put.ETag ?? null });
      return { releaseId, identity: who };
    },
    async incident(command, incidentId, note) {
      const who = await identity();
      const fn = outputs.IncidentFunctionName;
      if (fn === undefined) throw new StepFailedError('NotDeployed', `stack ${stack} has no incidents function (deployed before incidents had a life cycle): deploy it again`, 'the incidents function');
      const input: IncidentCommandInput = { command, incidentId, identity: who, note };
      return { output: await invoke(fn, input, IncidentCommandOutputSchema, `the incidents function ${fn}`), identity: who };
    },
    async rollback(releaseId, reason, options) {
      const who = await identity();
      const fn = outputs.RollbackFunctionName;
      const input: RollbackInput = { releaseId, model: outputs.ModelName, trigger: manualTrigger(who, reason, options), stopExecution: true };
      return { output: await invoke(fn, input, RollbackOutputSchema, `the rollback function ${fn}`), identity: who };
    },
  };
}

/** Who acts on a local simulation: the local user. */
export function localIdentity(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env['USER'];
  }
  return `local:${name === undefined || name === '' ? 'operator' : name}`;
}

/** What setFreezeState returns, as the simulation's result file carries it. */
const FreezeOutcomeSchema = z.strictObject({ changed: z.boolean(), freeze: FreezeSchema.nullable(), previous: FreezeSchema.nullable(), releases: z.array(z.string()) });

/** What answerApproval returns, as the simulation's result file carries it. */
const AnswerResultSchema = z.strictObject({ releaseId: z.string(), phase: z.number().int().min(0), decision: z.enum(['approved', 'rejected']) });

/**
 * A local simulation through its state directory: reads what it wrote, sends it requests and waits
 * for its answers (local/state-dir.ts). What needs no simulation is answered from the state alone,
 * by the same checks: an approval that is not waiting, a rollback of a release that has ended.
 */
export async function localBackend(dir: string, wait: WaitOptions = {}): Promise<OperatorBackend> {
  const ledger = await ledgerFromSnapshot(await readSnapshot(dir));
  const identity = localIdentity();
  const send = async (input: AnswerRequestInput): Promise<unknown> => {
    const result = await requestAndWait(dir, input, wait);
    if (!result.ok) throw new StepFailedError(result.error.name, result.error.message, 'the local simulation');
    return result.value;
  };
  return {
    where: `the local simulation in ${dir}`,
    ledger,
    async answer(releaseId, answer) {
      // answerApproval's own first checks, on the state the simulation wrote: nothing is sent.
      const { record } = waitingPhase(releaseId, await ledger.getRelease(releaseId));
      checkApprover(record, { ...answer, identity });
      const value = await send(answer.decision === 'approved' ? { action: 'approve', releaseId, identity } : { action: 'reject', releaseId, identity, reason: answer.reason });
      return { result: AnswerResultSchema.parse(value), identity };
    },
    async rollbackRelease(previousReleaseId, rollback) {
      const decided = rollback.requestedBy === null ? { requestedBy: identity, approvedBy: null } : { requestedBy: rollback.requestedBy, approvedBy: identity };
      const value = await send({ action: 'rollback_release', previousReleaseId, identity, of: rollback.of, reason: rollback.reason, emergency: rollback.emergency, ...decided });
      return { releaseId: z.object({ releaseId: z.string().nullable() }).parse(value).releaseId, identity };
    },
    async requestRollback(releaseId, reason, to) {
      const value = await send({ action: 'request_rollback', releaseId, identity, reason, to });
      return z.object({ requestedBy: z.string(), at: z.string() }).parse(value);
    },
    async setFreeze(action, reason) {
      return { outcome: FreezeOutcomeSchema.parse(await send({ action, identity, reason })), identity };
    },
    async incident(command, incidentId, note) {
      return { output: IncidentCommandOutputSchema.parse(await send({ action: 'incident', command, incidentId, identity, note })), identity };
    },
    async rollback(releaseId, reason, options = {}) {
      const record = await ledger.getRelease(releaseId);
      if (record === null) throw new ReleaseNotFoundError(releaseId);
      // A release that has ended is answered from its record alone, as the rollback use case answers it.
      const settled = settledRollback(record);
      if (settled !== null) return { output: settled, identity };
      const value = await send({ action: 'rollback', releaseId, identity, reason, ...options });
      return { output: RollbackOutputSchema.parse(value), identity };
    },
  };
}

// ── running a command, failures → one sentence ──────────────────────────────────────────────────

/** Exit codes of the operator commands (cli.md). */
export const OPS_EXIT = {
  ok: EXIT.ok,
  /** status/history: no such release. */
  notFound: 1,
  /** approve/reject: no approval is waiting. */
  nothingWaiting: 1,
  /** AWS or the simulation failed, or the rollback could not be done. */
  failed: 1,
  invalid: EXIT.invalid,
} as const;

function isAwsFailure(err: unknown): boolean {
  if (err instanceof AwsCallError) return true;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { $metadata?: unknown; name?: unknown; message?: unknown };
  return (
    e.name === 'StackOutputsError' ||
    typeof e.$metadata === 'object' ||
    (typeof e.name === 'string' && /ProviderError$/.test(e.name)) ||
    (typeof e.message === 'string' && /region is missing|region not accepted/i.test(e.message))
  );
}

/** The sentence and exit code of a failure; null for a failure that is a bug (reported as such by the program). */
export async function explainFailure(
  err: unknown,
  opts: TargetOptions,
  ctx: TargetContext,
  releaseId: string | undefined,
  where: string,
): Promise<{ message: string; exitCode: number } | null> {
  const flags = targetFlags(opts);
  const id = releaseId ?? '?';
  const type = err instanceof StepFailedError ? err.errorType : null;
  if (err instanceof ReleaseNotFoundError || type === 'ReleaseNotFoundError') {
    return { message: `release ${id} is not in the audit ledger of ${where}. \`builderbrain status${flags}\` lists the releases in flight.`, exitCode: OPS_EXIT.notFound };
  }
  if (err instanceof NothingWaitingError || type === 'NothingWaitingError') {
    const why = /no approval is waiting \((.*)\)$/.exec((err as Error).message)?.[1];
    return {
      message: `release ${id}: no approval is waiting${why ? ` (${why})` : ''}; nothing was changed. \`builderbrain status ${id}${flags}\` shows where the release stands.`,
      exitCode: OPS_EXIT.nothingWaiting,
    };
  }
  if (err instanceof ApprovalRefusedError || type === 'ApprovalRefusedError') {
    const why = /the approval is refused: (.*)$/s.exec((err as Error).message)?.[1] ?? (err as Error).message;
    return { message: `release ${id}: the approval is refused: ${why}`, exitCode: OPS_EXIT.nothingWaiting };
  }
  if (type === 'RollbackFailed') {
    return {
      message: `THE ROLLBACK FAILED: ${(err as Error).message}. Traffic may still reach the candidate: a P0 incident was paged; restore the baseline by hand, then see \`builderbrain history ${id}${flags}\`.`,
      exitCode: OPS_EXIT.failed,
    };
  }
  if (err instanceof StepFailedError) {
    return {
      message: `${err.source} failed: ${err.errorType}: ${err.message.replace(/\.$/, '')}. See \`builderbrain history ${id}${flags}\` for what happened, then run the command again.`,
      exitCode: OPS_EXIT.failed,
    };
  }
  const start = `builderbrain simulate --manual${opts.stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${opts.stateDir}`}`;
  if (err instanceof LocalStateMissingError) {
    return { message: `there is no local simulation in ${err.dir} (no state.json). Start one in another terminal with \`${start}\`, or pass its --state-dir.`, exitCode: OPS_EXIT.failed };
  }
  if (err instanceof LocalStateInvalidError) {
    return { message: `${err.message}. Start the simulation again with \`${start}\`.`, exitCode: OPS_EXIT.failed };
  }
  if (err instanceof SimulationNotRunningError) {
    return { message: `${err.message}, so nothing can act on the release; nothing was changed. Start a new one with \`${start}\`.`, exitCode: OPS_EXIT.failed };
  }
  if (err instanceof LocalTimeoutError) {
    return { message: `${err.message}; the request was taken back and nothing was changed. Check that \`${start}\` is still running, then run the command again.`, exitCode: OPS_EXIT.failed };
  }
  if (err instanceof StateDirBusyError) return { message: err.message, exitCode: OPS_EXIT.failed };
  if (isAwsFailure(err)) return (await import('./aws.js')).explainAwsError(err, ctx);
  return null;
}

/**
 * Runs an operator command: opens the backend the options name, runs `body` on it, and turns any
 * failure into one sentence on stderr with its exit code (no stack trace). A failure that is a bug
 * is rethrown, for the program's "internal error" report.
 */
export async function runOperation(
  ctx: CommandContext,
  opts: TargetOptions,
  releaseId: string | undefined,
  body: (backend: OperatorBackend) => Promise<number>,
): Promise<number> {
  const io = ctx.io as OpsIO;
  const target: TargetContext = { stack: opts.stack, region: opts.region };
  let where = opts.local ? `the local simulation in ${opts.stateDir}` : `stack ${opts.stack}`;
  try {
    const backend = opts.local
      ? await localBackend(opts.stateDir, io.localWait)
      : await awsBackend((io.awsClients ?? (await import('./aws.js')).createAwsClients)({ stack: opts.stack, region: opts.region, profile: opts.profile }), target);
    where = backend.where;
    return await body(backend);
  } catch (err) {
    const explained = await explainFailure(err, opts, target, releaseId, where);
    if (explained === null) throw err;
    io.stderr(`${styleFor(io).red('error:')} ${explained.message}\n`);
    return explained.exitCode;
  }
}

/** The help text after an operator command's options: exit codes, examples, how the stack is found. */
export function exitCodesHelp(codes: string, examples: readonly string[]): string {
  return `\nExit codes: ${codes}\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n\nWithout --local the command finds the stack through its CloudFormation outputs and uses your AWS credentials (default chain; --profile, --region); IAM decides who may act.\n`;
}
