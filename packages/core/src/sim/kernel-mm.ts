/**
 * The kernel's page tables and its vmalloc-area allocator (machine-model sections 2 and 6).
 *
 * - One master kernel table (init_mm). At boot it maps the direct map and the kernel image with
 *   huge leaves and, with PGD pre-allocation (7d3332be011e, 64-bit kernels since v6.5), allocates
 *   the next-level tables under every top-level entry of the vmalloc and modules ranges so that no
 *   top-level entry ever changes afterwards.
 * - Each process root copies init_mm's kernel-half top-level entries when it is created. Without
 *   pre-allocation (Sv32 always), a top-level entry created later exists only in init_mm until
 *   `vmalloc_fault` copies it.
 * - Kernel mappings install lower-level tables on demand (a non-leaf V 0->1 store) then leaf PTEs.
 */
import { type Layout, levelIndex, type VpnRange } from '../addr.js';
import { PageTableMemory } from '../hw/page-tables.js';
import {
  isLeaf,
  PAGE_KERNEL,
  PAGE_KERNEL_READ,
  PAGE_KERNEL_READ_EXEC,
  PAGE_TABLE,
  PAGE_USER,
  PTE_V,
} from '../hw/pte.js';
import type { KernelConfig } from '../kernel-config.js';
import { pgdPreallocOf } from '../kernel-config.js';
import type { Hardware } from './hardware.js';

/** First user VPN of the background working set (VA 0x400000). */
export const USER_BASE_VPN = 0x400;

/** The allocators' state after boot (the page tables themselves are the memory's snapshot). */
export interface KernelMmSnapshot {
  readonly initMm: number;
  readonly nextDataPpn: number;
  readonly directMapNext: number;
  /** Free VPN ranges per region (ranges are never changed in place, only replaced). */
  readonly free: readonly (readonly ['vmalloc' | 'modules', readonly VpnRange[]])[];
}

export interface InitMmLeaf {
  present: boolean;
  level: number;
  flags: number;
}

export class KernelMm {
  readonly hw: Hardware;
  readonly layout: Layout;
  readonly kernel: KernelConfig;
  readonly initMm: number;
  private readonly levels: number;
  private readonly bits: number;
  private readonly E: number;
  private nextDataPpn = 0x1000;
  /** Free VPN ranges per allocator region, sorted by start (lowest fit, like alloc_vmap_area). */
  private readonly free = new Map<'vmalloc' | 'modules', VpnRange[]>();
  /** Kernel image regions (2 MiB / 4 MiB leaves). */
  readonly text: VpnRange;
  readonly rodata: VpnRange;
  readonly data: VpnRange;
  /** Next free page of the direct map for non-vmap stacks. */
  private directMapNext: number;

  /** With `booted`, the allocators continue from that snapshot and the page tables are not built
   *  (the memory was restored from the same boot). */
  constructor(hw: Hardware, kernel: KernelConfig, booted: KernelMmSnapshot | null = null) {
    this.hw = hw;
    this.layout = hw.layout;
    this.kernel = kernel;
    const g = this.layout.geometry;
    this.levels = g.levels;
    this.bits = g.bitsPerLevel;
    this.E = g.entriesPerTable;
    this.initMm = booted === null ? hw.mem.allocTable(0) : booted.initMm;
    const huge = 2 ** this.bits; // pages per level-1 leaf (2 MiB, or 4 MiB on Sv32)
    const img = this.layout.kernelImage.start;
    this.text = { start: img, end: img + huge };
    this.rodata = { start: img + huge, end: img + 2 * huge };
    this.data = { start: img + 2 * huge, end: img + 3 * huge };
    this.directMapNext = this.layout.directMap.start + 4 * huge;
    if (booted !== null) {
      this.nextDataPpn = booted.nextDataPpn;
      this.directMapNext = booted.directMapNext;
      for (const [region, list] of booted.free) this.free.set(region, list.slice());
      return;
    }
    this.free.set('vmalloc', [{ ...this.layout.vmalloc }]);
    if (g.is64) this.free.set('modules', [{ ...this.layout.modules }]);
    this.boot();
  }

  /** The allocators' state (taken after boot, restored through the constructor). */
  snapshot(): KernelMmSnapshot {
    return {
      initMm: this.initMm,
      nextDataPpn: this.nextDataPpn,
      directMapNext: this.directMapNext,
      free: [...this.free].map(([region, list]) => [region, list.slice()] as const),
    };
  }

  private boot(): void {
    const L = this.layout;
    const top = this.levels - 1;
    // Direct map with level-1 leaves (2 MiB; 4 MiB on Sv32). Only the part the model touches is
    // mapped (8 leaves): enough for non-vmap stacks and kernel data.
    const leafLevel = 1;
    const leafPages = 2 ** (this.bits * leafLevel);
    for (let i = 0; i < 8; i++) {
      const vpn = L.directMap.start + i * leafPages;
      this.setLeaf(this.initMm, vpn, leafLevel, PAGE_KERNEL, i * leafPages, true);
    }
    this.setLeaf(this.initMm, this.text.start, 1, PAGE_KERNEL_READ_EXEC, 0x2000, true);
    this.setLeaf(this.initMm, this.rodata.start, 1, PAGE_KERNEL_READ, 0x2000 + 2 ** this.bits, true);
    this.setLeaf(this.initMm, this.data.start, 1, PAGE_KERNEL, 0x2000 + 2 * 2 ** this.bits, true);
    if (pgdPreallocOf(this.kernel) && this.layout.geometry.is64) {
      // preallocate_pgd_pages_range() for VMALLOC and MODULES: every top-level entry present.
      for (const r of [L.vmalloc, L.modules]) {
        const span = 2 ** (this.bits * top);
        for (let vpn = r.start; vpn < r.end; vpn += span) this.ensureTable(this.initMm, vpn, top - 1, true);
      }
    }
  }

  /** Allocate a data page frame. */
  allocPage(): number {
    return this.nextDataPpn++;
  }

  /** Slot of the entry at `level` for `vpn` in `table`. */
  slotOf(table: number, vpn: number, level: number): number {
    return table * this.E + levelIndex(vpn, level, this.bits);
  }

  /**
   * Walk from `root` down to the table of `level` for `vpn`, allocating missing tables (a non-leaf
   * V 0->1 store each). Returns the table number at `level`. `boot` stores without versions mattering.
   */
  ensureTable(root: number, vpn: number, level: number, _boot = false): number {
    let table = root;
    for (let l = this.levels - 1; l > level; l--) {
      const slot = this.slotOf(table, vpn, l);
      const flags = this.hw.mem.flags[slot]!;
      if ((flags & PTE_V) === 0) {
        const t = this.hw.mem.allocTable(this.hw.nextTick());
        this.hw.storePte(slot, PAGE_TABLE, PageTableMemory.ppnOfTable(t));
        table = t;
      } else {
        if (isLeaf(flags))
          throw new Error(`kernel-mm: ${vpn.toString(16)} is inside a huge leaf at level ${l}`);
        table = PageTableMemory.tableOfPpn(this.hw.mem.ppn[slot]!);
      }
    }
    return table;
  }

  /** Store a leaf PTE for `vpn` at `level`. */
  setLeaf(root: number, vpn: number, level: number, flags: number, ppn: number, boot = false): number {
    const table = this.ensureTable(root, vpn, level, boot);
    const slot = this.slotOf(table, vpn, level);
    this.hw.storePte(slot, flags, ppn);
    return slot;
  }

  /** Slot of the level-0 PTE for `vpn` in init_mm, or -1 if its table does not exist. */
  leafSlot(root: number, vpn: number): number {
    let table = root;
    for (let l = this.levels - 1; l > 0; l--) {
      const slot = this.slotOf(table, vpn, l);
      const flags = this.hw.mem.flags[slot]!;
      if ((flags & PTE_V) === 0 || isLeaf(flags)) return -1;
      table = PageTableMemory.tableOfPpn(this.hw.mem.ppn[slot]!);
    }
    return this.slotOf(table, vpn, 0);
  }

  /** Clear the 4 KiB leaf for `vpn` in init_mm (vunmap_range's pte_clear). */
  clearLeaf(vpn: number): void {
    const slot = this.leafSlot(this.initMm, vpn);
    if (slot >= 0) this.hw.storePte(slot, 0, 0);
  }

  /** Flags of the valid 4 KiB leaf for `vpn` in init_mm, or 0 when none. */
  leafFlags(vpn: number): number {
    const slot = this.leafSlot(this.initMm, vpn);
    return slot >= 0 && this.hw.mem.isValid(slot) ? this.hw.mem.flags[slot]! : 0;
  }

  /** Rewrite the flags of the 4 KiB leaf for `vpn` in init_mm (set_memory_ro). */
  protectLeaf(vpn: number, flags: number): void {
    const slot = this.leafSlot(this.initMm, vpn);
    if (slot >= 0 && this.hw.mem.isValid(slot)) this.hw.storePte(slot, flags, this.hw.mem.ppn[slot]!);
  }

  /** Explicit-load walk of `root` (newest PTEs). `out.level` = level where it stopped. Returns
   *  levels read. */
  walkNewest(root: number, vpn: number, out: InitMmLeaf): number {
    let table = root;
    let read = 0;
    for (let l = this.levels - 1; l >= 0; l--) {
      const slot = this.slotOf(table, vpn, l);
      const flags = this.hw.mem.flags[slot]!;
      read++;
      if ((flags & PTE_V) === 0) {
        out.present = false;
        out.level = l;
        out.flags = 0;
        return read;
      }
      if (isLeaf(flags)) {
        out.present = true;
        out.level = l;
        out.flags = flags;
        return read;
      }
      table = PageTableMemory.tableOfPpn(this.hw.mem.ppn[slot]!);
    }
    out.present = false;
    out.level = 0;
    out.flags = 0;
    return read;
  }

  /** A new process root: kernel-half top-level entries copied from init_mm (pgd_alloc). */
  newProcessRoot(): number {
    const root = this.hw.mem.allocTable(this.hw.nextTick());
    const top = this.levels - 1;
    const first = levelIndex(this.layout.kernelStart, top, this.bits);
    for (let i = first; i < this.E; i++) {
      const src = this.initMm * this.E + i;
      if (this.hw.mem.isValid(src))
        this.hw.storePte(root * this.E + i, this.hw.mem.flags[src]!, this.hw.mem.ppn[src]!);
    }
    return root;
  }

  /** vmalloc_fault's copy: init_mm's top-level entry for `vpn` into `root`. False if init_mm lacks it. */
  copyPgdEntry(root: number, vpn: number): boolean {
    const top = this.levels - 1;
    const src = this.slotOf(this.initMm, vpn, top);
    if (!this.hw.mem.isValid(src)) return false;
    const dst = this.slotOf(root, vpn, top);
    if (dst !== src) this.hw.storePte(dst, this.hw.mem.flags[src]!, this.hw.mem.ppn[src]!);
    return true;
  }

  /** Map `pages` user pages into a process root (the background working set). */
  mapUserPages(root: number, pages: number): void {
    for (let i = 0; i < pages; i++)
      this.setLeaf(root, USER_BASE_VPN + i, 0, PAGE_USER, this.allocPage(), true);
  }

  /** alloc_vmap_area: the lowest free range of `pages + guard` pages in `region` whose start is a
   *  multiple of `align` pages (a power of two); -1 if none. */
  allocVa(region: 'vmalloc' | 'modules', pages: number, guard: number, align = 1): number {
    const list = this.free.get(region === 'modules' && !this.free.has('modules') ? 'vmalloc' : region)!;
    const need = pages + guard;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      const start = Math.ceil(r.start / align) * align;
      if (start + need <= r.end) {
        const pieces: VpnRange[] = [];
        if (start > r.start) pieces.push({ start: r.start, end: start });
        if (start + need < r.end) pieces.push({ start: start + need, end: r.end });
        list.splice(i, 1, ...pieces);
        return start;
      }
    }
    return -1;
  }

  /** Return `[start, start + pages + guard)` to the free list (coalescing). */
  freeVa(region: 'vmalloc' | 'modules', start: number, pages: number, guard: number): void {
    const list = this.free.get(region === 'modules' && !this.free.has('modules') ? 'vmalloc' : region)!;
    const r = { start, end: start + pages + guard };
    let i = 0;
    while (i < list.length && list[i]!.start < r.start) i++;
    list.splice(i, 0, r);
    // Coalesce neighbours.
    for (let k = Math.max(0, i - 1); k < list.length - 1; ) {
      const a = list[k]!;
      const b = list[k + 1]!;
      if (a.end === b.start) {
        list.splice(k, 2, { start: a.start, end: b.end });
      } else k++;
    }
  }

  /** A page of the direct map for a non-vmap task stack. */
  allocDirectMapPages(pages: number): number {
    const start = this.directMapNext;
    this.directMapNext += pages;
    return start;
  }
}
