import { resolve } from 'node:path';
import { serializeResultsDocument } from '@tlblab/core';
import type { CommandContext } from '../context.js';
import { println } from '../output.js';
import { outputTarget, writeOutput } from '../output-file.js';
import { mergeDocuments, readResults } from '../results-file.js';

/** `tlblab merge <shards...> --out <file|->`. */
export async function mergeCommand(
  ctx: CommandContext,
  files: readonly string[],
  opts: { out: string },
): Promise<number> {
  // The path is checked before the inputs are read: a typo in --out costs nothing.
  const target = opts.out === '-' ? null : outputTarget('--out', opts.out, ctx.io.cwd);
  // Shards are complete by construction; mergeDocuments names an incomplete one itself.
  const docs = files.map((f) => ({ file: f, doc: readResults(resolve(ctx.io.cwd, f), { partial: true }) }));
  const doc = mergeDocuments(docs);
  if (target === null) {
    ctx.io.stdout.write(serializeResultsDocument(doc));
  } else {
    writeOutput(target, serializeResultsDocument(doc));
    println(
      ctx.io.stderr,
      `merged ${files.length} file${files.length === 1 ? '' : 's'}: ${doc.cells.length} cells -> ${opts.out}`,
    );
  }
  return 0;
}
