/**
 * Render every format for a ~2000-cell document (the size of a full default sweep: 10 strategy
 * sets x 10 scenarios x 4 machines x 5 hart counts) and print the time each takes. Exits 1 when
 * the total exceeds the budget the report issue sets (5 s for all formats on a 2-core machine).
 *
 *   node --conditions=source --import tsx apps/report/bench/render.bench.ts [--runs N]
 */
import { parseResultsDocument, serializeResultsDocument } from '@tlblab/core';
import {
  buildReportModel,
  exportCsv,
  exportHtml,
  exportJson,
  exportMarkdown,
  exportText,
  REPORT_FORMATS,
  renderReport,
} from '../src/index.ts';
import { largeDocument } from '../test/fixtures.ts';

const BUDGET_MS = 5000;
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

const jsonl = serializeResultsDocument(largeDocument());
const t0 = performance.now();
const doc = parseResultsDocument(jsonl);
const parseMs = performance.now() - t0;
console.log(
  `document: ${doc.cells.length} cells, ${(jsonl.length / 1e6).toFixed(1)} MB JSONL, parsed in ${parseMs.toFixed(0)} ms`,
);

function ms(start: number): number {
  return performance.now() - start;
}

let worstTotal = 0;
for (let run = 1; run <= runs; run++) {
  const timings: string[] = [];
  const start = performance.now();
  for (const format of REPORT_FORMATS) {
    const t = performance.now();
    const out = await renderReport(doc, { format });
    timings.push(`${format} ${ms(t).toFixed(0)} ms (${(out.length / 1e6).toFixed(2)} MB)`);
  }
  const total = ms(start);
  worstTotal = Math.max(worstTotal, total);
  console.log(`run ${run}: all formats ${total.toFixed(0)} ms: ${timings.join(', ')}`);
}

// The model once, then each exporter: where the time goes.
let t = performance.now();
const model = buildReportModel(doc);
const split = [`model ${ms(t).toFixed(0)} ms`];
for (const [name, fn] of [
  ['text', exportText],
  ['md', exportMarkdown],
  ['csv', exportCsv],
  ['json', exportJson],
] as const) {
  t = performance.now();
  fn(model);
  split.push(`${name} ${ms(t).toFixed(0)} ms`);
}
t = performance.now();
await exportHtml(model);
split.push(`html ${ms(t).toFixed(0)} ms`);
console.log(`one model, then each exporter: ${split.join(', ')}`);

if (worstTotal > BUDGET_MS) {
  console.error(`over budget: ${worstTotal.toFixed(0)} ms > ${BUDGET_MS} ms`);
  process.exit(1);
}
console.log(`within budget: worst ${worstTotal.toFixed(0)} ms <= ${BUDGET_MS} ms`);
