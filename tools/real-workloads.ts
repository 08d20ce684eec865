/**
 * The real-workload section (issue 16, point 4): what the shipped captures did (counted from the
 * logs by @tlblab/kernel-trace) and what each strategy set costs on their replay (from a results
 * document `tlblab compare -c real-boot,real-fork,real-modules,real-bpf` wrote), as markdown.
 *
 *   node --conditions=source --import tsx tools/real-workloads.ts results.jsonl > section.md
 *
 * Per-second figures divide by the captured log's own duration (the replay cuts idle gaps, so
 * replayed cycles are not wall time). The second table runs the captured kernel's own policy
 * (linux-6.12, 2 harts like the capture, seed 0, traced) and counts its kernel-path calls next to
 * the log's.
 */
import { readFileSync } from 'node:fs';
import { PROFILES, parseResultsDocument, simulate } from '@tlblab/core';
import { builtinParts } from '../apps/cli/src/registry.ts';
import {
  FIXTURES,
  type Fixture,
  fixtureWorkload,
  realScenarios,
} from '../packages/kernel-trace/src/index.ts';

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

// The model's kernel paths against the log: the captured kernel's policy on the captured harts.
const linux612 = builtinParts().sets?.find((x) => x.id === 'linux-6.12');
if (!linux612) throw new Error('no linux-6.12 set in the CLI registry');
out.push(
  "## The model's kernel paths against the log (linux-6.12, caches-invalid, 2 harts, seed 0)",
  '',
  '| workload | purge flushes log / model | flush_tlb_all <-__set_memory log / model | of which set_direct_map_* log / model | flush_icache_all model (log: not traced) | model verdict |',
);
out.push('|---|---|---|---|---|---|');
for (const name of FIXTURES) {
  const w = fixtureWorkload(name);
  const scenario = realScenarios.find((x) => x.id === `real-${name}`)!;
  const r = simulate({ strategy: linux612, scenario, machine: PROFILES['caches-invalid']!, harts: 2 }, 0, {
    trace: true,
  });
  const slot = (re: RegExp) => r.trace.filter((e) => e.kind === 'slot' && re.test(e.text)).length;
  const c = w.counts;
  const logPurge =
    (c.flushesByCause['kernel-range <-__purge_vmap_area_lazy'] ?? 0) +
    (c.flushesByCause['kernel-range <-_vm_unmap_aliases'] ?? 0);
  const modelPurge = slot(/^(__purge_vmap_area_lazy|_vm_unmap_aliases): flush_tlb_kernel_range/);
  const logAll = c.flushesByCause['all <-__set_memory'] ?? 0;
  const modelDm = slot(/^set_direct_map_\w+\(.*-> flush_tlb_all\(\)$/);
  const modelAll = slot(/^__set_memory\(.*-> flush_tlb_all\(\)$/) + modelDm;
  const logDm =
    (w.implied['set-memory:direct-map-invalid'] ?? 0) + (w.implied['set-memory:direct-map-default'] ?? 0);
  const icache = slot(/-> flush_icache_all\(\)$/);
  out.push(
    `| real-${name} | ${logPurge} / ${modelPurge} | ${logAll} / ${modelAll} | ${logDm} / ${modelDm} | ${icache} | ${r.outcome} |`,
  );
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
      '| harts | strategy set | verdict | IPIs | SBI calls | remote calls per s of log | sfence all | sfence va | refill misses | spurious faults | map latency p50 / p99 (cycles) |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const c of [...here].sort((a, b) => a.harts - b.harts)) {
      const x = c.metrics;
      out.push(
        `| ${c.harts} | ${c.strategy} | ${c.verdict} | ${f1(x.ipisSent.mean)} | ${f1(x.sbiCalls.mean)} | ${((x.ipisSent.mean + x.sbiCalls.mean) / seconds).toFixed(1)} | ${f1(x.sfenceAll.mean)} | ${f1(x.sfenceVa.mean)} | ${f1(x.refillMisses.mean)} | ${f1(x.spuriousFaults.mean)} | ${f1(x.mappingLatency.p50)} / ${f1(x.mappingLatency.p99)} |`,
      );
    }
    out.push('');
  }
}
process.stdout.write(`${out.join('\n')}\n`);
