/**
 * The retrospective draft of a release (RELEASE.md §10.3: what went well, what could improve,
 * action items, lessons learned), prefilled from the ledger for people to finish: the timeline as
 * it happened, the rule that decided with its evidence, detection and recovery, who approved. Pure:
 * `builderbrain retro` reads the ledger and writes what this returns.
 */
import { describeEvent, type StoredAuditEvent } from './audit.js';
import type { ReleaseRecord } from './release-record.js';
import { onsetSentence, type PostRollbackReport } from './post-rollback.js';

const MINUTE_MS = 60_000;
const minutesBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / MINUTE_MS);

/** The facts a draft is built on, read from the timeline. */
interface Facts {
  readonly started: string;
  readonly ended: string;
  readonly phases: readonly number[];
  readonly failedGates: readonly string[];
  readonly rollback: StoredAuditEvent | undefined;
  readonly decidingLook: StoredAuditEvent | undefined;
  readonly approvals: readonly StoredAuditEvent[];
  readonly recovery: StoredAuditEvent | undefined;
  readonly hooksFailed: readonly StoredAuditEvent[];
  readonly smokeFailed: boolean;
}

function factsOf(record: ReleaseRecord, timeline: readonly StoredAuditEvent[]): Facts {
  const rollback = timeline.find((e) => e.type === 'rollback');
  const looks = timeline.filter((e) => e.type === 'analysis' || (e.type === 'bake' && e.detail.state === 'regressed'));
  return {
    started: timeline[0]?.at ?? record.receivedAt,
    ended: timeline[timeline.length - 1]?.at ?? record.updatedAt,
    phases: [...new Set(timeline.flatMap((e) => (e.type === 'phase_started' && e.weight !== undefined ? [e.weight] : [])))],
    failedGates: timeline.flatMap((e) => (e.type === 'gate_check' && e.detail.passed === false ? [String(e.detail.name)] : [])),
    rollback,
    decidingLook: rollback === undefined ? undefined : looks.filter((e) => e.at <= rollback.at).at(-1),
    approvals: timeline.filter((e) => e.type === 'approved' || e.type === 'approval_rejected'),
    recovery: timeline.find((e) => e.type === 'recovery'),
    hooksFailed: timeline.filter((e) => e.type === 'hook' && e.detail.passed === false),
    smokeFailed: timeline.some((e) => e.type === 'smoke_test' && e.detail.passed === false),
  };
}

/** What went well: what the pipeline did right, from the ledger (people add the rest). */
function wentWell(record: ReleaseRecord, f: Facts): string[] {
  const lines: string[] = [];
  if (f.failedGates.length === 0 && f.phases.length > 0) lines.push('Every promotion gate passed before any traffic moved.');
  if (f.rollback !== undefined) {
    const at = f.rollback.weight ?? record.weight;
    lines.push(`The regression was caught at ${at}% of traffic and rolled back ${f.rollback.detail.immediate === true ? 'at once' : 'automatically'} (${String(f.rollback.detail.reason)}, ${String(f.rollback.detail.severity)}), by ${f.rollback.actor}.`);
  }
  if (f.recovery?.type === 'recovery' && f.recovery.detail.recovered === true) lines.push(`The restored version was verified healthy again: ${String(f.recovery.detail.message)}.`);
  if (record.status === 'released' || record.status === 'promoted') lines.push(`The release reached 100% through ${f.phases.map((w) => `${w}%`).join(' → ')}.`);
  return lines.length > 0 ? lines : ['(to fill in)'];
}

/** What could improve: what failed or took long, from the ledger. */
function couldImprove(record: ReleaseRecord, f: Facts): string[] {
  const lines: string[] = [];
  if (f.failedGates.length > 0) lines.push(`Gates failed: ${f.failedGates.join(', ')} — could the shadow evaluation have shown it earlier?`);
  if (f.smokeFailed) lines.push('The smoke test failed on the deployed candidate: what did the pre-release tests miss?');
  for (const h of f.hooksFailed) if (h.type === 'hook') lines.push(`Verification hook ${String(h.detail.hook)} failed (${String(h.detail.stage)}): ${String(h.detail.message)}.`);
  if (f.rollback !== undefined && f.decidingLook !== undefined) lines.push(`Users at ${f.rollback.weight ?? record.weight}% of traffic saw the regression until it was rolled back: ${describeEvent(f.decidingLook)}.`);
  if (f.recovery?.type === 'recovery' && f.recovery.detail.recovered === false) lines.push(`The rollback did not restore health: ${String(f.recovery.detail.message)}.`);
  return lines.length > 0 ? lines : ['(to fill in)'];
}

/**
 * The Markdown draft.
 *
 * @example retroDraft(record, await ledger.timeline(record.releaseId))
 */
export function retroDraft(record: ReleaseRecord, timeline: readonly StoredAuditEvent[], analysis: PostRollbackReport | null = null): string {
  const f = factsOf(record, timeline);
  // The post-rollback analysis (core/post-rollback.ts), when there is one: failure mode, onset, candidate causes.
  const causes = analysis?.candidateCauses.slice(0, 5) ?? [];
  const analysed =
    analysis === null
      ? []
      : ['', '## Post-rollback analysis', '', `- Failure mode: ${analysis.failureMode.mode} (from ${analysis.failureMode.basis}).`, `- Estimated onset: ${onsetSentence(analysis)}.`, ...causes.map((c) => `- Candidate cause [${c.section}]: ${c.entry}${c.matched.length === 0 ? '' : ` (mentions ${c.matched.join(', ')})`}`)];
  const outcome = record.outcome === null ? record.status : `${record.outcome.status}${record.outcome.reason ? ` (${record.outcome.reason}${record.outcome.severity ? `, ${record.outcome.severity}` : ''})` : ''}`;
  const evidence = f.rollback === undefined ? [] : ['', '## The rule that decided', '', `- ${describeEvent(f.rollback)}`, ...(f.decidingLook === undefined ? [] : [`- ${describeEvent(f.decidingLook)}`])];
  const actions = [...(f.rollback === undefined ? [] : [`- [ ] Find the cause of ${String(f.rollback.detail.reason)} in ${record.version} (see the evidence above and ${causes.length > 0 ? 'the candidate causes of the analysis' : 'the changelog of its manifest'})`]), '- [ ] (owner, due date)'];
  return [
    `# Retrospective: ${record.model} ${record.version} (draft)`,
    '',
    `Release ${record.releaseId}: ${outcome}. From ${f.started} to ${f.ended} (${minutesBetween(f.started, f.ended)} min); phases ${f.phases.length === 0 ? 'none' : f.phases.map((w) => `${w}%`).join(' → ')}.`,
    f.approvals.length === 0 ? 'No approval was given or refused.' : `Approvals: ${f.approvals.map((a) => `${a.type === 'approved' ? 'approved' : 'rejected'} by ${a.actor} (phase ${(a.phase ?? 0) + 1})`).join('; ')}.`,
    ...evidence,
    ...analysed,
    '',
    '## Timeline (from the audit ledger)',
    '',
    ...timeline.filter((e) => e.type !== 'analysis' || e === f.decidingLook).map((e) => `- ${e.at} — ${e.type}${e.weight === undefined ? '' : ` at ${e.weight}%`}: ${describeEvent(e)} (${e.actor})`),
    '',
    '## What went well',
    '',
    ...wentWell(record, f).map((l) => `- ${l}`),
    '',
    '## What could improve',
    '',
    ...couldImprove(record, f).map((l) => `- ${l}`),
    '',
    '## Action items',
    '',
    ...actions,
    '',
    '## Lessons learned',
    '',
    '- (to fill in)',
    '',
  ].join('\n');
}
