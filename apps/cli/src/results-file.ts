/**
 * Reading results files and merging shards (issue 6, "merge joins shard files into exactly the
 * document one unsharded run produces").
 */
import { existsSync, readFileSync } from 'node:fs';
import { type CellRecord, type MetaRecord, parseResultsDocument, type ResultsDocument } from '@tlblab/core';
import { oneLine, UsageError } from './errors.js';
import { shardOf } from './plan.js';
import { normalizeCell, normalizeMeta, sameMeta } from './sweep.js';

/** Read and validate a results document; any problem is a one-line `UsageError`. */
export function readResults(file: string): ResultsDocument {
  if (!existsSync(file)) throw new UsageError(`${file}: no such results file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read: ${oneLine(e)}`);
  }
  try {
    return parseResultsDocument(text, { source: file });
  } catch (e) {
    throw new UsageError(oneLine(e));
  }
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
