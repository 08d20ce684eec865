/**
 * Per-hart translation caches (machine-model section 3): a set-associative TLB of leaf entries
 * (4 KiB pages and megapages/gigapages), which may hold *negative* entries (a walk that ended on a
 * V=0 leaf PTE) where the core caches invalid PTEs; and a fully associative page-walk cache of
 * non-leaf PTEs, which may hold V=0 non-leaf entries on the profiles that cache them.
 *
 * Both are modelled structures, not host speed-ups (unlike Spike's): what a fence removes is
 * exactly what the spec says it must, and the flush decision belongs to the kernel strategy.
 * Typed arrays only; lookups and fills allocate nothing.
 */
import type { Chooser } from '../choice.js';
import { PTE_G } from './pte.js';

export const EMPTY = 0;
export const VALID = 1;
export const NEGATIVE = 2;
/** Invalidated by a fence but remembered, so that the next miss on it counts as a refill miss. */
export const FLUSHED = 3;

export class Tlb {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  readonly random: boolean;
  /** Page number at the entry's level: floor(vpn / 2^(bits*level)). */
  readonly tag: Float64Array;
  readonly level: Uint8Array;
  readonly asid: Uint16Array;
  readonly flags: Uint16Array;
  readonly ppn: Float64Array;
  readonly state: Uint8Array;
  /** Step at which the PTE version this entry was filled from became current (stale-access check). */
  readonly versionSince: Float64Array;
  /** Step of the fill (bounded eviction of negative entries under Svvptc). */
  readonly filledAt: Float64Array;
  readonly lru: Float64Array;
  private clock = 0;
  /**
   * Touch stamps for the explorer's position reduction (hw/speculation.ts): `stamp[b]` is the
   * `touches` count at the last probe or change of the set whose first entry is `b`, `stampAll`
   * at the last operation on every set (a fence); one store per probed set, decides nothing.
   */
  readonly stamp: Float64Array;
  stampAll = 0;
  touches = 0;
  /** Bit L set when some entry of level L may be present (limits the levels a lookup probes). */
  levelsPresent = 0;
  private readonly pow: Float64Array;
  /** `sets - 1` when `sets` is a power of two (every preset), else -1: the set index is then the
   *  low bits of the tag, taken through ToInt32 (exact for integers below 2^53) instead of a
   *  floating-point `%`, which costs ~100 ns for tags above 2^32 (kernel VPNs). */
  private readonly setMask: number;

  constructor(
    entries: number,
    ways: number,
    replacement: 'lru' | 'random',
    bitsPerLevel: number,
    maxLevels: number,
  ) {
    this.entries = entries;
    this.ways = ways;
    this.sets = entries / ways;
    this.setMask = Number.isInteger(this.sets) && (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    this.random = replacement === 'random';
    this.tag = new Float64Array(entries);
    this.level = new Uint8Array(entries);
    this.asid = new Uint16Array(entries);
    this.flags = new Uint16Array(entries);
    this.ppn = new Float64Array(entries);
    this.state = new Uint8Array(entries);
    this.versionSince = new Float64Array(entries);
    this.filledAt = new Float64Array(entries);
    this.lru = new Float64Array(entries);
    this.stamp = new Float64Array(entries);
    this.pow = new Float64Array(maxLevels);
    for (let l = 0; l < maxLevels; l++) this.pow[l] = 2 ** (bitsPerLevel * l);
  }

  /** First entry of the set `tag` maps to (see `setMask`). */
  setBase(tag: number): number {
    const m = this.setMask;
    return (m >= 0 ? (tag | 0) & m : tag % this.sets) * this.ways;
  }

  /** Find the entry translating `vpn` in address space `asid` (global entries match any ASID), and
   *  mark it most recently used. -1 if none. */
  lookup(vpn: number, asid: number): number {
    const e = this.peek(vpn, asid);
    if (e >= 0) this.lru[e] = ++this.clock;
    this.stampAll = ++this.touches;
    return e;
  }

  /**
   * `lookup` of the VPN in `reg[0]`: the hot path's form. A VPN above 2^31 is a double, and a
   * double argument to a call V8 does not inline is boxed (a heap number per access); one read
   * from a Float64Array inside the callee is not.
   */
  lookupReg(reg: Float64Array, asid: number): number {
    const vpn = reg[0]!;
    let mask = this.levelsPresent;
    for (let l = 0; mask !== 0; l++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const tag = l === 0 ? vpn : Math.floor(vpn / this.pow[l]!);
      const base = this.setBase(tag);
      this.stamp[base] = ++this.touches;
      for (let w = 0; w < this.ways; w++) {
        const e = base + w;
        const st = this.state[e]!;
        if ((st === VALID || st === NEGATIVE) && this.level[e] === l && this.tag[e] === tag) {
          if (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0) {
            this.lru[e] = ++this.clock;
            return e;
          }
        }
      }
    }
    return -1;
  }

  /** Empty, as new (for reuse by a later run). */
  reset(): void {
    this.state.fill(EMPTY);
    this.lru.fill(0);
    this.clock = 0;
    this.levelsPresent = 0;
    this.stampAll = ++this.touches;
  }

  /** Bit (set index mod 32) of each set `vpn` maps to at any level: a superset of the sets a
   *  lookup or a fill for it may probe or change. */
  setBits(vpn: number): number {
    let bits = 0;
    for (let l = 0; l < this.pow.length; l++) {
      const tag = l === 0 ? vpn : Math.floor(vpn / this.pow[l]!);
      bits |= 1 << ((this.setBase(tag) / this.ways) & 31);
    }
    return bits;
  }

  /** Bits (as `setBits`) of the sets probed or changed since `touches` was `mark`; -1: all. */
  touchedSince(mark: number): number {
    if (this.stampAll > mark) return -1;
    let bits = 0;
    for (let b = 0, set = 0; b < this.entries; b += this.ways, set++) {
      if (this.stamp[b]! > mark) bits |= 1 << (set & 31);
    }
    return bits;
  }

  /** Mark every set touched (an operation whose footprint is the whole TLB, e.g. any fence). */
  touchAll(): void {
    this.stampAll = ++this.touches;
  }

  /**
   * Whether `lookupReg(reg, asid)` would hit an entry that is already the most recently used way
   * of its set. Its LRU update then changes no order: replacement compares `lru` within one set
   * only (`fill`), so such a lookup leaves the TLB as it was (the explorer's no-effect test for a
   * speculative walk, hw/speculation.ts). Read-only.
   */
  hitsMostRecent(reg: Float64Array, asid: number): boolean {
    const vpn = reg[0]!;
    let mask = this.levelsPresent;
    for (let l = 0; mask !== 0; l++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const tag = l === 0 ? vpn : Math.floor(vpn / this.pow[l]!);
      const base = this.setBase(tag);
      for (let w = 0; w < this.ways; w++) {
        const e = base + w;
        const st = this.state[e]!;
        if ((st === VALID || st === NEGATIVE) && this.level[e] === l && this.tag[e] === tag) {
          if (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0) {
            for (let o = 0; o < this.ways; o++)
              if (o !== w && this.lru[base + o]! >= this.lru[e]!) return false;
            return true;
          }
        }
      }
    }
    return false;
  }

  /** `lookup` without touching replacement state (for traces and tests). */
  peek(vpn: number, asid: number): number {
    let mask = this.levelsPresent;
    for (let l = 0; mask !== 0; l++, mask >>>= 1) {
      if ((mask & 1) === 0) continue;
      const tag = Math.floor(vpn / this.pow[l]!);
      const base = this.setBase(tag);
      for (let w = 0; w < this.ways; w++) {
        const e = base + w;
        const st = this.state[e]!;
        if ((st === VALID || st === NEGATIVE) && this.level[e] === l && this.tag[e] === tag) {
          if (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0) return e;
        }
      }
    }
    return -1;
  }

  /** True when a fence removed an entry for `vpn` that nothing has replaced: a miss on it is a refill miss.
   *  The memory is forgotten once consulted. */
  consumeFlushed(vpn: number, asid: number): boolean {
    for (let l = 0; l < this.pow.length; l++) {
      const tag = Math.floor(vpn / this.pow[l]!);
      const base = this.setBase(tag);
      this.stamp[base] = ++this.touches;
      for (let w = 0; w < this.ways; w++) {
        const e = base + w;
        if (this.state[e] === FLUSHED && this.level[e] === l && this.tag[e] === tag) {
          if (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0) {
            this.state[e] = EMPTY;
            return true;
          }
        }
      }
    }
    return false;
  }

  /** Insert a translation (or a negative entry) for `vpn` at `level`. Victim: an empty or flushed
   *  way, else LRU or a random way (a `victim` choice). */
  fill(
    vpn: number,
    level: number,
    asid: number,
    flags: number,
    ppn: number,
    negative: boolean,
    versionSince: number,
    now: number,
    chooser: Chooser,
  ): void {
    const tag = Math.floor(vpn / this.pow[level]!);
    const base = this.setBase(tag);
    this.stamp[base] = ++this.touches;
    let victim = -1;
    let flushedVictim = -1;
    for (let w = 0; w < this.ways; w++) {
      const e = base + w;
      const st = this.state[e]!;
      // Replace an existing entry for the same page rather than duplicating it.
      if (
        (st === VALID || st === NEGATIVE) &&
        this.level[e] === level &&
        this.tag[e] === tag &&
        this.asid[e] === asid
      ) {
        victim = e;
        break;
      }
      if (st === EMPTY && victim < 0) victim = e;
      if (st === FLUSHED && flushedVictim < 0) flushedVictim = e;
    }
    if (victim < 0) victim = flushedVictim;
    if (victim < 0) {
      if (this.random) {
        victim = base + chooser.choose('victim', this.ways);
      } else {
        victim = base;
        for (let w = 1; w < this.ways; w++) if (this.lru[base + w]! < this.lru[victim]!) victim = base + w;
      }
    }
    this.tag[victim] = tag;
    this.level[victim] = level;
    this.asid[victim] = asid;
    this.flags[victim] = flags;
    this.ppn[victim] = ppn;
    this.state[victim] = negative ? NEGATIVE : VALID;
    this.versionSince[victim] = versionSince;
    this.filledAt[victim] = now;
    this.lru[victim] = ++this.clock;
    this.levelsPresent |= 1 << level;
  }

  /** Drop entry `e`, remembering valid ones for refill-miss accounting. */
  private invalidate(e: number): number {
    const st = this.state[e]!;
    if (st === VALID) {
      this.state[e] = FLUSHED;
      return 1;
    }
    if (st === NEGATIVE) {
      this.state[e] = EMPTY;
      return 1;
    }
    return 0;
  }

  /** `sfence.vma x0, x0`: every entry. Returns entries removed. */
  fenceAll(): number {
    this.stampAll = ++this.touches;
    let n = 0;
    for (let e = 0; e < this.entries; e++) n += this.invalidate(e);
    return n;
  }

  /** `sfence.vma x0, asid`: entries of that ASID that are not global. */
  fenceAsid(asid: number): number {
    this.stampAll = ++this.touches;
    let n = 0;
    for (let e = 0; e < this.entries; e++) {
      if (this.asid[e] === asid && (this.flags[e]! & PTE_G) === 0) n += this.invalidate(e);
    }
    return n;
  }

  /** `sfence.vma va, x0` (asid < 0) or `sfence.vma va, asid`: leaf entries translating `vpn`. */
  fenceVa(vpn: number, asid: number): number {
    this.stampAll = ++this.touches;
    let n = 0;
    for (let l = 0; l < this.pow.length; l++) {
      if ((this.levelsPresent & (1 << l)) === 0) continue;
      const tag = Math.floor(vpn / this.pow[l]!);
      const base = this.setBase(tag);
      for (let w = 0; w < this.ways; w++) {
        const e = base + w;
        if (this.level[e] !== l || this.tag[e] !== tag) continue;
        if (asid >= 0 && (this.asid[e] !== asid || (this.flags[e]! & PTE_G) !== 0)) continue;
        n += this.invalidate(e);
      }
    }
    return n;
  }

  /** Svvptc: drop negative entries filled more than `bound` steps ago. */
  evictOldNegatives(now: number, bound: number): void {
    this.stampAll = ++this.touches;
    for (let e = 0; e < this.entries; e++) {
      if (this.state[e] === NEGATIVE && now - this.filledAt[e]! > bound) this.state[e] = EMPTY;
    }
  }

  /** Entries currently holding a translation or a negative entry (for invariants). */
  occupancy(): number {
    let n = 0;
    for (let e = 0; e < this.entries; e++) if (this.state[e] === VALID || this.state[e] === NEGATIVE) n++;
    return n;
  }
}

/**
 * Page-walk cache: non-leaf PTEs keyed by the page-table slot they were read from (which identifies
 * the VA prefix and the root). Fully associative, LRU. Only `x0`-form fences touch it: a `va`-form
 * SFENCE.VMA orders and invalidates leaf entries only (privileged spec commentary: a changed
 * non-leaf entry needs rs1 = x0).
 */
export class PageWalkCache {
  readonly entries: number;
  readonly slot: Float64Array;
  readonly asid: Uint16Array;
  readonly flags: Uint16Array;
  readonly ppn: Float64Array;
  readonly state: Uint8Array;
  readonly filledAt: Float64Array;
  readonly lru: Float64Array;
  private clock = 0;
  /** Operations that probed or changed it (the explorer's position reduction; fully associative
   *  with one LRU order, so any two of them may not commute). */
  touches = 0;

  constructor(entries: number) {
    this.entries = entries;
    this.slot = new Float64Array(entries);
    this.asid = new Uint16Array(entries);
    this.flags = new Uint16Array(entries);
    this.ppn = new Float64Array(entries);
    this.state = new Uint8Array(entries);
    this.filledAt = new Float64Array(entries);
    this.lru = new Float64Array(entries);
  }

  lookup(slot: number, asid: number): number {
    this.touches++;
    for (let e = 0; e < this.entries; e++) {
      const st = this.state[e]!;
      if (
        (st === VALID || st === NEGATIVE) &&
        this.slot[e] === slot &&
        (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0)
      ) {
        this.lru[e] = ++this.clock;
        return e;
      }
    }
    return -1;
  }

  /** `lookup` without touching replacement state (for traces). */
  peek(slot: number, asid: number): number {
    for (let e = 0; e < this.entries; e++) {
      const st = this.state[e]!;
      if (
        (st === VALID || st === NEGATIVE) &&
        this.slot[e] === slot &&
        (this.asid[e] === asid || (this.flags[e]! & PTE_G) !== 0)
      )
        return e;
    }
    return -1;
  }

  fill(slot: number, asid: number, flags: number, ppn: number, negative: boolean, now: number): void {
    this.touches++;
    let victim = 0;
    for (let e = 0; e < this.entries; e++) {
      if (this.state[e] !== VALID && this.state[e] !== NEGATIVE) {
        victim = e;
        break;
      }
      if (this.slot[e] === slot && this.asid[e] === asid) {
        victim = e;
        break;
      }
      if (this.lru[e]! < this.lru[victim]!) victim = e;
    }
    this.slot[victim] = slot;
    this.asid[victim] = asid;
    this.flags[victim] = flags;
    this.ppn[victim] = ppn;
    this.state[victim] = negative ? NEGATIVE : VALID;
    this.filledAt[victim] = now;
    this.lru[victim] = ++this.clock;
  }

  fenceAll(): void {
    this.touches++;
    this.state.fill(EMPTY);
  }

  /** Empty, as new (for reuse by a later run). */
  reset(): void {
    this.touches++;
    this.state.fill(EMPTY);
    this.lru.fill(0);
    this.clock = 0;
  }

  fenceAsid(asid: number): void {
    this.touches++;
    for (let e = 0; e < this.entries; e++) {
      if (this.asid[e] === asid && (this.flags[e]! & PTE_G) === 0) this.state[e] = EMPTY;
    }
  }

  evictOldNegatives(now: number, bound: number): void {
    this.touches++;
    for (let e = 0; e < this.entries; e++) {
      if (this.state[e] === NEGATIVE && now - this.filledAt[e]! > bound) this.state[e] = EMPTY;
    }
  }
}
