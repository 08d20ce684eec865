import { resolve } from 'node:path';
import { serializeResultsDocument } from '@tlblab/core';
import type { CommandContext } from '../context.js';
import { println } from '../output.js';
import { mergeDocuments, readResults } from '../results-file.js';
import { writeDocumentAtomically } from '../sweep.js';

/** `tlblab merge <shards...> --out <file|->`. */
export async function mergeCommand(
  ctx: CommandContext,
  files: readonly string[],
  opts: { out: string },
): Promise<number> {
  const docs = files.map((f) => ({ file: f, doc: readResults(resolve(ctx.io.cwd, f)) }));
  const doc = mergeDocuments(docs);
  if (opts.out === '-') {
    ctx.io.stdout.write(serializeResultsDocument(doc));
  } else {
    writeDocumentAtomically(resolve(ctx.io.cwd, opts.out), doc);
    println(
      ctx.io.stderr,
      `merged ${files.length} file${files.length === 1 ? '' : 's'}: ${doc.cells.length} cells -> ${opts.out}`,
    );
  }
  return 0;
}
