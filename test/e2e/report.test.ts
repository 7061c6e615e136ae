/**
 * The HTML report of a rolled-back release: self-contained (nothing fetched, no script), with its
 * five SVG charts and markers, and it renders in a real browser (headless Chromium).
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

let html = '';
let file = '';

beforeAll(async () => {
  const run = await defaultRun('error-spike-at-10pct');
  expect(run.summary.outcome).toBe('rolled_back');
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

  it('holds the five SVG charts, each with drawn series', () => {
    const svgs = html.match(/<svg\b[\s\S]*?<\/svg>/g) ?? [];
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

      const charts = await page.$$eval('svg', (svgs) =>
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
