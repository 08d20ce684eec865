import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPORT_FORMATS, type ReportFormat, renderReport } from '@tlblab/report';
import type { CommandContext } from '../context.js';
import { unknownName } from '../errors.js';
import { readResults } from '../results-file.js';

/** `tlblab report <results> --format text|md|csv|json|html --out <file|->`: delegates to @tlblab/report. */
export async function reportCommand(
  ctx: CommandContext,
  results: string,
  opts: { format?: string; out?: string },
): Promise<number> {
  const format = opts.format ?? 'text';
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw unknownName('report format', format, REPORT_FORMATS);
  const doc = readResults(resolve(ctx.io.cwd, results));
  const text = await renderReport(doc, { format: format as ReportFormat, resultsPath: results });
  const out = opts.out ?? '-';
  if (out === '-') ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  else writeFileSync(resolve(ctx.io.cwd, out), text);
  return 0;
}
