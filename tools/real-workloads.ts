/**
 * The real-workload section (issue 16, point 4): what the shipped captures did (counted from the
 * logs by @tlblab/kernel-trace) and what each strategy set costs on their replay (from a results
 * document `tlblab compare -c real-boot,real-fork,real-modules,real-bpf` wrote), as markdown.
 *
 *   node --conditions=source --import tsx tools/real-workloads.ts results.jsonl > section.md
 *
 * Per-second figures divide by the captured log's own duration (the replay cuts idle gaps, so
 * replayed cycles are not wall time).
 */
import { readFileSync } from 'node:fs';
import { parseResultsDocument } from '@tlblab/core';
import { FIXTURES, type Fixture, fixtureWorkload } from '../packages/kernel-trace/src/index.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: tools/real-workloads.ts <results.jsonl>\n');
  process.exit(2);
}
const doc = parseResultsDocument(readFileSync(file, 'utf8'));
const out: string[] = [];
const f1 = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

out.push('## What the captured kernel did (Linux 6.12.117 riscv64, QEMU virt, 2 harts)', '');
out.push(
  '| workload | phase | s | new mappings | per s | stacks per fork | module-area maps per load | purges | flush_tlb_kernel_range | flush_tlb_all |',
);
out.push('|---|---|---|---|---|---|---|---|---|---|');
for (const name of FIXTURES) {
  const w = fixtureWorkload(name);
  for (const p of w.phases) {
    const c = w.phaseCounts[p.name]!;
    const s = c.durationNs / 1e9;
    const kr = Object.entries(c.flushesByCause).filter(([k]) => k.startsWith('kernel-range'));
    const all = Object.entries(c.flushesByCause).filter(([k]) => k.startsWith('all'));
    const sum = (l: [string, number][]) => l.reduce((a, [, n]) => a + n, 0);
    out.push(
      `| real-${name} | ${p.name} | ${s.toFixed(2)} | ${c.newMappings} | ${(c.newMappings / s).toFixed(1)} | ${c.forks ? `${(c.forksWithNewStack / c.forks).toFixed(2)} (${c.forks} forks)` : '-'} | ${c.moduleLoads ? `${((c.mappingsByKind.module ?? 0) / c.moduleLoads).toFixed(1)} (${c.moduleLoads} loads)` : '-'} | ${c.purges} | ${sum(kr)} | ${sum(all)} |`,
    );
  }
}
out.push('');

const machines = [...new Set(doc.cells.map((c) => c.machine))];
for (const name of FIXTURES) {
  const id = `real-${name}`;
  const cells = doc.cells.filter((c) => c.scenario === id);
  if (cells.length === 0) continue;
  const seconds = (fixtureWorkload(name as Fixture).endNs - fixtureWorkload(name as Fixture).startNs) / 1e9;
  for (const m of machines) {
    const here = cells.filter((c) => c.machine === m);
    if (here.length === 0) continue;
    out.push(
      `## ${id} on ${m} (${here[0]!.mode}; ${seconds.toFixed(2)} s of log; means over ${here[0]!.seeds.count} seed(s))`,
      '',
    );
    out.push(
      '| harts | strategy set | verdict | IPIs | IPIs per s of log | sfence all | sfence va | refill misses | spurious faults | map latency p50 / p99 (cycles) |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const c of [...here].sort((a, b) => a.harts - b.harts)) {
      const x = c.metrics;
      out.push(
        `| ${c.harts} | ${c.strategy} | ${c.verdict} | ${f1(x.ipisSent.mean)} | ${(x.ipisSent.mean / seconds).toFixed(1)} | ${f1(x.sfenceAll.mean)} | ${f1(x.sfenceVa.mean)} | ${f1(x.refillMisses.mean)} | ${f1(x.spuriousFaults.mean)} | ${f1(x.mappingLatency.p50)} / ${f1(x.mappingLatency.p99)} |`,
      );
    }
    out.push('');
  }
}
process.stdout.write(`${out.join('\n')}\n`);
