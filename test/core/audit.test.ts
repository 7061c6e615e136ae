import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES, AuditEventSchema, describeEvent, StoredAuditEventSchema, type AuditEvent } from '../../core/audit.js';
import { eventItem, eventOf } from '../../core/ledger-items.js';

const SHA = 'e'.repeat(64);
const base = { releaseId: 'r-1', at: '2026-01-05T09:00:00.000Z', actor: 'step:Test' };
const deployment = {
  baseline: { slot: 'baseline', model: 'bb-old-m', config: 'bb-old-s', instanceType: 'ml.g5.xlarge', instanceCount: 1, alone: true },
  candidate: { slot: 'canary', model: 'bb-new-m', version: '2.1.0', instanceType: 'ml.g5.xlarge', instanceCount: 2 },
};

/** One event of every type (and of each shape a type has), with its `history` and `summary` sentences. */
const CASES: readonly [AuditEvent, string, string][] = [
  [{ ...base, eventId: 'received', type: 'received', detail: { bucket: 'bb', key: 'models/builderbrain/2.1.0/release.json', versionId: 'v1', etag: null, manifestSha256: SHA, size: 900 } }, 'manifest s3://bb/models/builderbrain/2.1.0/release.json (version v1)', ''],
  [{ ...base, eventId: 'validated', type: 'validated', detail: { model: 'builderbrain', version: '2.1.0', manifestSha256: SHA } }, 'valid manifest of builderbrain 2.1.0', ''],
  [{ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'invalid_manifest', severity: 'P3', issues: [{ path: '', message: 'not valid JSON' }, { path: 'version', message: 'must be semver' }] } }, 'invalid_manifest: (root) not valid JSON; version must be semver', 'invalid_manifest'],
  [{ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'gates_failed', severity: 'P3', failedChecks: [{ name: 'safety', passed: false, value: 0.04, threshold: 0, message: 'risk energy increases' }] } }, 'gates_failed: safety failed', 'gates_failed'],
  [{ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'lock_busy', severity: 'P3', holder: 'r-0' } }, 'lock_busy: r-0 holds the lock', 'lock_busy'],
  [{ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'lock_busy', severity: 'P3', holder: null } }, 'lock_busy: another release holds the lock', 'lock_busy'],
  [{ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'deploy_failed', severity: 'P2', message: 'endpoint failed', failureReason: 'ping' } }, 'deploy_failed', 'deploy_failed'],
  [{ ...base, eventId: 'lock_acquired', type: 'lock_acquired', detail: { model: 'builderbrain', takenOverFrom: 'r-0', why: 'the previous holder had already finished' } }, 'lock on builderbrain (taken over from r-0)', ''],
  [{ ...base, eventId: 'lock_released', type: 'lock_released', detail: { model: 'builderbrain' } }, 'lock on builderbrain released', ''],
  [{ ...base, eventId: 'gate_check:0:safety', type: 'gate_check', detail: { name: 'safety', passed: false, value: 0.04, threshold: 0, message: 'risk energy increases' } }, 'safety: FAIL — risk energy increases', 'safety: FAIL — risk energy increases'],
  [{ ...base, eventId: 'phase_started:1', type: 'phase_started', weight: 10, phase: 1, detail: { monitorMinutes: 60, requiresApproval: true, looks: 12, lookEveryMinutes: 5, executionArn: 'arn:x' } }, '10% for 60 min, 12 looks, approval required', '10% for 60 min, 12 looks, approval required'],
  [
    { ...base, eventId: 'analysis:1:0003', type: 'analysis', detail: { iteration: 3, looks: 12, verdict: 'pass', reason: null, severity: null, immediate: false, action: 'continue', summary: 'canary healthy', sample: { minutes: 3, canaryRequests: 90, baselineRequests: 900 }, evidence: [] } },
    'look 3/12: pass → continue; canary healthy',
    'look 3/12: pass → continue; canary healthy',
  ],
  [{ ...base, eventId: 'approval_requested:1', type: 'approval_requested', detail: { verdict: 'inconclusive', summary: 'not enough evidence yet' } }, 'waiting for approval (verdict inconclusive)', 'not enough evidence yet'],
  [{ ...base, eventId: 'approval_requested:1', type: 'approval_requested', detail: { verdict: null, summary: null } }, 'waiting for approval', ''],
  [{ ...base, eventId: 'approved:1', type: 'approved', actor: 'alice', detail: {} }, 'approved by alice', ''],
  [{ ...base, eventId: 'approval_rejected:1', type: 'approval_rejected', actor: 'bob', detail: { reason: 'answers too long' } }, 'rejected by bob: answers too long', 'answers too long'],
  [
    { ...base, eventId: 'rollback', type: 'rollback', detail: { reason: 'manual', severity: 'P2', trigger: 'manual', immediate: true, title: '[P2] BuilderBrain 2.1.0 rolled back by bob', stoppedExecution: null } },
    'manual P2 (manual): [P2] BuilderBrain 2.1.0 rolled back by bob',
    'manual P2 (manual): [P2] BuilderBrain 2.1.0 rolled back by bob',
  ],
  [
    { ...base, eventId: 'rollback_failed', type: 'rollback_failed', detail: { reason: 'rollback_failed', severity: 'P0', error: 'ThrottlingException: slow down', trigger: 'alarm', rollbackReason: 'alarm', paged: true } },
    'ROLLBACK FAILED (alarm): ThrottlingException: slow down',
    'rollback_failed',
  ],
  [{ ...base, eventId: 'promoted', type: 'promoted', detail: { version: '2.1.0', previousWeight: 50 } }, '2.1.0 promoted', ''],
  [
    { ...base, eventId: 'artifact_verified', type: 'artifact_verified', detail: { ok: false, reason: 'artifact_digest_mismatch', message: 'the digests differ', sha256: SHA, digestSource: 'computed', size: 1, versionId: null, expectedSha256: SHA, uri: 's3://bb/a' } },
    'artifact_digest_mismatch',
    'artifact_digest_mismatch',
  ],
  [
    { ...base, eventId: 'artifact_verified', type: 'artifact_verified', detail: { ok: true, reason: null, message: 'the digests match', sha256: SHA, digestSource: 'checksum', size: 1, versionId: 'v', expectedSha256: SHA, uri: 's3://bb/a' } },
    'the digests match',
    'the digests match',
  ],
  [
    { ...base, eventId: 'serving:planned', type: 'serving', detail: { goal: 'candidate_deployed', state: 'planned', target: 'sagemaker', resource: 'bb-endpoint', ...deployment, configs: null, firstRelease: false } },
    '',
    'deploy planned on bb-endpoint: candidate bb-new-m (2× ml.g5.xlarge) next to baseline bb-old-m',
  ],
  [
    { ...base, eventId: 'serving:planned', type: 'serving', detail: { goal: 'candidate_deployed', state: 'planned', target: 'lambda', resource: 'fn', baseline: null, candidate: { ...deployment.candidate, model: null, instanceType: null, instanceCount: null }, configs: null, firstRelease: true } },
    '',
    'deploy planned on fn: candidate ? (?× ?) next to nothing (a first release)',
  ],
  [{ ...base, eventId: 'serving:converged:applied', type: 'serving', detail: { goal: 'converged', state: 'applied', config: 'bb-new-s', resource: 'bb-endpoint' } }, '', 'converge: asked bb-endpoint for bb-new-s'],
  [
    { ...base, eventId: 'serving:candidate_removed:done', type: 'serving', detail: { goal: 'candidate_removed', state: 'done', message: 'the baseline serves alone', failureReason: null, waitedSeconds: 60 } },
    'the baseline serves alone',
    'remove candidate done: the baseline serves alone',
  ],
  [
    { ...base, eventId: 'smoke_test', type: 'smoke_test', detail: { passed: true, summary: '1 smoke request(s) passed', results: [{ name: 'plan', passed: true, latencyMs: 120, message: 'ok' }] } },
    '1 smoke request(s) passed',
    '1 smoke request(s) passed',
  ],
  [{ ...base, eventId: 'hold:1:fleet_wide', type: 'hold', detail: { reason: 'fleet_wide', minutes: [3, 4], message: 'fleet-wide incident', severity: 'P1' } }, 'fleet_wide', 'fleet_wide'],
  [
    { ...base, eventId: 'hook:before_traffic:-:integration', type: 'hook', actor: 'hook:integration', detail: { hook: 'integration', functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:it', stage: 'before_traffic', passed: false, message: '3 of 42 failed', metrics: { failures: 3 }, durationMs: 1500 } },
    'hook integration (before_traffic): FAILED — 3 of 42 failed',
    'hook integration (before_traffic): FAILED — 3 of 42 failed',
  ],
  [{ ...base, eventId: 'drill:verify', type: 'drill', weight: 100, detail: { action: 'verify', passed: true, message: 'the baseline served alone' } }, 'rollback drill verify: passed — the baseline served alone', 'rollback drill verify: passed — the baseline served alone'],
  [{ ...base, eventId: 'drill:rollback', type: 'drill', weight: 0, detail: { action: 'rollback', passed: true, message: 'to 0%' } }, 'rollback drill rollback: to 0%', 'rollback drill rollback: to 0%'],
  [
    { ...base, eventId: 'bake:look:00003', type: 'bake', weight: 100, detail: { state: 'look', watchedMinutes: 30, plannedMinutes: 1440, reference: 'day', verdict: 'pass', summary: 'no rule breached' } },
    'bake look (30/1440 min, against the previous version a day before): no rule breached',
    'bake look (30/1440 min, against the previous version a day before): no rule breached',
  ],
  [
    { ...base, eventId: 'rollback_release', type: 'rollback_release', actor: 'alice', detail: { of: '2.2.0', reason: 'PII in answers', emergency: true, requestedBy: 'alice', approvedBy: null } },
    'EMERGENCY rollback release: brings back this version after the released 2.2.0 (requested by alice): PII in answers',
    'EMERGENCY rollback release: brings back this version after the released 2.2.0 (requested by alice): PII in answers',
  ],
  [
    {
      ...base,
      eventId: 'hotfix',
      type: 'hotfix',
      actor: 'step:ValidateManifest',
      detail: { reason: 'plans skip the foundation step', incident: 'INC-2041', requestedBy: 'alice', overrideFreeze: false, plan: [{ weight: 10, monitorMinutes: 15, requiresApproval: true }, { weight: 100, monitorMinutes: 15, requiresApproval: false }] },
    },
    'HOTFIX for INC-2041 requested by alice (approval by another identity); plan 10% → 100%: plans skip the foundation step',
    'HOTFIX for INC-2041 requested by alice (approval by another identity); plan 10% → 100%: plans skip the foundation step',
  ],
  [
    { ...base, eventId: 'freeze:2026-01-05T10:00:00.000Z', type: 'freeze', actor: 'carol', detail: { state: 'frozen', reason: 'SEV-1', since: null, frozenBy: null } },
    'releases frozen by carol: SEV-1 (no release starts, those in flight hold)',
    'releases frozen by carol: SEV-1 (no release starts, those in flight hold)',
  ],
  [
    { ...base, eventId: 'unfreeze:2026-01-05T11:00:00.000Z', type: 'freeze', actor: 'carol', detail: { state: 'unfrozen', reason: 'resolved', since: '2026-01-05T10:00:00.000Z', frozenBy: 'carol' } },
    'releases unfrozen by carol (frozen since 2026-01-05T10:00:00.000Z by carol): resolved',
    'releases unfrozen by carol (frozen since 2026-01-05T10:00:00.000Z by carol): resolved',
  ],
  [
    { ...base, eventId: 'rollback_requested:2026-01-05T10:00:00.000Z', type: 'rollback_requested', actor: 'alice', detail: { reason: 'plans too long', to: '2.0.9' } },
    'rollback to 2.0.9 requested by alice, waiting for a second identity: plans too long',
    'rollback to 2.0.9 requested by alice, waiting for a second identity: plans too long',
  ],
  [
    { ...base, eventId: 'post-rollback-analysis-failed-2026-01-05T10:20:00.000Z', type: 'post_rollback_analysis_failed', actor: 'step:VerifyRecovery', detail: { stage: 'write', key: 'analysis/r.json', error: 'AccessDenied: no' } },
    'post-rollback analysis not written (write of analysis/r.json): AccessDenied: no',
    'post-rollback analysis not written (write of analysis/r.json): AccessDenied: no',
  ],
  [
    { ...base, eventId: 'recovery', type: 'recovery', weight: 0, detail: { recovered: false, message: 'error rate 2.00%, over 0.90%', rolledBackAt: '2026-01-05T10:00:00.000Z', before: { errorRate: 0.004, p99: 650, minutes: 60 }, after: { errorRate: 0.02, p99: 700, minutes: 13 } } },
    'NOT RECOVERED: error rate 2.00%, over 0.90%',
    'NOT RECOVERED: error rate 2.00%, over 0.90%',
  ],
  [
    { ...base, eventId: 'incident:opened:rollback', type: 'incident', actor: 'step:Rollback', detail: { action: 'opened', key: 'rollback', severity: 'P1', reason: 'error_rate_increase', title: '[P1] rolled back', from: null, to: 'open' } },
    'incident opened P1 (error_rate_increase): [P1] rolled back',
    'incident opened P1 (error_rate_increase): [P1] rolled back',
  ],
  [
    { ...base, eventId: 'incident:1:acknowledged', type: 'incident', actor: 'alice', detail: { action: 'acknowledged', incident: 'INC-r-1', n: 1, severity: 'P1', from: 'open', to: 'acknowledged', note: 'on it' } },
    'INC-r-1 acknowledged by alice: on it',
    'INC-r-1 acknowledged by alice: on it',
  ],
  [
    { ...base, eventId: 'handed_over', type: 'handed_over', detail: { to: 'production', eventBusArn: 'arn:aws:events:eu-west-1:333333333333:event-bus/bb-handover', bytes: 2869, sha256: SHA } },
    `handed over to production (artifact SHA-256 ${SHA.slice(0, 12)}…)`,
    `handed over to production (artifact SHA-256 ${SHA.slice(0, 12)}…)`,
  ],
  [
    { ...base, eventId: 'handover:staging:r-0', type: 'handover', actor: 'staging:111111111111', detail: { accepted: false, from: 'staging', account: '111111111111', sha256: null, message: 'sent from account 111111111111' } },
    'hand-over from staging (account 111111111111) REFUSED: sent from account 111111111111',
    'hand-over from staging (account 111111111111) REFUSED: sent from account 111111111111',
  ],
];

describe('describeEvent', () => {
  it('covers every type of event', () => {
    expect(new Set(CASES.map(([e]) => e.type))).toEqual(new Set(AUDIT_EVENT_TYPES));
  });

  it.each(CASES)('%j: history and summary', (event, history, summary) => {
    expect(AuditEventSchema.parse(event)).toEqual(event);
    expect(describeEvent(event)).toBe(history);
    expect(describeEvent(event, 'summary')).toBe(summary);
  });

  it.each(CASES)('%j reads back from a ledger item as written', (event, history, summary) => {
    const stored = eventOf(eventItem(event, 1));
    expect(stored).toEqual(event);
    expect([describeEvent(stored), describeEvent(stored, 'summary')]).toEqual([history, summary]);
  });
});

describe('events as stored', () => {
  it('a shrunk detail keeps what it kept and its `truncated` mark; what is gone reads as absent', () => {
    const stored = StoredAuditEventSchema.parse({ ...base, eventId: 'rejected', type: 'rejected', detail: { cause: 'invalid_manifest', truncated: { originalBytes: 500_000 }, preview: '{"cause"' } });
    expect(stored.detail).toEqual({ cause: 'invalid_manifest', truncated: { originalBytes: 500_000 }, preview: '{"cause"' });
    expect(describeEvent(stored)).toBe('invalid_manifest');
  });

  it('a field of the wrong type (an older writer) reads as absent, the rest as written', () => {
    const stored = StoredAuditEventSchema.parse({ ...base, eventId: 'phase_started:0', type: 'phase_started', weight: 1, detail: { monitorMinutes: 'sixty', looks: 12, requiresApproval: true } });
    expect(stored.detail.monitorMinutes).toBeUndefined();
    expect(describeEvent(stored)).toBe('1% for  min, 12 looks, approval required');
  });

  it('an item that is not an event of a known type is refused, naming it', () => {
    const item = { ...eventItem(CASES[0]![0], 1), type: 'renamed_type' };
    expect(() => eventOf(item)).toThrow(/audit event received: type/);
  });
});
