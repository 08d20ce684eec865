import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixtureProvenance, fixtureTrace, fixtureWorkload } from './fixtures.js';
import { modelStatus } from './workload.js';

/** `grep -cE pattern` over the log, with the real grep (what a kernel developer would run). */
function grepCount(text: string, pattern: string): number {
  try {
    return Number(
      execFileSync('grep', ['-cE', pattern], { input: text, encoding: 'utf8', maxBuffer: 1 << 26 }).trim(),
    );
  } catch (e) {
    // grep exits 1 when nothing matched (and prints 0).
    const out = (e as { stdout?: string }).stdout;
    if (out !== undefined && out.trim() === '0') return 0;
    throw e;
  }
}

// Patterns over the raw ftrace text, independent of the parser: ': name <-' is a function-tracer
// call, ': name: ' an event.
const GREP = {
  newMappings: ': (vmap_pages_range|vmap_page_range) <-',
  purges: ': purge_vmap_area_lazy: ',
  flushes: ': (flush_tlb_kernel_range|flush_tlb_all) <-',
  kernelRangeFlushes: ': flush_tlb_kernel_range <-',
  forks: ': sched_process_fork: ',
  frees: ': free_vmap_area_noflush: ',
  moduleLoads: ': module_load: ',
  setMemory: ': (set_memory_[a-z_]+|set_direct_map_[a-z_]+) <-',
};

describe('the import of a capture reproduces what grep counts on the same log', () => {
  for (const name of FIXTURES) {
    it(`${name}: new mappings, purges, flushes, forks, frees, module loads, set_memory`, () => {
      const text = fixtureTrace(name);
      const c = fixtureWorkload(name).counts;
      expect(c.newMappings).toBe(grepCount(text, GREP.newMappings));
      expect(c.purges).toBe(grepCount(text, GREP.purges));
      expect(c.flushes).toBe(grepCount(text, GREP.flushes));
      expect(c.flushesByCause['kernel-range <-__purge_vmap_area_lazy'] ?? 0).toBe(
        grepCount(text, ': flush_tlb_kernel_range <-__purge_vmap_area_lazy'),
      );
      expect(c.forks).toBe(grepCount(text, GREP.forks));
      expect(c.frees).toBe(grepCount(text, GREP.frees));
      expect(c.moduleLoads).toBe(grepCount(text, GREP.moduleLoads));
      expect(c.setMemory).toBe(grepCount(text, GREP.setMemory));
    });
  }

  it('fork: the workload phase really forks, and most forks map a fresh vmap stack', () => {
    const w = fixtureWorkload('fork');
    const loop = w.phaseCounts['fork-loop']!;
    const p = fixtureProvenance('fork') as { params: { forkLoops: number } };
    // Each fork+exec of /bin/busybox true is one fork of the shell (plus whatever the kernel forks).
    expect(loop.forks).toBeGreaterThanOrEqual(p.params.forkLoops);
    expect(loop.forksWithNewStack + loop.stackCacheHits).toBe(loop.forks);
    expect(loop.forksWithNewStack).toBeGreaterThan(0);
  });
});

describe('nothing is dropped', () => {
  for (const name of FIXTURES) {
    it(`${name}: every record is an event or the allocation a mapping consumed; every event has a status`, () => {
      const w = fixtureWorkload(name);
      const consumedAllocs = w.events.filter((e) => e.kind === 'map' && e.va !== null).length;
      expect(w.events.length + consumedAllocs).toBe(w.source.records);
      expect(w.source.lostEvents).toBe(0);
      const sum = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);
      const context =
        w.events.length -
        sum(w.replayed) -
        sum(w.implied) -
        sum(w.pending) -
        sum(w.observed) -
        sum(w.unknown);
      expect(context).toBeGreaterThan(0);
      expect(context).toBe(w.events.filter((e) => modelStatus(e) === 'context').length);
      expect(w.unknown).toEqual({});
      expect(w.harts).toBe(2);
    });
  }

  it('the provenance names the kernel, QEMU and the command line the log came from', () => {
    const p = fixtureProvenance('fork') as {
      kernel: { release: string; configSha256: string };
      qemu: { version: string; smp: number };
      cmdline: string;
      phases: { name: string }[];
    };
    expect(p.kernel.release).toMatch(/^6\.12\./);
    expect(p.kernel.configSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.qemu.smp).toBe(2);
    expect(p.qemu.version).toMatch(/QEMU emulator version/);
    expect(p.cmdline).toContain('ftrace_filter=');
    expect(p.phases.map((x) => x.name)).toEqual(['boot', 'fork-loop', 'fork-burst']);
  });
});
