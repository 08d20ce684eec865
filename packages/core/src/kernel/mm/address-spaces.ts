/**
 * Process address spaces and switch_mm() (arch/riscv/mm/context.c, ASID allocator 65d4b9c53017,
 * v5.12). With `use_asid_allocator` every mm owns an ASID of the current generation; switch_mm()
 * writes satp with the next mm's root and ASID and flushes nothing, unless the ASIDs ran out: then
 * __flush_context() starts a new generation (the ASIDs live on the harts are kept, as
 * reserved_context) and every hart does one local_flush_tlb_all() at its next switch
 * (context_tlb_flush_pending). Without ASIDs (set_mm_noasid) every switch_mm() writes satp with
 * ASID 0 and does local_flush_tlb_all(), which also drops every cached V=0 entry.
 */
import type { Simulator } from '../../engine/simulator.js';
import { type HartExec, SimulationError } from '../../engine/types.js';

interface Mm {
  readonly name: string;
  readonly root: number;
  asid: number;
  generation: number;
}

/** The address spaces as boot left them (every mm, the one each hart runs, the generation). */
export interface AddressSpacesSnapshot {
  readonly mms: readonly Readonly<Mm>[];
  readonly current: readonly string[];
  readonly generation: number;
}

export class AddressSpaces {
  private readonly byName = new Map<string, Mm>();
  /** The mm each hart runs (its satp). */
  private readonly current: Mm[] = [];
  private generation = 1;
  private readonly numAsids: number;
  /** Harts that must flush at their next switch_mm (context_tlb_flush_pending). */
  private readonly flushPending: Uint8Array;
  /** switch_mm() calls that ended in a local full flush (for tests and traces). */
  switchFlushes = 0;
  constructor(
    private readonly sim: Simulator,
    private readonly userPages: number,
  ) {
    this.numAsids = sim.hw.harts[0]?.asidFence.length ?? 1;
    this.flushPending = new Uint8Array(sim.allHarts.length);
  }

  /** The boot process of hart `i` (its root already built), with its ASID (0 without ASIDs). */
  bootMm(i: number, root: number): number {
    const asid = this.sim.kernel.asidAllocator ? i + 1 : 0;
    const mm: Mm = { name: `init/${i}`, root, asid, generation: this.generation };
    this.byName.set(mm.name, mm);
    this.current[i] = mm;
    return asid;
  }

  switchMm(h: HartExec, name: string): void {
    const sim = this.sim;
    const id = h.hw.id;
    let next = this.byName.get(name);
    if (next === undefined) {
      // pgd_alloc(): a new root copying init_mm's kernel half, and the process's user pages.
      const root = sim.mm.newProcessRoot();
      sim.mm.mapUserPages(root, this.userPages);
      next = { name, root, asid: 0, generation: 0 };
      this.byName.set(name, next);
    }
    const prev = this.current[id]!;
    if (prev === next) return;
    h.hw.clock += sim.machine.costs.kernelFunction;
    this.current[id] = next;
    h.hw.rootTable = next.root;
    if (!sim.kernel.asidAllocator) {
      // set_mm_noasid(): csr_write(CSR_SATP, pfn | satp_mode); local_flush_tlb_all().
      h.hw.asid = 0;
      this.switchFlushes++;
      if (sim.tracing) sim.trace(h, 'op', `switch_mm(${prev.name} -> ${name}): satp written, no ASIDs`);
      sim.fence(h, 'all', 0, 0, 'local');
      return;
    }
    let flush = false;
    if (next.generation !== this.generation) flush = this.newContext(next);
    if (this.flushPending[id] === 1) {
      this.flushPending[id] = 0;
      flush = true;
    }
    h.hw.asid = next.asid;
    if (sim.tracing)
      sim.trace(h, 'op', `switch_mm(${prev.name} -> ${name}): satp written, ASID ${next.asid}`);
    if (flush) {
      this.switchFlushes++;
      sim.fence(h, 'all', 0, 0, 'local');
    }
  }

  /** __new_context(): an ASID of the current generation; a rollover starts a new one. */
  private newContext(mm: Mm): boolean {
    const live = new Set<number>();
    for (const m of this.current) if (m !== undefined && m !== mm) live.add(m.asid);
    const used = new Set<number>(live);
    for (const m of this.byName.values()) if (m.generation === this.generation) used.add(m.asid);
    let asid = this.lowestFree(used);
    if (asid < 0) {
      // __flush_context(): new generation; the ASIDs running on harts stay reserved.
      this.generation++;
      for (const m of this.current) if (m !== undefined) m.generation = this.generation;
      this.flushPending.fill(1);
      asid = this.lowestFree(live);
      if (asid < 0) throw new SimulationError('ASID space smaller than the number of harts');
    }
    mm.asid = asid;
    mm.generation = this.generation;
    return false;
  }

  private lowestFree(used: ReadonlySet<number>): number {
    for (let a = 1; a < this.numAsids; a++) if (!used.has(a)) return a;
    return -1;
  }

  /** A copy of the state boot leaves (no switch has happened: nothing pending, no flushes). */
  snapshot(): AddressSpacesSnapshot {
    if (this.switchFlushes !== 0 || this.flushPending.some((x) => x !== 0))
      throw new SimulationError('address spaces: snapshot after a switch_mm');
    return {
      mms: [...this.byName.values()].map((m) => ({ ...m })),
      current: this.current.map((m) => m.name),
      generation: this.generation,
    };
  }

  /** Become the address spaces `s` was taken from (on new ones), with fresh copies of the mms. */
  restore(s: AddressSpacesSnapshot): void {
    if (this.byName.size > 0) throw new SimulationError('restore into used address spaces');
    for (const m of s.mms) this.byName.set(m.name, { ...m });
    for (let i = 0; i < s.current.length; i++) this.current[i] = this.byName.get(s.current[i]!)!;
    this.generation = s.generation;
  }
}
