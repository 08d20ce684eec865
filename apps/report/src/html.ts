/**
 * The HTML report: one self-contained page. No script, no external stylesheet, font or image:
 * charts are inline SVG rendered at generation time, and a Content-Security-Policy forbids any
 * load, so even a string that escaped escaping could not run or phone home. Every string from a
 * plugin or a results file goes through `escapeHtml`.
 */
import { type Chart, costCharts, resetSVGDefIds } from './charts.js';
import { escapeHtml as e } from './escape.js';
import { formatNumber } from './layout.js';
import type {
  CostSection,
  FailureClass,
  ReportModel,
  Timeline,
  VerdictCell,
  VerdictMatrix,
} from './model.js';
import { eventList, timelineLegend, timelineSvg } from './timeline.js';

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 48px;color:#1a1a1a}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.v{white-space:nowrap}.v-correct{background:#d9f2d9}.v-incorrect{background:#f8d0d0;font-weight:600}.v-not-run{background:#eee;color:#666}
.sym{display:inline-block;width:1.2em;font-weight:700}
.legend td{font-weight:400}
pre{background:#f6f6f6;padding:6px 8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
figure{display:inline-block;margin:8px 12px 8px 0;vertical-align:top}figcaption{font-weight:600;margin-bottom:4px}
svg{max-width:100%;height:auto}
ul.kinds{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px}
ol.events{font-size:12px}.note{color:#555;font-size:12px}
details{margin:6px 0}summary{cursor:pointer}
.incorrect{color:#a00;font-weight:600}
`;

const SYMBOL: Readonly<Record<VerdictCell['status'], string>> = {
  correct: '\u2713',
  incorrect: '\u2717',
  'not-run': '\u2013',
};

function verdictTd(c: VerdictCell): string {
  const title =
    c.status === 'not-run'
      ? 'not run'
      : `${c.runs} runs over harts ${c.harts.join(', ')}: ${Object.entries(c.outcomes)
          .map(([o, n]) => `${o} ${n}`)
          .join(', ')}`;
  // A not-run cell's label is the dash itself; a second symbol would only repeat it.
  const sym = c.status === 'not-run' ? '' : `<span class="sym" aria-hidden="true">${SYMBOL[c.status]}</span>`;
  return `<td class="v v-${c.status}" data-status="${c.status}" title="${e(title)}">${sym}${e(c.status === 'not-run' ? SYMBOL['not-run'] : c.label)}</td>`;
}

function matrixHtml(m: VerdictMatrix, titles: ReadonlyMap<string, string>): string {
  const head = m.strategies
    .map((s) => `<th scope="col" title="${e(titles.get(s) ?? s)}">${e(s)}</th>`)
    .join('');
  const rows = m.scenarios
    .map((sc, i) => `<tr><th scope="row">${e(sc)}</th>${m.rows[i]!.map(verdictTd).join('')}</tr>`)
    .join('');
  return `<h3>${e(m.machine)} (${e(m.mode)})</h3><table class="verdicts" data-machine="${e(m.machine)}"><thead><tr><th>scenario \\ strategy set</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
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
    `<tr><td class="v v-not-run">\u2013</td><td>not run (grey)</td></tr>`,
  ].join('')}</tbody></table>`;
}

function costTableHtml(c: CostSection): string {
  const head = [
    'harts',
    'strategy set',
    'IPIs / mapping',
    'sfence all',
    'sfence asid',
    'sfence va',
    'sfence va+asid',
    'refill misses',
    'spurious faults',
    'latency p50',
    'latency p99',
  ]
    .map((h) => `<th>${h}</th>`)
    .join('');
  const rows = c.rows
    .map((r) => {
      const n = (x: number | null) => `<td class="num">${formatNumber(x)}</td>`;
      return `<tr><td class="num">${r.harts}</td><td>${e(r.strategy)}${r.verdict === 'incorrect' ? ' <span class="incorrect">(incorrect)</span>' : ''}</td>${n(r.ipisPerMapping)}${n(r.sfence.all)}${n(r.sfence.asid)}${n(r.sfence.va)}${n(r.sfence.vaAsid)}${n(r.refillMisses)}${n(r.spuriousFaults)}${n(r.mappingLatencyP50)}${n(r.mappingLatencyP99)}</tr>`;
    })
    .join('');
  return `<h3>${e(c.scenario)} on ${e(c.machine)} (${e(c.mode)})</h3><table class="costs"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

function timelineHtml(t: Timeline, open: boolean): string {
  return `<details class="trace" data-cell="${e(t.cellId)}"${open ? ' open' : ''}><summary>${e(t.cellId)}: ${e(t.outcome)}, seed ${t.seed}</summary>${timelineSvg(t)}<details><summary>Events as text</summary>${eventList(t.events)}</details></details>`;
}

function failureHtml(cl: FailureClass, i: number, timeline: Timeline | undefined): string {
  const cells = cl.cells
    .map((c) => `<li><code>${e(c.id)}</code>: ${c.failingRuns}/${c.runs} runs</li>`)
    .join('');
  return `<section class="failure" id="failure-${i + 1}"><h3>${i + 1}. ${e(cl.kind)} under ${e(cl.strategy)}: ${cl.failingRuns}/${cl.runs} runs in ${cl.cells.length} cell${cl.cells.length === 1 ? '' : 's'}</h3><details><summary>Cells</summary><ul>${cells}</ul></details><p>${e(cl.explanation)}</p><p>Replay the example cell:</p><pre><code>${e(cl.replay)}</code></pre>${timeline ? timelineHtml(timeline, true) : ''}</section>`;
}

function chartHtml(c: Chart): string {
  return `<figure class="chart" data-chart="${e(c.id)}"><figcaption>${e(c.title)}</figcaption>${c.svg}</figure>`;
}

function kvTable(rows: readonly (readonly [string, string])[], cls: string): string {
  return `<table class="${cls}"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td><code>${e(v)}</code></td></tr>`).join('')}</tbody></table>`;
}

export async function exportHtml(model: ReportModel): Promise<string> {
  // vega numbers clip paths and gradients with a process-wide counter; restart it so the same
  // model always gives the same bytes, and ids stay unique within this page.
  resetSVGDefIds();
  const s = model.summary;
  const titles = new Map(s.strategies.map((st) => [st.id, st.title]));
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>tlblab report: ${s.totals.incorrect} of ${s.totals.cells} cells incorrect</title>`,
    `<style>${STYLE}</style></head><body>`,
    '<h1>tlblab report</h1>',
    `<p class="summary">${s.totals.cells} cells, <strong>${s.totals.incorrect} incorrect</strong>, ${s.totals.failingRuns} of ${s.totals.runs} runs failed. ${e(s.tool.name)} ${e(s.tool.version)}${s.createdAt ? `, ${e(s.createdAt)}` : ''}; mode ${e(s.plan.mode)}; harts ${s.plan.harts.join(', ')}; ${s.plan.seeds.count} seeds from ${s.plan.seeds.base}${s.plan.shard ? `; shard ${e(s.plan.shard)}` : ''}; results <code>${e(s.resultsPath)}</code>.</p>`,
    '<nav><a href="#verdicts">Verdicts</a><a href="#failures">Failures</a><a href="#charts">Charts</a><a href="#costs">Cost tables</a><a href="#traces">Traces</a><a href="#plugins">Strategies and scenarios</a><a href="#machines">Machines</a></nav>',
  );

  out.push('<h2 id="verdicts">Verdicts (strategy set \u00d7 scenario)</h2>', verdictLegend());
  for (const m of s.matrices) out.push(matrixHtml(m, titles));

  const exampleTimelines = new Map(model.timelines.map((t) => [t.cellId, t]));
  out.push('<h2 id="failures">Failures</h2>');
  if (s.failureClasses.length === 0) out.push('<p>None: every cell met its expectation.</p>');
  else out.push(timelineLegend());
  for (const [i, cl] of s.failureClasses.entries())
    out.push(failureHtml(cl, i, exampleTimelines.get(cl.example.cellId)));

  out.push('<h2 id="charts">Costs against hart count</h2>');
  const chartSections = s.costs.filter((c) => c.machine === model.chartMachine);
  if (chartSections.length === 0) out.push('<p>No cost data to chart.</p>');
  else {
    out.push(
      `<p>Machine <strong>${e(model.chartMachine ?? '')}</strong>; one line per strategy set; means per run unless marked p50/p99. The cost tables below cover every machine.</p>`,
    );
  }
  for (const c of chartSections) {
    out.push(`<h3>${e(c.scenario)} on ${e(c.machine)} (${e(c.mode)})</h3>`);
    for (const chart of await costCharts(c)) out.push(chartHtml(chart));
  }

  out.push('<h2 id="costs">Cost tables</h2>');
  for (const c of s.costs) out.push(costTableHtml(c));

  out.push('<h2 id="traces">Traces of failing cells</h2>');
  if (model.timelines.length === 0) out.push('<p>No failing cell recorded a trace.</p>');
  else out.push(timelineLegend());
  const examples = new Set(s.failureClasses.map((cl) => cl.example.cellId));
  const others = model.timelines.filter((t) => !examples.has(t.cellId));
  if (examples.size > 0 && model.timelines.length > 0) {
    out.push('<p>Each failure class above shows its example cell; the other failing cells follow.</p>');
  }
  for (const t of others) out.push(timelineHtml(t, false));

  out.push(
    '<h2 id="plugins">Strategies and scenarios</h2><table class="strategies"><thead><tr><th>strategy set</th><th>member</th><th>title</th><th>description</th><th>source</th><th>options</th></tr></thead><tbody>',
  );
  for (const st of s.strategies) {
    for (const [j, m] of st.members.entries()) {
      out.push(
        `<tr>${j === 0 ? `<th scope="row" rowspan="${st.members.length}">${e(st.id)}<br><small>${e(st.title)}</small></th>` : ''}<td>${e(m.name)}</td><td>${e(m.title)}</td><td>${e(m.description)}</td><td>${m.source.map(([k, v]) => `${e(k)}: <code>${e(v)}</code>`).join('<br>')}</td><td>${m.options === null ? '' : `<code>${e(m.options)}</code>`}</td></tr>`,
      );
    }
  }
  out.push('</tbody></table>');
  out.push(
    '<table class="scenarios"><thead><tr><th>scenario</th><th>title</th><th>expects</th><th>purpose</th><th>story</th><th>source</th></tr></thead><tbody>',
  );
  for (const sc of s.scenarios) {
    out.push(
      `<tr><th scope="row">${e(sc.id)}</th><td>${e(sc.title)}</td><td>${e(sc.expect)}</td><td>${e(sc.purpose)}</td><td>${e(sc.story)}</td><td>${e(sc.source)}</td></tr>`,
    );
  }
  out.push('</tbody></table>');

  out.push('<h2 id="machines">Machines, cost table and kernel settings</h2>');
  for (const m of s.machines) {
    out.push(
      `<h3>${e(m.name)}</h3><p>${e(m.description)}</p><p><em>Evidence:</em> ${e(m.evidence)}</p>`,
      kvTable(m.settings, 'machine-settings'),
    );
  }
  const withCosts = s.machines.filter((m) => m.costs.length > 0);
  if (withCosts.length > 0) {
    const keys = [...new Set(withCosts.flatMap((m) => m.costs.map(([k]) => k)))];
    out.push(
      `<h3>Cycle costs</h3><table class="cycle-costs"><thead><tr><th>cost (cycles)</th>${withCosts.map((m) => `<th>${e(m.name)}</th>`).join('')}</tr></thead><tbody>`,
      ...keys.map(
        (k) =>
          `<tr><th scope="row">${e(k)}</th>${withCosts.map((m) => `<td class="num">${formatNumber(m.costs.find(([n]) => n === k)?.[1] ?? null)}</td>`).join('')}</tr>`,
      ),
      '</tbody></table>',
    );
  }
  out.push('<h3>Kernel</h3>', kvTable(s.kernel, 'kernel-settings'));
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
