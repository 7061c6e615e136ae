/**
 * An invalid manifest is always rejected, audited and notified — however large (issue 11, item 6).
 * A 243 KB manifest with 3,000 unknown fields of non-Latin names: its rejection detail is over
 * DynamoDB's 400 KB item limit in UTF-8 bytes while under 300,000 UTF-16 characters (what the
 * ledger used to count), and its issue list is over Step Functions' 256 KiB payload limit. Through
 * the real use cases, on the in-memory ledger, which enforces DynamoDB's limit in bytes.
 */
import { describe, expect, it } from 'vitest';
import { rejectRelease } from '../../core/app/reject-release.js';
import { validateManifest } from '../../core/app/validate-manifest.js';
import { RejectInputSchema } from '../../core/contracts.js';
import { MAX_MANIFEST_BYTES, parseManifestText } from '../../core/manifest.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes, wellFormed } from '../lambdas/dynamo-size.js';
import { MANIFEST_TEXT, upload, world } from './helpers.js';

/** Step Functions refuses a state's input or output over 256 KiB. */
const SFN_PAYLOAD_LIMIT = 256 * 1024;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** The example manifest with `count` unknown fields named in CJK (3 UTF-8 bytes, 1 UTF-16 unit each). */
function hugeManifest(count = 3000): string {
  const m = JSON.parse(MANIFEST_TEXT) as { shadowEvaluation: { tests: Record<string, unknown> } };
  for (let i = 0; i < count; i++) m.shadowEvaluation.tests[`未知字段${'键'.repeat(20)}${String(i).padStart(4, '0')}`] = 0;
  return JSON.stringify(m);
}

describe('a huge invalid manifest', () => {
  it('is what the defect report describes: under the manifest limit, a rejection detail over 400 KB in bytes but not in characters', () => {
    const text = hugeManifest();
    expect(utf8(text)).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    expect(utf8(text)).toBeGreaterThan(240_000);
    const parsed = parseManifestText(text);
    expect(parsed.ok).toBe(false);
    const detail = JSON.stringify({ cause: 'invalid_manifest', severity: 'P3', issues: parsed.ok ? [] : parsed.issues });
    expect(detail.length).toBeLessThan(300_000); // the old character guard let it through
    expect(utf8(detail)).toBeGreaterThan(DYNAMODB_ITEM_LIMIT); // DynamoDB refuses it
  });

  it('is rejected, audited and notified (P3); every payload within Step Functions\' limit, every ledger item within DynamoDB\'s', async () => {
    const w = world();
    const input = upload(w, hugeManifest());
    const validation = await validateManifest(input, w);
    expect(validation.valid).toBe(false);

    // The state machine carries the validation to RejectRelease: it must fit a Step Functions payload.
    const rejectInput = { releaseId: input.releaseId, cause: 'invalid_manifest' as const, validation };
    expect(utf8(JSON.stringify(validation))).toBeLessThan(SFN_PAYLOAD_LIMIT);
    expect(utf8(JSON.stringify({ ...input, validation }))).toBeLessThan(SFN_PAYLOAD_LIMIT);
    expect(RejectInputSchema.parse(rejectInput)).toEqual(rejectInput);
    // The first issues by name, the rest counted.
    expect(validation.issues.length).toBeLessThanOrEqual(101);
    expect(validation.issues[0]).toEqual({ path: expect.stringContaining('shadowEvaluation.tests.未知字段'), message: 'unknown field' });
    expect(validation.issues.at(-1)!.message).toContain('3000 in all');

    const out = await rejectRelease(rejectInput, w);
    expect(out).toEqual({ outcome: 'rejected', cause: 'invalid_manifest', then: 'done' });

    expect(await w.ledger.getRelease(input.releaseId)).toMatchObject({ status: 'rejected', outcome: { status: 'rejected', reason: 'invalid_manifest', severity: 'P3' } });
    const incidents = w.notifier.of('incident');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ severity: 'P3', reason: 'rejected', releaseId: input.releaseId });
    expect(incidents[0]!.text).toContain('3000 in all');

    const timeline = await w.ledger.timeline(input.releaseId);
    expect(timeline.map((e) => e.type)).toEqual(['received', 'rejected']);
    const rejected = timeline[1]!;
    expect(rejected.detail).toMatchObject({ cause: 'invalid_manifest', severity: 'P3' });
    for (const e of timeline) {
      const { detail, ...rest } = e;
      expect(dynamoItemBytes({ ...rest, pk: `RELEASE#${e.releaseId}`, sk: `EVENT#${e.eventId}`, seq: 1, detailJson: JSON.stringify(detail) })).toBeLessThanOrEqual(DYNAMODB_ITEM_LIMIT);
    }
  });

  it('with a 256 KiB unknown field name: the issue is shortened on a character boundary, the payload still fits', async () => {
    const m = JSON.parse(MANIFEST_TEXT) as Record<string, unknown>;
    m[`😀${'界'.repeat(80_000)}`] = 1;
    const text = JSON.stringify(m);
    expect(utf8(text)).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    const w = world();
    const input = upload(w, text);
    const validation = await validateManifest(input, w);
    expect(validation.valid).toBe(false);
    expect(utf8(JSON.stringify(validation))).toBeLessThan(16 * 1024);
    expect(validation.issues[0]!.path.startsWith('😀界')).toBe(true);
    expect(wellFormed(validation.issues[0]!.path)).toBe(true);
    await rejectRelease({ releaseId: input.releaseId, cause: 'invalid_manifest', validation }, w);
    expect((await w.ledger.getRelease(input.releaseId))?.status).toBe('rejected');
    expect(w.notifier.of('incident')).toHaveLength(1);
  });
});
