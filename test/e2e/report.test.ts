/**
 * The HTML report of a rolled-back release: self-contained (nothing fetched, no script), with its
 * five SVG charts of the series and markers, one evidence chart per rule with the deciding look
 * marked, round axis ticks, and it renders in a real browser (headless Chromium). A promoted
 * release marks its promotion.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../../local/report.js';
import { reportInput } from '../../local/simulate.js';
import { defaultRun } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CHART_TITLES = ['Traffic on the candidate', 'Error rate', 'p99 latency', 'Mean risk energy V_s', 'Constraint-violation rate'];
const RULES = ['safety_incidents', 'error_rate', 'constraint_violations', 'risk_energy', 'latency_p50', 'latency_p95', 'latency_p99'];

let html = '';
let file = '';
let rollbackMinute = 0;

/** The series charts (aria-label), not the evidence figures. */
const seriesCharts = (page: string) => (page.match(/<svg\b[^>]*aria-label="[\s\S]*?<\/svg>/g) ?? []);
/** An evidence figure of a rule. */
const figureOf = (page: string, rule: string) => page.match(new RegExp(`<figure class="evidence" data-rule="${rule}">[\\s\\S]*?</figure>`))?.[0] ?? '';
/** The tick labels of an SVG's y (or x) axis, as written. */
const ticksOf = (svg: string, axis: 'ytick' | 'xtick') => [...svg.matchAll(new RegExp(`<text class="${axis}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]!);

/** Is a run of numbers evenly spaced by 1, 2, 2.5 or 5 × 10^k? */
function roundlySpaced(values: readonly number[]): boolean {
  const step = values[1]! - values[0]!;
  const k = Math.floor(Math.log10(step) + 1e-9);
  const m = step / 10 ** k;
  return [1, 2, 2.5, 5].some((r) => Math.abs(m - r) < 1e-6) && values.every((v, i) => i === 0 || Math.abs(v - values[i - 1]! - step) < step * 1e-6);
}

beforeAll(async () => {
  const run = await defaultRun('error-spike-at-10pct');
  expect(run.summary.outcome).toBe('rolled_back');
  rollbackMinute = run.summary.rollback!.atMinute;
  html = renderReport(reportInput(run, null));
  file = join(await mkdtemp(join(tmpdir(), 'bb-report-')), 'report.html');
  await writeFile(file, html, 'utf8');
});

describe('report of a rolled-back release', () => {
  it('is self-contained: no network resource, no script, no external style', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/\s(src|href)=/i);
  });

  it('holds the five SVG charts of the series, each with drawn series', () => {
    const svgs = seriesCharts(html);
    expect(svgs).toHaveLength(5);
    for (const title of CHART_TITLES) expect(html).toContain(`aria-label="${title}"`);
    for (const svg of svgs) {
      const ds = [...svg.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]!);
      expect(ds.length).toBeGreaterThan(0);
      expect(ds.some((d) => /^M[\d.]+,[\d.]+(?:[LHV][\d.,]+)+/.test(d))).toBe(true);
    }
  });

  it('marks the phases, the regression and the rollback on the charts and in the markers table', () => {
    // every chart draws every marker as a dashed vertical line with a tooltip
    expect(html).toMatch(/<line [^>]*stroke="#c92a2a"[^>]*><title>99m /); // rollback at minute 93 of the canary, which started at minute 6 (deployed and smoke-tested first)
    expect(html).toMatch(/<title>86m scenario event: the candidate regresses<\/title>/);
    expect(html).toMatch(/<title>6m phase 1: 1% of traffic on the candidate<\/title>/);
    expect(html).toMatch(/<title>66m phase 2: 10% of traffic on the candidate<\/title>/);
    for (const kind of ['deploy', 'phase', 'approval', 'verdict', 'regression', 'rollback']) expect(html).toMatch(new RegExp(`</span>${kind}</td>`));
    // the summary, incidents and audit tables
    expect(html).toMatch(/<table id="summary">.*<th>outcome<\/th><td>rolled_back<\/td>/);
    expect(html).toContain('error_rate_increase (P1) at minute 99, 13 min after the regression began');
    expect(html).toMatch(/<h2>Incidents<\/h2><table><tr><td>P1<\/td>/);
    expect(html).toContain('<td>lock_released</td>');
    // the deployment and the clean-up are on the record: smoke test, candidate removed
    expect(html).toContain('smoke test passed: 1 smoke request(s) passed');
    expect(html).toMatch(/removing 2\.1\.0: endpoint builderbrain is in service on builderbrain--2-1-0-[0-9a-f]{8}-r/);
  });
});

describe('evidence charts of a rolled-back release', () => {
  it('one figure per rule, each with its evidence drawn look by look', () => {
    for (const rule of RULES) {
      const fig = figureOf(html, rule);
      expect(fig, rule).not.toBe('');
      expect(fig).toMatch(/<path d="M[\d.]+,[\d.]+(?:[MLHV][\d.,]+)+"/);
      // the legend in words under the chart, and in the SVG's description
      expect(fig).toMatch(/<p class="legend">[^<]*Last look, minute \d+/);
      expect(fig).toMatch(/<desc id="ev-[a-z0-9_]+-desc">/);
    }
    // the tested rules show the anytime-valid p-value on decades, with α
    const error = figureOf(html, 'error_rate');
    expect(error).toContain('<title>anytime-valid p-value</title>');
    expect(error).toContain('<title>α (significant at or below it)</title>');
    expect(ticksOf(error, 'ytick')).toEqual(expect.arrayContaining(['1', '0.01']));
  });

  it('marks the deciding look at the rollback minute, with the rule, its p-value and α, on the error-rate chart', () => {
    expect(rollbackMinute).toBe(99);
    expect(html).toMatch(new RegExp(`<p id="decision" data-minute="${rollbackMinute}"><strong>Minute ${rollbackMinute}: rolled back here: error rate p=[\\d.e-]+ ≤ α=[\\d.e-]+, [\\d.]+× &gt; 1\\.50×\\.</strong>`));
    const error = figureOf(html, 'error_rate');
    expect(error).toMatch(new RegExp(`<line class="decision" data-minute="${rollbackMinute}"`));
    expect(error).toMatch(new RegExp(`<text class="decision" data-minute="${rollbackMinute}"[^>]*>rolled back here: error rate p=`));
    // the failing look is dotted red; the other rules' charts mark the minute and name the rule that decided
    expect(error).toContain('<title>99m: the rule failed</title>');
    expect(figureOf(html, 'latency_p99')).toMatch(/<text class="decision" data-minute="99"[^>]*>rolled back here \(by error rate\)<\/text>/);
    // the phases are shaded and labelled with their weight
    expect(error).toMatch(/<text class="band"[^>]*>1%<\/text>/);
    expect(error).toMatch(/<text class="band"[^>]*>10%<\/text>/);
  });

  it('uses round axis ticks: the traffic axis 0, 25, 50, 75, 100; no 27/54/81/108; round minutes', () => {
    const traffic = seriesCharts(html).find((svg) => svg.includes('aria-label="Traffic on the candidate"'))!;
    expect(ticksOf(traffic, 'ytick')).toEqual(['0', '25', '50', '75', '100']);
    const panels = html.match(/<g class="panel">[\s\S]*?<\/g>/g)!;
    expect(panels.length).toBe(5 + 2 * 6 + 1); // the series charts; p-value and effect per tested rule; safety's count
    for (const svg of panels) {
      const xs = ticksOf(svg, 'xtick').map((t) => Number(t.replace(/m$/, '')));
      expect(xs[0]).toBe(0);
      expect(roundlySpaced(xs)).toBe(true);
      const ys = ticksOf(svg, 'ytick').map((t) => Number(t.replace(/[%×]$/, '')));
      expect(ys.length).toBeGreaterThanOrEqual(3);
      expect(ys.length).toBeLessThanOrEqual(8);
      // linear axes step roundly; p-value axes go by decades (1, 0.1, 0.01 …)
      const decades = ys.every((y) => Math.abs(Math.log10(y) - Math.round(Math.log10(y))) < 1e-9);
      expect(decades || roundlySpaced(ys)).toBe(true);
      for (const bad of [27, 54, 81, 108]) expect(ys).not.toContain(bad);
    }
  });
});

describe('evidence charts of a promoted release', () => {
  let promoted = '';
  let promotedAt = 0;
  beforeAll(async () => {
    const run = await defaultRun('healthy');
    expect(run.summary.outcome).toBe('promoted');
    promotedAt = run.runtime.progress.find((p) => p.kind === 'promoted')!.minute;
    promoted = renderReport(reportInput(run, null));
  });

  it('marks the promotion on every rule chart, at the minute the release was promoted', () => {
    expect(promoted).toMatch(new RegExp(`<p id="decision" data-minute="${promotedAt}"><strong>Minute ${promotedAt}: promoted here: the 100% phase ended with no rule breached`));
    for (const rule of RULES) {
      const fig = figureOf(promoted, rule);
      expect(fig).toMatch(new RegExp(`<line class="decision" data-minute="${promotedAt}"[^>]*stroke="#2f9e44"`));
      expect(fig).toMatch(/<text class="decision"[^>]*>promoted here<\/text>/);
      expect(fig).not.toContain('the rule failed');
    }
    expect(promoted).not.toContain('rolled back here');
  });
});

const haveChromium = existsSync(CHROMIUM);
const inCI = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';

describe('in headless Chromium', () => {
  it('Chromium is installed where CI needs it', () => {
    // CI installs Debian's chromium (.ci/run); on a developer machine the browser test is skipped
    if (inCI) expect(haveChromium, `${CHROMIUM} is missing (CI must install chromium)`).toBe(true);
  });

  it.skipIf(!haveChromium)('renders the five charts and the summary table', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      // nothing but the file itself was loaded
      expect(requests).toEqual([pathToFileURL(file).href]);

      const charts = await page.$$eval('svg[aria-label]', (svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const paths = [...svg.querySelectorAll('path')].map((p) => ({ d: p.getAttribute('d') ?? '', length: (p as unknown as { getTotalLength(): number }).getTotalLength() }));
          return { label: svg.getAttribute('aria-label'), width: box.width, height: box.height, paths };
        }),
      );
      expect(charts.map((c) => c.label)).toEqual(CHART_TITLES);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(300);
        expect(c.height).toBeGreaterThan(50);
        expect(c.paths.length).toBeGreaterThan(0);
        expect(c.paths.some((p) => p.d.length > 0 && p.length > 0)).toBe(true);
      }
      const summary = await page.$$eval('#summary tr', (rows) => rows.map((r) => [r.querySelector('th')?.textContent ?? '', r.querySelector('td')?.textContent ?? '']));
      expect(summary).toContainEqual(['outcome', 'rolled_back']);
      expect(summary).toContainEqual(['phase reached', '10%']);
      // the evidence figures render too, one per rule, with the decision visible
      const evidence = await page.$$eval('figure.evidence svg', (svgs) => svgs.map((svg) => svg.getBoundingClientRect().height));
      expect(evidence).toHaveLength(7);
      for (const h of evidence) expect(h).toBeGreaterThan(50);
      expect(await page.textContent('#decision')).toMatch(/^Minute 99: rolled back here: error rate p=/);
      expect(await page.title()).toContain('rolled back');

      const shot = join(await mkdtemp(join(tmpdir(), 'bb-report-shot-')), 'report.png');
      const png = await page.screenshot({ path: shot, fullPage: true });
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.length).toBeGreaterThan(20_000);
    } finally {
      await browser.close();
    }
  });
});
