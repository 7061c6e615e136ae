/**
 * How the operator commands show releases and their audit timelines (text; `--json` prints the
 * records themselves). Pure functions of ledger data: the same for a deployed stack and `--local`.
 */
import { trailEntry } from '../core/app/hand-over.js';
import { STANDALONE_ENVIRONMENT } from '../core/environments.js';
import type { HandoverRecord, TrailEntry } from '../core/handover.js';
import { describeEvent, type StoredAuditEvent } from '../core/audit.js';
import { IN_FLIGHT_STATUSES, operatorOffers, type OperatorAction } from '../core/lifecycle.js';
import type { ReleaseRecord, ReleaseStatus } from '../core/ports.js';
import { formatTable, type Style } from './common.js';

/** Statuses a release can still be acted on in (rolling_back: a rollback is under way). */
export const IN_FLIGHT: readonly ReleaseStatus[] = IN_FLIGHT_STATUSES;

const oneLine = (s: string, max = 100): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** `2` for phase index 1; `—` before the canary. */
const phaseLabel = (phase: number | null | undefined): string => (phase === null || phase === undefined ? '—' : String(phase + 1));

export function statusColour(style: Style, status: ReleaseStatus): string {
  switch (status) {
    case 'promoted':
    case 'released':
      return style.green(status);
    case 'awaiting_approval':
    case 'baking':
    case 'rolling_back':
      return style.yellow(status);
    case 'rolled_back':
    case 'rejected':
      return style.red(status);
    default:
      return status;
  }
}

const verdictText = (r: ReleaseRecord): string => (r.lastVerdict === null ? '—' : oneLine(`${r.lastVerdict.verdict}: ${r.lastVerdict.summary}`, 70));

/** The table of `builderbrain status`: one row per release. */
export function releasesTable(records: readonly ReleaseRecord[], style: Style): string {
  return formatTable(
    ['RELEASE', 'VERSION', 'STATUS', 'PHASE', 'WEIGHT', 'LAST VERDICT', 'UPDATED'],
    records.map((r) => [style.bold(r.releaseId), r.version, statusColour(style, r.status), phaseLabel(r.phase), `${r.weight}%`, verdictText(r), r.updatedAt]),
  );
}

const COMMAND: { readonly [A in OperatorAction]: (releaseId: string, flags: string) => string } = {
  approve: (id, flags) => `builderbrain approve ${id}${flags}`,
  reject: (id, flags) => `builderbrain reject ${id} --reason "…"${flags}`,
  rollback: (id, flags) => `builderbrain rollback ${id} --reason "…"${flags}`,
};

/** What the operator can do next, as commands (core/lifecycle.ts: what the release's status offers). */
export function nextSteps(r: ReleaseRecord, flags = ''): string[] {
  return operatorOffers(r.status).map((action) => COMMAND[action](r.releaseId, flags));
}

/** What the release deployed and next to what (the plan recorded by DeployCandidate). */
export function deploymentText(r: ReleaseRecord): string {
  const d = r.deployment ?? null;
  if (d === null) return '—';
  const size = (n: number | null, t: string | null) => (n === null || t === null ? '' : ` (${n}× ${t})`);
  const candidate = `candidate ${d.candidate.model ?? (d.candidate.version === null ? '?' : `version ${d.candidate.version}`)}${size(d.candidate.instanceCount, d.candidate.instanceType)} in ${d.candidate.slot}`;
  const baseline = d.baseline === null ? 'no baseline (a first release)' : `baseline ${d.baseline.model ?? `version ${d.baseline.config ?? '?'}`} in ${d.baseline.slot}`;
  return `${d.target} ${d.resource}: ${candidate}; ${baseline}`;
}

/** `builderbrain status <id>`: one release, field by field. */
export function releaseDetail(r: ReleaseRecord, style: Style, flags = ''): string {
  const where = r.phase === null ? '' : ` (phase ${r.phase + 1}, ${r.weight}% canary traffic)`;
  const rows: [string, string][] = [
    ['release', r.releaseId],
    ['model', `${r.model} ${r.version}`],
    ...(r.hotfix == null ? [] : [['hotfix', `${style.yellow(`HOTFIX for ${r.hotfix.incident}`)}, requested by ${r.hotfix.requestedBy}: ${oneLine(r.hotfix.reason, 160)}\napprovals need an identity other than ${r.hotfix.requestedBy}`] as [string, string]]),
    ['status', `${statusColour(style, r.status)}${where}`],
    ['last verdict', r.lastVerdict === null ? '—' : `${r.lastVerdict.verdict} at ${r.lastVerdict.at}: ${oneLine(r.lastVerdict.summary, 200)}`],
    [
      'approvals',
      r.approvers.length === 0 ? '—' : r.approvers.map((a) => `phase ${a.phase + 1} ${a.decision} by ${a.identity} at ${a.at}`).join('\n'),
    ],
    ['outcome', r.outcome === null ? '—' : `${r.outcome.status}${r.outcome.reason ? ` (${r.outcome.reason}${r.outcome.severity ? `, ${r.outcome.severity}` : ''})` : ''} at ${r.outcome.at}`],
    ['deployment', deploymentText(r)],
    ...postReleaseRows(r),
    ['received', r.receivedAt],
    ['updated', r.updatedAt],
    ['execution', r.canaryExecutionArn ?? '—'],
  ];
  const steps = nextSteps(r, flags);
  if (steps.length > 0) rows.push(['next', steps.join('\n')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows
    .map(([k, v]) => v.split('\n').map((line, i) => `${i === 0 ? style.bold(k.padEnd(width)) : ' '.repeat(width)}  ${line}`).join('\n'))
    .join('\n')
    .concat('\n');
}

/** The bake's progress, the recovery check, and where the release notes of the version are. */
function postReleaseRows(r: ReleaseRecord): [string, string][] {
  const rows: [string, string][] = [];
  const b = r.bake;
  if (b != null) {
    const against = b.reference === null ? 'no reference window yet' : `against the previous version a ${b.reference} before`;
    const state = r.status === 'baking' ? `baking: ${b.watchedMinutes}/${b.plannedMinutes} min (${Math.round((100 * b.watchedMinutes) / Math.max(1, b.plannedMinutes))}%), until ${b.endsAt}` : r.status === 'released' ? `ended clean after ${b.plannedMinutes} min: released` : `stopped after ${b.watchedMinutes}/${b.plannedMinutes} min`;
    rows.push(['bake', `${state}; ${against}${b.lastVerdict === null ? '' : `\nlast look ${b.lastVerdict.at}: ${oneLine(`${b.lastVerdict.verdict}: ${b.lastVerdict.summary}`, 150)}`}`]);
  }
  if (r.recovery != null) rows.push(['recovery', `${r.recovery.recovered ? 'verified healthy' : 'NOT RECOVERED (P0 paged)'} at ${r.recovery.at}: ${oneLine(r.recovery.message, 160)}`]);
  rows.push(['release notes', `s3://${r.source.bucket}/${r.source.key} → aws s3 cp s3://${r.source.bucket}/${r.source.key} release.json && builderbrain notes release.json`]);
  return rows;
}

/** The table of `builderbrain history`: one row per audit event, oldest first. */
export function timelineTable(events: readonly StoredAuditEvent[], style: Style): string {
  return formatTable(
    ['AT', 'EVENT', 'ACTOR', 'PHASE', 'WEIGHT', 'DETAIL'],
    events.map((e) => {
      const type = e.type === 'rollback' || e.type === 'rollback_failed' || e.type === 'approval_rejected' ? style.red(e.type) : e.type === 'promoted' || e.type === 'approved' ? style.green(e.type) : e.type;
      return [e.at, type, e.actor, phaseLabel(e.phase), e.weight === undefined ? '—' : `${e.weight}%`, oneLine(describeEvent(e), 160)];
    }),
  );
}

/**
 * The release across the environments (`status`, `history`): each environment's stage from the
 * hand-over trail this environment received, then this environment's own — where it is, what
 * passed, who approved. `only` narrows it to one environment.
 */
export function chainStages(record: ReleaseRecord, events: readonly StoredAuditEvent[], handover: HandoverRecord | null, only?: string): TrailEntry[] {
  const here = handover?.to ?? 'this environment';
  const own = trailEntry(record, events, { ...STANDALONE_ENVIRONMENT, name: ENV_NAME.test(here) ? here : 'production' }, null);
  const stages = [...(handover?.trail ?? []), { ...own, environment: here }];
  return only === undefined ? stages : stages.filter((t) => t.environment === only);
}

const ENV_NAME = /^[a-z][a-z0-9-]{1,23}$/;

/** The chain as a table: one row per environment. */
export function chainTable(stages: readonly TrailEntry[], style: Style): string {
  return formatTable(
    ['ENVIRONMENT', 'OUTCOME', 'RELEASE', 'PHASES', 'HOOKS', 'DRILL', 'APPROVED BY'],
    stages.map((t) => [
      t.environment,
      t.outcome === 'promoted' ? style.green(t.outcome) : t.outcome === 'in_progress' ? t.outcome : style.red(t.outcome),
      t.releaseId,
      t.phases.length === 0 ? '—' : t.phases.map((w) => `${w}%`).join(' → '),
      t.hooks.length === 0 ? '—' : `${t.hooks.filter((h) => h.passed).length}/${t.hooks.length} passed${t.hooks.some((h) => !h.passed) ? ` (${t.hooks.filter((h) => !h.passed).map((h) => h.hook).join(', ')} failed)` : ''}`,
      t.drill === null ? '—' : t.drill.passed ? 'passed' : style.red('FAILED'),
      t.approvals.length === 0 ? '—' : t.approvals.map((a) => `${a.by} (phase ${a.phase + 1})`).join(', '),
    ]),
  );
}
