import { resolve } from 'node:path';
import {
  type DiffResult,
  diffDocuments,
  diffJson,
  diffMarkdown,
  diffText,
  hasRegression,
  PlanMismatchError,
} from '@tlblab/report';
import type { CommandContext } from '../context.js';
import { UsageError, unknownName } from '../errors.js';
import { outputTarget, writeOutput } from '../output-file.js';
import { readResultsChecked } from '../results-file.js';

export interface DiffCommandOptions {
  readonly format?: string;
  readonly out?: string;
  readonly threshold?: string;
  readonly failOn?: string;
  readonly overlap?: boolean;
  readonly partial?: boolean;
}

const FORMATS = ['text', 'md', 'json'] as const;

/** `5%`, `5` (percent) or `0.05`. */
export function parseThreshold(value: string | undefined): number {
  if (value === undefined) return 0.05;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  if (!m)
    throw new UsageError(`--threshold ${value}: give a percentage such as 5% or a fraction such as 0.05`);
  const n = Number(m[1]);
  const t = m[2] === '%' || n >= 1 ? n / 100 : n;
  if (t >= 10) throw new UsageError(`--threshold ${value}: at most 1000%`);
  return t;
}

/**
 * `tlblab diff <before> <after> [--threshold 5%] [--format text|md|json] [--fail-on regression]
 * [--overlap] [--out file]`: exit 1 with `--fail-on regression` when anything regressed.
 */
export async function diffCommand(
  ctx: CommandContext,
  before: string,
  after: string,
  opts: DiffCommandOptions,
): Promise<number> {
  const format = opts.format ?? 'text';
  if (!(FORMATS as readonly string[]).includes(format)) throw unknownName('diff format', format, FORMATS);
  if (opts.failOn !== undefined && opts.failOn !== 'regression')
    throw unknownName('--fail-on value', opts.failOn, ['regression']);
  const threshold = parseThreshold(opts.threshold);
  const out = opts.out ?? '-';
  const target = out === '-' ? null : outputTarget('--out', out, ctx.io.cwd);
  const partial = { partial: opts.partial === true };
  const ra = readResultsChecked(resolve(ctx.io.cwd, before), partial);
  const rb = readResultsChecked(resolve(ctx.io.cwd, after), partial);
  const a = ra.doc;
  const b = rb.doc;
  for (const n of [ra.partialNote, rb.partialNote]) if (n !== null) ctx.io.stderr.write(`note: ${n}\n`);
  let d: DiffResult;
  try {
    d = diffDocuments(a, b, {
      threshold,
      overlap: opts.overlap === true,
      beforePath: before,
      afterPath: after,
    });
  } catch (e) {
    if (e instanceof PlanMismatchError) throw new UsageError(`diff: ${before} and ${after}: ${e.message}`);
    throw e;
  }
  if (opts.overlap && d.compared === 0)
    throw new UsageError(`diff: ${before} and ${after} have no cell in common`);
  const text = format === 'json' ? diffJson(d) : format === 'md' ? diffMarkdown(d) : diffText(d);
  if (target === null) ctx.io.stdout.write(text);
  else writeOutput(target, text);
  return opts.failOn === 'regression' && hasRegression(d) ? 1 : 0;
}
