/**
 * The kernel's mapping paths (mm/vmalloc.c): vmalloc/vmap (alloc_vmap_area, vmap_pages_range,
 * flush_cache_vmap) and vfree. vfree never flushes: free_unmap_vmap_area() clears the PTEs
 * (vunmap_range_noflush) and free_vmap_area_noflush() adds the area to the lazy list; once more than
 * `lazy_max_pages()` pages wait (counted as vmap areas, guard page included), the drain work runs
 * __purge_vmap_area_lazy(), which flushes the *union* of every waiting area with one
 * flush_tlb_kernel_range(min start, max end) (the drain runs in a kworker on the freeing CPU; the
 * model runs it on that hart right after the vfree). An area with VM_FLUSH_RESET_PERMS goes through
 * vm_reset_perms(): set_direct_map_invalid_noflush() on every page's direct-map alias,
 * _vm_unmap_aliases(dmap start, dmap end, flush=1) (a purge whose union includes the direct-map
 * range, or a flush of that range alone when nothing waits) and set_direct_map_default_noflush().
 * A purge that finished publishes its removals: an access through a translation older than it is
 * a use after free (`stale-access`).
 */
import type { KernelRange } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Area, type Frame, type HartExec, RunEnd, SimulationError } from '../../engine/types.js';
import { PAGE_KERNEL } from '../../hw/pte.js';
import { lazyMaxPagesOf } from '../../kernel-config.js';
import { M } from '../../sim/metrics.js';
import { callSlot } from '../slots.js';
import { archFlushTlbAll } from './arch-flush.js';

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

/** vfree: PTE clears, the lazy list, and (past lazy_max_pages or for VM_FLUSH_RESET_PERMS) the
 *  purge: flush_tlb_kernel_range over the union, then publish. */
export class UnmapFrame implements Frame {
  stage = 0;
  purge: Area[] = [];
  /** _vm_unmap_aliases()' own range (the direct-map alias), merged into the purge's union. */
  extra: { start: number; end: number } | null = null;
  constructor(readonly area: Area) {}
  run(sim: Simulator, h: HartExec): void {
    sim.vmap.unmapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

enum UnmapStage {
  Clear,
  DirectMapInvalid,
  Aliases,
  Flush,
  Publish,
  Done,
}

export class Vmap {
  /** Lazily freed areas waiting for the purge flush. */
  private lazy: Area[] = [];
  private lazyPages = 0;
  /** VPN -> tick of a removal published by a finished unmap flush. */
  readonly published = new Map<number, number>();
  constructor(private readonly sim: Simulator) {}

  /** An area mapped at boot (before any hart runs): PTEs stored, no flush needed. */
  bootArea(name: string, pages: number, kind: KernelRange['kind'], align = 1): Area {
    const sim = this.sim;
    const start = sim.mm.allocVa('vmalloc', pages, sim.kernel.guardPages, align);
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
        if (sim.tracing)
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
          const ppn = sim.mm.allocPage();
          if (i === 0) a.ppn = ppn;
          sim.mm.setLeaf(sim.mm.initMm, a.start + i, 0, f.flags, ppn);
        }
        a.mapped = true;
        f.stage = 2;
        if (sim.tracing) sim.trace(h, 'map', `'${a.name}': ${a.pages} PTEs stored`);
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
          if (sim.tracing)
            sim.trace(h, 'slot', `flush_cache_vmap(${sim.va(range.start)}, ${sim.va(range.end)})`);
        }
        return;
      }
      default: {
        h.frames.pop();
        sim.c[M.mappings]++;
        sim.mappingLatencies.push(h.hw.clock - f.startClock);
        if (sim.tracing) sim.trace(h, 'map', `'${a.name}' mapped in ${h.hw.clock - f.startClock} cycles`);
        f.onDone?.(sim, h);
      }
    }
  }

  unmapStage(h: HartExec, f: UnmapFrame): void {
    const sim = this.sim;
    const a = f.area;
    const costs = sim.machine.costs;
    const guard = sim.kernel.guardPages;
    switch (f.stage) {
      case UnmapStage.Clear: {
        if (a.freed) throw new SimulationError(`vfree('${a.name}') twice`);
        // free_unmap_vmap_area(): vunmap_range_noflush(), then free_vmap_area_noflush().
        for (let i = 0; i < a.pages; i++) sim.mm.clearLeaf(a.start + i);
        a.clearTick = sim.hw.tick;
        a.freed = true;
        a.mapped = false;
        h.hw.clock += costs.vmallocPerPage * a.pages;
        this.lazy.push(a);
        this.lazyPages += a.pages + guard;
        const max = lazyMaxPagesOf(sim.kernel, sim.allHarts.length);
        if (sim.tracing)
          sim.trace(
            h,
            'unmap',
            `vfree('${a.name}'): ${a.pages} PTEs cleared; ${this.lazyPages} lazily freed pages pending (lazy_max_pages ${max})`,
          );
        if (a.resetPerms === true) {
          f.stage = UnmapStage.DirectMapInvalid;
          return;
        }
        if (this.lazyPages > max) {
          this.takePurge(f);
          f.stage = UnmapStage.Flush;
        } else h.frames.pop();
        return;
      }
      case UnmapStage.DirectMapInvalid: {
        // vm_reset_perms(): set_area_direct_map(area, set_direct_map_invalid_noflush).
        f.stage = UnmapStage.Aliases;
        this.directMapPass(h, a, 'set_direct_map_invalid_noflush');
        return;
      }
      case UnmapStage.Aliases: {
        // _vm_unmap_aliases(start, end, flush_dmap = 1): purge whatever waits, the union including
        // the direct-map range; with nothing waiting, flush that range alone.
        this.takePurge(f);
        const dm = sim.layout.directMap.start;
        const ppn = a.ppn ?? 0;
        f.extra = { start: dm + ppn, end: dm + ppn + a.pages };
        f.stage = UnmapStage.Flush;
        return;
      }
      case UnmapStage.Flush: {
        f.stage = UnmapStage.Publish;
        let start = f.extra?.start ?? Number.POSITIVE_INFINITY;
        let end = f.extra?.end ?? 0;
        for (const p of f.purge) {
          if (p.start < start) start = p.start;
          if (p.start + p.pages + guard > end) end = p.start + p.pages + guard;
        }
        const slot = sim.strategy.slots.flushTlbKernelRange;
        if (slot && end > start) {
          const range: KernelRange = { start, end, pages: end - start, kind: 'vmalloc' };
          callSlot(sim, h, 'flushTlbKernelRange', () => slot(h.ctx, range));
          if (sim.tracing)
            sim.trace(
              h,
              'slot',
              `${f.extra ? '_vm_unmap_aliases' : '__purge_vmap_area_lazy'}: flush_tlb_kernel_range(${sim.va(start)}, ${sim.va(end)}), ${f.purge.length} area(s)`,
            );
        }
        return;
      }
      case UnmapStage.Publish: {
        // The flush is done; the VA may be reused.
        for (const p of f.purge) {
          for (let i = 0; i < p.pages; i++) this.published.set(p.start + i, p.clearTick);
          sim.mm.freeVa(p.region, p.start, p.pages, guard);
        }
        if (sim.tracing) sim.trace(h, 'unmap', `purged ${f.purge.length} area(s): VA may be reused`);
        if (a.resetPerms === true && f.extra !== null) {
          f.stage = UnmapStage.Done;
          // set_area_direct_map(area, set_direct_map_default_noflush).
          this.directMapPass(h, a, 'set_direct_map_default_noflush');
          return;
        }
        h.frames.pop();
        return;
      }
      default:
        h.frames.pop();
    }
  }

  /** Move every lazily freed area to this purge (__purge_vmap_area_lazy's purge list). */
  private takePurge(f: UnmapFrame): void {
    f.purge = this.lazy;
    this.lazy = [];
    this.lazyPages = 0;
  }

  /**
   * set_direct_map_*_noflush() on each page's direct-map alias. Since 311cd2f6e253 each is a
   * one-page __set_memory() ending in flush_tlb_all(); before it a page-table walk with no flush.
   * The direct-map PTEs themselves are not changed (the linear map is huge-page mapped in the
   * model; splitting it is left out): what is modelled is the flushes.
   */
  private directMapPass(h: HartExec, a: Area, fn: string): void {
    const sim = this.sim;
    h.hw.clock += sim.machine.costs.kernelFunction * a.pages;
    if (sim.kernel.setMemoryFlush !== 'all') return;
    for (let i = 0; i < a.pages; i++) archFlushTlbAll(sim, h, `${fn}(${a.name} page ${i})`);
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
