/**
 * The HTML report: one self-contained page, no network. The static parts (scorecard, verdict
 * matrices, failure paragraphs, plugin metadata) are plain HTML; the interactive parts (filters,
 * the sortable cost table, charts with hover values, the trace viewer) are drawn by one inline
 * script that the Content-Security-Policy admits by its sha256 and nothing else. Data travels in a
 * JSON island; traces are deflated and decoded only when opened (html-data.ts). Every string from
 * a plugin or a results file goes through `escapeHtml` here, and through `textContent` in the script.
 */
import { createHash } from 'node:crypto';
import { escapeHtml as e } from './escape.js';
import { islandJson, pageData } from './html-data.js';
import { PAGE_SCRIPT } from './html-script.js';
import { formatNumber } from './layout.js';
import {
  BASIS_LEGEND,
  basisLine,
  type FailureClass,
  type ReportModel,
  type VerdictCell,
  type VerdictMatrix,
} from './model.js';
import {
  formatRatio,
  formatSpread,
  formatSurvived,
  INCONCLUSIVE_LEGEND,
  inconclusiveNote,
  provedNote,
  type ScoreBlock,
  type Scorecard,
} from './scorecard.js';

const SCRIPT_HASH = createHash('sha256').update(PAGE_SCRIPT, 'utf8').digest('base64');

export const CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1360px;padding:0 16px 48px;color:#1a1a1a}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}
nav a{margin-right:12px}
.scroll{max-width:100%;max-height:70vh;overflow:auto;border:1px solid #ddd;margin:6px 0 12px}
table{border-collapse:separate;border-spacing:0}th,td{border-right:1px solid #ddd;border-bottom:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:#f3f3f3;z-index:2}tbody th{position:sticky;left:0;background:#fafafa;z-index:1}
table.sortable thead th{cursor:pointer;user-select:none}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.v{white-space:nowrap}.v-correct{background:#d9f2d9}.v-incorrect{background:#f8d0d0;font-weight:600}.v-not-run{background:#eee;color:#666}.v-partial{background:#fde9c4}.v-inconclusive{background:#e4e0f4;font-style:italic}
tr.bad td{color:#a00}tr.unsure td{color:#537}
.sym{display:inline-block;width:1.2em;font-weight:700}
pre{background:#f6f6f6;padding:6px 8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
#filters{display:flex;flex-wrap:wrap;gap:6px 10px;padding:6px 0;border-bottom:1px solid #ddd}
#filters fieldset{border:1px solid #ccc;padding:2px 8px;margin:0;font-size:12px}#filters label{margin-right:8px;white-space:nowrap}
button.mini{font-size:11px;padding:0 4px;margin-right:6px}
.hide{display:none!important}
#charts-grid{display:flex;flex-wrap:wrap;gap:8px}
figure.chart{margin:0;border:1px solid #eee;padding:4px}figcaption{font-size:12px;font-weight:600}
#tip{position:absolute;display:none;background:#222;color:#fff;padding:3px 6px;font-size:12px;border-radius:3px;pointer-events:none;z-index:10;max-width:480px}
#viewer{border:2px solid #888;padding:8px;margin:10px 0;background:#fff}#viewer-svg{overflow:hidden;cursor:grab}
.note{color:#555;font-size:12px}.incorrect{color:#a00;font-weight:600}
.kernel-real{color:#064}.kernel-whatif{color:#555;font-style:italic}
`;

const SYMBOL: Readonly<Record<VerdictCell['status'], string>> = {
  correct: '\u2713',
  incorrect: '\u2717',
  inconclusive: '?',
  'not-run': '\u2013',
};

function verdictTd(c: VerdictCell): string {
  const title =
    c.status === 'not-run'
      ? 'not run'
      : `${c.runs} runs over harts ${c.harts.join(', ')}: ${Object.entries(c.outcomes)
          .map(([o, n]) => `${o} ${n}`)
          .join(', ')}; ${c.basis.texts.join('; ')}`;
  // A not-run cell's label is the dash itself; a second symbol would only repeat it.
  const sym = c.status === 'not-run' ? '' : `<span class="sym" aria-hidden="true">${SYMBOL[c.status]}</span>`;
  return `<td class="v v-${c.status}" data-status="${c.status}" title="${e(title)}">${sym}${e(c.status === 'not-run' ? SYMBOL['not-run'] : c.label + c.basis.mark)}</td>`;
}

function matrixHtml(m: VerdictMatrix, titles: ReadonlyMap<string, string>): string {
  const head = m.strategies
    .map((s) => `<th scope="col" data-strategy="${e(s)}" title="${e(titles.get(s) ?? s)}">${e(s)}</th>`)
    .join('');
  const rows = m.scenarios
    .map(
      (sc, i) =>
        `<tr data-scenario="${e(sc)}"><th scope="row">${e(sc)}</th>${m.rows[i]!.map((c, j) => verdictTd(c).replace('<td ', `<td data-strategy="${e(m.strategies[j]!)}" `)).join('')}</tr>`,
    )
    .join('');
  return `<section data-machine="${e(m.machine)}" data-mode="${e(m.mode)}"><h3>${e(m.machine)} (${e(m.mode)})</h3><div class="scroll"><table class="verdicts" data-machine="${e(m.machine)}"><thead><tr><th>scenario \\ strategy set</th>${head}</tr></thead><tbody>${rows}</tbody></table></div><p class="note">${e(basisLine(m))}</p></section>`;
}

function verdictLegend(): string {
  const row = (status: VerdictCell['status'], label: string, meaning: string) =>
    `<tr><td class="v v-${status}"><span class="sym" aria-hidden="true">${SYMBOL[status]}</span>${label}</td><td>${meaning}</td></tr>`;
  return `<table class="legend"><caption>Legend</caption><tbody>${[
    row('correct', 'ok', "every run met the scenario's expectation (green, \u2713)"),
    row('correct', 'ok (oops)', 'the scenario expects an oops and every run oopsed (green, \u2713)'),
    row(
      'incorrect',
      'livelock 32/32',
      'incorrect: 32 of 32 runs ended in livelock; + = other failure kinds too (red, \u2717)',
    ),
    row(
      'inconclusive',
      '?step-limit 2/32',
      'inconclusive: no run failed for a real reason, but 2 of 32 ran out of the step budget (raise --kernel stepLimit=N) or the watchdog (timeout: raise --cell-timeout) stopped them (lilac, ?)',
    ),
    `<tr><td class="v v-not-run">\u2013</td><td>not run (grey)</td></tr>`,
  ].join('')}</tbody></table>`;
}

function survivalTd(x: { machine: string; correct: number; total: number; inconclusive: number }): string {
  const cls =
    x.total === 0
      ? 'v-not-run'
      : x.correct === x.total
        ? 'v-correct'
        : x.correct === 0
          ? 'v-incorrect'
          : 'v-partial';
  return `<td class="v num ${cls}" data-machine="${e(x.machine)}">${x.total === 0 ? '\u2013' : e(formatSurvived(x))}</td>`;
}

function scoreBlockHtml(b: ScoreBlock): string {
  const maxHarts = b.hartCounts[b.hartCounts.length - 1];
  const cost = (r: ScoreBlock['rows'][number], metric: string, h: number | undefined) =>
    r.costs.find((c) => c.metric === metric && c.harts === h);
  const head = [
    '<th>#</th><th>strategy set</th><th>kernel</th>',
    ...b.machines.map((m) => `<th data-machine="${e(m)}">${e(m)}</th>`),
    ...b.hartCounts.map((h) => `<th data-harts="${h}">cycles, ${h} harts</th>`),
    `<th>spread at ${maxHarts ?? '-'}</th><th>IPIs/map at ${maxHarts ?? '-'}</th><th>lat p50 at ${maxHarts ?? '-'}</th><th>failures; first failing cell</th>`,
  ].join('');
  const rows = b.rows
    .map((r) => {
      const c = cost(r, 'cycles', maxHarts);
      const kernel =
        r.config === 'real'
          ? `<span class="kernel-real">${e(r.release ?? 'real')}</span>`
          : '<span class="kernel-whatif">what-if</span>';
      const fails = r.firstFailure
        ? `${r.failures.map((f) => `${e(f.kind)} \u00d7${f.entries}`).join(', ')}; ${e(r.firstFailure.scenario)} on ${e(r.firstFailure.machine)} h${r.firstFailure.harts}`
        : '';
      return `<tr data-strategy="${e(r.strategy)}"><td class="num">${r.rank}</td><th scope="row">${e(r.strategy)}</th><td>${kernel}</td>${r.survived.map(survivalTd).join('')}${b.hartCounts.map((h) => `<td class="num" data-harts="${h}">${formatRatio(cost(r, 'cycles', h)?.ratio ?? null)}</td>`).join('')}<td class="num">${c ? formatSpread(c) : '-'}</td><td class="num">${formatRatio(cost(r, 'ipisPerMapping', maxHarts)?.ratio ?? null)}</td><td class="num">${formatRatio(cost(r, 'mappingLatencyP50', maxHarts)?.ratio ?? null)}</td><td>${fails}</td></tr>`;
    })
    .join('');
  return `<section data-mode="${e(b.mode)}"><h3>${e(b.mode)}</h3><div class="scroll"><table class="scorecard"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div><p class="note">Survived = scenarios whose every run met the expectation, over every hart count, of those run on the machine. Costs are ratios to the cheapest correct set in each machine \u00d7 cost scenario (${b.costScenarios.map(e).join(', ') || 'none'}), geometric mean; spread = min\u2013max.</p></section>`;
}

function scorecardHtml(sc: Scorecard): string {
  const proved = provedNote(sc);
  return `<h2 id="scorecard">Scorecard</h2><p>${e(sc.rule)}</p>${proved === null ? '' : `<p class="note">${e(proved)}</p>`}${sc.blocks.map(scoreBlockHtml).join('')}`;
}

function failureHtml(cl: FailureClass, i: number, trace: number | undefined): string {
  const cells = cl.cells
    .map(
      (c) =>
        `<li data-machine="${e(c.machine)}" data-mode="${e(c.mode)}" data-scenario="${e(c.scenario)}" data-harts="${c.harts}"><code>${e(c.id)}</code>: ${c.failingRuns}/${c.runs} runs</li>`,
    )
    .join('');
  const open =
    trace === undefined
      ? ''
      : `<button type="button" data-trace="${trace}">Open the example's trace</button>`;
  return `<section class="failure" id="failure-${i + 1}" data-strategy="${e(cl.strategy)}"><h3>${i + 1}. ${e(cl.kind)} under ${e(cl.strategy)}: ${cl.failingRuns}/${cl.runs} runs in ${cl.cells.length} cell${cl.cells.length === 1 ? '' : 's'}</h3><details><summary>Cells</summary><div class="scroll"><ul>${cells}</ul></div></details><p>${e(cl.explanation)}</p>${cl.replay === null ? '' : `<p>Replay the example cell:</p><pre><code>${e(cl.replay)}</code></pre>`}${open}</section>`;
}

export async function exportHtml(model: ReportModel): Promise<string> {
  const s = model.summary;
  const titles = new Map(s.strategies.map((st) => [st.id, st.title]));
  const data = pageData(model);
  const traceOf = new Map(data.traces.map((t, i) => [String(t[0]), i]));
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>tlblab report: ${s.totals.incorrect} of ${s.totals.cells} cells incorrect</title>`,
    `<style>${STYLE}</style></head><body>`,
    '<h1>tlblab report</h1>',
    `<p class="summary">${s.totals.cells} cells, <strong>${s.totals.incorrect} incorrect</strong>${inconclusiveNote(s.totals)}, ${s.totals.failingRuns} of ${s.totals.runs} runs failed. ${e(s.tool.name)} ${e(s.tool.version)}${s.createdAt ? `, ${e(s.createdAt)}` : ''}; mode ${e(s.plan.mode)}; harts ${s.plan.harts.join(', ')}; ${s.plan.seeds.count} seeds from ${s.plan.seeds.base}${s.plan.shard ? `; shard ${e(s.plan.shard)}` : ''}; results <code>${e(s.resultsPath)}</code>.${s.filter ? ` Showing only: ${e(s.filter)}.` : ''}</p>`,
    '<nav><a href="#scorecard">Scorecard</a><a href="#verdicts">Verdicts</a><a href="#failures">Failures</a><a href="#charts">Charts</a><a href="#costs">Cost table</a><a href="#traces">Traces</a><a href="#plugins">Strategies and scenarios</a><a href="#machines">Machines</a></nav>',
    '<div id="filters" aria-label="filters"></div>',
  );
  out.push(scorecardHtml(s.scorecard));
  out.push(
    '<h2 id="verdicts">Verdicts (strategy set \u00d7 scenario)</h2>',
    verdictLegend(),
    `<p class="note">${e(BASIS_LEGEND)}</p>`,
  );
  if (s.totals.inconclusive > 0) out.push(`<p class="note">${e(INCONCLUSIVE_LEGEND)}</p>`);
  for (const m of s.matrices) out.push(matrixHtml(m, titles));

  out.push('<h2 id="failures">Failures</h2>');
  if (s.failureClasses.length === 0) out.push('<p>None: every cell met its expectation.</p>');
  for (const [i, cl] of s.failureClasses.entries())
    out.push(failureHtml(cl, i, traceOf.get(cl.example.cellId)));

  out.push(
    '<h2 id="charts">Costs against hart count</h2>',
    '<p>One chart per machine, mode and cost scenario; one line per strategy set (sets with identical values share a line and a label); open points are incorrect cells. Hover a point for its value.</p>',
    '<p><label>Metric <select id="chart-metric"></select></label> <label>Scale <select id="chart-log"><option value="auto">auto (log when values span two decades)</option><option value="linear">linear</option><option value="log">log</option></select></label></p>',
    '<div id="charts-grid"></div>',
    '<h2 id="costs">Cost table</h2>',
    `<p>Means per run (latency: p50/p99 in cycles); click a header to sort. basis = how the verdict was reached. <span id="cost-count" class="note"></span></p><p class="note">${e(BASIS_LEGEND)}</p>`,
    '<div id="cost-table" class="scroll"></div>',
    '<h2 id="traces">Traces of failing cells</h2>',
    '<p>The first failing seed of each failing cell (its last events). <span id="trace-count" class="note"></span></p>',
    '<div id="trace-index" class="scroll"></div>',
    '<section id="viewer" hidden><h3 id="viewer-title"></h3><p><button type="button" id="zoom-in">zoom in</button> <button type="button" id="zoom-out">zoom out</button> <button type="button" id="zoom-reset">whole trace</button> <label>Search <input id="viewer-search" type="search" placeholder="text or kind"></label> <button type="button" id="viewer-close">close</button> <span id="viewer-range" class="note"></span></p><div id="viewer-svg"></div><div id="viewer-events" class="scroll"></div></section>',
  );

  out.push(
    '<h2 id="plugins">Strategies and scenarios</h2><div class="scroll"><table class="strategies"><thead><tr><th>strategy set</th><th>kernel</th><th>member</th><th>title</th><th>description</th><th>source</th><th>options</th></tr></thead><tbody>',
  );
  for (const st of s.strategies) {
    for (const [j, m] of st.members.entries()) {
      out.push(
        `<tr data-strategy="${e(st.id)}">${j === 0 ? `<th scope="row" rowspan="${st.members.length}">${e(st.id)}<br><small>${e(st.title)}</small></th><td rowspan="${st.members.length}">${st.kernel ? `${e(st.kernel.release)} (${st.kernel.modes.map(e).join(', ')})` : 'what-if'}</td>` : ''}<td>${e(m.name)}</td><td>${e(m.title)}</td><td>${e(m.description)}</td><td>${m.source.map(([k, v]) => `${e(k)}: <code>${e(v)}</code>`).join('<br>')}</td><td>${m.options === null ? '' : `<code>${e(m.options)}</code>`}</td></tr>`,
      );
    }
  }
  out.push('</tbody></table></div>');
  out.push(
    '<div class="scroll"><table class="scenarios"><thead><tr><th>scenario</th><th>title</th><th>expects</th><th>purpose</th><th>story</th><th>source</th></tr></thead><tbody>',
  );
  for (const sc of s.scenarios) {
    out.push(
      `<tr data-scenario="${e(sc.id)}"><th scope="row">${e(sc.id)}</th><td>${e(sc.title)}</td><td>${e(sc.expect)}</td><td>${e(sc.purpose)}</td><td>${e(sc.story)}</td><td>${e(sc.source)}</td></tr>`,
    );
  }
  out.push('</tbody></table></div>');

  out.push('<h2 id="machines">Machines, cost table and kernel settings</h2>');
  for (const m of s.machines) {
    out.push(
      `<section data-machine="${e(m.name)}"><h3>${e(m.name)}</h3><p>${e(m.description)}</p><p><em>Evidence:</em> ${e(m.evidence)}</p><details><summary>Settings</summary>${kvTable(m.settings, 'machine-settings')}</details></section>`,
    );
  }
  const withCosts = s.machines.filter((m) => m.costs.length > 0);
  if (withCosts.length > 0) {
    const keys = [...new Set(withCosts.flatMap((m) => m.costs.map(([k]) => k)))];
    out.push(
      `<h3>Cycle costs</h3><div class="scroll"><table class="cycle-costs"><thead><tr><th>cost (cycles)</th>${withCosts.map((m) => `<th data-machine="${e(m.name)}">${e(m.name)}</th>`).join('')}</tr></thead><tbody>`,
      ...keys.map(
        (k) =>
          `<tr><th scope="row">${e(k)}</th>${withCosts.map((m) => `<td class="num" data-machine="${e(m.name)}">${formatNumber(m.costs.find(([n]) => n === k)?.[1] ?? null)}</td>`).join('')}</tr>`,
      ),
      '</tbody></table></div>',
    );
  }
  out.push('<h3>Kernel</h3>', kvTable(s.kernel, 'kernel-settings'));
  out.push(`<script type="application/json" id="tlb-data">${islandJson(data)}</script>`);
  out.push(`<script>${PAGE_SCRIPT}</script>`);
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}

function kvTable(rows: readonly (readonly [string, string])[], cls: string): string {
  return `<div class="scroll"><table class="${cls}"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td><code>${e(v)}</code></td></tr>`).join('')}</tbody></table></div>`;
}
