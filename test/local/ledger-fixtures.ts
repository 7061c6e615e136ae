/** Fixtures of the ledger tests (memory, DynamoDB mocks, dynalite). */
import type { ReleaseRecord } from '../../core/ports.js';

/** A release record as ValidateManifest opens it, received at `receivedAt`. */
export const baseRecord = (releaseId: string, receivedAt: string, over: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  releaseId,
  model: 'builderbrain',
  version: '2.1.0',
  status: 'received',
  artifact: { uri: 's3://a/models/builderbrain/2.1.0/model.tar.gz', sha256: 'f'.repeat(64) },
  manifestSha256: 'e'.repeat(64),
  source: { bucket: 'bb', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1' },
  receivedAt,
  updatedAt: receivedAt,
  canaryExecutionArn: null,
  phase: null,
  weight: 0,
  lastVerdict: null,
  approvers: [],
  outcome: null,
  incidentPublished: false,
  ...over,
});
