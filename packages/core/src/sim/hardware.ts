/**
 * The hardware half of the machine: per-hart TLBs and page-walk cache, the spec's staleness rule
 * for the walker's implicit PTE reads (`readPte`), SFENCE.VMA in its four forms, and speculative
 * walks. The walker itself is `hw/walker.ts`. The kernel half (engine/simulator.ts and the kernel components) drives it; nothing
 * here knows about strategies.
 *
 * Hot path: `access` -> `Tlb.lookup` -> (miss) `Walker.walk` -> `readPte`. None of them allocates;
 * results come back in fields of this object (`wFlags`, `wPpn`, `wSince`, `faultKind`).
 */
import type { Layout } from '../addr.js';
import type { Chooser } from '../choice.js';
import type { AccessType, FenceForm, FenceOrigin } from '../contracts.js';
import type { CostTable } from '../costs.js';
import { PageTableMemory, type PageTableSnapshot } from '../hw/page-tables.js';
import { isLeaf, PTE_G, PTE_R, PTE_V, PTE_W, PTE_X } from '../hw/pte.js';
import { NEGATIVE, PageWalkCache, Tlb } from '../hw/tlb.js';
import {
  ACCESS_READ,
  adNeeded,
  describeCached,
  type FaultKind,
  faultKindText,
  PRV_S,
  WALK_OK,
  Walker,
  type WalkerHart,
} from '../hw/walker.js';
import type { MachineConfig } from '../profiles.js';
import { M } from './metrics.js';

// Counter indices as constants: the hot path increments typed-array slots directly.
const C_ACCESSES = M.accesses;
const C_TLB_HITS = M.tlbHits;
const C_TLB_MISSES = M.tlbMisses;
const C_NEG_HITS = M.tlbNegativeHits;
const C_REFILLS = M.refillMisses;
const C_WALKS_DEMAND = M.walksDemand;
const C_WALKS_SPEC = M.walksSpeculative;
const C_WALK_LEVELS = M.walkLevels;

/** Permission bit each access type needs (read: R, write: W, execute: X). */
const TYPE_CODE: Record<AccessType, number> = { read: 0, write: 1, execute: 2 };

/**
 * A tick is a cycle timestamp that also orders stores and fences: tick = cycle * TICKS_PER_CYCLE +
 * sequence, strictly increasing in execution order (an event executed after a later-stamped one is
 * stamped just after it). The windows of the staleness rule compare ticks as cycles.
 */
export const TICKS_PER_CYCLE = 4096;

/** Access results. */
export const OK = 0;
/** Page fault: no valid translation (negative TLB/PWC entry, the walk met V=0, a non-canonical
 *  VA, a reserved encoding or a misaligned superpage). */
export const FAULT_INVALID = 1;
/** Page fault: a valid translation does not permit the access (R/W/X, U/SUM/MXR, or under Svade
 *  A/D clear); no walk on a TLB hit. */
export const FAULT_PROTECTION = 2;

/** A power of two: a record's slot is the low bits of its tag (no float `%`). */
const VA_FENCE_SLOTS = 256;

/** Released per-hart structures by geometry (see `Hardware.release`). */
const HART_POOL = new Map<string, HartHw[]>();
const HART_POOL_LIMIT = 256;

/**
 * The pool key of a machine's harts at a geometry and ASID-table size, built once: building the
 * template string and hashing the fresh string on every run's lookup was ~0.5% of the demo sweep
 * (a string reused keeps its hash). Machines with the same TLB shape still share one pool.
 */
const HART_KEYS = new WeakMap<MachineConfig, Map<number, string>>();
function hartKeyOf(machine: MachineConfig, bitsPerLevel: number, levels: number, asidLen: number): string {
  let keys = HART_KEYS.get(machine);
  if (keys === undefined) {
    keys = new Map();
    HART_KEYS.set(machine, keys);
  }
  const k = (bitsPerLevel * 8 + levels) * 0x100000 + asidLen;
  let key = keys.get(k);
  if (key === undefined) {
    const split = machine.tlb.split === true;
    key = `${machine.tlb.entries}:${machine.tlb.ways}:${machine.tlb.replacement}:${split}:${bitsPerLevel}:${levels}:${machine.pwc.entries}:${asidLen}`;
    keys.set(k, key);
  }
  return key;
}

/** 2^(bitsPerLevel * l) per level, per geometry: read-only, shared by every run. */
const POWERS = new Map<number, Float64Array>();
function powersOf(bitsPerLevel: number, levels: number): Float64Array {
  const k = bitsPerLevel * 8 + levels;
  let pow = POWERS.get(k);
  if (pow === undefined) {
    pow = new Float64Array(levels);
    for (let l = 0; l < levels; l++) pow[l] = 2 ** (bitsPerLevel * l);
    POWERS.set(k, pow);
  }
  return pow;
}

function resetHart(h: HartHw, id: number): void {
  h.id = id;
  h.tlb.reset();
  h.itlb?.reset();
  h.pwc?.reset();
  h.rootTable = 0;
  h.asid = 0;
  h.clock = 0;
  h.priv = PRV_S;
  h.sum = true;
  h.mxr = false;
  h.lastFullFence = 0;
  h.asidFence.fill(0);
  // Only the va-fence records the last run wrote (filling all 256 per level was ~1.2% of the demo
  // sweep, issue 13 session 6): the others are still at their initial values.
  const used = h.vaFenceUsed;
  for (let k = 0; k < h.vaFenceUsedCount; k++) {
    const i = used[k]!;
    h.vaFenceVpn[i] = -1;
    h.vaFenceAsid[i] = 0;
    h.vaFenceTick[i] = 0;
    used[k] = 0;
  }
  h.vaFenceUsedCount = 0;
  h.vaFenceLost.fill(0);
}
const ANY_ASID = 0xffff;

/**
 * A hart's hardware: the walker's view of it (TLBs, page-walk cache, satp root and ASID, clock,
 * and the translation context — the kernel model runs S-mode code with SUM=1, its 'user' accesses
 * standing for uaccess, which Linux brackets with `__enable_user_access`, and MXR=0) plus the
 * fence records the staleness rule reads.
 */
export interface HartHw extends WalkerHart {
  /** Reassigned when a pooled hart is reused (`resetHart`). */
  id: number;
  /** Tick of the last `sfence.vma x0, x0` on this hart. */
  lastFullFence: number;
  /** Tick of the last `sfence.vma x0, asid` per ASID. */
  readonly asidFence: Float64Array;
  /**
   * Recent `va` fences per level L: direct-mapped by the fenced VPN's page number at L (VPN / 2^(9L)),
   * since a fence on any page a level-L leaf maps subsumes that leaf. An overwritten record raises
   * the level's `vaFenceLost`, which then bounds every floor of that level from below:
   * conservative (less staleness, never more than allowed).
   */
  readonly vaFenceVpn: Float64Array;
  readonly vaFenceAsid: Uint16Array;
  readonly vaFenceTick: Float64Array;
  readonly vaFenceLost: Float64Array;
  /** The va-fence records written since the hart was reset (`vaFenceVpn` was -1), the first
   *  `vaFenceUsedCount` of them: what `resetHart` puts back. */
  readonly vaFenceUsed: Int32Array;
  vaFenceUsedCount: number;
}

export class Hardware {
  readonly machine: MachineConfig;
  readonly costs: CostTable;
  readonly layout: Layout;
  readonly mem: PageTableMemory;
  readonly harts: HartHw[];
  readonly counters: Float64Array;
  readonly chooser: Chooser;
  /** The page-table walker (spec steps 1-8); its PTE reads come back through `readPte`. */
  readonly walker: Walker;
  private readonly levels: number;
  private readonly negBound: number;
  /** 2^(bits * level), for the per-level `va` fence records. */
  private readonly pow: Float64Array;
  /** Staleness policy, flattened for the hot path. */
  private readonly stKind: 0 | 1 | 2 | 3; // newest | window | svvptc | adversarial
  private readonly stLeafOnly: boolean;
  private readonly stD: number;
  private readonly stBound: number;
  private readonly ownStoresVisible: boolean;

  /** Current step (a count of scheduler steps: budgets and traces) and tick. */
  step = 0;
  tick = 0;

  // Walk / access results (no allocation).
  /** Cycle (of the walking hart) at which the running walk started; the walker sets it. */
  walkStart = 0;
  wFlags = 0;
  wPpn = 0;
  wSince = 0;
  wLevel = 0;
  /** On OK: the PPN of the 4 KiB page reached (a superpage's base plus the VPN's low bits). */
  wPagePpn = 0;
  /** Why the last access faulted (see `FaultKind`). */
  faultKind: FaultKind = 'none';

  constructor(
    machine: MachineConfig,
    layout: Layout,
    harts: number,
    chooser: Chooser,
    counters: Float64Array,
    /** The booted page tables to start from (a boot image); null: empty memory. */
    tables: PageTableSnapshot | null = null,
  ) {
    this.machine = machine;
    this.costs = machine.costs;
    this.layout = layout;
    this.chooser = chooser;
    this.counters = counters;
    const g = layout.geometry;
    this.levels = g.levels;
    this.mem = PageTableMemory.acquire(g.entriesPerTable, machine.historyDepth, tables);
    this.pow = powersOf(g.bitsPerLevel, g.levels);
    this.negBound = machine.invalidEvictBound;
    this.walker = new Walker(machine, g, this.mem, this, chooser, counters, C_WALK_LEVELS);
    const st = machine.staleness;
    this.stKind = st.kind === 'newest' ? 0 : st.kind === 'window' ? 1 : st.kind === 'svvptc' ? 2 : 3;
    this.stLeafOnly = st.kind !== 'newest' && st.levels === 'leaf';
    this.stD = st.kind === 'window' || st.kind === 'svvptc' ? st.d : 0;
    this.stBound = st.kind === 'svvptc' ? st.bound : 0;
    this.ownStoresVisible = machine.ownStoresVisible;
    // Per-hart structures come from a pool of earlier runs' (reset), so a sweep's runs do not
    // allocate and zero them again: allocation is what two worker threads contend on.
    const asidLen = Math.max(64, harts * 4 + 8);
    const split = machine.tlb.split === true;
    this.hartKey = hartKeyOf(machine, g.bitsPerLevel, g.levels, asidLen);
    const newTlb = () =>
      new Tlb(machine.tlb.entries, machine.tlb.ways, machine.tlb.replacement, g.bitsPerLevel, g.levels);
    const pool = HART_POOL.get(this.hartKey);
    this.harts = [];
    for (let i = 0; i < harts; i++) {
      const reused = pool?.pop();
      if (reused) {
        resetHart(reused, i);
        this.harts.push(reused);
        continue;
      }
      this.harts.push({
        id: i,
        tlb: newTlb(),
        itlb: split ? newTlb() : null,
        pwc: machine.pwc.entries > 0 ? new PageWalkCache(machine.pwc.entries) : null,
        rootTable: 0,
        asid: 0,
        clock: 0,
        priv: PRV_S,
        sum: true,
        mxr: false,
        lastFullFence: 0,
        asidFence: new Float64Array(asidLen),
        vaFenceVpn: new Float64Array(VA_FENCE_SLOTS * g.levels).fill(-1),
        vaFenceAsid: new Uint16Array(VA_FENCE_SLOTS * g.levels),
        vaFenceTick: new Float64Array(VA_FENCE_SLOTS * g.levels),
        vaFenceLost: new Float64Array(g.levels),
        vaFenceUsed: new Int32Array(VA_FENCE_SLOTS * g.levels),
        vaFenceUsedCount: 0,
      });
    }
  }

  private readonly hartKey: string;

  /** Return this machine's memory and per-hart structures for reuse; it must not be used after. */
  release(): void {
    this.mem.release();
    let pool = HART_POOL.get(this.hartKey);
    if (!pool) {
      pool = [];
      HART_POOL.set(this.hartKey, pool);
    }
    for (const h of this.harts) if (pool.length < HART_POOL_LIMIT && !pool.includes(h)) pool.push(h);
  }

  /** The next tick at the running hart's clock (outside any hart: the latest hart clock). */
  nextTick(): number {
    const base =
      (this.currentHart >= 0 ? this.harts[this.currentHart]!.clock : this.latestClock()) * TICKS_PER_CYCLE;
    this.tick = this.tick < base ? base : this.tick + 1;
    return this.tick;
  }

  private latestClock(): number {
    let t = 0;
    for (const h of this.harts) if (h.clock > t) t = h.clock;
    return t;
  }

  /** Hart whose operation is running (the writer of PTE stores); -1 outside any hart. */
  currentHart = -1;

  /** An explicit PTE store (visible to explicit loads at once; to walkers per the staleness rule). */
  storePte(slot: number, flags: number, ppn: number): void {
    this.mem.write(slot, flags, ppn, this.nextTick(), this.currentHart);
  }

  // ---------------------------------------------------------------------------------------------
  // Translation

  /**
   * A demand access by hart `h` (an instruction's load/store/fetch): canonical check; TLB lookup
   * (the instruction TLB for a fetch on a split-TLB core); hit on a valid entry -> permission and
   * A/D check -> OK or page fault (no walk; under Svadu an entry lacking A/D re-walks to set them);
   * hit on a negative entry -> page fault (no walk); miss -> walk. Charges cycles to the hart. On
   * OK, `wSince` is the PTE version the translation came from and `wPagePpn` the page reached.
   */
  access(hart: HartHw, vpn: number, type: AccessType): number {
    this.vpnReg[0] = vpn;
    return this.accessReg(hart, TYPE_CODE[type]);
  }

  /** `access` with the type as a code (0 read, 1 write, 2 execute). */
  accessCode(hart: HartHw, vpn: number, typeCode: number): number {
    this.vpnReg[0] = vpn;
    return this.accessReg(hart, typeCode);
  }

  /**
   * The VPN operand of the hot path's calls (`accessReg`, `speculateReg`, `Tlb.lookupReg`): VPNs
   * of kernel addresses are above 2^31, so as call arguments they would be boxed on every call V8
   * does not inline; through a Float64Array they stay raw doubles.
   */
  readonly vpnReg = new Float64Array(1);

  /** `accessCode` of the VPN in `vpnReg[0]`: the hot path's form. */
  accessReg(hart: HartHw, typeCode: number): number {
    const vpn = this.vpnReg[0]!;
    const c = this.counters;
    const w = this.walker;
    c[C_ACCESSES]++;
    if (!w.canonical(vpn)) {
      // Raised before any TLB lookup: a non-canonical VA has no translation to cache.
      hart.clock += this.costs.tlbHit;
      this.faultKind = 'non-canonical';
      return FAULT_INVALID;
    }
    const tlb = w.tlbFor(hart, typeCode);
    let e = tlb.lookupReg(this.vpnReg, hart.asid);
    if (
      e >= 0 &&
      tlb.state[e] === NEGATIVE &&
      this.negBound > 0 &&
      hart.clock - tlb.filledAt[e]! > this.negBound
    ) {
      // Svvptc: a cached invalid entry is gone within the bound (in cycles).
      tlb.state[e] = 0;
      e = -1;
    }
    if (e >= 0) {
      hart.clock += this.costs.tlbHit;
      if (tlb.state[e] === NEGATIVE) {
        c[C_NEG_HITS]++;
        this.faultKind = 'negative';
        this.wLevel = tlb.level[e]!;
        return FAULT_INVALID;
      }
      c[C_TLB_HITS]++;
      const flags = tlb.flags[e]!;
      this.wFlags = flags;
      this.wPpn = tlb.ppn[e]!;
      this.wSince = tlb.versionSince[e]!;
      this.wLevel = tlb.level[e]!;
      if (!w.permits(flags, typeCode, hart)) {
        this.faultKind = 'protection';
        return FAULT_PROTECTION;
      }
      const need = adNeeded(typeCode);
      if ((flags & need) === need) {
        this.wPagePpn = w.pagePpn(vpn, this.wPpn, this.wLevel);
        return OK;
      }
      if (!w.svadu) {
        this.faultKind = 'accessed-dirty';
        return FAULT_PROTECTION;
      }
      // Svadu: the cached entry lacks A (or D for a store); the update is done by a walk.
      c[C_WALKS_DEMAND]++;
      return this.demandWalk(hart, vpn, typeCode);
    }
    c[C_TLB_MISSES]++;
    if (tlb.consumeFlushed(vpn, hart.asid)) c[C_REFILLS]++;
    c[C_WALKS_DEMAND]++;
    hart.clock += this.costs.tlbHit;
    return this.demandWalk(hart, vpn, typeCode);
  }

  private demandWalk(hart: HartHw, vpn: number, typeCode: number): number {
    const w = this.walker;
    const r = w.walk(hart, vpn, typeCode, true);
    this.wLevel = w.level;
    if (r !== WALK_OK) {
      this.faultKind = w.kind;
      return w.kind === 'accessed-dirty' ? FAULT_PROTECTION : FAULT_INVALID;
    }
    this.wFlags = w.flags;
    this.wPpn = w.ppn;
    this.wSince = w.since;
    if (!w.permits(w.flags, typeCode, hart)) {
      this.faultKind = 'protection';
      return FAULT_PROTECTION;
    }
    this.wPagePpn = w.pagePpn(vpn, w.ppn, w.level);
    return OK;
  }

  /**
   * A speculative walk for `vpn` (machine-model section 5): never raises an exception, only fills
   * the TLB (valid entries, and negative ones where the profile caches V=0). Costs no cycles. A
   * non-canonical VA is not walked at all.
   */
  speculate(hart: HartHw, vpn: number): boolean {
    this.vpnReg[0] = vpn;
    return this.speculateReg(hart);
  }

  /** `speculate` of the VPN in `vpnReg[0]` (see `vpnReg`). */
  speculateReg(hart: HartHw): boolean {
    const vpn = this.vpnReg[0]!;
    if (!this.walker.canonical(vpn) || hart.tlb.lookupReg(this.vpnReg, hart.asid) >= 0) return false;
    this.counters[C_WALKS_SPEC]++;
    this.walker.walk(hart, vpn, ACCESS_READ, false);
    this.wLevel = this.walker.level;
    return true;
  }

  /** What the last speculative walk of `vpn` left cached (trace text; see `describeCached`). */
  cachedAfterWalk(hart: HartHw, vpn: number): string {
    return describeCached(this.walker, hart, vpn);
  }

  /** Trace text for the fault kinds the kernel model has no older wording for; null otherwise. */
  faultText(): string | null {
    return faultKindText(this.faultKind, this.wLevel);
  }

  /**
   * An implicit read of one PTE under the staleness rule. The newest version is always allowed;
   * an older one is allowed when its successor became current after this hart's last fence covering
   * the PTE and the profile's window still shows it. Which allowed version is returned is a
   * `stale-read` choice. Sets `wFlags/wPpn/wSince`.
   */
  readPte(hart: HartHw, slot: number, level: number, vpn: number, parentGlobal: boolean): void {
    const mem = this.mem;
    const newestFlags = mem.flags[slot]!;
    let pick = 0;
    const n = mem.versions(slot);
    if (n > 1 && this.stKind !== 0) {
      const leafRead = level === 0 || isLeaf(newestFlags);
      if (leafRead || !this.stLeafOnly) {
        const global = parentGlobal || (newestFlags & PTE_G) !== 0;
        const floor = this.fenceFloor(hart, vpn, level, leafRead, global);
        const nowTick = this.walkStart * TICKS_PER_CYCLE;
        let allowed = 1;
        for (let k = 1; k < n; k++) {
          const successorSince = mem.versionSince(slot, k - 1);
          if (successorSince <= floor) break;
          // A core whose walker sees its own hart's stores once they drain: the window applies
          // to other harts' stores only (the spec allows more; `ownStoresVisible: false` models it).
          if (this.ownStoresVisible && mem.versionWriter(slot, k - 1) === hart.id) break;
          if (this.stKind !== 3) {
            const zeroToOne =
              (mem.versionFlags(slot, k) & PTE_V) === 0 && (mem.versionFlags(slot, k - 1) & PTE_V) !== 0;
            const window = this.stKind === 2 && zeroToOne ? this.stBound : this.stD;
            // Windows are cycles: a store older than the window is visible to every walk.
            if (successorSince <= nowTick - window * TICKS_PER_CYCLE) break;
          }
          allowed++;
        }
        if (allowed > 1) pick = this.chooser.choose('stale-read', allowed);
      }
    }
    if (pick === 0) {
      this.wFlags = newestFlags;
      this.wPpn = mem.ppn[slot]!;
      this.wSince = mem.since(slot);
    } else {
      this.wFlags = mem.versionFlags(slot, pick);
      this.wPpn = mem.versionPpn(slot, pick);
      this.wSince = mem.versionSince(slot, pick);
    }
  }

  /**
   * Tick of this hart's most recent SFENCE.VMA that subsumes the PTE read at `level` for `vpn`. A
   * `va` fence subsumes a leaf PTE when it names any page the leaf maps, so a level-L leaf looks
   * up the fences recorded by its level-L page number.
   */
  private fenceFloor(hart: HartHw, vpn: number, level: number, leafRead: boolean, global: boolean): number {
    let floor = hart.lastFullFence;
    if (!global) {
      const a = hart.asidFence[hart.asid]!;
      if (a > floor) floor = a;
    }
    if (leafRead) {
      const lost = hart.vaFenceLost[level]!;
      if (lost > floor) floor = lost;
      const tag = level === 0 ? vpn : Math.floor(vpn / this.pow[level]!);
      const i = level * VA_FENCE_SLOTS + ((tag | 0) & (VA_FENCE_SLOTS - 1));
      if (hart.vaFenceVpn[i] === tag) {
        const asid = hart.vaFenceAsid[i]!;
        if (asid === ANY_ASID || (!global && asid === hart.asid)) {
          const t = hart.vaFenceTick[i]!;
          if (t > floor) floor = t;
        }
      }
    }
    return floor;
  }

  /** SFENCE.VMA on `hart` (local only; privileged spec semantics per form). */
  fence(hart: HartHw, form: FenceForm, vpn: number, asid: number, origin: FenceOrigin): void {
    // Any fence moves the floors a walk's staleness rule reads (`fenceFloor`): for the explorer's
    // position reduction it touches every set (hw/speculation.ts).
    hart.tlb.touchAll();
    const c = this.counters;
    const t = this.nextTick();
    switch (form) {
      case 'all':
        hart.tlb.fenceAll();
        hart.itlb?.fenceAll();
        hart.pwc?.fenceAll();
        hart.lastFullFence = t;
        hart.clock += this.costs.sfenceAll;
        c[M.sfenceAll]++;
        break;
      case 'asid':
        hart.tlb.fenceAsid(asid);
        hart.itlb?.fenceAsid(asid);
        hart.pwc?.fenceAsid(asid);
        hart.asidFence[asid] = t;
        hart.clock += this.costs.sfenceAsid;
        c[M.sfenceAsid]++;
        break;
      case 'va':
      case 'va-asid': {
        // Leaf entries only (superpage and negative level-L entries covering `vpn` included):
        // the page-walk cache is untouched.
        hart.tlb.fenceVa(vpn, form === 'va' ? -1 : asid);
        hart.itlb?.fenceVa(vpn, form === 'va' ? -1 : asid);
        for (let level = 0; level < this.levels; level++) {
          const tag = level === 0 ? vpn : Math.floor(vpn / this.pow[level]!);
          const i = level * VA_FENCE_SLOTS + ((tag | 0) & (VA_FENCE_SLOTS - 1));
          const old = hart.vaFenceVpn[i]!;
          if (old < 0) hart.vaFenceUsed[hart.vaFenceUsedCount++] = i;
          else if (old !== tag) {
            if (hart.vaFenceTick[i]! > hart.vaFenceLost[level]!)
              hart.vaFenceLost[level] = hart.vaFenceTick[i]!;
          }
          hart.vaFenceVpn[i] = tag;
          hart.vaFenceAsid[i] = form === 'va' ? ANY_ASID : asid;
          hart.vaFenceTick[i] = t;
        }
        hart.clock += this.costs.sfenceVa;
        c[form === 'va' ? M.sfenceVa : M.sfenceVaAsid]++;
        break;
      }
    }
    c[origin === 'local' ? M.sfenceLocal : origin === 'ipi' ? M.sfenceIpi : M.sfenceFirmware]++;
  }

  /** Read a PTE's newest value by explicit load (the kernel's own page-table walks). */
  loadPte(slot: number): number {
    return this.mem.flags[slot]!;
  }
}

/** R/W/X only, for the kernel's own explicit page-table walks (its `mapped in init_mm` test). */
export function permits(flags: number, type: AccessType): boolean {
  if (type === 'read') return (flags & PTE_R) !== 0;
  if (type === 'write') return (flags & PTE_W) !== 0;
  return (flags & PTE_X) !== 0;
}
