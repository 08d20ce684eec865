/**
 * The csv report: one row per cell, every metric summary a column (`<metric>.mean`, `.p50`,
 * `.p99`, `.max`), RFC 4180 (CRLF records, fields with `,` `"` CR or LF quoted, quotes doubled).
 */
import type { ReportModel } from './model.js';

export function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function exportCsv(model: ReportModel): string {
  const { columns, rows } = model.cellTable;
  return [columns, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
