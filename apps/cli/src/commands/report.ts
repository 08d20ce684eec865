import { resolve } from 'node:path';
import type { ResultsDocument } from '@tlblab/core';
import { REPORT_FORMATS, type ReportFilter, type ReportFormat, renderReport } from '@tlblab/report';
import type { CommandContext } from '../context.js';
import { UsageError, unknownName } from '../errors.js';
import { outputTarget, writeOutput } from '../output-file.js';
import { readResultsChecked } from '../results-file.js';

export interface ReportCommandOptions {
  readonly format?: string;
  readonly out?: string;
  readonly full?: boolean;
  readonly strategy?: string;
  readonly scenario?: string;
  readonly machine?: string;
  readonly mode?: string;
  readonly harts?: string;
  readonly partial?: boolean;
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
}

/**
 * The `--strategy/--scenario/--machine/--mode/--harts` subset, each name checked against the
 * document (a typo is a one-line error with the close match, not an empty report).
 */
export function reportFilter(doc: ResultsDocument, opts: ReportCommandOptions): ReportFilter | undefined {
  type Cell = ResultsDocument['cells'][number];
  /** The names a flag lists, each checked against the document's cells. */
  const check = (kind: string, flag: string, value: string | undefined, pick: (c: Cell) => string) => {
    const names = list(value);
    const candidates = [...new Set(doc.cells.map(pick))];
    for (const n of names ?? []) {
      if (!candidates.includes(n)) {
        const e = unknownName(kind, n, candidates);
        throw new UsageError(`${flag}: ${e.message.replace(/^unknown /, 'the document has no ')}`);
      }
    }
    return names;
  };
  const strategies = check('strategy set', '--strategy', opts.strategy, (c) => c.strategy);
  const scenarios = check('scenario', '--scenario', opts.scenario, (c) => c.scenario);
  const machines = check('machine', '--machine', opts.machine, (c) => c.machine);
  const modes = check('mode', '--mode', opts.mode, (c) => c.mode);
  const hartNames = check('hart count', '--harts', opts.harts, (c) => String(c.harts));
  const harts = hartNames?.map(Number);
  const filter: ReportFilter = {
    ...(strategies ? { strategies } : {}),
    ...(scenarios ? { scenarios } : {}),
    ...(machines ? { machines } : {}),
    ...(modes ? { modes } : {}),
    ...(harts ? { harts } : {}),
  };
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/**
 * `tlblab report <results> --format text|md|csv|json|html --out <file|-> [--full] [filters]`:
 * delegates to @tlblab/report.
 */
export async function reportCommand(
  ctx: CommandContext,
  results: string,
  opts: ReportCommandOptions,
): Promise<number> {
  const format = opts.format ?? 'text';
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw unknownName('report format', format, REPORT_FORMATS);
  const out = opts.out ?? '-';
  // The output path is checked before any work (issue 15): a bad --out exits 2 naming it.
  const target = out === '-' ? null : outputTarget('--out', out, ctx.io.cwd);
  const { doc, partialNote } = readResultsChecked(resolve(ctx.io.cwd, results), {
    partial: opts.partial === true,
  });
  const filter = reportFilter(doc, opts);
  const text = await renderReport(doc, {
    format: format as ReportFormat,
    resultsPath: results,
    ...(filter ? { filter } : {}),
    ...(opts.full ? { full: true } : {}),
  });
  // A partial document says so: on stderr always, and at the top of the plain-text formats.
  if (partialNote !== null) ctx.io.stderr.write(`note: ${partialNote}\n`);
  const note = partialNote !== null && (format === 'text' || format === 'md') ? `${partialNote}\n\n` : '';
  const body = note + (text.endsWith('\n') ? text : `${text}\n`);
  if (target === null) ctx.io.stdout.write(body);
  else writeOutput(target, body);
  return 0;
}
