// The hardware hot path of tlblab's machine model in AssemblyScript: per-hart TLBs (sets x ways,
// ASID + global tags, negative and flushed entries), the page-walk cache, and the walker (spec
// "Virtual Address Translation Process", Sv32/39/48/57), over a mirror of the newest PTE of every
// page-table slot kept in this module's linear memory. A line-for-line port of
// packages/core/src/hw/{tlb,walker}.ts and `Hardware.accessReg/speculateReg`
// (packages/core/src/sim/hardware.ts): the same entries are cached, the same counters move, the
// same cycles are charged. What stays in JS, reached through imports only when it matters:
// - `choose`: a victim choice (random replacement, n = ways > 1): the run's `Chooser`, so the
//   choice log and the explorer see exactly the JS model's choices;
// - `readStale`: the spec's staleness rule for a slot with more than one version kept (the
//   history, the fence records and the `stale-read` choice live in JS);
// - `adUpdate`: Svadu's atomic A/D store (a PTE store with history, ordered by a tick).
// Faults come back as a code; the trap path and every strategy slot are JS.
//
// Everything lives in linear memory laid out by `init`; nothing allocates after it. VPNs are
// u64 inside (exact), passed in as two u32 halves or an f64 below 2^53.

@external("tlblab", "choose")
declare function choose(kind: i32, n: i32): i32;
@external("tlblab", "readStale")
declare function readStale(hart: i32, slot: i32, level: i32, vpn: f64, parentGlobal: i32, walkStart: f64): void;
@external("tlblab", "adUpdate")
declare function adUpdate(hart: i32, slot: i32, level: i32, typeCode: i32, flags: i32, ppn: f64, clock: f64): i32;

// PTE bits (privileged spec, "Sv32/Sv39 page table entry").
const PTE_V: i32 = 1;
const PTE_R: i32 = 2;
const PTE_W: i32 = 4;
const PTE_X: i32 = 8;
const PTE_U: i32 = 16;
const PTE_G: i32 = 32;
const PTE_A: i32 = 64;
const PTE_D: i32 = 128;

// Entry states (hw/tlb.ts).
const EMPTY: u8 = 0;
const VALID: u8 = 1;
const NEGATIVE: u8 = 2;
const FLUSHED: u8 = 3;

const ACCESS_READ: i32 = 0;
const ACCESS_WRITE: i32 = 1;
const ACCESS_EXECUTE: i32 = 2;
const PRV_U: i32 = 0;

// Access results (sim/hardware.ts).
const OK: i32 = 0;
const FAULT_INVALID: i32 = 1;
const FAULT_PROTECTION: i32 = 2;

// Fault kinds (walker.ts `FaultKind`), as codes.
const K_NONE: i32 = 0;
const K_NEGATIVE: i32 = 1;
const K_WALK: i32 = 2;
const K_PROTECTION: i32 = 3;
const K_NON_CANONICAL: i32 = 4;
const K_RESERVED: i32 = 5;
const K_MISALIGNED: i32 = 6;
const K_ACCESSED_DIRTY: i32 = 7;

// Counter slots (a Float64Array on the JS side; sim/metrics.ts names).
const C_ACCESSES: i32 = 0;
const C_TLB_HITS: i32 = 1;
const C_TLB_MISSES: i32 = 2;
const C_NEG_HITS: i32 = 3;
const C_REFILLS: i32 = 4;
const C_WALKS_DEMAND: i32 = 5;
const C_WALKS_SPEC: i32 = 6;
const C_WALK_LEVELS: i32 = 7;
const COUNTERS: i32 = 8;

// Result block (f64 slots read by JS after a call).
const R_CLOCK: i32 = 0;
const R_FLAGS: i32 = 1;
const R_PPN: i32 = 2;
const R_SINCE: i32 = 3;
const R_LEVEL: i32 = 4;
const R_PAGE_PPN: i32 = 5;
const R_KIND: i32 = 6;
const R_WALK_SLOT: i32 = 7;
/** Where `readStale` / `adUpdate` leave their PTE (flags, ppn, since). */
const R_IN_FLAGS: i32 = 8;
const R_IN_PPN: i32 = 9;
const R_IN_SINCE: i32 = 10;
const RESULTS: i32 = 16;

// Configuration (set once by `init`).
let nHarts: i32 = 0;
let tlbEntries: i32 = 0;
let tlbWays: i32 = 0;
let tlbSets: i32 = 0;
let setMask: i32 = -1;
let randomRepl: bool = false;
let tlbsPerHart: i32 = 1;
let pwcEntries: i32 = 0;
let levels: i32 = 3;
let bits: i32 = 9;
let tableShift: i32 = 9;
let indexMask: u64 = 511;
let is64: bool = true;
let canonShift: u64 = 26;
let canonOnes: u64 = 0;
let cachesInvalidLeaf: bool = false;
let cachesInvalidNonLeaf: bool = false;
let nonLeafInTlb: bool = false;
let negBound: f64 = 0;
let svadu: bool = false;
let staleRule: bool = false;
let staleLeafOnly: bool = false;
let costTlbHit: f64 = 0;
let costPwc: f64 = 0;
let costMemory: f64 = 0;
let maxSlots: i32 = 0;
/** Ticks per cycle (sim/hardware.ts TICKS_PER_CYCLE) and the widest staleness window in cycles. */
let ticksPerCycle: f64 = 4096;
let maxWindow: f64 = 0;
let adversarial: bool = false;
/** The table of PPN `TABLE_PPN_BASE + t` is table t (hw/page-tables.ts). */
const TABLE_PPN_BASE: i64 = 0x80000;

// Layout (byte offsets into linear memory).
let oRes: usize = 0;
let oCounters: usize = 0;
// Per TLB (t = hart * tlbsPerHart + i), entry e at t * tlbEntries + e.
let oTag: usize = 0; // u64
let oLru: usize = 0; // u64
let oPpn: usize = 0; // f64
let oVsince: usize = 0; // f64
let oFilled: usize = 0; // f64
let oAsid: usize = 0; // u16
let oFlags: usize = 0; // u16
let oLevel: usize = 0; // u8
let oState: usize = 0; // u8
let oTlbClock: usize = 0; // u64 per TLB
let oTlbLevels: usize = 0; // i32 per TLB (levelsPresent)
// Per hart PWC, entry e at hart * pwcEntries + e.
let oPSlot: usize = 0; // i32
let oPLru: usize = 0; // u64
let oPPpn: usize = 0; // f64
let oPFilled: usize = 0; // f64
let oPAsid: usize = 0; // u16
let oPFlags: usize = 0; // u16
let oPState: usize = 0; // u8
let oPClock: usize = 0; // u64 per hart
// Per hart translation context: root table, ASID, privilege, SUM, MXR (i32 each).
let oCtx: usize = 0;
// Per hart: tick of its last `sfence.vma x0, x0` (f64), for the staleness pre-check.
let oFullFence: usize = 0;
// Scratch for callers (the bench's in-wasm loop): `scratchBytes` from `init`.
let oScratch: usize = 0;
// Page-table mirror per slot: newest flags (u16), PPN (f64), since (f64), versions > 1 (u8).
let oMFlags: usize = 0;
let oMPpn: usize = 0;
let oMSince: usize = 0;
let oMMulti: usize = 0;

// The running access's hart clock (the JS model's `hart.clock` during the call).
let clk: f64 = 0;
// The last implicit PTE read (`Hardware.wFlags/wPpn/wSince` as `readPte` leaves them).
let rdFlags: i32 = 0;
let rdPpn: f64 = 0;
let rdSince: f64 = 0;
// The walker's fields (walker.ts `flags/ppn/since/level/slot/kind`): persistent across walks.
let wFlags: i32 = 0;
let wPpn: f64 = 0;
let wSince: f64 = 0;
let wLevel: i32 = 0;
let wSlot: i32 = 0;
let wKind: i32 = 0;

@inline function res(i: i32): usize {
  return oRes + (<usize>i << 3);
}
@inline function put(i: i32, v: f64): void {
  store<f64>(res(i), v);
}
@inline function bump(c: i32): void {
  const p = oCounters + (<usize>c << 3);
  store<f64>(p, load<f64>(p) + 1);
}

let bump_: usize = 0;
function take(bytes: usize): usize {
  const p = (bump_ + 7) & ~<usize>7;
  bump_ = p + bytes;
  return p;
}

/**
 * Lay out memory for `harts` harts of this geometry and behaviour; returns the byte offset of the
 * result block (the counters follow it: `RESULTS` f64 slots later).
 */
export function init(
  harts: i32,
  entries: i32,
  ways: i32,
  random: i32,
  split: i32,
  pwc: i32,
  nLevels: i32,
  bitsPerLevel: i32,
  vaBits: i32,
  sixtyFour: i32,
  tables: i32,
  cachesInvalid: i32,
  invalidNonLeafInTlb: i32,
  invalidEvictBound: f64,
  adSvadu: i32,
  staleKind: i32,
  leafOnly: i32,
  tlbHit: f64,
  walkLevelPwc: f64,
  walkLevelMemory: f64,
  ticks: f64,
  widestWindow: f64,
  scratchBytes: i32,
): usize {
  nHarts = harts;
  tlbEntries = entries;
  tlbWays = ways;
  tlbSets = entries / ways;
  setMask = (tlbSets & (tlbSets - 1)) == 0 ? tlbSets - 1 : -1;
  randomRepl = random != 0;
  tlbsPerHart = split != 0 ? 2 : 1;
  pwcEntries = pwc;
  levels = nLevels;
  bits = bitsPerLevel;
  tableShift = bitsPerLevel;
  indexMask = (<u64>1 << <u64>bitsPerLevel) - 1;
  is64 = sixtyFour != 0;
  canonShift = <u64>(vaBits - 13);
  canonOnes = (<u64>1 << <u64>(64 - vaBits + 1)) - 1;
  cachesInvalidLeaf = cachesInvalid != 0;
  cachesInvalidNonLeaf = cachesInvalid == 2;
  nonLeafInTlb = invalidNonLeafInTlb != 0;
  negBound = invalidEvictBound;
  svadu = adSvadu != 0;
  staleRule = staleKind != 0;
  adversarial = staleKind == 3;
  ticksPerCycle = ticks;
  maxWindow = widestWindow;
  staleLeafOnly = leafOnly != 0;
  costTlbHit = tlbHit;
  costPwc = walkLevelPwc;
  costMemory = walkLevelMemory;
  maxSlots = tables << tableShift;

  const nTlb = <usize>(harts * tlbsPerHart);
  const nE = nTlb * <usize>entries;
  const nP = <usize>harts * <usize>pwc;
  const nS = <usize>maxSlots;
  bump_ = <usize>memory.size() << 16;
  oRes = take(<usize>(RESULTS + COUNTERS) << 3);
  oCounters = oRes + (<usize>RESULTS << 3);
  oTag = take(nE << 3);
  oLru = take(nE << 3);
  oPpn = take(nE << 3);
  oVsince = take(nE << 3);
  oFilled = take(nE << 3);
  oAsid = take(nE << 1);
  oFlags = take(nE << 1);
  oLevel = take(nE);
  oState = take(nE);
  oTlbClock = take(nTlb << 3);
  oTlbLevels = take(nTlb << 2);
  oPSlot = take(nP << 2);
  oPLru = take(nP << 3);
  oPPpn = take(nP << 3);
  oPFilled = take(nP << 3);
  oPAsid = take(nP << 1);
  oPFlags = take(nP << 1);
  oPState = take(nP);
  oPClock = take(<usize>harts << 3);
  oCtx = take(<usize>harts * 20);
  oFullFence = take(<usize>harts << 3);
  oScratch = take(<usize>scratchBytes);
  oMFlags = take(nS << 1);
  oMPpn = take(nS << 3);
  oMSince = take(nS << 3);
  oMMulti = take(nS);
  const have = <usize>memory.size() << 16;
  if (bump_ > have) memory.grow(<i32>((bump_ - have + 0xffff) >> 16));
  // Fresh pages are zero: every entry EMPTY, every slot flags 0 / ppn 0 / since 0.
  for (let h: i32 = 0; h < harts; h++) setContext(h, 0, 0, 1, 1, 0);
  return oRes;
}

/** Byte offsets of the regions JS views (for the loader's typed-array views and tests). */
export function layout(which: i32): usize {
  switch (which) {
    case 0: return oTag;
    case 1: return oLevel;
    case 2: return oAsid;
    case 3: return oFlags;
    case 4: return oPpn;
    case 5: return oState;
    case 6: return oVsince;
    case 7: return oMFlags;
    case 8: return oMPpn;
    case 9: return oMSince;
    case 10: return oMMulti;
    case 11: return oPSlot;
    case 12: return oPState;
    case 13: return oPFlags;
    case 14: return oPPpn;
    case 15: return oPAsid;
    case 16: return oFilled;
    case 17: return oPFilled;
    case 18: return oScratch;
    default: return 0;
  }
}

/** The hart's satp root table and ASID, effective privilege, sstatus.SUM and MXR. */
export function setContext(h: i32, root: i32, asid: i32, priv: i32, sum: i32, mxr: i32): void {
  const p = oCtx + <usize>h * 20;
  store<i32>(p, root);
  store<i32>(p + 4, asid);
  store<i32>(p + 8, priv);
  store<i32>(p + 12, sum);
  store<i32>(p + 16, mxr);
}

/** Mirror one slot's newest PTE (after a store on the JS side). */
export function setPte(slot: i32, flags: i32, ppn: f64, since: f64, multi: i32): void {
  const s = <usize>slot;
  store<u16>(oMFlags + (s << 1), <u16>flags);
  store<f64>(oMPpn + (s << 3), ppn);
  store<f64>(oMSince + (s << 3), since);
  store<u8>(oMMulti + s, <u8>multi);
}

/** Empty every TLB and PWC and zero the counters (as new, for reuse by a later run). */
export function reset(): void {
  const nTlb = <usize>(nHarts * tlbsPerHart);
  memory.fill(oState, 0, nTlb * <usize>tlbEntries);
  memory.fill(oLru, 0, (nTlb * <usize>tlbEntries) << 3);
  memory.fill(oTlbClock, 0, nTlb << 3);
  memory.fill(oTlbLevels, 0, nTlb << 2);
  const nP = <usize>nHarts * <usize>pwcEntries;
  memory.fill(oPState, 0, nP);
  memory.fill(oPLru, 0, nP << 3);
  memory.fill(oPClock, 0, <usize>nHarts << 3);
  memory.fill(oCounters, 0, <usize>COUNTERS << 3);
  memory.fill(oFullFence, 0, <usize>nHarts << 3);
}

// ---------------------------------------------------------------------------------------------
// TLB (hw/tlb.ts `Tlb`)

@inline function setBase(t: i32, tag: u64): i32 {
  const set = setMask >= 0 ? <i32>tag & setMask : <i32>(tag % <u64>tlbSets);
  return t * tlbEntries + set * tlbWays;
}

@inline function stateAt(e: i32): u8 {
  return load<u8>(oState + <usize>e);
}
@inline function setState(e: i32, s: u8): void {
  store<u8>(oState + <usize>e, s);
}
@inline function tagAt(e: i32): u64 {
  return load<u64>(oTag + (<usize>e << 3));
}
@inline function levelAt(e: i32): i32 {
  return <i32>load<u8>(oLevel + <usize>e);
}
@inline function asidAt(e: i32): i32 {
  return <i32>load<u16>(oAsid + (<usize>e << 1));
}
@inline function flagsAt(e: i32): i32 {
  return <i32>load<u16>(oFlags + (<usize>e << 1));
}
@inline function touch(t: i32, e: i32): void {
  const cp = oTlbClock + (<usize>t << 3);
  const c = load<u64>(cp) + 1;
  store<u64>(cp, c);
  store<u64>(oLru + (<usize>e << 3), c);
}

/** `Tlb.lookupReg`: the entry translating `vpn` for `asid` (global entries match any), marked MRU; -1 if none. */
function lookup(t: i32, vpn: u64, asid: i32): i32 {
  let mask = load<i32>(oTlbLevels + (<usize>t << 2));
  for (let l: i32 = 0; mask != 0; l++, mask >>>= 1) {
    if ((mask & 1) == 0) continue;
    const tag = vpn >> <u64>(bits * l);
    const base = setBase(t, tag);
    for (let w: i32 = 0; w < tlbWays; w++) {
      const e = base + w;
      const st = stateAt(e);
      if ((st == VALID || st == NEGATIVE) && levelAt(e) == l && tagAt(e) == tag) {
        if (asidAt(e) == asid || (flagsAt(e) & PTE_G) != 0) {
          touch(t, e);
          return e;
        }
      }
    }
  }
  return -1;
}

/** `Tlb.consumeFlushed`: a fence removed an entry for `vpn` that nothing replaced (a refill miss). */
function consumeFlushed(t: i32, vpn: u64, asid: i32): bool {
  for (let l: i32 = 0; l < levels; l++) {
    const tag = vpn >> <u64>(bits * l);
    const base = setBase(t, tag);
    for (let w: i32 = 0; w < tlbWays; w++) {
      const e = base + w;
      if (stateAt(e) == FLUSHED && levelAt(e) == l && tagAt(e) == tag) {
        if (asidAt(e) == asid || (flagsAt(e) & PTE_G) != 0) {
          setState(e, EMPTY);
          return true;
        }
      }
    }
  }
  return false;
}

/** `Tlb.fill`: an empty or flushed way, else LRU or a `victim` choice among the ways. */
function fill(t: i32, vpn: u64, level: i32, asid: i32, flags: i32, ppn: f64, negative: bool, since: f64): void {
  const tag = vpn >> <u64>(bits * level);
  const base = setBase(t, tag);
  let victim: i32 = -1;
  let flushedVictim: i32 = -1;
  for (let w: i32 = 0; w < tlbWays; w++) {
    const e = base + w;
    const st = stateAt(e);
    if ((st == VALID || st == NEGATIVE) && levelAt(e) == level && tagAt(e) == tag && asidAt(e) == asid) {
      victim = e;
      break;
    }
    if (st == EMPTY && victim < 0) victim = e;
    if (st == FLUSHED && flushedVictim < 0) flushedVictim = e;
  }
  if (victim < 0) victim = flushedVictim;
  if (victim < 0) {
    if (randomRepl) {
      // The JS Chooser decides (kind 0 = 'victim'); n <= 1 consumes no choice there either.
      victim = base + (tlbWays > 1 ? choose(0, tlbWays) : 0);
    } else {
      victim = base;
      for (let w: i32 = 1; w < tlbWays; w++) {
        if (load<u64>(oLru + (<usize>(base + w) << 3)) < load<u64>(oLru + (<usize>victim << 3))) victim = base + w;
      }
    }
  }
  const v = <usize>victim;
  store<u64>(oTag + (v << 3), tag);
  store<u8>(oLevel + v, <u8>level);
  store<u16>(oAsid + (v << 1), <u16>asid);
  store<u16>(oFlags + (v << 1), <u16>flags);
  store<f64>(oPpn + (v << 3), ppn);
  store<u8>(oState + v, negative ? NEGATIVE : VALID);
  store<f64>(oVsince + (v << 3), since);
  store<f64>(oFilled + (v << 3), clk);
  touch(t, victim);
  const lp = oTlbLevels + (<usize>t << 2);
  store<i32>(lp, load<i32>(lp) | (1 << level));
}

@inline function invalidate(e: i32): void {
  const st = stateAt(e);
  if (st == VALID) setState(e, FLUSHED);
  else if (st == NEGATIVE) setState(e, EMPTY);
}

function tlbFenceAll(t: i32): void {
  const b = t * tlbEntries;
  for (let e = b; e < b + tlbEntries; e++) invalidate(e);
}
function tlbFenceAsid(t: i32, asid: i32): void {
  const b = t * tlbEntries;
  for (let e = b; e < b + tlbEntries; e++) {
    if (asidAt(e) == asid && (flagsAt(e) & PTE_G) == 0) invalidate(e);
  }
}
/** `Tlb.fenceVa`: leaf entries translating `vpn` (asid < 0: any ASID; else that ASID, not global). */
function tlbFenceVa(t: i32, vpn: u64, asid: i32): void {
  const present = load<i32>(oTlbLevels + (<usize>t << 2));
  for (let l: i32 = 0; l < levels; l++) {
    if ((present & (1 << l)) == 0) continue;
    const tag = vpn >> <u64>(bits * l);
    const base = setBase(t, tag);
    for (let w: i32 = 0; w < tlbWays; w++) {
      const e = base + w;
      if (levelAt(e) != l || tagAt(e) != tag) continue;
      if (asid >= 0 && (asidAt(e) != asid || (flagsAt(e) & PTE_G) != 0)) continue;
      invalidate(e);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Page-walk cache (hw/tlb.ts `PageWalkCache`): fully associative, LRU, keyed by slot.

function pwcLookup(h: i32, slot: i32, asid: i32): i32 {
  const b = h * pwcEntries;
  for (let e = b; e < b + pwcEntries; e++) {
    const st = load<u8>(oPState + <usize>e);
    if (
      (st == VALID || st == NEGATIVE) &&
      load<i32>(oPSlot + (<usize>e << 2)) == slot &&
      (<i32>load<u16>(oPAsid + (<usize>e << 1)) == asid || (<i32>load<u16>(oPFlags + (<usize>e << 1)) & PTE_G) != 0)
    ) {
      const cp = oPClock + (<usize>h << 3);
      const c = load<u64>(cp) + 1;
      store<u64>(cp, c);
      store<u64>(oPLru + (<usize>e << 3), c);
      return e;
    }
  }
  return -1;
}

function pwcFill(h: i32, slot: i32, asid: i32, flags: i32, ppn: f64, negative: bool): void {
  const b = h * pwcEntries;
  let victim = b;
  for (let e = b; e < b + pwcEntries; e++) {
    const st = load<u8>(oPState + <usize>e);
    if (st != VALID && st != NEGATIVE) {
      victim = e;
      break;
    }
    if (load<i32>(oPSlot + (<usize>e << 2)) == slot && <i32>load<u16>(oPAsid + (<usize>e << 1)) == asid) {
      victim = e;
      break;
    }
    if (load<u64>(oPLru + (<usize>e << 3)) < load<u64>(oPLru + (<usize>victim << 3))) victim = e;
  }
  const v = <usize>victim;
  store<i32>(oPSlot + (v << 2), slot);
  store<u16>(oPAsid + (v << 1), <u16>asid);
  store<u16>(oPFlags + (v << 1), <u16>flags);
  store<f64>(oPPpn + (v << 3), ppn);
  store<u8>(oPState + v, negative ? NEGATIVE : VALID);
  store<f64>(oPFilled + (v << 3), clk);
  const cp = oPClock + (<usize>h << 3);
  const c = load<u64>(cp) + 1;
  store<u64>(cp, c);
  store<u64>(oPLru + (v << 3), c);
}

// ---------------------------------------------------------------------------------------------
// Walker (hw/walker.ts `Walker`)

@inline function ctx(h: i32, field: i32): i32 {
  return load<i32>(oCtx + <usize>h * 20 + (<usize>field << 2));
}

/** `Walker.canonical`: VA bits [63 : vaBits-1] all equal (Sv39/48/57); Sv32 VPNs below 2^20. */
@inline function canonical(vpn: u64): bool {
  if (!is64) return vpn < 0x100000;
  const hi = vpn >> canonShift;
  return hi == 0 || hi == canonOnes;
}

/** `leafPermits` (spec step 5): U/SUM for the privilege, then R (or X with MXR), W, X. */
function permits(flags: i32, typeCode: i32, h: i32): bool {
  const user = (flags & PTE_U) != 0;
  if (ctx(h, 2) == PRV_U) {
    if (!user) return false;
  } else if (user && (typeCode == ACCESS_EXECUTE || ctx(h, 3) == 0)) {
    return false;
  }
  if (typeCode == ACCESS_READ) return (flags & PTE_R) != 0 || (ctx(h, 4) != 0 && (flags & PTE_X) != 0);
  if (typeCode == ACCESS_WRITE) return (flags & PTE_W) != 0;
  return (flags & PTE_X) != 0;
}

@inline function adNeeded(typeCode: i32): i32 {
  return typeCode == ACCESS_WRITE ? PTE_A | PTE_D : PTE_A;
}

@inline function tlbFor(h: i32, typeCode: i32): i32 {
  return h * tlbsPerHart + (typeCode == ACCESS_EXECUTE && tlbsPerHart == 2 ? 1 : 0);
}

/**
 * May an older version of a slot whose newest version became current at tick `since` be returned
 * (a conservative pre-check of `Hardware.readPte`'s first step, so that most reads need no call
 * to JS)? Not when the hart's last full fence is at or after `since` (the fence subsumes every
 * PTE), nor, under a window rule, when `since` is older than the widest window before the walk:
 * in both cases the JS rule stops at the first older version and returns the newest without a
 * choice, which is what this returns too.
 */
@inline function olderMayShow(h: i32, since: f64, walkStart: f64): bool {
  if (since <= load<f64>(oFullFence + (<usize>h << 3))) return false;
  return adversarial || since > (walkStart - maxWindow) * ticksPerCycle;
}

/**
 * One implicit read of `slot` (`Hardware.readPte`): the newest version unless the slot has older
 * ones the staleness rule may show (then JS decides: history, fence floors, `stale-read` choice).
 * As in the JS model, where the hardware object is the walker's PTE source, the read also lands
 * in the hardware's result registers (flags, PPN, since).
 */
function readPte(h: i32, slot: i32, level: i32, vpn: u64, parentGlobal: bool, walkStart: f64): void {
  const s = <usize>slot;
  const newest = <i32>load<u16>(oMFlags + (s << 1));
  if (staleRule && load<u8>(oMMulti + s) != 0 && olderMayShow(h, load<f64>(oMSince + (s << 3)), walkStart)) {
    const leafRead = level == 0 || (newest & (PTE_R | PTE_W | PTE_X)) != 0;
    if (leafRead || !staleLeafOnly) {
      readStale(h, slot, level, <f64>vpn, parentGlobal ? 1 : 0, walkStart);
      rdFlags = <i32>load<f64>(res(R_IN_FLAGS));
      rdPpn = load<f64>(res(R_IN_PPN));
      rdSince = load<f64>(res(R_IN_SINCE));
      put(R_FLAGS, <f64>rdFlags);
      put(R_PPN, rdPpn);
      put(R_SINCE, rdSince);
      return;
    }
  }
  rdFlags = newest;
  rdPpn = load<f64>(oMPpn + (s << 3));
  rdSince = load<f64>(oMSince + (s << 3));
  put(R_FLAGS, <f64>rdFlags);
  put(R_PPN, rdPpn);
  put(R_SINCE, rdSince);
}

const WALK_OK: i32 = 0;
const WALK_FAULT: i32 = 1;

/** `Walker.walk` (spec steps 1-8); on WALK_OK `wFlags/wPpn/wSince/wLevel` hold the leaf. */
function walk(h: i32, vpn: u64, typeCode: i32, demand: bool): i32 {
  const t = tlbFor(h, typeCode);
  const asid = ctx(h, 1);
  let table = ctx(h, 0);
  let global = false;
  const walkStart = clk;
  for (let level = levels - 1; level >= 0; level--) {
    const slot = (table << tableShift) + <i32>((vpn >> <u64>(bits * level)) & indexMask);
    let flags: i32;
    let ppn: f64;
    let since: f64;
    let pe = level > 0 && pwcEntries > 0 ? pwcLookup(h, slot, asid) : -1;
    if (
      pe >= 0 &&
      load<u8>(oPState + <usize>pe) == NEGATIVE &&
      negBound > 0 &&
      clk - load<f64>(oPFilled + (<usize>pe << 3)) > negBound
    ) {
      store<u8>(oPState + <usize>pe, EMPTY);
      pe = -1;
    }
    if (pe >= 0) {
      flags = <i32>load<u16>(oPFlags + (<usize>pe << 1));
      ppn = load<f64>(oPPpn + (<usize>pe << 3));
      since = 0;
      if (demand) clk += costPwc;
    } else {
      readPte(h, slot, level, vpn, global, walkStart);
      flags = rdFlags;
      ppn = rdPpn;
      since = rdSince;
      bump(C_WALK_LEVELS);
      if (demand) clk += costMemory;
      if (level > 0 && pwcEntries > 0) {
        if ((flags & PTE_V) == 0) {
          if (cachesInvalidNonLeaf && !nonLeafInTlb) pwcFill(h, slot, asid, flags, ppn, true);
        } else if ((flags & (PTE_R | PTE_W | PTE_X)) == 0) {
          pwcFill(h, slot, asid, flags, ppn, false);
        }
      }
    }
    wLevel = level;
    wSlot = slot;
    // Step 3: "If pte.v = 0, or if pte.r = 0 and pte.w = 1, ... stop and raise a page-fault".
    if ((flags & PTE_V) == 0) {
      if (level == 0 ? cachesInvalidLeaf : cachesInvalidNonLeaf && nonLeafInTlb) {
        fill(t, vpn, level, asid, flags, 0, true, since);
      }
      wKind = K_WALK;
      return WALK_FAULT;
    }
    if ((flags & (PTE_R | PTE_W)) == PTE_W) {
      wKind = K_RESERVED;
      return WALK_FAULT;
    }
    if ((flags & PTE_G) != 0) global = true;
    if ((flags & (PTE_R | PTE_W | PTE_X)) != 0) return leaf(h, t, vpn, typeCode, demand, flags, ppn, since, level, slot, global);
    // Step 4: a pointer; "i = i - 1. If i < 0, stop and raise a page-fault exception".
    if (level == 0) {
      wKind = K_RESERVED;
      return WALK_FAULT;
    }
    table = <i32>(<i64>ppn - TABLE_PPN_BASE);
  }
  wKind = K_RESERVED;
  return WALK_FAULT;
}

@inline function lowMask(level: i32): u64 {
  return (<u64>1 << <u64>(bits * level)) - 1;
}

/** `Walker.leaf`: steps 5-8 for the leaf found at `level`. */
function leaf(
  h: i32,
  t: i32,
  vpn: u64,
  typeCode: i32,
  demand: bool,
  flags: i32,
  ppn: f64,
  since: f64,
  level: i32,
  slot: i32,
  global: bool,
): i32 {
  // Step 6: "If i > 0 and pte.ppn[i-1:0] != 0, this is a misaligned superpage".
  if (level > 0 && (<u64>ppn & lowMask(level)) != 0) {
    wKind = K_MISALIGNED;
    return WALK_FAULT;
  }
  const need = adNeeded(typeCode);
  if ((flags & need) != need) {
    const permitted = permits(flags, typeCode, h);
    if (!svadu) {
      // Svade: a fault when A=0 (or D=0 on a store); an A=0 leaf is not cached.
      if (permitted) {
        wKind = K_ACCESSED_DIRTY;
        if ((flags & PTE_A) != 0) fill(t, vpn, level, ctx(h, 1), global ? flags | PTE_G : flags, ppn, false, since);
        return WALK_FAULT;
      }
      if ((flags & PTE_A) == 0) {
        setResult(flags, ppn, since, global);
        return WALK_OK;
      }
    } else if (permitted && demand) {
      // Svadu: the atomic A/D store is a PTE store with history: JS does it (and re-checks the
      // newest PTE); 1 = the newest PTE no longer permits the access.
      if (adUpdate(h, slot, level, typeCode, flags, ppn, clk) != 0) {
        wKind = K_WALK;
        return WALK_FAULT;
      }
      flags = <i32>load<f64>(res(R_IN_FLAGS));
      ppn = load<f64>(res(R_IN_PPN));
      since = load<f64>(res(R_IN_SINCE));
    }
  }
  fill(t, vpn, level, ctx(h, 1), global ? flags | PTE_G : flags, ppn, false, since);
  setResult(flags, ppn, since, global);
  return WALK_OK;
}

@inline function setResult(flags: i32, ppn: f64, since: f64, global: bool): void {
  wFlags = global ? flags | PTE_G : flags;
  wPpn = ppn;
  wSince = since;
}

@inline function pagePpn(vpn: u64, ppn: f64, level: i32): f64 {
  if (level == 0) return ppn;
  return ppn + <f64>(vpn & lowMask(level));
}

// ---------------------------------------------------------------------------------------------
// Accesses (sim/hardware.ts `accessReg` / `speculateReg`)

// The hardware's result registers (`Hardware.wFlags/wPpn/wSince/wLevel/wPagePpn/faultKind`)
// are the result block's slots (`put`): each path writes the ones the JS model assigns, no others.

@inline function fault(code: i32, kind: i32): i32 {
  put(R_CLOCK, clk);
  put(R_KIND, <f64>kind);
  return code;
}

function demandWalk(h: i32, vpn: u64, typeCode: i32): i32 {
  const r = walk(h, vpn, typeCode, true);
  put(R_LEVEL, <f64>wLevel);
  put(R_WALK_SLOT, <f64>wSlot);
  if (r != WALK_OK) return fault(wKind == K_ACCESSED_DIRTY ? FAULT_PROTECTION : FAULT_INVALID, wKind);
  put(R_FLAGS, <f64>wFlags);
  put(R_PPN, wPpn);
  put(R_SINCE, wSince);
  if (!permits(wFlags, typeCode, h)) return fault(FAULT_PROTECTION, K_PROTECTION);
  put(R_PAGE_PPN, pagePpn(vpn, wPpn, wLevel));
  put(R_CLOCK, clk);
  return OK;
}

/**
 * A demand access of `vpn` by hart `h` at cycle `clock`: returns OK / FAULT_INVALID /
 * FAULT_PROTECTION; the result block holds the hart's new clock, the translation (flags, PPN,
 * since, level, page PPN) and the fault kind, each written only where the JS model writes it.
 */
function accessVpn(h: i32, vpn: u64, typeCode: i32, clock: f64): i32 {
  clk = clock;
  bump(C_ACCESSES);
  if (!canonical(vpn)) {
    // Raised before any TLB lookup: a non-canonical VA has no translation to cache.
    clk += costTlbHit;
    return fault(FAULT_INVALID, K_NON_CANONICAL);
  }
  const t = tlbFor(h, typeCode);
  const asid = ctx(h, 1);
  let e = lookup(t, vpn, asid);
  if (e >= 0 && stateAt(e) == NEGATIVE && negBound > 0 && clk - load<f64>(oFilled + (<usize>e << 3)) > negBound) {
    // Svvptc: a cached invalid entry is gone within the bound (in cycles).
    setState(e, EMPTY);
    e = -1;
  }
  if (e >= 0) {
    clk += costTlbHit;
    const level = levelAt(e);
    put(R_LEVEL, <f64>level);
    if (stateAt(e) == NEGATIVE) {
      bump(C_NEG_HITS);
      return fault(FAULT_INVALID, K_NEGATIVE);
    }
    bump(C_TLB_HITS);
    const flags = flagsAt(e);
    const ppn = load<f64>(oPpn + (<usize>e << 3));
    put(R_FLAGS, <f64>flags);
    put(R_PPN, ppn);
    put(R_SINCE, load<f64>(oVsince + (<usize>e << 3)));
    if (!permits(flags, typeCode, h)) return fault(FAULT_PROTECTION, K_PROTECTION);
    const need = adNeeded(typeCode);
    if ((flags & need) == need) {
      put(R_PAGE_PPN, pagePpn(vpn, ppn, level));
      put(R_CLOCK, clk);
      return OK;
    }
    if (!svadu) return fault(FAULT_PROTECTION, K_ACCESSED_DIRTY);
    // Svadu: the cached entry lacks A (or D for a store); the update is done by a walk.
    bump(C_WALKS_DEMAND);
    return demandWalk(h, vpn, typeCode);
  }
  bump(C_TLB_MISSES);
  if (consumeFlushed(t, vpn, asid)) bump(C_REFILLS);
  bump(C_WALKS_DEMAND);
  clk += costTlbHit;
  return demandWalk(h, vpn, typeCode);
}

/** `access` with the VPN as two u32 halves (exact for any 64-bit VPN). */
export function access(h: i32, vpnHi: u32, vpnLo: u32, typeCode: i32, clock: f64): i32 {
  return accessVpn(h, (<u64>vpnHi << 32) | <u64>vpnLo, typeCode, clock);
}

/** `access` with the VPN as an f64 (exact below 2^53, as the JS model's numbers). */
export function accessF64(h: i32, vpn: f64, typeCode: i32, clock: f64): i32 {
  return accessVpn(h, <u64>vpn, typeCode, clock);
}

/** `speculateReg`: a speculative walk (no exception, no cycles, fills only); 1 if it walked. */
function speculateVpn(h: i32, vpn: u64, clock: f64): i32 {
  clk = clock;
  if (!canonical(vpn) || lookup(h * tlbsPerHart, vpn, ctx(h, 1)) >= 0) return 0;
  bump(C_WALKS_SPEC);
  walk(h, vpn, ACCESS_READ, false);
  put(R_LEVEL, <f64>wLevel);
  put(R_WALK_SLOT, <f64>wSlot);
  return 1;
}

export function speculate(h: i32, vpnHi: u32, vpnLo: u32, clock: f64): i32 {
  return speculateVpn(h, (<u64>vpnHi << 32) | <u64>vpnLo, clock);
}
export function speculateF64(h: i32, vpn: f64, clock: f64): i32 {
  return speculateVpn(h, <u64>vpn, clock);
}

/**
 * The cache half of SFENCE.VMA on hart `h` (`Hardware.fence`): form 0 `all`, 1 `asid`, 2 `va`,
 * 3 `va-asid`. Every TLB of the hart; the PWC only for the x0 forms (a `va` fence orders leaf
 * entries only). Fence records, costs and counters are JS's; `tick` is the fence's tick (JS's
 * `lastFullFence` for form 0, which the staleness pre-check reads).
 */
export function fence(h: i32, form: i32, vpn: f64, asid: i32, tick: f64): void {
  if (form == 0) store<f64>(oFullFence + (<usize>h << 3), tick);
  const t0 = h * tlbsPerHart;
  for (let t = t0; t < t0 + tlbsPerHart; t++) {
    if (form == 0) tlbFenceAll(t);
    else if (form == 1) tlbFenceAsid(t, asid);
    else tlbFenceVa(t, <u64>vpn, form == 2 ? -1 : asid);
  }
  const b = h * pwcEntries;
  if (form == 0) {
    memory.fill(oPState + <usize>b, 0, <usize>pwcEntries);
  } else if (form == 1) {
    for (let e = b; e < b + pwcEntries; e++) {
      if (<i32>load<u16>(oPAsid + (<usize>e << 1)) == asid && (<i32>load<u16>(oPFlags + (<usize>e << 1)) & PTE_G) == 0)
        store<u8>(oPState + <usize>e, EMPTY);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The bench's in-wasm loop: the same access stream with no JS <-> wasm crossing per access.

/**
 * `count` demand accesses of type `typeCode`, harts round robin from hart `first`, hart h's i-th
 * access the VPN at scratch u64 [h * perHart + pos[h]] (pos: i32 per hart after the stream,
 * clocks: f64 per hart after those). Returns OK results; clocks and positions are updated.
 */
export function drive(harts: i32, perHart: i32, first: i32, count: i32, typeCode: i32): i32 {
  const stream = oScratch;
  const pos = stream + ((<usize>(harts * perHart)) << 3);
  const clocks = pos + ((<usize>harts) << 2);
  let ok: i32 = 0;
  let h = first;
  for (let n: i32 = 0; n < count; n++) {
    const pp = pos + (<usize>h << 2);
    const p = load<i32>(pp);
    const vpn = load<u64>(stream + (<usize>(h * perHart + p) << 3));
    store<i32>(pp, p + 1 == perHart ? 0 : p + 1);
    const cp = clocks + (<usize>h << 3);
    if (accessVpn(h, vpn, typeCode, load<f64>(cp)) == OK) ok++;
    store<f64>(cp, clk);
    h = h + 1 == harts ? 0 : h + 1;
  }
  return ok;
}
