/**
 * The csv report: one row per cell, every metric summary a column (`<metric>.mean`, `.p50`,
 * `.p99`, `.max`), RFC 4180 (CRLF records, fields with `,` `"` CR or LF quoted, quotes doubled).
 */
import type { ReportModel } from './model.js';
import { formatSurvived, type ScoreRow } from './scorecard.js';

// C0 controls but tab/LF/CR, DEL and C1 controls, and the bidirectional overrides/isolates
// (CVE-2021-42574): a plugin string must not reorder or hide what a spreadsheet or pager shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** A plugin or results string without control characters (tab and line breaks kept). */
export function stripControl(s: string): string {
  return s.replace(CONTROL, '');
}

/**
 * One csv field. Strings are neutralised against formula injection (OWASP "CSV Injection"): a
 * text cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`, so a spreadsheet shows
 * it as text instead of evaluating it. Numbers are written as numbers.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = typeof v === 'number' ? String(v) : stripControl(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const SCORE_COLUMNS = [
  'score.mode',
  'score.config',
  'score.release',
  'score.rank',
  'score.survived',
  'score.failures',
  'score.cycles',
  'score.ipisPerMapping',
  'score.mappingLatencyP50',
] as const;

/**
 * One table: the scorecard rows first (`record` = `scorecard`, one per strategy set and mode, the
 * `score.*` columns filled), then one row per cell (`record` = `cell`). Ratios are written as
 * `h<harts>=<ratio>` lists, the ratio against the cheapest correct set.
 */
export function exportCsv(model: ReportModel): string {
  const { columns, rows } = model.cellTable;
  const blank = columns.map(() => null);
  const strategyAt = columns.indexOf('strategy');
  const ratios = (r: ScoreRow, metric: string) =>
    r.costs
      .filter((c) => c.metric === metric)
      .map((c) => `h${c.harts}=${c.ratio === null ? '' : Number.isFinite(c.ratio) ? c.ratio : 'inf'}`)
      .join(' ');
  const scoreRows = model.summary.scorecard.blocks.flatMap((b) =>
    b.rows.map((r) => {
      const row: (string | number | null)[] = ['scorecard', ...blank];
      row[strategyAt + 1] = r.strategy;
      return [
        ...row,
        b.mode,
        r.config,
        r.release,
        r.rank,
        r.survived.map((x) => `${x.machine}=${formatSurvived(x)}`).join(' '),
        r.failures.map((f) => `${f.kind}=${f.entries}`).join(' '),
        ratios(r, 'cycles'),
        ratios(r, 'ipisPerMapping'),
        ratios(r, 'mappingLatencyP50'),
      ];
    }),
  );
  const cellRows = rows.map((r) => ['cell', ...r, ...SCORE_COLUMNS.map(() => null)]);
  return (
    [['record', ...columns, ...SCORE_COLUMNS], ...scoreRows, ...cellRows]
      .map((r) => r.map(csvField).join(','))
      .join('\r\n') + '\r\n'
  );
}
