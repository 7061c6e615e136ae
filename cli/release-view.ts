/**
 * How the operator commands show releases and their audit timelines (text; `--json` prints the
 * records themselves). Pure functions of ledger data: the same for a deployed stack and `--local`.
 */
import type { AuditEvent, ReleaseRecord, ReleaseStatus } from '../core/ports.js';
import { formatTable, type Style } from './common.js';

/** Statuses a release can still be acted on in (rolling_back: a rollback is under way). */
export const IN_FLIGHT: readonly ReleaseStatus[] = ['received', 'gated', 'canary', 'awaiting_approval', 'rolling_back'];

const oneLine = (s: string, max = 100): string => {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** `2` for phase index 1; `—` before the canary. */
const phaseLabel = (phase: number | null | undefined): string => (phase === null || phase === undefined ? '—' : String(phase + 1));

export function statusColour(style: Style, status: ReleaseStatus): string {
  switch (status) {
    case 'promoted':
      return style.green(status);
    case 'awaiting_approval':
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

/** What the operator can do next, as commands (empty for a release that has ended). */
export function nextSteps(r: ReleaseRecord, flags = ''): string[] {
  switch (r.status) {
    case 'awaiting_approval':
      return [
        `builderbrain approve ${r.releaseId}${flags}`,
        `builderbrain reject ${r.releaseId} --reason "…"${flags}`,
      ];
    case 'canary':
    case 'received':
    case 'gated':
      return [`builderbrain rollback ${r.releaseId} --reason "…"${flags}`];
    default:
      return [];
  }
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
    ['status', `${statusColour(style, r.status)}${where}`],
    ['last verdict', r.lastVerdict === null ? '—' : `${r.lastVerdict.verdict} at ${r.lastVerdict.at}: ${oneLine(r.lastVerdict.summary, 200)}`],
    [
      'approvals',
      r.approvers.length === 0 ? '—' : r.approvers.map((a) => `phase ${a.phase + 1} ${a.decision} by ${a.identity} at ${a.at}`).join('\n'),
    ],
    ['outcome', r.outcome === null ? '—' : `${r.outcome.status}${r.outcome.reason ? ` (${r.outcome.reason}${r.outcome.severity ? `, ${r.outcome.severity}` : ''})` : ''} at ${r.outcome.at}`],
    ['deployment', deploymentText(r)],
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

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** One line saying what an audit event recorded. */
export function eventText(e: AuditEvent): string {
  const d = e.detail;
  switch (e.type) {
    case 'received':
      return `manifest s3://${str(d['bucket'])}/${str(d['key'])}${d['versionId'] ? ` (version ${str(d['versionId'])})` : ''}`;
    case 'validated':
      return `valid manifest of ${str(d['model'])} ${str(d['version'])}`;
    case 'rejected': {
      const issues = Array.isArray(d['issues']) ? `: ${d['issues'].map((i) => `${str((i as Record<string, unknown>)['path']) || '(root)'} ${str((i as Record<string, unknown>)['message'])}`).join('; ')}` : '';
      const failed = Array.isArray(d['failedChecks']) ? `: ${d['failedChecks'].map((c) => str((c as Record<string, unknown>)['name'])).join(', ')} failed` : '';
      const holder = d['holder'] ? `: ${str(d['holder'])} holds the lock` : '';
      return `${str(d['cause'])}${issues}${failed}${holder}`;
    }
    case 'lock_acquired':
      return `lock on ${str(d['model'])}${d['takenOverFrom'] ? ` (taken over from ${str(d['takenOverFrom'])})` : ''}`;
    case 'lock_released':
      return `lock on ${str(d['model'])} released`;
    case 'gate_check':
      return `${str(d['name'])}: ${d['passed'] ? 'pass' : 'FAIL'} — ${str(d['message'])}`;
    case 'phase_started':
      return `${e.weight ?? '?'}% for ${str(d['monitorMinutes'])} min, ${str(d['looks'])} looks${d['requiresApproval'] ? ', approval required' : ''}`;
    case 'analysis':
      return `look ${str(d['iteration'])}/${str(d['looks'])}: ${str(d['verdict'])} → ${str(d['action'])}; ${str(d['summary'])}`;
    case 'approval_requested':
      return `waiting for approval${d['verdict'] ? ` (verdict ${str(d['verdict'])})` : ''}`;
    case 'approved':
      return `approved by ${e.actor}`;
    case 'approval_rejected':
      return `rejected by ${e.actor}: ${str(d['reason'])}`;
    case 'rollback':
      return `${str(d['reason'])} ${str(d['severity'])} (${str(d['trigger'])}): ${str(d['title'])}`;
    case 'rollback_failed':
      return `ROLLBACK FAILED (${str(d['rollbackReason'])}): ${str(d['error'])}`;
    case 'promoted':
      return `${str(d['version'])} promoted`;
    default: {
      const summary = d['summary'] ?? d['reason'] ?? d['message'] ?? '';
      return str(summary);
    }
  }
}

/** The table of `builderbrain history`: one row per audit event, oldest first. */
export function timelineTable(events: readonly AuditEvent[], style: Style): string {
  return formatTable(
    ['AT', 'EVENT', 'ACTOR', 'PHASE', 'WEIGHT', 'DETAIL'],
    events.map((e) => {
      const type = e.type === 'rollback' || e.type === 'rollback_failed' || e.type === 'approval_rejected' ? style.red(e.type) : e.type === 'promoted' || e.type === 'approved' ? style.green(e.type) : e.type;
      return [e.at, type, e.actor, phaseLabel(e.phase), e.weight === undefined ? '—' : `${e.weight}%`, oneLine(eventText(e), 160)];
    }),
  );
}
