/**
 * @tlblab/report: a results document rendered as text, markdown, csv, json or one self-contained
 * HTML page. Every format is a pure exporter over one model (`buildReportModel`); see README.md.
 */
import type { ResultsDocument } from '@tlblab/core';
import { exportCsv } from './csv.js';
import { exportHtml } from './html.js';
import { exportJson } from './json.js';
import { exportMarkdown } from './markdown.js';
import { buildReportModel, type ReportModel, type ReportOptions } from './model.js';
import { exportText } from './text.js';

export { exportCsv } from './csv.js';
export {
  type Change,
  type CostChange,
  DIFF_METRICS,
  type DiffOptions,
  type DiffResult,
  diffDocuments,
  diffJson,
  diffMarkdown,
  diffText,
  hasRegression,
  PlanMismatchError,
  type VerdictChange,
} from './diff.js';
export { escapeHtml } from './escape.js';
export { type FailureEvidence, MECHANISMS } from './explain.js';
export { CSP, exportHtml } from './html.js';
export { exportJson } from './json.js';
export { exportMarkdown } from './markdown.js';
export {
  buildReportModel,
  type CellTable,
  type CostRow,
  type CostSection,
  describeFilter,
  type FailureCellRef,
  type FailureClass,
  type FailureKind,
  failureKindOf,
  filterCells,
  type MachineInfo,
  REPORT_FORMATS,
  type ReportFilter,
  type ReportFormat,
  type ReportModel,
  type ReportOptions,
  type ReportSummary,
  replayCommand,
  type ScenarioInfo,
  type StrategyInfo,
  type Timeline,
  type VerdictCell,
  type VerdictMatrix,
} from './model.js';
export { exportText } from './text.js';

/**
 * Models built per document and options (the format aside): every exporter only reads its model,
 * so one document rendered in several formats in one process (`pnpm demo`: text, then HTML) builds
 * it once (issue 13).
 */
const MODELS = new WeakMap<ResultsDocument, Map<string, ReportModel>>();

function modelOf(doc: ResultsDocument, options: ReportOptions): ReportModel {
  const { format: _format, ...rest } = options;
  const key = JSON.stringify(rest);
  let byOptions = MODELS.get(doc);
  if (!byOptions) {
    byOptions = new Map();
    MODELS.set(doc, byOptions);
  }
  let model = byOptions.get(key);
  if (!model) {
    model = buildReportModel(doc, rest);
    byOptions.set(key, model);
  }
  return model;
}

/**
 * Render a results document in one format. Async so that a format may render asynchronously; every
 * format today resolves at once.
 */
export async function renderReport(doc: ResultsDocument, options: ReportOptions): Promise<string> {
  const model = modelOf(doc, options);
  switch (options.format) {
    case 'text':
      return exportText(model);
    case 'md':
      return exportMarkdown(model);
    case 'csv':
      return exportCsv(model);
    case 'json':
      return exportJson(model);
    case 'html':
      return exportHtml(model);
    default:
      // Reachable from JavaScript callers and untyped CLI input.
      throw new Error(
        `unknown report format '${String(options.format satisfies never)}' (text, md, csv, json, html)`,
      );
  }
}
