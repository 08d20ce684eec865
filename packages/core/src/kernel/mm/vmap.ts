/**
 * The kernel's mapping paths (mm/vmalloc.c): vmalloc/vmap (alloc_vmap_area, vmap_pages_range,
 * flush_cache_vmap), vfree with the lazy purge (vunmap_range now, flush_tlb_kernel_range once
 * `lazy_max_pages()` worth of areas wait in __purge_vmap_area_lazy) and set_memory_ro. A purge that
 * finished publishes its removals: an access through a translation older than it is a use after
 * free (`stale-access`).
 */
import type { KernelRange } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Area, type Frame, type HartExec, RunEnd, SimulationError } from '../../engine/types.js';
import { PAGE_KERNEL, PAGE_KERNEL_READ } from '../../hw/pte.js';
import { M } from '../../sim/metrics.js';
import { callSlot } from '../slots.js';

/** A kernel mapping path: alloc_vmap_area, vmap_pages_range (tables + PTEs), flush_cache_vmap. */
export class MapFrame implements Frame {
  stage = 0;
  startClock = 0;
  constructor(
    readonly area: Area,
    readonly flags: number,
    readonly onDone: ((sim: Simulator, h: HartExec) => void) | null = null,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    sim.vmap.mapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** vfree / set_memory_ro: PTE changes, then flush_tlb_kernel_range, then publish. */
export class UnmapFrame implements Frame {
  stage = 0;
  purge: Area[] = [];
  constructor(
    readonly area: Area,
    readonly kind: 'vfree' | 'set-memory-ro',
  ) {}
  run(sim: Simulator, h: HartExec): void {
    sim.vmap.unmapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

export class Vmap {
  /** Lazily freed areas waiting for the purge flush. */
  private lazy: Area[] = [];
  private lazyPages = 0;
  /** VPN -> tick of a removal published by a finished unmap flush. */
  readonly published = new Map<number, number>();
  constructor(private readonly sim: Simulator) {}

  /** An area mapped at boot (before any hart runs): PTEs stored, no flush needed. */
  bootArea(name: string, pages: number, kind: KernelRange['kind']): Area {
    const sim = this.sim;
    const start = sim.mm.allocVa('vmalloc', pages, sim.kernel.guardPages);
    if (start < 0) throw new SimulationError('vmalloc space exhausted at boot');
    for (let i = 0; i < pages; i++)
      sim.mm.setLeaf(sim.mm.initMm, start + i, 0, PAGE_KERNEL, sim.mm.allocPage(), true);
    const area: Area = {
      name,
      kind,
      region: 'vmalloc',
      start,
      pages,
      mapped: true,
      freed: false,
      clearTick: 0,
    };
    sim.areas.set(area);
    return area;
  }

  mapStage(h: HartExec, f: MapFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    const a = f.area;
    switch (f.stage) {
      case 0: {
        // alloc_vmap_area(): the VA is reserved; nothing is mapped yet.
        f.startClock = h.hw.clock;
        h.hw.clock += costs.vmallocBase;
        const prev = sim.areas.get(a.name);
        if (prev && !prev.freed) throw new SimulationError(`area '${a.name}' mapped twice`);
        const start = sim.mm.allocVa(a.region, a.pages, sim.kernel.guardPages, a.align ?? 1);
        if (start < 0) throw new SimulationError(`vmalloc space exhausted allocating '${a.name}'`);
        a.start = start;
        sim.areas.set(a);
        f.stage = 1;
        sim.trace(
          h,
          'map',
          `${a.kind} '${a.name}': reserved ${sim.va(a.start)}..${sim.va(a.start + a.pages)} (${a.pages} pages)`,
        );
        return;
      }
      case 1: {
        // vmap_pages_range(): lower-level tables on demand, then the leaf PTEs, one page after
        // another (each PTE store happens once its page is allocated: its cycle is its own).
        for (let i = 0; i < a.pages; i++) {
          h.hw.clock += costs.vmallocPerPage;
          sim.mm.setLeaf(sim.mm.initMm, a.start + i, 0, f.flags, sim.mm.allocPage());
        }
        a.mapped = true;
        f.stage = 2;
        sim.trace(h, 'map', `'${a.name}': ${a.pages} PTEs stored`);
        return;
      }
      case 2: {
        f.stage = 3;
        const slot = sim.strategy.slots.flushCacheVmap;
        if (slot) {
          const range: KernelRange = {
            start: a.start,
            end: a.start + a.pages,
            pages: a.pages,
            kind: a.kind as KernelRange['kind'],
          };
          callSlot(sim, h, 'flushCacheVmap', () => slot(h.ctx, range));
          sim.trace(h, 'slot', `flush_cache_vmap(${sim.va(range.start)}, ${sim.va(range.end)})`);
        }
        return;
      }
      default: {
        h.frames.pop();
        sim.c[M.mappings]++;
        sim.mappingLatencies.push(h.hw.clock - f.startClock);
        sim.trace(h, 'map', `'${a.name}' mapped in ${h.hw.clock - f.startClock} cycles`);
        f.onDone?.(sim, h);
      }
    }
  }

  unmapStage(h: HartExec, f: UnmapFrame): void {
    const sim = this.sim;
    const a = f.area;
    const costs = sim.machine.costs;
    switch (f.stage) {
      case 0: {
        if (f.kind === 'set-memory-ro') {
          for (let i = 0; i < a.pages; i++) sim.mm.protectLeaf(a.start + i, PAGE_KERNEL_READ);
          h.hw.clock += costs.vmallocPerPage * a.pages;
          f.purge = [a];
          f.stage = 1;
          sim.trace(h, 'unmap', `set_memory_ro('${a.name}')`);
          return;
        }
        if (a.freed) throw new SimulationError(`vfree('${a.name}') twice`);
        // vunmap_range(): clear the PTEs; the flush is deferred to the lazy purge.
        for (let i = 0; i < a.pages; i++) sim.mm.clearLeaf(a.start + i);
        a.clearTick = sim.hw.tick;
        a.freed = true;
        a.mapped = false;
        h.hw.clock += costs.vmallocPerPage * a.pages;
        this.lazy.push(a);
        this.lazyPages += a.pages;
        sim.trace(
          h,
          'unmap',
          `vfree('${a.name}'): ${a.pages} PTEs cleared; ${this.lazyPages} lazily freed pages pending`,
        );
        if (this.lazyPages > sim.kernel.lazyMaxPages) {
          f.purge = this.lazy;
          this.lazy = [];
          this.lazyPages = 0;
          f.stage = 1;
        } else h.frames.pop();
        return;
      }
      case 1: {
        f.stage = 2;
        let start = Number.POSITIVE_INFINITY;
        let end = 0;
        for (const p of f.purge) {
          if (p.start < start) start = p.start;
          if (p.start + p.pages > end) end = p.start + p.pages;
        }
        const slot = sim.strategy.slots.flushTlbKernelRange;
        if (slot) {
          const range: KernelRange = {
            start,
            end,
            pages: end - start,
            kind: f.kind === 'vfree' ? 'vmalloc' : 'set-memory',
          };
          callSlot(sim, h, 'flushTlbKernelRange', () => slot(h.ctx, range));
          sim.trace(h, 'slot', `flush_tlb_kernel_range(${sim.va(start)}, ${sim.va(end)})`);
        }
        return;
      }
      default: {
        h.frames.pop();
        if (f.kind === 'vfree') {
          // __purge_vmap_area_lazy(): the flush is done; the VA may be reused.
          for (const p of f.purge) {
            for (let i = 0; i < p.pages; i++) this.published.set(p.start + i, p.clearTick);
            sim.mm.freeVa(p.region, p.start, p.pages, sim.kernel.guardPages);
          }
          sim.trace(h, 'unmap', `purged ${f.purge.length} area(s): VA may be reused`);
        }
      }
    }
  }

  /** An access completed: if its translation predates a published removal, it is a stale access. */
  checkStale(h: HartExec, vpn: number): void {
    if (this.published.size === 0) return;
    const cleared = this.published.get(vpn);
    const sim = this.sim;
    if (cleared !== undefined && sim.hw.wSince < cleared) {
      throw new RunEnd('stale-access', {
        hart: h.hw.id,
        step: sim.hw.step,
        stval: sim.va(vpn),
        message: `hart ${h.hw.id} accessed ${sim.va(vpn)} through a translation whose removal a finished flush_tlb_kernel_range had published (use after free)`,
      });
    }
  }
}
