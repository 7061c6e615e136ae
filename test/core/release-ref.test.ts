/** core/release-ref.ts: naming a release by id, <model>@<version> or model; the lineage. */
import { describe, expect, it } from 'vitest';
import { parseReleaseRef, previousRelease, resolveReleaseRef, rollbackTargetIssue } from '../../core/release-ref.js';
import { operatorRollbackPlan } from '../../core/rollback.js';
import type { ReleaseStatus } from '../../core/lifecycle.js';
import type { ReleaseRecord } from '../../core/release-record.js';
import { baseRecord } from '../local/ledger-fixtures.js';

const rec = (id: string, version: string, status: ReleaseStatus, at: string) => baseRecord(id, at, { version, status });
const records = [
  rec('builderbrain-2_2_0-cccccccc', '2.2.0', 'canary', '2026-01-07T09:00:00.000Z'),
  rec('builderbrain-2_1_0-bbbbbbbb', '2.1.0', 'released', '2026-01-06T09:00:00.000Z'),
  rec('builderbrain-2_1_0-aaaaaaaa', '2.1.0', 'rolled_back', '2026-01-05T09:00:00.000Z'),
  rec('builderbrain-2_0_9-99999999', '2.0.9', 'released', '2026-01-04T09:00:00.000Z'),
];

describe('naming a release', () => {
  it.each([
    ['builderbrain-2_1_0-1a2b3c4d', { kind: 'id', id: 'builderbrain-2_1_0-1a2b3c4d' }],
    ['builderbrain@2.1.0', { kind: 'version', model: 'builderbrain', version: '2.1.0' }],
    ['builderbrain@2.1.0-rc.1+b7', { kind: 'version', model: 'builderbrain', version: '2.1.0-rc.1+b7' }],
    ['builderbrain', { kind: 'model', model: 'builderbrain' }],
    ['my-model-2', { kind: 'model', model: 'my-model-2' }],
  ])('%s', (text, ref) => expect(parseReleaseRef(text)).toEqual(ref));

  it.each(['', '@2.1.0', 'Builder@2.1.0', 'a@b@c', 'has space'])('refuses %j', (text) => expect(parseReleaseRef(text)).toBeNull());

  it('<model>@<version>: the release in flight, else the newest of that version', () => {
    expect(resolveReleaseRef({ kind: 'version', model: 'builderbrain', version: '2.1.0' }, records)).toEqual({ ok: true, releaseId: 'builderbrain-2_1_0-bbbbbbbb' });
    expect(resolveReleaseRef({ kind: 'version', model: 'builderbrain', version: '2.2.0' }, records)).toEqual({ ok: true, releaseId: 'builderbrain-2_2_0-cccccccc' });
  });

  it('a model: its release in flight, else its newest in production; none or several, the candidates', () => {
    expect(resolveReleaseRef({ kind: 'model', model: 'builderbrain' }, records)).toEqual({ ok: true, releaseId: 'builderbrain-2_2_0-cccccccc' });
    expect(resolveReleaseRef({ kind: 'model', model: 'builderbrain' }, records.slice(1))).toEqual({ ok: true, releaseId: 'builderbrain-2_1_0-bbbbbbbb' });
    const two = [rec('builderbrain-2_3_0-dddddddd', '2.3.0', 'awaiting_approval', '2026-01-08T09:00:00.000Z'), ...records];
    const r = resolveReleaseRef({ kind: 'model', model: 'builderbrain' }, two);
    expect(r).toMatchObject({ ok: false, message: 'builderbrain has 2 releases in flight: give one release id or builderbrain@<version>' });
    expect(resolveReleaseRef({ kind: 'model', model: 'other' }, records)).toMatchObject({ ok: false, candidates: [] });
  });

  it('the lineage: what reached production before it', () => {
    expect(previousRelease(records[0]!, records)?.version).toBe('2.1.0');
    expect(previousRelease(records[1]!, records)?.version).toBe('2.0.9');
    expect(previousRelease(records[3]!, records)).toBeNull();
  });
});

describe('an operator rollback: how it goes, and to what', () => {
  it.each([
    ['canary', false, false, { via: 'traffic', step: 'now' }],
    ['baking', true, false, { via: 'traffic', step: 'now' }],
    ['baking', false, false, { via: 'traffic', step: 'request' }],
    ['baking', false, true, { via: 'traffic', step: 'approve' }],
    ['released', true, false, { via: 'rerelease', step: 'now' }],
    ['released', false, false, { via: 'rerelease', step: 'request' }],
    ['released', false, true, { via: 'rerelease', step: 'approve' }],
  ] as const)('%s, emergency %s, approve %s → %j', (status, emergency, approve, plan) => {
    expect(operatorRollbackPlan(status, { emergency, approve })).toEqual(plan);
  });

  it('--to must be the version that served before', () => {
    expect(rollbackTargetIssue(records[1]!, records[3]!, '2.0.9')).toBeNull();
    expect(rollbackTargetIssue(records[1]!, records[3]!, '2.0.5')).toMatch(/--to 2.0.5: builderbrain 2.1.0 goes back to what served before it, and it replaced 2.0.9/);
    expect(rollbackTargetIssue(records[3]!, null, '2.0.1')).toMatch(/no earlier release of it is in the ledger/);
  });
});

describe('an id that reads like a model name', () => {
  it('names its release when no release has that model', () => {
    const r = { releaseId: 'canary-7', model: 'builderbrain', version: '2.1.0', status: 'canary', receivedAt: '2026-01-05T09:00:00.000Z' } as ReleaseRecord;
    expect(parseReleaseRef('canary-7')).toEqual({ kind: 'model', model: 'canary-7' });
    expect(resolveReleaseRef({ kind: 'model', model: 'canary-7' }, [r])).toEqual({ ok: true, releaseId: 'canary-7' });
    expect(resolveReleaseRef({ kind: 'model', model: 'canary-8' }, [r])).toMatchObject({ ok: false });
  });
});
