/**
 * Reading results files and merging shards (issue 6, "merge joins shard files into exactly the
 * document one unsharded run produces").
 */
import { existsSync, readFileSync } from 'node:fs';
import { type CellRecord, type MetaRecord, parseResultsDocument, type ResultsDocument } from '@tlblab/core';
import { oneLine, UsageError } from './errors.js';
import { clean } from './output.js';
import { shardOf } from './plan.js';
import { normalizeCell, normalizeMeta, sameMeta } from './sweep.js';

export interface ReadResultsOptions {
  /** Accept a document that lacks cells of its plan or repeats one (the first copy is kept). */
  readonly partial?: boolean;
}

/** How much of its plan a document holds. */
export interface Completeness {
  /** Cells the plan (or the shard) has. */
  readonly expected: number;
  /** Distinct cells present. */
  readonly present: number;
  /** Cells present more than once, by id. */
  readonly duplicates: readonly string[];
}

/** `4 of 12 cells` / `cell 'x' twice`: what is wrong with a document, or null when it is whole. */
export function completenessProblem(c: Completeness): string | null {
  const parts: string[] = [];
  if (c.present < c.expected) parts.push(`holds ${c.present} of ${c.expected} cells`);
  if (c.duplicates.length > 0)
    parts.push(
      `holds ${c.duplicates.length === 1 ? 'a cell' : `${c.duplicates.length} cells`} twice ('${clean(c.duplicates[0]!)}'${c.duplicates.length > 1 ? ', ...' : ''})`,
    );
  return parts.length === 0 ? null : parts.join(' and ');
}

/** Check a document against its own plan: every cell of it (or of its shard) once. */
export function completeness(doc: ResultsDocument): Completeness {
  const plan = doc.meta.plan;
  const shard = plan.shard;
  const expected = shard === null ? plan.totalCells : countInShard(plan.totalCells, shard);
  const seen = new Set<number>();
  const duplicates: string[] = [];
  for (const c of doc.cells) {
    if (c.index >= plan.totalCells)
      throw new UsageError(
        `cell ${c.index} '${clean(c.id)}' is outside the plan of ${plan.totalCells} cells`,
      );
    if (shard !== null && shardOf(c.index, shard.count) !== shard.index)
      throw new UsageError(
        `cell ${c.index} '${clean(c.id)}' belongs to another shard than ${shard.index}/${shard.count}`,
      );
    if (seen.has(c.index)) duplicates.push(c.id);
    seen.add(c.index);
  }
  return { expected, present: seen.size, duplicates };
}

/**
 * Read and validate a results document; any problem is a one-line `UsageError`. A document that
 * lacks cells of its plan (a sweep stopped by Ctrl-C, a meta-only file) or repeats one is refused
 * unless `partial` is set (issue 15): rendering "4 cells" of a 12-cell sweep as if it were the
 * sweep misleads. With `partial` a repeated cell keeps its first copy; `partialNote` says what the
 * output stands on.
 */
export function readResults(file: string, opts: ReadResultsOptions = {}): ResultsDocument {
  return readResultsChecked(file, opts).doc;
}

/**
 * The last document this process parsed, with the exact text it was parsed from (issue 13:
 * `pnpm demo` reports one file as text and then as HTML in one process, and validating its
 * 25 MB again was a third of the second report). Documents are read-only to every reader.
 */
let lastParsed: { readonly file: string; readonly text: string; readonly doc: ResultsDocument } | null = null;

export function readResultsChecked(
  file: string,
  opts: ReadResultsOptions = {},
): { doc: ResultsDocument; completeness: Completeness; partialNote: string | null } {
  const where = clean(file);
  if (!existsSync(file)) throw new UsageError(`${where}: no such results file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${where}: cannot read: ${oneLine(e)}`);
  }
  let doc: ResultsDocument;
  if (lastParsed !== null && lastParsed.file === file && lastParsed.text === text) doc = lastParsed.doc;
  else {
    try {
      doc = parseResultsDocument(text, { source: file });
    } catch (e) {
      throw new UsageError(oneLine(e));
    }
    lastParsed = { file, text, doc };
  }
  let c: Completeness;
  try {
    c = completeness(doc);
  } catch (e) {
    throw new UsageError(`${where}: ${oneLine(e)}`);
  }
  const problem = completenessProblem(c);
  if (problem === null) return { doc, completeness: c, partialNote: null };
  if (!opts.partial) {
    throw new UsageError(
      `${where} ${problem}: finish it with 'tlblab compare ... --resume', or pass --partial to use it as it is`,
    );
  }
  const seen = new Set<number>();
  const cells = doc.cells.filter((x) => {
    if (seen.has(x.index)) return false;
    seen.add(x.index);
    return true;
  });
  return {
    doc: { meta: doc.meta, cells },
    completeness: c,
    partialNote: `partial results: ${where} ${problem} (--partial)`,
  };
}

/**
 * Merge shard documents into the unsharded one. Refuses mixed schema versions (the parser already
 * does), different plans or tools, overlapping or missing shards, and incomplete shards.
 */
export function mergeDocuments(files: readonly { file: string; doc: ResultsDocument }[]): ResultsDocument {
  if (files.length === 0) throw new UsageError('merge: no input files');
  const first = files[0]!;
  for (const f of files.slice(1)) {
    const diff = sameMeta(first.doc.meta, f.doc.meta, true);
    if (diff !== null)
      throw new UsageError(`merge: ${f.file} and ${first.file} come from different sweeps: ${diff}`);
  }
  const plan = first.doc.meta.plan;
  const shards = files.map((f) => ({ file: f.file, shard: f.doc.meta.plan.shard }));
  const unsharded = shards.find((s) => s.shard === null);
  if (unsharded && files.length > 1) {
    throw new UsageError(
      `merge: ${unsharded.file} is a whole sweep, not a shard; it overlaps every other file`,
    );
  }
  if (!unsharded) {
    const count = shards[0]!.shard!.count;
    const seen = new Map<number, string>();
    for (const s of shards) {
      if (s.shard!.count !== count) {
        throw new UsageError(
          `merge: ${s.file} is shard ${s.shard!.index}/${s.shard!.count} but ${shards[0]!.file} is one of ${count}`,
        );
      }
      const prev = seen.get(s.shard!.index);
      if (prev !== undefined)
        throw new UsageError(
          `merge: ${prev} and ${s.file} are both shard ${s.shard!.index}/${count} (overlapping shards)`,
        );
      seen.set(s.shard!.index, s.file);
    }
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
    if (missing.length > 0)
      throw new UsageError(
        `merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`,
      );
  }
  const byIndex = new Map<number, CellRecord>();
  for (const f of files) {
    const shard = f.doc.meta.plan.shard;
    const expected = shard === null ? plan.totalCells : countInShard(plan.totalCells, shard);

    if (f.doc.cells.length !== expected) {
      throw new UsageError(
        `merge: ${f.file} is incomplete: ${f.doc.cells.length} of ${expected} cells (finish it with 'tlblab compare ... --resume')`,
      );
    }
    for (const c of f.doc.cells) {
      if (shard !== null && shardOf(c.index, shard.count) !== shard.index) {
        throw new UsageError(`merge: ${f.file} holds cell ${c.index}, which belongs to another shard`);
      }
      if (byIndex.has(c.index))
        throw new UsageError(`merge: cell ${c.index} '${c.id}' appears twice (overlapping shards)`);
      byIndex.set(c.index, normalizeCell(c));
    }
  }
  const cells = [...byIndex.values()].sort((a, b) => a.index - b.index);
  cells.forEach((c, i) => {
    if (c.index !== i) throw new UsageError(`merge: cell ${i} is missing`);
  });
  const createdAt = files
    .map((f) => f.doc.meta.createdAt)
    .filter((c): c is string => c !== undefined)
    .sort()[0];
  const meta: MetaRecord = normalizeMeta({
    ...first.doc.meta,
    ...(createdAt === undefined ? {} : { createdAt }),
    plan: { ...plan, shard: null },
  });
  return { meta, cells };
}

function countInShard(total: number, shard: { index: number; count: number }): number {
  let n = 0;
  for (let i = 0; i < total; i++) if (shardOf(i, shard.count) === shard.index) n++;
  return n;
}
