/**
 * Markdown tables and an SVG scatter chart of the detection benchmark's results (bench/detection.ts),
 * for docs/benchmarks.md.
 */
import type { DetectionResults, RuleResults } from '../detection.js';

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;
const num = (x: number | null): string => (x === null ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(1));

function scenarioNames(results: DetectionResults): string[] {
  const first = Object.values(results.rules)[0];
  return first ? Object.keys(first.detectionMinutes) : [];
}

/**
 * The mean over scenarios of the median detection delay; a scenario a rule never caught counts as
 * its horizon (the minutes left until the end of the canary phases), so missing is never "fast".
 */
export type DetectionView = 'end-to-end' | 'from-regression-phase';

const detectionsOf = (rule: RuleResults, view: DetectionView) =>
  view === 'end-to-end' ? rule.detectionMinutes : rule.detectionMinutesFromRegressionPhase;

export function meanMedianDetection(
  results: DetectionResults,
  rule: RuleResults,
  view: DetectionView = 'from-regression-phase',
): { minutes: number; scenariosMissed: number } {
  let sum = 0;
  let missed = 0;
  const detections = detectionsOf(rule, view);
  const names = Object.keys(detections);
  for (const name of names) {
    const d = detections[name]!;
    if (d.median === null) {
      missed++;
      sum += results.meta.scenarios[name]?.horizonMinutes ?? 0;
    } else sum += d.median;
  }
  return { minutes: names.length > 0 ? sum / names.length : 0, scenariosMissed: missed };
}

function detectionTable(results: DetectionResults, view: DetectionView): string[] {
  const scenarios = scenarioNames(results);
  const lines: string[] = [];
  lines.push(`| rule | ${scenarios.join(' | ')} |`);
  lines.push(`|---|${scenarios.map(() => '---').join('|')}|`);
  for (const [name, r] of Object.entries(results.rules)) {
    const cells = scenarios.map((s) => {
      const d = detectionsOf(r, view)[s]!;
      const extra = [d.missed > 0 ? `${d.missed} missed` : '', d.preRegressionRollbacks > 0 ? `${d.preRegressionRollbacks} early` : ''].filter(Boolean);
      return `${num(d.median)} / ${num(d.worst)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines;
}

/**
 * Three markdown tables: detection delay per rule × scenario (end to end, and with every rule
 * started at the regression's phase), and false-rollback rates per rule × weight.
 */
export function detectionMarkdown(results: DetectionResults): string {
  const rules = Object.entries(results.rules);
  const lines: string[] = [];
  lines.push(
    `Detection delay in minutes, from the regression's first minute to the rollback decision (the first minute back on the baseline), median / worst over the detected seeds of ${results.meta.seeds} per scenario. End to end: every rule watches the release from the start of the 1% phase; "missed" = never rolled back by the end of the 50% phase; "early" = rolled back before the regression began (a false rollback, not a detection).`,
    '',
    ...detectionTable(results, 'end-to-end'),
    '',
    `Detection speed alone: every rule starts fresh at the beginning of the phase in which the regression begins, so a false rollback in an earlier phase cannot pre-empt it ("early" now counts only false rollbacks within that phase before the regression's first minute).`,
    '',
    ...detectionTable(results, 'from-regression-phase'),
    '',
  );
  const weights = Object.keys(rules[0]?.[1].falseRollbackRateByWeight ?? {}).sort((a, b) => Number(a) - Number(b));
  lines.push(
    `False rollbacks of a healthy-but-noisy release (candidate identical to the baseline), ${results.meta.healthySeeds} seeds: per phase weight (each 60-minute phase watched alone), over the whole canary (1% → 10% → 50%), and in the 100% phase of the releases that passed the canary.`,
    '',
  );
  lines.push(`| rule | ${weights.map((w) => `${w}%`).join(' | ')} | 1% → 10% → 50% | 100% phase |`);
  lines.push(`|---|${weights.map(() => '---:').join('|')}|---:|---:|`);
  for (const [name, r] of rules) {
    const cells = weights.map((w) => pct(r.falseRollbackRateByWeight[w as keyof typeof r.falseRollbackRateByWeight]));
    lines.push(`| ${name} | ${cells.join(' | ')} | ${pct(r.falseRollbackRate)} | ${pct(r.fullWeightRollbackRate)} |`);
  }
  return `${lines.join('\n')}\n`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Scatter chart: x = median detection minutes averaged over scenarios (by default with each rule
 * started at the regression's phase, see {@link detectionMarkdown}; a scenario never caught counts as
 * its horizon), y = false-rollback rate of a healthy release over the canary phases; one labelled
 * point per rule. Down and to the left is better.
 */
export function detectionChartSvg(results: DetectionResults, view: DetectionView = 'from-regression-phase'): string {
  const width = 640;
  const height = 420;
  const m = { left: 64, right: 24, top: 52, bottom: 56 };
  const points = Object.entries(results.rules).map(([name, r]) => {
    const { minutes, scenariosMissed } = meanMedianDetection(results, r, view);
    return { name, x: minutes, y: r.falseRollbackRate, scenariosMissed };
  });
  const niceMax = (v: number, steps: number[]): number => steps.find((s) => s >= v) ?? Math.ceil(v);
  const xMax = niceMax(Math.max(10, ...points.map((p) => p.x)) * 1.1, [10, 20, 30, 40, 60, 80, 100, 120, 150, 180, 240]);
  const yMax = Math.min(1, niceMax(Math.max(0.05, ...points.map((p) => p.y)) * 1.1, [0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1]));
  const px = (x: number) => m.left + (x / xMax) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - (y / yMax) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Detection speed vs false rollbacks (lower left is better)</text>`);
  const xTicks = 5;
  const yTicks = 5;
  for (let i = 0; i <= xTicks; i++) {
    const v = (xMax * i) / xTicks;
    out.push(`<line x1="${px(v)}" y1="${py(0)}" x2="${px(v)}" y2="${py(yMax)}" stroke="#eee"/>`);
    out.push(`<text x="${px(v)}" y="${py(0) + 16}" text-anchor="middle">${num(Math.round(v * 10) / 10)}</text>`);
  }
  for (let i = 0; i <= yTicks; i++) {
    const v = (yMax * i) / yTicks;
    out.push(`<line x1="${px(0)}" y1="${py(v)}" x2="${px(xMax)}" y2="${py(v)}" stroke="#eee"/>`);
    out.push(`<text x="${px(0) - 6}" y="${py(v) + 4}" text-anchor="end">${pct(v)}</text>`);
  }
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="black"/>`);
  out.push(`<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(yMax)}" stroke="black"/>`);
  out.push(`<text x="${(px(0) + px(xMax)) / 2}" y="${height - 16}" text-anchor="middle">median detection delay, minutes (mean over ${Object.keys(results.meta.scenarios).length} scenarios${view === 'end-to-end' ? ', end to end' : ', rule started at the regression&#8217;s phase'})</text>`);
  out.push(`<text transform="translate(16 ${(py(0) + py(yMax)) / 2}) rotate(-90)" text-anchor="middle">false-rollback rate, healthy release (1% → 10% → 50%)</text>`);
  for (const p of points) {
    const color = p.name === 'builderbrain' ? '#d9480f' : '#1c7ed6';
    const label = `${p.name}${p.scenariosMissed > 0 ? ` (${p.scenariosMissed} scenario${p.scenariosMissed > 1 ? 's' : ''} never caught)` : ''}`;
    const anchor = px(p.x) > width * 0.65 ? 'end' : 'start';
    const dx = anchor === 'end' ? -8 : 8;
    out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="5" fill="${color}"/>`);
    out.push(`<text x="${(px(p.x) + dx).toFixed(1)}" y="${(py(p.y) - 8).toFixed(1)}" text-anchor="${anchor}" fill="${color}">${esc(label)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
