/**
 * The json report: the aggregated summary model. Key order is fixed by the model's construction,
 * so the same document always serializes to the same bytes.
 */
import type { ReportModel } from './model.js';

export function exportJson(model: ReportModel): string {
  return `${JSON.stringify({ kind: 'tlblab-report', version: 1, ...model.summary }, null, 2)}\n`;
}
