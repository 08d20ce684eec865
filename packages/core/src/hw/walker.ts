/**
 * The page-table walker, to the letter of the privileged spec's "Virtual Address Translation
 * Process" (Sv32 section, which Sv39/Sv48/Sv57 refer to), with the Svade/Svadu A/D schemes and the
 * page-walk cache. Which *version* of a PTE an implicit read returns (the staleness rule) is not
 * decided here: the walker asks its `PteSource` (the hardware's `readPte`).
 *
 * Hot path: nothing allocates; VPNs are plain numbers (at most 52 bits, exact on doubles) and
 * every index is a division by a power of two.
 */
import type { ModeGeometry } from '../addr.js';
import type { Chooser } from '../choice.js';
import type { CostTable } from '../costs.js';
import type { MachineConfig } from '../profiles.js';
import { PageTableMemory } from './page-tables.js';
import { PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from './pte.js';
import { NEGATIVE, type PageWalkCache, type Tlb } from './tlb.js';

/** Privilege of an access (the effective privilege: with mstatus.MPRV, mstatus.MPP). */
export const PRV_U = 0;
export const PRV_S = 1;

/** Access type codes on the hot path. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXECUTE = 2;

/** Why an access page-faulted (`Hardware.faultKind`). */
export type FaultKind =
  | 'none'
  /** A negative (V=0) TLB entry hit. */
  | 'negative'
  /** The walk met V=0 (spec step 3), or a negative page-walk-cache entry. */
  | 'walk'
  /** The leaf does not grant the access (R/W/X, U with SUM, MXR: spec step 5). */
  | 'protection'
  /** 64-bit modes: bits above the VA width are not all equal to its top bit. */
  | 'non-canonical'
  /** R=0 with W=1 at any level (step 3), or a pointer at the last level (step 4). */
  | 'reserved'
  /** A superpage leaf whose low PPN fields are not zero (step 6). */
  | 'misaligned'
  /** Svade: A=0, or D=0 on a store (step 7). */
  | 'accessed-dirty';

/**
 * The exception a page fault raises, by access type (privileged spec, "Machine Cause Register":
 * 12 instruction page fault, 13 load page fault, 15 store/AMO page fault). `stval` is the faulting
 * virtual address itself ("Supervisor Trap Value Register": for page faults it is the VA of the
 * access; for a fetch, of the instruction portion that faulted).
 */
export const PAGE_FAULT_CAUSE: readonly number[] = [13, 15, 12];

/** Where the hardware keeps the result of one implicit PTE read (`PteSource.readPte`). */
export interface PteSource {
  /** One implicit read of `slot` for `vpn` at `level` under the staleness rule; sets `wFlags/wPpn/wSince`. */
  readPte(hart: WalkerHart, slot: number, level: number, vpn: number, parentGlobal: boolean): void;
  wFlags: number;
  wPpn: number;
  wSince: number;
  /** Next tick (orders the walker's own A/D stores among the kernel's PTE stores). */
  nextTick(): number;
  /** Cycle at which the running walk started: the staleness windows are measured to it. */
  walkStart: number;
}

/** What the walker needs of a hart. */
export interface WalkerHart {
  readonly id: number;
  /** Data (or unified) TLB. */
  readonly tlb: Tlb;
  /** Instruction TLB when the core splits them; `null` = fetches use `tlb`. */
  readonly itlb: Tlb | null;
  readonly pwc: PageWalkCache | null;
  rootTable: number;
  asid: number;
  clock: number;
  /** Effective privilege of the hart's accesses (`PRV_S` for kernel code). */
  priv: number;
  /** sstatus.SUM: S-mode loads and stores may touch U=1 pages. */
  sum: boolean;
  /** sstatus.MXR: loads from execute-only pages succeed. */
  mxr: boolean;
}

/**
 * Does a leaf with `flags` grant an access of `typeCode` at `priv` with SUM/MXR (spec step 5,
 * "Memory Privilege in mstatus Register")? U-mode needs U=1; S-mode may not touch U=1 pages unless
 * SUM=1, and never fetches from them; MXR makes X=1 pages readable.
 */
export function leafPermits(
  flags: number,
  typeCode: number,
  priv: number,
  sum: boolean,
  mxr: boolean,
): boolean {
  const user = (flags & PTE_U) !== 0;
  if (priv === PRV_U) {
    if (!user) return false;
  } else if (user && (typeCode === ACCESS_EXECUTE || !sum)) {
    return false;
  }
  if (typeCode === ACCESS_READ) return (flags & PTE_R) !== 0 || (mxr && (flags & PTE_X) !== 0);
  if (typeCode === ACCESS_WRITE) return (flags & PTE_W) !== 0;
  return (flags & PTE_X) !== 0;
}

/** A and, for stores, D: what the access needs set in the leaf (step 7). */
export function adNeeded(typeCode: number): number {
  return typeCode === ACCESS_WRITE ? PTE_A | PTE_D : PTE_A;
}

/** Walk outcomes. */
export const WALK_OK = 0;
export const WALK_FAULT = 1;

export class Walker {
  readonly levels: number;
  private readonly entriesPerTable: number;
  /** 2^(bits * level), for index extraction without recomputing powers. */
  readonly pow: Float64Array;
  /** 2^bits - 1: a table index is the low `bits` bits of VPN / 2^(bits * level). */
  private readonly indexMask: number;
  /** 64-bit modes: VPN bits from `canonShift` up must be all zero or all one. */
  private readonly canonShift: number;
  /** The all-ones half as a VPN interval [canonLow, canonTop): compared, not divided (a float
   *  division and floor cost ~15 ns on every access). Exact: both are integers below 2^53. */
  private readonly canonLow: number;
  private readonly canonTop: number;
  private readonly is64: boolean;
  private readonly cachesInvalidLeaf: boolean;
  private readonly cachesInvalidNonLeaf: boolean;
  /** A terminating V=0 non-leaf entry goes to the TLB as a level-L negative entry (else the PWC). */
  private readonly nonLeafInTlb: boolean;
  private readonly negBound: number;
  readonly svadu: boolean;
  private readonly costs: CostTable;
  private readonly mem: PageTableMemory;
  private readonly src: PteSource;
  private readonly chooser: Chooser;
  private readonly counters: Float64Array;
  private readonly cWalkLevels: number;
  /** Test-only fault injection (`brokenForTest`): a walker that ignores MXR. */
  private ignoreMxr = false;

  // Results of the last walk (no allocation).
  flags = 0;
  ppn = 0;
  since = 0;
  level = 0;
  /** Slot of the leaf the walk ended on (for an A/D update). */
  slot = 0;
  kind: FaultKind = 'none';

  constructor(
    machine: MachineConfig,
    g: ModeGeometry,
    mem: PageTableMemory,
    src: PteSource,
    chooser: Chooser,
    counters: Float64Array,
    walkLevelsCounter: number,
  ) {
    this.levels = g.levels;
    this.entriesPerTable = g.entriesPerTable;
    this.pow = new Float64Array(g.levels + 1);
    for (let l = 0; l <= g.levels; l++) this.pow[l] = 2 ** (g.bitsPerLevel * l);
    this.indexMask = 2 ** g.bitsPerLevel - 1;
    this.is64 = g.is64;
    // VA bits [63 : vaBits-1] equal: VPN bits [51 : vaBits-13] all zero or all one.
    this.canonShift = 2 ** (g.vaBits - 13);
    const canonOnes = 2 ** (64 - g.vaBits + 1) - 1;
    this.canonLow = canonOnes * this.canonShift;
    this.canonTop = (canonOnes + 1) * this.canonShift;
    this.cachesInvalidLeaf = machine.cachesInvalid !== 'none';
    this.cachesInvalidNonLeaf = machine.cachesInvalid === 'all';
    this.nonLeafInTlb = machine.invalidNonLeafIn === 'tlb';
    this.negBound = machine.invalidEvictBound;
    this.svadu = machine.adUpdate === 'svadu';
    this.costs = machine.costs;
    this.mem = mem;
    this.src = src;
    this.chooser = chooser;
    this.counters = counters;
    this.cWalkLevels = walkLevelsCounter;
  }

  /**
   * Is `vpn` (VA >> 12 of a 64-bit VA) canonical? Sv39/48/57: "instruction fetch addresses and load
   * and store effective addresses, which are 64 bits, must have bits 63–N all equal to bit N-1, or
   * else a page-fault exception will occur" (privileged spec, "Sv39"/"Sv48"/"Sv57"). Sv32 VAs are
   * 32 bits: every VPN below 2^20 is one.
   */
  canonical(vpn: number): boolean {
    if (!this.is64) return vpn >= 0 && vpn < 0x100000;
    // floor(vpn / canonShift) is 0 or all ones: the same two intervals.
    return (vpn >= 0 && vpn < this.canonShift) || (vpn >= this.canonLow && vpn < this.canonTop);
  }

  /** The TLB an access of `typeCode` looks up and fills on `hart` (split I/D or unified). */
  tlbFor(hart: WalkerHart, typeCode: number): Tlb {
    return typeCode === ACCESS_EXECUTE && hart.itlb !== null ? hart.itlb : hart.tlb;
  }

  /** The PTE slot of `vpn` at `level` in page table `table` (the index `walk` reads). */
  slotOf(table: number, vpn: number, level: number): number {
    return table * this.entriesPerTable + ((Math.floor(vpn / this.pow[level]!) | 0) & this.indexMask);
  }

  /**
   * Walk from the hart's root for an access of `typeCode` (spec steps 1-8). Returns `WALK_OK` with
   * `flags/ppn/since/level` set for a leaf that is valid and aligned (and fills the TLB), or
   * `WALK_FAULT` with `kind` saying why (filling negative entries per profile). The leaf's
   * permissions are the caller's check (`leafPermits`), except that under Svadu a permitted access
   * sets A (and D for a store) here, before the fill: "the PTE update must be exact (i.e., not
   * speculative)", so a speculative walk (`demand = false`) never updates.
   */
  walk(hart: WalkerHart, vpn: number, typeCode: number, demand: boolean): number {
    const pwc = hart.pwc;
    const costs = this.costs;
    const src = this.src;
    const tlb = this.tlbFor(hart, typeCode);
    let table = hart.rootTable;
    let global = false;
    src.walkStart = hart.clock;
    for (let level = this.levels - 1; level >= 0; level--) {
      // Exact on doubles: division by a power of two and floor lose nothing below 2^53, and the
      // index is the low bits of that quotient (ToInt32 keeps them exactly; no float `%`).
      const slot = table * this.entriesPerTable + ((Math.floor(vpn / this.pow[level]!) | 0) & this.indexMask);
      let flags: number;
      let ppn: number;
      let since: number;
      let pe = level > 0 && pwc !== null ? pwc.lookup(slot, hart.asid) : -1;
      if (
        pe >= 0 &&
        pwc!.state[pe] === NEGATIVE &&
        this.negBound > 0 &&
        hart.clock - pwc!.filledAt[pe]! > this.negBound
      ) {
        pwc!.state[pe] = 0;
        pe = -1;
      }
      if (pe >= 0) {
        flags = pwc!.flags[pe]!;
        ppn = pwc!.ppn[pe]!;
        since = 0;
        if (demand) hart.clock += costs.walkLevelPwc;
      } else {
        src.readPte(hart, slot, level, vpn, global);
        flags = src.wFlags;
        ppn = src.wPpn;
        since = src.wSince;
        this.counters[this.cWalkLevels]++;
        if (demand) hart.clock += costs.walkLevelMemory;
        if (level > 0 && pwc !== null) {
          if ((flags & PTE_V) === 0) {
            if (this.cachesInvalidNonLeaf && !this.nonLeafInTlb)
              pwc.fill(slot, hart.asid, flags, ppn, true, hart.clock);
          } else if ((flags & (PTE_R | PTE_W | PTE_X)) === 0) {
            pwc.fill(slot, hart.asid, flags, ppn, false, hart.clock);
          }
        }
      }
      this.level = level;
      this.slot = slot;
      // Step 3: "If pte.v = 0, or if pte.r = 0 and pte.w = 1, ... stop and raise a page-fault".
      if ((flags & PTE_V) === 0) {
        if (level === 0 ? this.cachesInvalidLeaf : this.cachesInvalidNonLeaf && this.nonLeafInTlb) {
          // A negative entry for the whole range the V=0 entry covers: a level-L entry is a leaf
          // entry of the TLB, so `sfence.vma va` on any page in it removes it.
          tlb.fill(vpn, level, hart.asid, flags, 0, true, since, hart.clock, this.chooser);
        }
        this.kind = 'walk';
        return WALK_FAULT;
      }
      if ((flags & (PTE_R | PTE_W)) === PTE_W) {
        this.kind = 'reserved';
        return WALK_FAULT;
      }
      if ((flags & PTE_G) !== 0) global = true;
      if ((flags & (PTE_R | PTE_W | PTE_X)) !== 0)
        return this.leaf(hart, tlb, vpn, typeCode, demand, flags, ppn, since, level, slot, global);
      // Step 4: a pointer; "i = i - 1. If i < 0, stop and raise a page-fault exception".
      if (level === 0) {
        this.kind = 'reserved';
        return WALK_FAULT;
      }
      table = PageTableMemory.tableOfPpn(ppn);
    }
    this.kind = 'reserved';
    return WALK_FAULT;
  }

  /** Steps 5-8 for the leaf found at `level`. */
  private leaf(
    hart: WalkerHart,
    tlb: Tlb,
    vpn: number,
    typeCode: number,
    demand: boolean,
    flags: number,
    ppn: number,
    since: number,
    level: number,
    slot: number,
    global: boolean,
  ): number {
    // Step 6: "If i > 0 and pte.ppn[i-1:0] != 0, this is a misaligned superpage".
    if (level > 0 && ppn % this.pow[level]! !== 0) {
      this.kind = 'misaligned';
      return WALK_FAULT;
    }
    const need = adNeeded(typeCode);
    if ((flags & need) !== need) {
      const permitted = this.permits(flags, typeCode, hart);
      if (!this.svadu) {
        // Svade: a page fault when A=0 (or D=0 on a store); an A=0 leaf is not cached, so the
        // kernel's fix is seen by the re-walk. A permission fault comes first (step 5 before 7).
        if (permitted) {
          this.kind = 'accessed-dirty';
          if ((flags & PTE_A) !== 0) this.fill(tlb, hart, vpn, level, flags, ppn, since, global);
          return WALK_FAULT;
        }
        if ((flags & PTE_A) === 0) {
          this.setResult(flags, ppn, since, global);
          return WALK_OK;
        }
      } else if (permitted && demand) {
        // Svadu: "the PTE update must be exact ... and atomic": an AMO on the PTE in memory, which
        // sees its newest value; it must "atomically check that the PTE is valid and grants
        // sufficient permissions", so a walker that read an older version checks the newest.
        const mem = this.mem;
        const nf = mem.flags[slot]!;
        const np = mem.ppn[slot]!;
        if (nf !== flags || np !== ppn) {
          if (
            (nf & PTE_V) === 0 ||
            (nf & (PTE_R | PTE_W)) === PTE_W ||
            (nf & (PTE_R | PTE_W | PTE_X)) === 0 ||
            (level > 0 && np % this.pow[level]! !== 0) ||
            !this.permits(nf, typeCode, hart)
          ) {
            this.kind = 'walk';
            return WALK_FAULT;
          }
        }
        flags = nf | need;
        ppn = np;
        since = this.src.nextTick();
        // The update is itself a PTE store by this hart: other harts' walkers see it under the
        // same visibility rules as the kernel's stores.
        mem.write(slot, flags, ppn, since, hart.id);
      }
    }
    this.fill(tlb, hart, vpn, level, flags, ppn, since, global);
    this.setResult(flags, ppn, since, global);
    return WALK_OK;
  }

  private setResult(flags: number, ppn: number, since: number, global: boolean): void {
    this.flags = global ? flags | PTE_G : flags;
    this.ppn = ppn;
    this.since = since;
  }

  private fill(
    tlb: Tlb,
    hart: WalkerHart,
    vpn: number,
    level: number,
    flags: number,
    ppn: number,
    since: number,
    global: boolean,
  ): void {
    tlb.fill(
      vpn,
      level,
      hart.asid,
      global ? flags | PTE_G : flags,
      ppn,
      false,
      since,
      hart.clock,
      this.chooser,
    );
  }

  /** Step 5 for this hart's privilege, SUM and MXR. */
  permits(flags: number, typeCode: number, hart: WalkerHart): boolean {
    return leafPermits(flags, typeCode, hart.priv, hart.sum, hart.mxr && !this.ignoreMxr);
  }

  /** The 4 KiB page's PPN inside a leaf of `level` with `ppn` (a superpage maps VPN's low bits through). */
  pagePpn(vpn: number, ppn: number, level: number): number {
    if (level === 0) return ppn;
    // The VPN's low bits below the leaf's level, without a float `%` (exact: multiples of 2^k).
    const p = this.pow[level]!;
    return ppn + (vpn - Math.floor(vpn / p) * p);
  }

  /**
   * Test-only: a deliberately broken walker, to show the QEMU comparison catches a real bug.
   * `ignore-mxr` makes loads from execute-only pages fault whatever MXR says.
   */
  brokenForTest(bug: 'ignore-mxr' | null): void {
    this.ignoreMxr = bug === 'ignore-mxr';
  }
}

/**
 * What a speculative walk of `vpn` left cached, for traces: the TLB's entry, or the negative
 * page-walk-cache entry of the V=0 non-leaf entry the walk ended on (not "nothing cached").
 */
export function describeCached(w: Walker, hart: WalkerHart, vpn: number): string {
  const e = hart.tlb.peek(vpn, hart.asid);
  if (e >= 0) {
    if (hart.tlb.state[e] !== NEGATIVE) return 'cached valid';
    const l = hart.tlb.level[e]!;
    return l === 0 ? 'cached V=0 (negative entry)' : `cached V=0 (negative level-${l} TLB entry)`;
  }
  const pwc = hart.pwc;
  if (w.kind === 'walk' && w.level > 0 && pwc !== null) {
    const p = pwc.peek(w.slot, hart.asid);
    if (p >= 0 && pwc.state[p] === NEGATIVE)
      return `cached V=0 non-leaf entry (level ${w.level}) in the page-walk cache`;
  }
  return 'nothing cached';
}

/** Trace wording for the fault kinds the kernel model's older texts do not cover; null otherwise. */
export function faultKindText(kind: FaultKind, level: number): string | null {
  switch (kind) {
    case 'non-canonical':
      return 'non-canonical virtual address';
    case 'reserved':
      return `reserved PTE encoding at level ${level}`;
    case 'misaligned':
      return `misaligned superpage at level ${level}`;
    case 'accessed-dirty':
      return 'A or D clear (Svade)';
    default:
      return null;
  }
}
