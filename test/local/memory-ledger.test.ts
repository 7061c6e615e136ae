/**
 * The in-memory ledger keeps what the DynamoDB ledger keeps, the same way (issue 11, items 6–8):
 * the timeline in the order of the appends (a per-release sequence), not by the writers' clocks;
 * the releases in flight from an index of active ones, not a window of the newest; every item
 * within DynamoDB's 400 KB limit counted in UTF-8 bytes.
 */
import { ledgerBackend } from '../support/backend.js';
import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../cli/commands/status.js';
import type { CliIO } from '../../cli/common.js';
import type { OperatorBackend } from '../../cli/ops.js';
import type { AuditEvent, ReleaseRecord, StoredAuditEvent } from '../../core/ports.js';
import { looseEvent, type LooseEvent } from '../support/events.js';
import { MemoryLedger } from '../../local/memory.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes, wellFormed } from '../lambdas/dynamo-size.js';
import { baseRecord } from './ledger-fixtures.js';

const ev = (eventId: string, at: string, type: AuditEvent['type'] = 'analysis', over: Partial<LooseEvent> = {}): AuditEvent =>
  looseEvent({ releaseId: 'r-1', eventId, at, type, actor: 'step:AnalyzeCanary', detail: {}, ...over });

/** A string of `chars` CJK characters: 3 UTF-8 bytes, 1 UTF-16 unit each. */
const cjk = (chars: number) => '界'.repeat(chars);
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
const storedEventBytes = (e: AuditEvent | StoredAuditEvent) => {
  const { detail, ...rest } = e;
  return dynamoItemBytes({ ...rest, pk: `RELEASE#${e.releaseId}`, sk: `EVENT#${e.eventId}`, seq: 1, entity: 'event', detailJson: JSON.stringify(detail) });
};

describe('MemoryLedger: the timeline is in the order of the appends', () => {
  it("an approval from an operator whose clock is three minutes slow comes after the analysis that preceded it", async () => {
    const ledger = new MemoryLedger();
    await ledger.append(ev('analysis:0:0060', '2025-03-01T11:00:00.000Z'));
    await ledger.append(ev('approval_requested:0', '2025-03-01T11:00:01.000Z', 'approval_requested'));
    await ledger.append(ev('approved:0', '2025-03-01T10:57:30.000Z', 'approved', { actor: 'arn:aws:sts::123456789012:assumed-role/approver/alice' }));
    expect((await ledger.timeline('r-1')).map((e) => e.type)).toEqual(['analysis', 'approval_requested', 'approved']);
  });

  it('a receivedAt without fractional seconds stays before its own validated', async () => {
    const ledger = new MemoryLedger();
    await ledger.append(ev('received', '2025-03-01T10:00:00Z', 'received'));
    await ledger.append(ev('validated', '2025-03-01T10:00:00.000Z', 'validated'));
    expect((await ledger.timeline('r-1')).map((e) => e.type)).toEqual(['received', 'validated']);
  });

  it('events of the same instant keep the order of their appends (not their eventIds)', async () => {
    const ledger = new MemoryLedger();
    for (const id of ['z', 'b', 'y', 'a']) await ledger.append(ev(id, '2025-03-01T10:00:00.000Z'));
    expect((await ledger.timeline('r-1')).map((e) => e.eventId)).toEqual(['z', 'b', 'y', 'a']);
  });

  it('a duplicate append changes nothing, and neither its time nor its place', async () => {
    const ledger = new MemoryLedger();
    await ledger.append(ev('a', '2025-03-01T10:00:00.000Z'));
    await ledger.append(ev('b', '2025-03-01T10:01:00.000Z'));
    expect(await ledger.append(ev('a', '2025-03-01T10:05:00.000Z'))).toBe('duplicate');
    expect((await ledger.timeline('r-1')).map((e) => [e.eventId, e.at])).toEqual([
      ['a', '2025-03-01T10:00:00.000Z'],
      ['b', '2025-03-01T10:01:00.000Z'],
    ]);
  });
});

describe('MemoryLedger: releases in flight come from an index of active releases', () => {
  /** One release waiting for approval, then `ended` newer releases rejected. */
  async function waitingThenRejected(ended: number): Promise<MemoryLedger> {
    const ledger = new MemoryLedger();
    await ledger.createRelease(baseRecord('waiting', '2025-03-01T09:00:00.000Z'));
    await ledger.transition('waiting', ['received'], 'awaiting_approval', { phase: 1, weight: 10 });
    for (let i = 0; i < ended; i++) {
      const id = `rejected-${String(i).padStart(3, '0')}`;
      await ledger.createRelease(baseRecord(id, `2025-03-01T10:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`));
      await ledger.transition(id, ['received'], 'rejected');
    }
    return ledger;
  }

  it('a release waiting for approval is listed however many newer releases were rejected since', async () => {
    const ledger = await waitingThenRejected(150);
    expect((await ledger.listActiveReleases()).map((r) => r.releaseId)).toEqual(['waiting']);
  });

  it('a release leaves the index at its terminal transition, newest first', async () => {
    const ledger = new MemoryLedger();
    await ledger.createRelease(baseRecord('a', '2025-03-01T09:00:00.000Z'));
    await ledger.createRelease(baseRecord('b', '2025-03-01T10:00:00.000Z'));
    await ledger.transition('a', ['received'], 'rolling_back');
    expect((await ledger.listActiveReleases()).map((r) => r.releaseId)).toEqual(['b', 'a']);
    await ledger.transition('a', ['rolling_back'], 'rolled_back');
    await ledger.transition('b', ['received'], 'released');
    expect(await ledger.listActiveReleases()).toEqual([]);
  });

  it('`builderbrain status` shows the waiting release, and how to answer it, after 100 newer rejections', async () => {
    const ledger = await waitingThenRejected(100);
    let stdout = '';
    const io: CliIO = { stdout: (s) => void (stdout += s), stderr: () => {}, readFile: async () => '', isTTY: false };
    const backend: OperatorBackend = ledgerBackend('the test ledger', ledger);
    expect(await statusCommand(io, backend, undefined, { json: false, local: false, stack: 'S', stateDir: '.x' })).toBe(0);
    expect(stdout).toContain('Releases in flight in the test ledger');
    expect(stdout).toContain('waiting waits for approval of phase 2 (10%)');
    stdout = '';
    await statusCommand(io, backend, undefined, { json: true, local: false, stack: 'S', stateDir: '.x' });
    expect((JSON.parse(stdout) as { releases: ReleaseRecord[] }).releases.map((r) => r.releaseId)).toEqual(['waiting']);
  });
});

describe('MemoryLedger: every item within DynamoDB\'s 400 KB, in UTF-8 bytes', () => {
  it('a detail over 400 KB in bytes (under 300,000 characters) is stored shrunk, marked truncated, within the limit', async () => {
    const ledger = new MemoryLedger();
    const issues = Array.from({ length: 3000 }, (_, i) => ({ path: `tests.未知字段${cjk(30)}${i}`, message: 'unknown field' }));
    const detail = { cause: 'invalid_manifest', severity: 'P3', issues };
    expect(JSON.stringify(detail).length).toBeLessThan(300_000);
    expect(utf8(JSON.stringify(detail))).toBeGreaterThan(DYNAMODB_ITEM_LIMIT);
    expect(await ledger.append(ev('rejected', '2025-03-01T10:00:00.000Z', 'rejected', { detail }))).toBe('appended');
    const [stored] = await ledger.timeline('r-1');
    expect(storedEventBytes(stored!)).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
    // The shape is kept: the cause, and the first issues as they were.
    expect(stored!.detail).toMatchObject({ cause: 'invalid_manifest', severity: 'P3', truncated: { originalBytes: utf8(JSON.stringify(detail)) } });
    const kept = stored!.detail['issues'] as unknown[];
    expect(kept.length).toBeGreaterThan(1000);
    expect(kept).toEqual(issues.slice(0, kept.length));
    expect(stored!.detail['truncated']).toMatchObject({ omitted: { issues: 3000 - kept.length } });
  });

  it('text is cut on a character boundary: never inside a surrogate pair or a UTF-8 sequence', async () => {
    const ledger = new MemoryLedger();
    // Odd offsets everywhere: a cut at a fixed character count would split a pair.
    await ledger.append(ev('a', '2025-03-01T10:00:00.000Z', 'analysis', { detail: { x: `a${'😀'.repeat(150_000)}` } }));
    await ledger.append(ev('b', '2025-03-01T10:00:00.000Z', 'analysis', { detail: { nested: { deep: [`ab${'😀界'.repeat(70_000)}`] } } }));
    for (const e of await ledger.timeline('r-1')) {
      expect(storedEventBytes(e)).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
      expect(wellFormed(e.detail)).toBe(true);
      expect(e.detail['truncated']).toBeDefined();
    }
  });

  it('a record update with a field too large is stored shortened; the record stays within the limit', async () => {
    const ledger = new MemoryLedger();
    await ledger.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    await ledger.update('r-1', { lastVerdict: { verdict: 'fail', summary: `x${'😀'.repeat(200_000)}`, at: '2025-03-01T10:05:00.000Z' } });
    await ledger.transition('r-1', ['received'], 'rejected', { outcome: { status: 'rejected', reason: cjk(300_000), severity: 'P3', at: '2025-03-01T10:06:00.000Z' } });
    const r = (await ledger.getRelease('r-1'))!;
    expect(r.status).toBe('rejected');
    expect(r.lastVerdict!.summary.startsWith('x😀')).toBe(true);
    expect(wellFormed(r)).toBe(true);
    expect(dynamoItemBytes({ ...r, pk: 'STATE#r-1', sk: 'RECORD', gsi1pk: 'RELEASES', gsi1sk: r.receivedAt })).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
  });

  it('a write DynamoDB would refuse is refused, as DynamoDB refuses it, and nothing is stored', async () => {
    const ledger = new MemoryLedger();
    await ledger.createRelease(baseRecord('r-1', '2025-03-01T10:00:00.000Z'));
    // 20,000 approvals: no string to shorten makes this field fit.
    const approvers = Array.from({ length: 20_000 }, (_, i) => ({ phase: i, identity: 'x', at: '2025-03-01T10:00:00.000Z', decision: 'approved' as const }));
    await expect(ledger.update('r-1', { approvers })).rejects.toThrow(/ValidationException/);
    expect((await ledger.getRelease('r-1'))!.approvers).toEqual([]);
  });
});
