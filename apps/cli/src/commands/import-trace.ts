/**
 * `tlblab import-trace <log> --out <file>`: parse a real kernel's ftrace text log (plain or .gz,
 * as `pnpm capture` writes it), classify it into the kernel events of a mapping workload and
 * write that workload as JSON, which `workloadScenarioFromFile` (@tlblab/kernel-trace) turns into
 * a scenario for `tlblab run` / `compare` through a config file. Malformed input is exit 2 with
 * file:line; events the importer does not know are counted and printed (`--strict`: exit 2).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type ImportedWorkload, importTrace, TraceParseError } from '@tlblab/kernel-trace';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { println } from '../output.js';

function readLog(path: string, shown: string): string {
  if (!existsSync(path)) throw new UsageError(`no such file '${shown}'`);
  const raw = readFileSync(path);
  if (raw[0] !== 0x1f || raw[1] !== 0x8b) return raw.toString('utf8');
  try {
    return gunzipSync(raw).toString('utf8');
  } catch (e) {
    throw new UsageError(`${shown}: truncated or corrupt gzip (${(e as Error).message})`);
  }
}

function table(r: Readonly<Record<string, number>>): string {
  const keys = Object.keys(r).sort();
  return keys.length === 0 ? 'none' : keys.map((k) => `${k} ${r[k]}`).join(', ');
}

export function summary(w: ImportedWorkload): string[] {
  const c = w.counts;
  const s = (ns: number) => (ns / 1e9).toFixed(2);
  const lines = [
    `${w.source.records} records, ${w.harts} CPUs, ${s(w.endNs - w.startNs)} s of trace${w.source.lostEvents > 0 ? `, ${w.source.lostEvents} EVENTS LOST by the ring buffer` : ''}`,
    `new mappings ${c.newMappings} (${table(c.mappingsByKind)}), frees ${c.frees}, purges ${c.purges}`,
    `flushes ${c.flushes} (${table(c.flushesByCause)})`,
    `forks ${c.forks} (new stack ${c.forksWithNewStack}, stack-cache hit ${c.stackCacheHits}), module loads ${c.moduleLoads}, set_memory ${c.setMemory}, icache flushes ${c.icacheFlushes}`,
  ];
  for (const p of w.phases) {
    const pc = w.phaseCounts[p.name]!;
    const sec = pc.durationNs / 1e9;
    const rate = sec > 0 ? ` (${(pc.newMappings / sec).toFixed(1)}/s)` : '';
    const perFork =
      pc.forks > 0 ? `, ${(pc.forksWithNewStack / pc.forks).toFixed(2)} new stacks per fork` : '';
    const perModule =
      pc.moduleLoads > 0
        ? `, ${((pc.mappingsByKind.module ?? 0) / pc.moduleLoads).toFixed(1)} module-area mappings per load`
        : '';
    lines.push(
      `  phase ${p.name} ${sec.toFixed(2)} s: ${pc.newMappings} new mappings${rate}, ${pc.flushes} flushes${perFork}${perModule}`,
    );
  }
  lines.push(`replayed as ops: ${table(w.replayed)}`);
  lines.push(`kept, not expressible yet: ${table(w.pending)}`);
  lines.push(`observed (the captured kernel's own flushes): ${table(w.observed)}`);
  lines.push(`unknown events: ${table(w.unknown)}`);
  return lines;
}

export async function importTraceCommand(
  ctx: CommandContext,
  log: string,
  opts: { out: string; strict?: boolean },
): Promise<number> {
  const path = resolve(ctx.io.cwd, log);
  const text = readLog(path, log);
  let w: ImportedWorkload;
  try {
    w = importTrace(text, log);
  } catch (e) {
    if (e instanceof TraceParseError) throw new UsageError(e.message);
    throw e;
  }
  const unknown = w.events.find((e) => e.kind === 'unknown');
  if (opts.strict && unknown)
    throw new UsageError(
      `${log}:${unknown.line}: unknown event '${unknown.kind === 'unknown' ? unknown.name : ''}' (${Object.values(w.unknown).reduce((a, b) => a + b, 0)} unknown in all)`,
    );
  const json = `${JSON.stringify(w)}\n`;
  if (opts.out === '-') ctx.io.stdout.write(json);
  else writeFileSync(resolve(ctx.io.cwd, opts.out), json);
  for (const line of summary(w)) println(opts.out === '-' ? ctx.io.stderr : ctx.io.stdout, line);
  if (opts.out !== '-') println(ctx.io.stderr, `imported ${log} -> ${opts.out}`);
  return 0;
}
