/**
 * A self-contained HTML report of a simulated release: traffic weight and canary-vs-baseline
 * metrics over simulated time, with the policy thresholds and markers for phases, approvals,
 * verdicts and the rollback. Plain inline SVG: no script, no network, opens anywhere.
 */
import type { AuditEventType } from '../core/audit.js';

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
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const W = 900;
const H = 190;
const PAD = { l: 64, r: 16, t: 24, b: 28 };
const COLORS = { canary: '#d9480f', baseline: '#1c7ed6', weight: '#2b8a3e', threshold: '#868e96' };
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
  readonly step?: boolean;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1);
  if (Math.abs(v) >= 0.01) return v.toFixed(3);
  return v.toExponential(1);
}

function chart(title: string, unit: string, series: readonly Series[], markers: readonly TraceMarker[], xMax: number): string {
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter((y): y is number => y !== null && Number.isFinite(y));
  const yMax = Math.max(1e-9, ...ys) * 1.08;
  const x = (m: number) => PAD.l + (m / Math.max(1, xMax)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  const paths = series
    .map((s) => {
      let d = '';
      let pen = false;
      let prevY: number | null = null;
      for (const [m, v] of s.points) {
        if (v === null || !Number.isFinite(v)) {
          pen = false;
          continue;
        }
        if (!pen) d += `M${x(m).toFixed(1)},${y(v).toFixed(1)}`;
        else if (s.step && prevY !== null) d += `H${x(m).toFixed(1)}V${y(v).toFixed(1)}`;
        else d += `L${x(m).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
        prevY = v;
      }
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.2 : 1.6}"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(yMax * f)}" y2="${y(yMax * f)}" stroke="#e9ecef"/><text x="${PAD.l - 6}" y="${y(yMax * f) + 4}" text-anchor="end">${fmt(yMax * f)}</text>`)
    .join('');
  const xTicks = Array.from({ length: 7 }, (_, i) => Math.round((xMax * i) / 6))
    .map((m) => `<text x="${x(m)}" y="${H - 8}" text-anchor="middle">${m}m</text>`)
    .join('');
  const marks = markers
    .map((mk) => `<line x1="${x(mk.minute)}" x2="${x(mk.minute)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="${MARKER_COLORS[mk.kind]}" stroke-width="1" stroke-dasharray="2 3"><title>${esc(`${mk.minute}m ${mk.label}`)}</title></line>`)
    .join('');
  const legend = series
    .map((s, i) => `<rect x="${PAD.l + 8 + i * 170}" y="6" width="12" height="3" fill="${s.color}"/><text x="${PAD.l + 24 + i * 170}" y="11">${esc(s.name)}</text>`)
    .join('');
  return `<figure><figcaption>${esc(title)} <span class="unit">${esc(unit)}</span></figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${ticks}${xTicks}${marks}${paths}${legend}</svg></figure>`;
}

/** Renders the report; the same input gives the same bytes. */
export function renderReport(r: ReportInput): string {
  const xMax = Math.max(1, ...r.minutes.map((m) => m.minute));
  const pts = (f: (m: TraceMinute) => number | null) => r.minutes.map((m) => [m.minute, f(m)] as const);
  const t = r.thresholds;
  const charts = [
    chart('Traffic on the candidate', '% of requests', [{ name: 'candidate weight', color: COLORS.weight, points: pts((m) => m.weight), step: true }], r.markers, xMax),
    chart('Error rate', 'fraction of requests', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.errorRate) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.errorRate) },
      { name: `rollback above ${t.errorRateRatio}× baseline`, color: COLORS.threshold, dashed: true, points: pts((m) => (m.baseline.errorRate === null ? null : m.baseline.errorRate * t.errorRateRatio)) },
    ], r.markers, xMax),
    chart('p99 latency', 'ms', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.p99) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.p99) },
      { name: `${t.latencyRatioCritical}× baseline (P1)`, color: COLORS.threshold, dashed: true, points: pts((m) => (m.baseline.p99 === null ? null : m.baseline.p99 * t.latencyRatioCritical)) },
    ], r.markers, xMax),
    chart('Mean risk energy V_s', '', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.riskEnergy) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.riskEnergy) },
    ], r.markers, xMax),
    chart('Constraint-violation rate', 'fraction of requests', [
      { name: 'canary', color: COLORS.canary, points: pts((m) => m.canary.constraintViolationRate) },
      { name: 'baseline', color: COLORS.baseline, points: pts((m) => m.baseline.constraintViolationRate) },
      { name: `rollback above ${t.maxConstraintViolationRate * 100}%`, color: COLORS.threshold, dashed: true, points: pts(() => t.maxConstraintViolationRate) },
    ], r.markers, xMax),
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
.muted{color:#868e96}
</style></head><body>
<h1>${esc(r.title)}</h1><p class="muted">${esc(r.description)}</p>
<table id="summary">${r.summaryRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h2>Canary vs baseline over simulated time</h2>
${charts}
<h2>Markers</h2><table>${markerRows}</table>
${r.analysis === undefined ? '' : `<h2>Analysis</h2><table id="analysis">${r.analysis.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>\n`}<h2>Incidents</h2>${r.incidents.length === 0 ? '<p class="muted">none</p>' : `<table>${r.incidents.map((i) => `<tr><td>${esc(i.severity)}</td><td>${esc(i.title)}</td></tr>`).join('')}</table>`}
<h2>Audit timeline</h2><table>${r.audit.map((a) => `<tr><td class="muted">${esc(a.at)}</td><td>${esc(a.type)}</td><td>${esc(a.text)}</td></tr>`).join('')}</table>
</body></html>
`;
}
