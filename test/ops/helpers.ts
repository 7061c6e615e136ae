/** Shared pieces of the operator-command tests: the CLI run in-process, a release record, AWS-shaped errors. */
import type { AuditEvent, ReleaseRecord } from '../../core/ports.js';
import type { OpsIO } from '../../cli/ops.js';
import { run } from '../../cli/program.js';
import { looseEvent, type LooseEvent } from '../support/events.js';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `builderbrain <argv>` in-process with captured output. */
export async function cli(argv: readonly string[], io: Partial<OpsIO> = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const full: OpsIO = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readFile: async () => {
      throw Object.assign(new Error('no files in this test'), { code: 'ENOENT' });
    },
    isTTY: false,
    ...io,
  };
  const code = await run(argv, full);
  return { code, stdout, stderr };
}

/** A stack trace line: never shown for a user error. */
export const STACK_LINE = /^\s+at /m;

export const RELEASE_ID = 'builderbrain-2_1_0-1a2b3c4d';
export const EXECUTION_ARN = `arn:aws:states:eu-west-1:123456789012:execution:builderbrain-canary:${RELEASE_ID}`;

/** A release waiting for the approval of phase 2 (10%), its candidate deployed next to the baseline. */
export const waitingRecord: ReleaseRecord = {
  releaseId: RELEASE_ID,
  model: 'builderbrain',
  version: '2.1.0',
  status: 'awaiting_approval',
  artifact: { uri: 's3://bb-models/builderbrain/2.1.0/model.tar.gz', sha256: 'f'.repeat(64) },
  manifestSha256: 'e'.repeat(64),
  source: { bucket: 'bb-artifacts', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1' },
  receivedAt: '2026-01-05T09:00:00.000Z',
  updatedAt: '2026-01-05T10:03:00.000Z',
  canaryExecutionArn: EXECUTION_ARN,
  phase: 1,
  weight: 10,
  lastVerdict: { verdict: 'pass', summary: 'canary healthy over 60 minute(s): no rule breached', at: '2026-01-05T10:03:00.000Z' },
  deployment: {
    target: 'sagemaker',
    resource: 'builderbrain',
    releaseId: RELEASE_ID,
    version: '2.1.0',
    artifact: { uri: 's3://bb-models/builderbrain/2.1.0/model.tar.gz', sha256: 'f'.repeat(64) },
    baseline: { slot: 'baseline', model: 'builderbrain-2-0-9-00000000-m', config: 'builderbrain-2-0-9-00000000-s', instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true },
    candidate: { slot: 'canary', model: 'builderbrain--2-1-0-1a2b3c4d-m', version: '2.1.0', instanceType: 'ml.g5.xlarge', instanceCount: 1 },
    configs: { candidate: 'builderbrain--2-1-0-1a2b3c4d-c', converged: 'builderbrain--2-1-0-1a2b3c4d-s', restore: 'builderbrain--2-1-0-1a2b3c4d-r' },
  },
  approvers: [{ phase: 0, identity: 'arn:aws:sts::123456789012:assumed-role/ReleaseApprover/alice', at: '2026-01-05T09:05:00.000Z', decision: 'approved' }],
  outcome: null,
  incidentPublished: false,
  phaseStartedAt: '2026-01-05T09:00:00.000Z',
};

/** An event with only the detail fields a test gives (the others as an older writer may have left them: absent). */
export const event = (type: AuditEvent['type'], at: string, over: Partial<LooseEvent> = {}): AuditEvent =>
  looseEvent({ releaseId: RELEASE_ID, eventId: type, at, type, actor: 'step:Test', detail: {}, ...over });

/** An SDK-shaped service error (what the SDK throws once its own retries are spent). */
export function awsError(name: string, status: number, message = `${name} message`): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 5 },
  });
}

/** What the default credential chain throws when it finds nothing. */
export const noCredentials = (): Error =>
  Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
