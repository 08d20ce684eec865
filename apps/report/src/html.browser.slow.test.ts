/**
 * The HTML report in a real browser: Debian's headless Chromium opens the page with every request
 * intercepted, and the test checks what a reader would see. Missing Chromium fails the test (a
 * report nobody opened in a browser is not tested), with the command that installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResultsDocument } from '@tlblab/core';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { everyOutcomeDocument, HOSTILE_STRATEGY } from '../test/fixtures.js';
import { realSweep } from '../test/real-sweep.js';
import { buildReportModel, renderReport } from './index.js';

const CHROMIUM = process.env.TLBLAB_CHROMIUM ?? '/usr/bin/chromium';
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'out');

/** A real sweep (built-in scenarios and strategies run by the core) plus the hostile cells, so
 *  one page holds real charts and traces and the XSS names. */
function browserDocument(): ResultsDocument {
  const real = realSweep();
  const hostile = everyOutcomeDocument();
  const ids = new Set(real.cells.map((c) => c.id));
  const extra = hostile.cells.filter((c) => !ids.has(c.id));
  const cells = [...real.cells, ...extra.map((c, i) => ({ ...c, index: real.cells.length + i }))];
  return {
    meta: {
      ...real.meta,
      plan: {
        ...real.meta.plan,
        strategies: [
          ...real.meta.plan.strategies,
          ...hostile.meta.plan.strategies.filter((s) => !real.meta.plan.strategies.includes(s)),
        ],
        scenarios: [
          ...real.meta.plan.scenarios,
          ...hostile.meta.plan.scenarios.filter((s) => !real.meta.plan.scenarios.includes(s)),
        ],
        totalCells: cells.length,
      },
      strategies: { ...hostile.meta.strategies, ...real.meta.strategies },
      scenarios: { ...hostile.meta.scenarios, ...real.meta.scenarios },
    },
    cells,
  };
}

interface Observed {
  readonly consoleErrors: readonly string[];
  readonly requests: readonly string[];
  readonly dialogs: readonly string[];
  readonly pageText: string;
  readonly verdictTables: number;
  readonly charts: readonly { id: string; svgs: number; width: number }[];
  readonly hostileHeader: string;
  readonly imgCount: number;
  readonly timelines: number;
}

let context: BrowserContext | undefined;
let userDataDir: string | undefined;
let observed: Promise<Observed> | undefined;

/** Open the report once; every test awaits the same observation, so a missing browser fails each
 *  test with the install hint instead of leaving them skipped behind a failed hook. */
function observe(): Promise<Observed> {
  observed ??= openReport();
  return observed;
}

const document = browserDocument();

async function openReport(): Promise<Observed> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with 'apt-get update && apt-get install -y chromium' (or set TLBLAB_CHROMIUM)`,
    );
  }
  const html = await renderReport(document, { format: 'html' });
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'report.html');
  writeFileSync(file, html);
  userDataDir = mkdtempSync(join(tmpdir(), 'tlblab-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const dialogs: string[] = [];
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const url = pathToFileURL(file).href;
  const allowed = (u: string) => u === url || u.startsWith('data:');
  // Every request goes through here: the page itself is allowed, anything else is recorded and
  // refused, so a leak shows up as a failed assertion rather than as network traffic.
  await context.route('**/*', async (route) => {
    const u = route.request().url();
    if (allowed(u)) return route.continue();
    requests.push(u);
    return route.abort();
  });
  page.on('request', (r) => {
    if (!allowed(r.url()) && !requests.includes(r.url())) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const result: Observed = {
    consoleErrors,
    requests,
    dialogs,
    pageText: (await page.locator('body').textContent()) ?? '',
    verdictTables: await page.locator('table.verdicts').count(),
    charts: await page.locator('figure.chart').evaluateAll((figs) =>
      figs.map((f) => ({
        id: f.getAttribute('data-chart') ?? '',
        svgs: f.querySelectorAll('svg').length,
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    ),
    hostileHeader:
      (await page.locator('table.verdicts thead th').filter({ hasText: 'onerror' }).first().textContent()) ??
      '',
    imgCount: await page.locator('img').count(),
    timelines: await page.locator('svg.timeline').count(),
  };
  await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
  return result;
}

describe('the HTML report in headless Chromium', () => {
  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('makes no network request and logs no console error', async () => {
    const o = await observe();
    expect(o.requests).toEqual([]);
    expect(o.consoleErrors).toEqual([]);
  });

  it('shows the verdict matrix with its legend and the failure counts', async () => {
    const o = await observe();
    expect(o.verdictTables).toBe(1);
    expect(o.pageText).toContain('Legend');
    // Whatever the simulation produced for these cells is what the page must show.
    const model = buildReportModel(document);
    const matrix = model.summary.matrices.find((m) => m.machine === 'caches-invalid')!;
    const label = (strategy: string, scenario: string) =>
      matrix.rows[matrix.scenarios.indexOf(scenario)]![matrix.strategies.indexOf(strategy)]!.label;
    const spurious = label('baseline', 'cross-hart-vmalloc');
    expect(spurious).toMatch(/^panic:spurious-fault \d+\/\d+/);
    expect(o.pageText).toContain(spurious);
    const livelock = label('notrace-fault', 'kernel-protection-fault');
    expect(livelock).toMatch(/^livelock \d+\/\d+$/);
    expect(o.pageText).toContain(livelock);
    expect(o.pageText).toContain('ok (oops)');
  });

  it('renders every cost chart as an SVG of real size', async () => {
    const o = await observe();
    const kinds = o.charts.map((c) => c.id.split('/').pop());
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ipis-per-mapping',
        'sfence-by-form',
        'refill-misses',
        'spurious-faults',
        'mapping-latency-p50',
        'mapping-latency-p99',
      ]),
    );
    for (const c of o.charts) {
      expect(c.svgs, c.id).toBeGreaterThan(0);
      expect(c.width, c.id).toBeGreaterThan(100);
    }
  });

  it('shows a strategy named <img src=x onerror=alert(1)> as text, and no dialog fires', async () => {
    const o = await observe();
    expect(o.hostileHeader).toBe(HOSTILE_STRATEGY);
    expect(o.pageText).toContain(`deadlock under ${HOSTILE_STRATEGY}`);
    expect(o.imgCount).toBe(0);
    expect(o.dialogs).toEqual([]);
  });

  it('draws a swimlane timeline for failing cells, prints their replay commands, and saves a screenshot', async () => {
    const o = await observe();
    expect(o.timelines).toBeGreaterThan(5);
    expect(o.pageText).toContain(
      "tlblab replay results.jsonl --cell 'baseline|cross-hart-vmalloc|caches-invalid|sv39|h2'",
    );
    expect(existsSync(join(OUT, 'report.png'))).toBe(true);
  });
});
