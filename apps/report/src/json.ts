/**
 * The json report: the aggregated summary model. Key order is fixed by the model's construction,
 * so the same document always serializes to the same bytes. A ratio against a cheapest value of 0
 * is infinite; JSON has no Infinity (it would become `null`, which means "no ratio"), so it is
 * written as the string `"inf"`.
 */
import type { ReportModel } from './model.js';

export function exportJson(model: ReportModel): string {
  const finite = (_key: string, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) && !Number.isNaN(v) ? (v > 0 ? 'inf' : '-inf') : v;
  return `${JSON.stringify({ kind: 'tlblab-report', version: 1, ...model.summary }, finite, 2)}\n`;
}
