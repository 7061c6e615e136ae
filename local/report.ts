/**
 * A self-contained HTML report of a simulated release: traffic weight and canary-vs-baseline
 * metrics over simulated time, with the policy thresholds and markers for phases, approvals,
 * verdicts and the rollback; then each rule's evidence look by look against its threshold, and the
 * look that decided. Plain inline SVG: no script, no network, opens anywhere.
 */
import type { AuditEventType } from '../core/audit.js';
import {
  decisionOf,
  EFFECT_OF,
  evidenceSeries,
  fmtEffect,
  fmtP,
  linearAxis,
  niceTicks,
  phaseBands,
  pValueAxis,
  P_FLOOR,
  RULE_TITLES,
  rulesJudged,
  formatTick,
  type Axis,
  type Band,
  type Decision,
  type EffectKind,
  type EvidencePoint,
  type ReportLook,
  type RuleName,
} from './report-charts.js';

export type { ReportLook } from './report-charts.js';

export interface TraceMinute {
  readonly minute: number;
  readonly weight: number;
  readonly canary: VariantPoint;
  readonly baseline: VariantPoint;
}
export interface VariantPoint {
  readonly requests: number;
  readonly errorRate: number | null;
  readonly p99: number | null;
  readonly riskEnergy: number | null;
  readonly constraintViolationRate: number | null;
}
export interface TraceMarker {
  readonly minute: number;
  readonly kind: 'phase' | 'approval' | 'verdict' | 'rollback' | 'promoted' | 'alarm' | 'regression' | 'deploy' | 'onset' | 'freeze';
  readonly label: string;
}
export interface ReportInput {
  readonly title: string;
  readonly description: string;
  readonly summaryRows: readonly (readonly [string, string])[];
  readonly minutes: readonly TraceMinute[];
  readonly markers: readonly TraceMarker[];
  readonly thresholds: {
    readonly errorRateRatio: number;
    readonly latencyRatioWarn: number;
    readonly latencyRatioCritical: number;
    readonly maxConstraintViolationRate: number;
  };
  readonly incidents: readonly { readonly severity: string; readonly title: string }[];
  /** After a rollback: the post-rollback analysis as rows (local/analysis-summary.ts analysisRows); absent otherwise. */
  readonly analysis?: readonly (readonly [string, string])[];
  /** The audit timeline, each event in its one sentence (core/audit.ts describeEvent, the summary's). */
  readonly audit: readonly { readonly at: string; readonly type: AuditEventType; readonly text: string }[];
  /** Every look of the monitor loops with each rule's evidence (the evidence charts); none: no such charts. */
  readonly looks?: readonly ReportLook[];
  /** How the release ended (summary `outcome`): which look decided. */
  readonly outcome?: string;
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const W = 900;
const H = 190;
const PAD = { l: 64, r: 16, t: 24, b: 28 };
const COLORS = { canary: '#d9480f', baseline: '#1c7ed6', weight: '#2b8a3e', threshold: '#868e96', evidence: '#5f3dc4', alpha: '#e03131', failed: '#c92a2a' };
const MARKER_COLORS: Record<TraceMarker['kind'], string> = {
  phase: '#2b8a3e',
  approval: '#7048e8',
  verdict: '#495057',
  rollback: '#c92a2a',
  promoted: '#2f9e44',
  alarm: '#e67700',
  regression: '#f08c00',
  deploy: '#1098ad',
  onset: '#862e9c',
  freeze: '#364fc7',
};

interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number | null])[];
  readonly dashed?: boolean;
  readonly dotted?: boolean;
  readonly step?: boolean;
}

/** A box of an SVG with an axis of simulated minutes and a y axis; values outside it are clamped to its edge. */
interface Panel {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly x: Axis;
  readonly y: Axis;
}

const first = (a: Axis) => a.ticks[0]!;
const last = (a: Axis) => a.ticks[a.ticks.length - 1]!;
const px = (v: number) => v.toFixed(1);
const xOf = (p: Panel, m: number) => p.left + ((m - first(p.x)) / (last(p.x) - first(p.x))) * p.width;
const yOf = (p: Panel, v: number) => p.top + p.height - (Math.min(1, Math.max(0, (v - first(p.y)) / (last(p.y) - first(p.y)))) * p.height);

/** The gridlines and the tick labels of both axes. */
function axes(p: Panel): string {
  const ys = p.y.ticks
    .map((v) => `<line x1="${px(p.left)}" x2="${px(p.left + p.width)}" y1="${px(yOf(p, v))}" y2="${px(yOf(p, v))}" stroke="#e9ecef"/><text class="ytick" x="${px(p.left - 6)}" y="${px(yOf(p, v) + 4)}" text-anchor="end">${esc(p.y.label(v))}</text>`)
    .join('');
  const xs = p.x.ticks.map((m) => `<text class="xtick" x="${px(xOf(p, m))}" y="${px(p.top + p.height + 16)}" text-anchor="middle">${esc(p.x.label(m))}</text>`).join('');
  return ys + xs;
}

function paths(p: Panel, series: readonly Series[]): string {
  return series
    .map((s) => {
      let d = '';
      let pen = false;
      for (const [m, v] of s.points) {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          continue;
        }
        if (!pen) d += `M${px(xOf(p, m))},${px(yOf(p, v))}`;
        else if (s.step) d += `H${px(xOf(p, m))}V${px(yOf(p, v))}`;
        else d += `L${px(xOf(p, m))},${px(yOf(p, v))}`;
        pen = true;
      }
      if (d === '') return '';
      const dash = s.dashed ? ' stroke-dasharray="5 4"' : s.dotted ? ' stroke-dasharray="1 3"' : '';
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed || s.dotted ? 1.2 : 1.6}"${dash}><title>${esc(s.name)}</title></path>`;
    })
    .join('');
}

function markerLines(p: Panel, markers: readonly TraceMarker[]): string {
  return markers
    .map((mk) => `<line x1="${px(xOf(p, mk.minute))}" x2="${px(xOf(p, mk.minute))}" y1="${px(p.top)}" y2="${px(p.top + p.height)}" stroke="${MARKER_COLORS[mk.kind]}" stroke-width="1" stroke-dasharray="2 3"><title>${esc(`${mk.minute}m ${mk.label}`)}</title></line>`)
    .join('');
}

/** The phases as shaded bands, each labelled with its weight. */
function bandRects(p: Panel, bands: readonly Band[]): string {
  return bands
    .map((b, i) => {
      const x0 = xOf(p, b.from);
      const w = Math.max(0, xOf(p, b.to) - x0);
      const label = w > 18 ? `<text class="band" x="${px(x0 + 3)}" y="${px(p.top + 10)}" fill="#868e96">${b.weight}%</text>` : '';
      return `<rect x="${px(x0)}" y="${px(p.top)}" width="${px(w)}" height="${px(p.height)}" fill="${i % 2 === 0 ? '#f1f3f5' : '#f8f9fa'}"><title>${esc(`minutes ${b.from}–${b.to}: ${b.weight}% on the candidate`)}</title></rect>${label}`;
    })
    .join('');
}

/** The minute axis every chart shares: round ticks, from 0 past the last minute. */
function minuteAxis(xMax: number): Axis {
  return { ticks: niceTicks(0, Math.max(1, xMax), { maxTicks: 8 }), label: (m) => `${m}m` };
}

/** The traffic weight's axis: always the whole 0–100%. */
const WEIGHT_AXIS: Axis = { ticks: niceTicks(0, 100, { maxTicks: 5 }), label: (v) => String(v) };

function chart(title: string, unit: string, series: readonly Series[], markers: readonly TraceMarker[], x: Axis, yAxis?: Axis): string {
  const ys = series.flatMap((s) => s.points.map(([, v]) => v));
  const panel: Panel = { left: PAD.l, top: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b, x, y: yAxis ?? linearAxis(ys) };
  const legend = series
    .map((s, i) => `<rect x="${PAD.l + 8 + i * 170}" y="6" width="12" height="3" fill="${s.color}"/><text x="${PAD.l + 24 + i * 170}" y="11">${esc(s.name)}</text>`)
    .join('');
  return `<figure><figcaption>${esc(title)} <span class="unit">${esc(unit)}</span></figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><g class="panel">${axes(panel)}${markerLines(panel, markers)}${paths(panel, series)}</g>${legend}</svg></figure>`;
}

// ---- The evidence charts: one per rule ----------------------------------------------------------

const EH = 178;
const EPAD = { t: 40, b: 26, gap: 74 };

/** A point series of evidence, broken between phases and loops (each phase's tests start afresh). */
function evidenceLine(points: readonly EvidencePoint[], value: (p: EvidencePoint) => number | null): [number, number | null][] {
  const out: [number, number | null][] = [];
  points.forEach((p, i) => {
    const prev = points[i - 1];
    if (prev !== undefined && (prev.phase !== p.phase || prev.loop !== p.loop)) out.push([p.minute, null]);
    out.push([p.minute, value(p)]);
  });
  return out;
}

const negLog = (p: number | null) => (p === null ? null : -Math.log10(Math.max(p, P_FLOOR)));

/** Dots on the looks where the rule failed. */
function failedDots(panel: Panel, points: readonly EvidencePoint[], value: (p: EvidencePoint) => number | null): string {
  return points
    .filter((p) => p.failed && value(p) !== null)
    .map((p) => `<circle cx="${px(xOf(panel, p.minute))}" cy="${px(yOf(panel, value(p)!))}" r="3" fill="${COLORS.failed}"><title>${esc(`${p.minute}m: the rule failed`)}</title></circle>`)
    .join('');
}

/** The decision drawn on a panel: a solid line at its minute, labelled once per figure. */
function decisionLine(panel: Panel, d: Decision): string {
  const color = d.outcome === 'promoted' ? MARKER_COLORS.promoted : MARKER_COLORS.rollback;
  return `<line class="decision" data-minute="${d.minute}" x1="${px(xOf(panel, d.minute))}" x2="${px(xOf(panel, d.minute))}" y1="${px(panel.top)}" y2="${px(panel.top + panel.height)}" stroke="${color}" stroke-width="2"><title>${esc(`${d.minute}m ${d.label}`)}</title></line>`;
}

function decisionText(x: number, d: Decision, text: string): string {
  const color = d.outcome === 'promoted' ? MARKER_COLORS.promoted : MARKER_COLORS.rollback;
  const anchor = x > W * 0.6 ? 'end' : 'start';
  return `<text class="decision" data-minute="${d.minute}" x="${px(anchor === 'end' ? x - 4 : x + 4)}" y="12" text-anchor="${anchor}" fill="${color}" font-weight="600">${esc(text)}</text>`;
}

const EFFECT_TITLES: Record<EffectKind, string> = {
  count: 'safety incidents on the canary in the phase',
  rate: 'constraint-violation rate (canary, baseline)',
  ratio: 'effect: canary ÷ baseline',
};

interface EvidenceContext {
  readonly x: Axis;
  readonly bands: readonly Band[];
  /** Scenario events and outcomes (regression, alarm, rollback, promoted) drawn on every evidence chart. */
  readonly markers: readonly TraceMarker[];
  readonly decision: Decision | null;
  readonly latencyRatioCritical: number;
}

/** One rule's figure: its anytime-valid p-value against α, and its effect against the policy's limit. */
function evidenceFigure(rule: RuleName, looks: readonly ReportLook[], ctx: EvidenceContext): string {
  const points = evidenceSeries(looks, rule);
  const title = RULE_TITLES[rule];
  const kind = EFFECT_OF[rule];
  const tested = points.some((p) => p.pValue !== null);
  const innerW = W - PAD.l - PAD.r;
  const halfW = (innerW - EPAD.gap) / 2;
  const height = EH - EPAD.t - EPAD.b;
  const effectLeft = tested ? PAD.l + halfW + EPAD.gap : PAD.l;
  const effectW = tested ? halfW : innerW;
  const limit = points[points.length - 1]?.limit ?? 0;
  const effectValues = [
    ...points.map((p) => p.effect),
    ...points.map((p) => p.limit),
    ...(kind === 'rate' ? points.map((p) => p.baseline) : []),
    ...(rule.startsWith('latency_') && points.length > 0 ? [ctx.latencyRatioCritical] : []),
  ];
  const effectAxis: Axis =
    kind === 'count'
      ? { ticks: niceTicks(0, Math.max(2, ...effectValues.filter((v): v is number => v !== null)), { maxTicks: 5, integer: true }), label: (v) => String(v) }
      : kind === 'rate'
        ? (() => {
            const a = linearAxis(effectValues, { maxTicks: 5 });
            const step = a.ticks[1]! - a.ticks[0]!;
            return { ticks: a.ticks, label: (v: number) => `${formatTick(v * 100, step * 100)}%` };
          })()
        : (() => {
            const a = linearAxis([...effectValues, 1], { floor: null, maxTicks: 5 });
            return { ticks: a.ticks, label: (v: number) => `${a.label(v)}×` };
          })();
  const effectPanel: Panel = { left: effectLeft, top: EPAD.t, width: effectW, height, x: ctx.x, y: effectAxis };
  const effectSeries: Series[] = [
    { name: kind === 'ratio' ? 'canary ÷ baseline' : kind === 'rate' ? 'canary rate' : 'canary incidents', color: COLORS.canary, points: evidenceLine(points, (p) => p.effect) },
    ...(kind === 'rate' ? [{ name: 'baseline rate', color: COLORS.baseline, points: evidenceLine(points, (p) => p.baseline) }] : []),
    { name: `rollback limit (${fmtEffect(kind, limit)})`, color: COLORS.threshold, dashed: true, step: true, points: evidenceLine(points, (p) => p.limit) },
    ...(rule.startsWith('latency_') ? [{ name: `P1 limit (${ctx.latencyRatioCritical.toFixed(2)}×)`, color: COLORS.threshold, dotted: true, points: evidenceLine(points, () => ctx.latencyRatioCritical) }] : []),
  ];
  let body = '';
  const panels: Panel[] = [];
  if (tested) {
    const pPanel: Panel = { left: PAD.l, top: EPAD.t, width: halfW, height, x: ctx.x, y: pValueAxis(points.map((p) => p.pValue), points.map((p) => p.alpha)) };
    panels.push(pPanel);
    const pSeries: Series[] = [
      { name: 'anytime-valid p-value', color: COLORS.evidence, points: evidenceLine(points, (p) => negLog(p.pValue)) },
      { name: 'α (significant at or below it)', color: COLORS.alpha, dashed: true, step: true, points: evidenceLine(points, (p) => negLog(p.alpha)) },
    ];
    body += `<g class="panel"><text class="heading" x="${px(PAD.l)}" y="${EPAD.t - 8}">p-value, log scale (higher: stronger evidence); dashed: α</text>`;
    body += `${bandRects(pPanel, ctx.bands)}${axes(pPanel)}${markerLines(pPanel, ctx.markers)}${paths(pPanel, pSeries)}${failedDots(pPanel, points, (p) => negLog(p.pValue))}</g>`;
  }
  panels.push(effectPanel);
  body += `<g class="panel"><text class="heading" x="${px(effectLeft)}" y="${EPAD.t - 8}">${esc(EFFECT_TITLES[kind])}; dashed: the rollback limit</text>`;
  body += `${bandRects(effectPanel, ctx.bands)}${axes(effectPanel)}${markerLines(effectPanel, ctx.markers)}${paths(effectPanel, effectSeries)}${failedDots(effectPanel, points, (p) => p.effect)}</g>`;
  const d = ctx.decision;
  if (d !== null) {
    body += panels.map((p) => decisionLine(p, d)).join('');
    // The full reason on the deciding rule's chart; the others only say what happened there.
    const text = d.outcome === 'promoted' ? 'promoted here' : d.rule === rule || d.rule === null ? d.label : `rolled back here (by ${RULE_TITLES[d.rule].toLowerCase()})`;
    body += decisionText(xOf(panels[0]!, d.minute), d, text);
  }
  const lastLook = points[points.length - 1];
  const legend = evidenceLegend(rule, kind, tested, lastLook, d);
  const titleId = `ev-${rule}`;
  return `<figure class="evidence" data-rule="${rule}"><figcaption id="${titleId}">${esc(title)} <span class="unit">${esc(tested ? 'anytime-valid p-value and effect, each look' : 'count, each look')}</span></figcaption><svg viewBox="0 0 ${W} ${EH}" role="img" aria-labelledby="${titleId}" aria-describedby="${titleId}-desc"><desc id="${titleId}-desc">${esc(legend)}</desc>${body}</svg><p class="legend">${esc(legend)}</p></figure>`;
}

/** The figure's legend in words: what is drawn, the last look, and the decision if this rule made it. */
function evidenceLegend(rule: RuleName, kind: EffectKind, tested: boolean, lastLook: EvidencePoint | undefined, d: Decision | null): string {
  const drawn = tested
    ? `Left: the anytime-valid p-value of each look on a log scale (lower p is drawn higher), the dashed line α; right: ${kind === 'rate' ? "the canary's and the baseline's constraint-violation rates" : "the canary's measure over the baseline's"}, the dashed line the rollback limit${rule.startsWith('latency_') ? ' (P2; dotted: P1)' : ''}. The rule fails when p ≤ α and the effect is past the limit (red dots).`
    : 'The safety incidents counted on the canary in the phase, the dashed line the limit: any incident above it rolls back at once (no test: an incident is not noise).';
  const at = lastLook === undefined ? '' : ` Last look, minute ${lastLook.minute}: ${tested ? `p=${fmtP(lastLook.pValue)}, α=${fmtP(lastLook.alpha)}, ` : ''}${fmtEffect(kind, lastLook.effect)} (limit ${fmtEffect(kind, lastLook.limit)}).`;
  const decided = d === null ? '' : d.rule === rule || d.rule === null ? ` Minute ${d.minute}: ${d.label}.` : '';
  return `${drawn}${at}${decided}`;
}

/** The evidence section: one figure per rule the looks judged; empty without looks. */
function evidenceSection(r: ReportInput, x: Axis): string {
  const looks = r.looks ?? [];
  const rules = rulesJudged(looks);
  if (rules.length === 0) return '';
  const decision = decisionOf(looks, r.outcome ?? '', r.markers);
  const ctx: EvidenceContext = {
    x,
    bands: phaseBands(r.minutes),
    markers: r.markers.filter((m) => m.kind === 'regression' || m.kind === 'alarm' || ((m.kind === 'rollback' || m.kind === 'promoted') && m.minute !== decision?.minute)),
    decision,
    latencyRatioCritical: r.thresholds.latencyRatioCritical,
  };
  const headline =
    decision === null
      ? `<p id="decision" class="muted">No look of the analysis decided this release${r.outcome === undefined ? '' : ` (${esc(r.outcome.replace('_', ' '))})`}: see the markers and the audit timeline.</p>`
      : `<p id="decision" data-minute="${decision.minute}"><strong>Minute ${decision.minute}: ${esc(decision.label)}.</strong></p>`;
  return `<h2>Why: each rule's evidence over time</h2>
<p class="muted">Every look of the monitor loop judges each rule on the phase so far: an anytime-valid p-value (it may be looked at every minute without inflating false alarms) against its α, and the size of the effect against the policy's limit. Shaded: the phases, with their weight.</p>
${headline}
${rules.map((rule) => evidenceFigure(rule, looks, ctx)).join('\n')}
`;
}

/** Renders the report; the same input gives the same bytes. */
export function renderReport(r: ReportInput): string {
  const x = minuteAxis(Math.max(1, ...r.minutes.map((m) => m.minute)));
  const pts = (f: (m: TraceMinute) => number | null) => r.minutes.map((m) => [m.minute, f(m)] as const);
  const t = r.thresholds;
  const charts = [
    chart('Traffic on the candidate', '% of requests', [{ name: 'candidate weight', color: COLORS.weight, points: pts((m) => m.weight), step: true }], r.markers, x, WEIGHT_AXIS),
    chart('Error rate', 'fraction of requests', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.errorRate) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.errorRate) },
      { name: `rollback above ${t.errorRateRatio}× baseline`, color: COLORS.threshold, dashed: true, points: pts((m) => (m.baseline.errorRate === null ? null : m.baseline.errorRate * t.errorRateRatio)) },
    ], r.markers, x),
    chart('p99 latency', 'ms', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.p99) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.p99) },
      { name: `${t.latencyRatioCritical}× baseline (P1)`, color: COLORS.threshold, dashed: true, points: pts((m) => (m.baseline.p99 === null ? null : m.baseline.p99 * t.latencyRatioCritical)) },
    ], r.markers, x),
    chart('Mean risk energy V_s', '', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.riskEnergy) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.riskEnergy) },
    ], r.markers, x),
    chart('Constraint-violation rate', 'fraction of requests', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.constraintViolationRate) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.constraintViolationRate) },
      { name: `rollback above ${t.maxConstraintViolationRate * 100}%`, color: COLORS.threshold, dashed: true, points: pts(() => t.maxConstraintViolationRate) },
    ], r.markers, x),
  ].join('\n');
  const markerRows = r.markers
    .map((m) => `<tr><td>${m.minute}m</td><td><span class="dot" style="background:${MARKER_COLORS[m.kind]}"></span>${m.kind}</td><td>${esc(m.label)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:960px;color:#212529}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #e9ecef;text-align:left;vertical-align:top}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:2px}.unit{font-weight:400;color:#868e96}
svg{width:100%;height:auto;font-size:11px;fill:#495057}.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
.muted{color:#868e96}.legend{margin:2px 0 0;color:#495057;font-size:13px}
</style></head><body>
<h1>${esc(r.title)}</h1><p class="muted">${esc(r.description)}</p>
<table id="summary">${r.summaryRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Canary vs baseline over simulated time</h2>
${charts}
${evidenceSection(r, x)}<h2>Markers</h2><table>${markerRows}</table>
${r.analysis === undefined ? '' : `<h2>Analysis</h2><table id="analysis">${r.analysis.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>\n`}<h2>Incidents</h2>${r.incidents.length === 0 ? '<p class="muted">none</p>' : `<table>${r.incidents.map((i) => `<tr><td>${esc(i.severity)}</td><td>${esc(i.title)}</td></tr>`).join('')}</table>`}
<h2>Audit timeline</h2><table>${r.audit.map((a) => `<tr><td class="muted">${esc(a.at)}</td><td>${esc(a.type)}</td><td>${esc(a.text)}</td></tr>`).join('')}</table>
</body></html>
`;
}
