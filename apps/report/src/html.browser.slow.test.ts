/**
 * The HTML report in a real browser. Headless Chromium opens two pages with every request
 * intercepted: a real sweep plus hostile plugin strings (escaping, no network, no dialog), and the
 * demo's own page (`pnpm demo`'s compare, run here through the CLI) for size and load time. The
 * test saves screenshots (top, a filtered view, a chart hover, an open trace) to apps/report/out/
 * (gitignored) and prints their sizes and the load times.
 *
 * Chromium: $TLBLAB_CHROMIUM, else /usr/bin/chromium; when neither exists the test installs
 * Debian's `chromium` package itself through tools/apt-ensure.sh (root needed) and says so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseResultsDocument, type ResultsDocument } from '@tlblab/core';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyOutcomeDocument, HOSTILE_STRATEGY } from '../test/fixtures.js';
import { realSweep } from '../test/real-sweep.js';
import { renderReport } from './index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
const OUT = join(HERE, '..', 'out');

function log(line: string): void {
  process.stderr.write(`html.browser: ${line}\n`);
}

/** A Chromium binary, installed from Debian when missing (the README's `pnpm test` must pass alone). */
function ensureChromium(): string {
  const given = process.env.TLBLAB_CHROMIUM;
  if (given) {
    if (!existsSync(given)) throw new Error(`TLBLAB_CHROMIUM=${given} does not exist`);
    log(`using $TLBLAB_CHROMIUM ${given}`);
    return given;
  }
  const path = '/usr/bin/chromium';
  if (existsSync(path)) {
    log(`using ${path}`);
    return path;
  }
  log(`${path} missing: installing Debian's chromium with tools/apt-ensure.sh (apt-get, needs root)`);
  execFileSync('bash', [join(REPO, 'tools/apt-ensure.sh'), 'chromium'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (!existsSync(path)) throw new Error(`apt-ensure.sh chromium finished but ${path} is still missing`);
  log(`installed ${path}`);
  return path;
}

/** A real sweep plus the hostile cells, so one page holds real charts and traces and the XSS names. */
function browserDocument(): ResultsDocument {
  const real = realSweep();
  const hostile = everyOutcomeDocument();
  const ids = new Set(real.cells.map((c) => c.id));
  const extra = hostile.cells.filter((c) => !ids.has(c.id));
  const cells = [...real.cells, ...extra.map((c, i) => ({ ...c, index: real.cells.length + i }))];
  const union = (a: readonly string[], b: readonly string[]) => [...a, ...b.filter((x) => !a.includes(x))];
  // A clock for caches-invalid, so the viewer's axis shows microseconds too.
  const machines = {
    ...real.meta.machines,
    'caches-invalid': { ...real.meta.machines['caches-invalid'], frequencyMHz: 1000 },
  };
  return {
    meta: {
      ...real.meta,
      machines,
      plan: {
        ...real.meta.plan,
        strategies: union(real.meta.plan.strategies, hostile.meta.plan.strategies),
        scenarios: union(real.meta.plan.scenarios, hostile.meta.plan.scenarios),
        totalCells: cells.length,
      },
      strategies: { ...hostile.meta.strategies, ...real.meta.strategies },
      scenarios: { ...hostile.meta.scenarios, ...real.meta.scenarios },
    },
    cells,
  };
}

/** `pnpm demo` itself (tools/demo.ts) run in `dir`: its results document and its HTML page. */
function runDemo(dir: string): { doc: ResultsDocument; page: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    ['--conditions=source', '--single-threaded-gc', '--import', 'tsx', join(REPO, 'tools/demo.ts')],
    { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`pnpm demo failed (${r.status}): ${r.stderr}`);
  const results = join(dir, 'tlblab-results/results.jsonl');
  return {
    doc: parseResultsDocument(readFileSync(results, 'utf8')),
    page: join(dir, 'tlblab-results/report.html'),
    seconds: (performance.now() - t0) / 1000,
  };
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

interface Opened {
  readonly page: Page;
  readonly requests: string[];
  readonly consoleErrors: string[];
  readonly dialogs: string[];
  readonly loadMs: number;
  readonly bytes: number;
}

let context: BrowserContext | undefined;
let userDataDir: string | undefined;
let hostile: Opened;
let demo: Opened;
let demoText = '';
/** The demo's results document: what the page must show is counted from it, not assumed. */
let demoDoc: ResultsDocument;

async function open(file: string): Promise<Opened> {
  const page = await context!.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const url = pathToFileURL(file).href;
  const allowed = (u: string) => u === url || u.startsWith('data:') || u.startsWith('blob:');
  await page.route('**/*', async (route) => {
    const u = route.request().url();
    if (allowed(u)) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  // The page's own clock: from navigation start to the end of the load event (string form: this
  // file is typed without the DOM library).
  const loadMs = Number(
    await page.evaluate(
      "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()",
    ),
  );
  return { page, requests, consoleErrors, dialogs, loadMs, bytes: statSync(file).size };
}

function shot(name: string): string {
  const path = join(OUT, name);
  log(`screenshot ${path}: ${statSync(path).size} bytes`);
  return path;
}

describe('the HTML report in headless Chromium', () => {
  beforeAll(async () => {
    const executablePath = ensureChromium();
    mkdirSync(OUT, { recursive: true });
    const hostileFile = join(OUT, 'report.html');
    writeFileSync(hostileFile, await renderReport(browserDocument(), { format: 'html' }));
    // TLBLAB_REUSE_DEMO=1 (for iterating on the page): keep the last run's results document and
    // render its page again with the current code instead of re-running the sweep.
    const reuse = join(OUT, 'tlblab-results/results.jsonl');
    let d: { doc: ResultsDocument; page: string; seconds: number };
    if (process.env.TLBLAB_REUSE_DEMO === '1' && existsSync(reuse)) {
      const doc = parseResultsDocument(readFileSync(reuse, 'utf8'));
      const page = join(OUT, 'tlblab-results/report.html');
      writeFileSync(
        page,
        await renderReport(doc, { format: 'html', resultsPath: 'tlblab-results/results.jsonl' }),
      );
      d = { doc, page, seconds: 0 };
      log(`reusing ${reuse} (TLBLAB_REUSE_DEMO=1); page rendered again`);
    } else {
      d = runDemo(OUT);
      log(`pnpm demo: ${d.doc.cells.length} cells in ${d.seconds.toFixed(1)} s`);
    }
    const demoFile = d.page;
    demoDoc = d.doc;
    demoText = await renderReport(d.doc, { format: 'text', resultsPath: 'tlblab-results/results.jsonl' });
    writeFileSync(join(OUT, 'demo-report.txt'), demoText);
    userDataDir = mkdtempSync(join(tmpdir(), 'tlblab-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      viewport: { width: 1400, height: 900 },
      args: ARGS,
    });
    hostile = await open(hostileFile);
    demo = await open(demoFile);
    log(`hostile page: ${hostile.bytes} bytes, load event after ${hostile.loadMs.toFixed(0)} ms`);
    log(`demo page: ${demo.bytes} bytes, load event after ${demo.loadMs.toFixed(0)} ms`);
    log(`demo text report: ${Buffer.byteLength(demoText)} bytes, ${demoText.split('\n').length - 1} lines`);
  }, 900_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('loads the demo page (at most 2 MB) with no request, no console error, in under a second', () => {
    expect(demo.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(demo.requests).toEqual([]);
    expect(demo.consoleErrors).toEqual([]);
    expect(demo.loadMs).toBeLessThan(1000);
  });

  it("keeps the demo's text report mail-sized with the scorecard on its first screen", () => {
    expect(Buffer.byteLength(demoText)).toBeLessThanOrEqual(100 * 1024);
    expect(demoText.split('\n').length - 1).toBeLessThanOrEqual(300);
    const firstScreen = demoText.split('\n').slice(0, 24).join('\n');
    expect(firstScreen).toContain('Scorecard');
    expect(firstScreen).toMatch(/^1 {2}\S+ +\d+\/\d+ /m);
  });

  it('shows the top of the page with the scorecard and verdict tables that scroll inside themselves', async () => {
    const p = demo.page;
    await p.screenshot({ path: join(OUT, '1-top.png') });
    shot('1-top.png');
    expect(await p.locator('table.scorecard').count()).toBe(2);
    // No table is wider than the page: each scrolls in its own box.
    const overflow = Number(
      await p.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'),
    );
    expect(overflow).toBeLessThanOrEqual(0);
    const header = await p.evaluate(
      "getComputedStyle(document.querySelector('table.verdicts thead th')).position",
    );
    expect(header).toBe('sticky');
  });

  it('filters every section by machine and strategy set', async () => {
    const p = demo.page;
    const visibleMatrices = () => p.locator('section[data-machine]:has(table.verdicts):visible').count();
    // One verdict matrix per machine and mode of the sweep.
    const pairs = new Set(demoDoc.cells.map((c) => `${c.machine}|${c.mode}`));
    const before = await visibleMatrices();
    expect(before).toBe(pairs.size);
    await p.locator('fieldset[data-dim="machine"] button.mini').click(); // all off
    await p.locator('fieldset[data-dim="machine"] input[value="caches-invalid"]').check();
    await p.locator('fieldset[data-dim="strategy"] input[value="baseline"]').uncheck();
    expect(await visibleMatrices()).toBe([...pairs].filter((x) => x.startsWith('caches-invalid|')).length);
    expect(await p.locator('table.verdicts th[data-strategy="baseline"]:visible').count()).toBe(0);
    await p.locator('#cost-table').evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await p.locator('#cost-table tbody tr').first().waitFor();
    const costRows = await p.locator('#cost-table tbody tr').count();
    expect(costRows).toBeGreaterThan(0);
    expect(await p.locator('#cost-table tbody tr', { hasText: 'emulator' }).count()).toBe(0);
    await p.locator('#verdicts').scrollIntoViewIfNeeded();
    await p.screenshot({ path: join(OUT, '2-filtered.png') });
    shot('2-filtered.png');
  });

  it('says in the cost table how each verdict was reached, next to the verdict (issue 17)', async () => {
    const p = demo.page;
    const heads = await p
      .locator('#cost-table thead th')
      .evaluateAll((ths) => ths.map((th) => th.textContent));
    expect(heads.indexOf('basis')).toBe(heads.indexOf('verdict') + 1);
    const bases = await p
      .locator('#cost-table tbody tr')
      .evaluateAll(
        (trs, col) => trs.map((tr) => tr.children[col as number]?.textContent ?? ''),
        heads.indexOf('basis'),
      );
    expect(bases.length).toBeGreaterThan(0);
    // The demo samples every cell over its seeds: unmarked, `sampled N seeds`.
    for (const b of bases) expect(b).toMatch(/^sampled \d+ seeds?$/);
  });

  it('sorts the cost table by a clicked column', async () => {
    const p = demo.page;
    await p.locator('#cost-table th', { hasText: 'cycles' }).click();
    const values = await p
      .locator('#cost-table tbody tr td:last-child')
      .evaluateAll((tds) => tds.map((td) => Number(td.textContent)));
    expect(values.length).toBeGreaterThan(2);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
  });

  it('draws a chart per machine with direct labels and shows a value on hover', async () => {
    const p = demo.page;
    await p.locator('fieldset[data-dim="machine"] button.mini').click(); // every machine back
    await p.locator('fieldset[data-dim="strategy"] input[value="baseline"]').check();
    await p.locator('#charts-grid').evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await p.locator('figure.chart').first().waitFor();
    const machines = await p
      .locator('figure.chart')
      .evaluateAll(
        (fs) => [...new Set(fs.map((f) => (f.getAttribute('data-chart') ?? '').split(' / ')[0]))].length,
      );
    expect(machines).toBe(new Set(demoDoc.cells.map((c) => c.machine)).size);
    // The last point drawn is on top of any it overlaps (curves meet at one hart, where nothing is
    // flushed).
    const point = p.locator('figure.chart circle.pt').last();
    await point.evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await point.hover({ force: true });
    const tip = await p.locator('#tip').textContent();
    expect(tip).toMatch(/at \d+ harts: [\d.]+/);
    expect(await p.locator('#tip').isVisible()).toBe(true);
    await p.screenshot({ path: join(OUT, '3-chart-hover.png') });
    shot('3-chart-hover.png');
  });

  it('opens a trace on demand with a cycle axis, zoom and search', async () => {
    const p = demo.page;
    const button = p.locator('section.failure button[data-trace]').first();
    await button.evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await button.click();
    await p.locator('#viewer svg.timeline').waitFor();
    expect(await p.locator('#viewer-range').textContent()).toMatch(/cyc/);
    const before = await p.locator('#viewer svg rect.ev').count();
    await p.locator('#zoom-in').click();
    await p.locator('#zoom-in').click();
    const after = await p.locator('#viewer svg rect.ev').count();
    expect(after).toBeLessThan(before);
    await p.locator('#zoom-reset').click();
    await p.locator('#viewer-search').fill('fault');
    expect(await p.locator('#viewer-range').textContent()).toMatch(/\d+ match/);
    expect(await p.locator('#viewer-events tbody tr').count()).toBeGreaterThan(0);
    await p.locator('#viewer').screenshot({ path: join(OUT, '4-trace.png') });
    shot('4-trace.png');
  });

  it('shows hostile plugin strings as text: no request, no dialog, no injected element', async () => {
    const p = hostile.page;
    expect(hostile.requests).toEqual([]);
    expect(hostile.consoleErrors).toEqual([]);
    expect(await p.locator('img').count()).toBe(0);
    expect(
      await p.locator('table.verdicts thead th').filter({ hasText: 'onerror' }).first().textContent(),
    ).toBe(HOSTILE_STRATEGY);
    expect(await p.locator('body').textContent()).toContain(`deadlock under ${HOSTILE_STRATEGY}`);
    // Open every trace (hostile texts included): the viewer must keep them inert too.
    await p.locator('#trace-index').evaluate((e) => e.scrollIntoView({ block: 'center' }));
    await p.locator('#trace-index button[data-trace]').first().waitFor();
    const n = await p.locator('#trace-index button[data-trace]').count();
    expect(n).toBeGreaterThan(5);
    for (let i = 0; i < n; i++) {
      await p
        .locator('#trace-index button[data-trace]')
        .nth(i)
        .evaluate((e) => (e as { click(): void }).click());
      await p.locator('#viewer svg.timeline').waitFor();
    }
    expect(await p.locator('img').count()).toBe(0);
    expect(hostile.dialogs).toEqual([]);
    expect(hostile.consoleErrors).toEqual([]);
  });

  it('labels the trace axis in microseconds when the machine records its frequency', async () => {
    const p = hostile.page;
    const row = p.locator('#trace-index tr', { hasText: '|caches-invalid|' }).first();
    await row.locator('button').evaluate((e) => (e as { click(): void }).click());
    await p.locator('#viewer-title', { hasText: '|caches-invalid|' }).waitFor();
    expect(await p.locator('#viewer-range').textContent()).toMatch(/cyc \/ [\d.]+ \u00b5s/);
    expect(await p.locator('#viewer svg').textContent()).toContain('1000 MHz');
  });
});
