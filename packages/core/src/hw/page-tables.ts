/**
 * Page-table memory with a bounded version history per PTE.
 *
 * Page-table pages are ordinary memory: a store to a PTE is visible to every hart's *explicit*
 * loads at once (machine-model section 2). What a hart's *walker* (implicit reads) may see is
 * governed by the spec's staleness rule: "an implicit read of the memory-management data
 * structures may return any translation for an address that was valid at any time since the most
 * recent SFENCE.VMA that subsumes that address". To answer that, each PTE slot keeps its last
 * `depth` versions with the step at which each became current.
 *
 * Tables are numbered 0..n-1; table `t` lives at PPN `TABLE_PPN_BASE + t`. Slot = t * entries + i.
 */
import { PTE_V } from './pte.js';

/** Physical page numbers of page-table pages start here (data pages are allocated below it). */
export const TABLE_PPN_BASE = 0x80000;

/** Released memories by geometry, reused by later runs in the same thread (a run allocates and
 *  zeroes far less than it would build from scratch, and the GC sees no churn). */
const POOL = new Map<string, PageTableMemory[]>();
const POOL_LIMIT = 4;

export class PageTableMemory {
  /** A zeroed memory for `entriesPerTable`/`depth`, reused from an earlier run when one is free. */
  static acquire(entriesPerTable: number, depth: number): PageTableMemory {
    const reused = POOL.get(`${entriesPerTable}:${depth}`)?.pop();
    if (reused) {
      reused.reset();
      return reused;
    }
    return new PageTableMemory(entriesPerTable, depth);
  }

  /** Give this memory back for reuse; it must not be used afterwards. */
  release(): void {
    const key = `${this.entries}:${this.depth}`;
    let list = POOL.get(key);
    if (!list) {
      list = [];
      POOL.set(key, list);
    }
    if (list.length < POOL_LIMIT && !list.includes(this)) list.push(this);
  }

  /** Back to the state of a new memory (only the parts a run touched are cleared). */
  private reset(): void {
    const used = this.tableCount * this.entries;
    this.flags.fill(0, 0, used);
    this.ppn.fill(0, 0, used);
    this.histBlock.fill(-1, 0, this.tableCount);
    this.tableSince.fill(0, 0, this.tableCount);
    this.tableCount = 0;
    this.blocks = 0;
  }

  readonly entries: number;
  readonly depth: number;
  /** Current (newest) PTE flags per slot. */
  flags: Uint16Array;
  /** Current PPN per slot. */
  ppn: Float64Array;
  /** Tick at which each table was allocated (zeroed): the "since" of its untouched entries. */
  private tableSince: Float64Array;
  /**
   * Version history, allocated per table on the first store into it (most pre-allocated tables are
   * never written, so a run does not pay for their history). -1 = no history block yet.
   */
  private histBlock: Int32Array;
  private blocks = 0;
  private hFlags: Uint16Array;
  private hPpn: Float64Array;
  private hSince: Float64Array;
  /** Hart that stored each version (-1 = boot / the kernel before any hart ran). */
  private hWriter: Int16Array;
  /** Per slot of a table with a block: versions kept and ring head. */
  private hCount: Uint8Array;
  private hHead: Uint8Array;
  tableCount = 0;
  private capacity: number;
  private blockCapacity: number;

  constructor(entriesPerTable: number, depth: number, initialTables = 128) {
    this.entries = entriesPerTable;
    this.depth = depth;
    this.capacity = initialTables;
    const slots = initialTables * entriesPerTable;
    this.flags = new Uint16Array(slots);
    this.ppn = new Float64Array(slots);
    this.tableSince = new Float64Array(initialTables);
    this.histBlock = new Int32Array(initialTables).fill(-1);
    this.blockCapacity = 8;
    const hs = this.blockCapacity * entriesPerTable;
    this.hFlags = new Uint16Array(hs * depth);
    this.hPpn = new Float64Array(hs * depth);
    this.hSince = new Float64Array(hs * depth);
    this.hWriter = new Int16Array(hs * depth);
    this.hCount = new Uint8Array(hs);
    this.hHead = new Uint8Array(hs);
  }

  /** Allocate a zeroed table page at tick `now`; returns its table number. */
  allocTable(now: number): number {
    if (this.tableCount === this.capacity) this.grow();
    const t = this.tableCount++;
    this.tableSince[t] = now;
    return t;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const slots = cap * this.entries;
    const flags = new Uint16Array(slots);
    flags.set(this.flags);
    this.flags = flags;
    const ppn = new Float64Array(slots);
    ppn.set(this.ppn);
    this.ppn = ppn;
    const since = new Float64Array(cap);
    since.set(this.tableSince);
    this.tableSince = since;
    const block = new Int32Array(cap).fill(-1);
    block.set(this.histBlock);
    this.histBlock = block;
    this.capacity = cap;
  }

  /** Give table `t` a history block, its entries starting with the zero version. */
  private blockOf(t: number): number {
    let b = this.histBlock[t]!;
    if (b >= 0) return b;
    if (this.blocks === this.blockCapacity) {
      const cap = this.blockCapacity * 2;
      const hs = cap * this.entries;
      const g16 = new Uint16Array(hs * this.depth);
      g16.set(this.hFlags);
      this.hFlags = g16;
      const g64 = new Float64Array(hs * this.depth);
      g64.set(this.hPpn);
      this.hPpn = g64;
      const s64 = new Float64Array(hs * this.depth);
      s64.set(this.hSince);
      this.hSince = s64;
      const w16 = new Int16Array(hs * this.depth);
      w16.set(this.hWriter);
      this.hWriter = w16;
      const c8 = new Uint8Array(hs);
      c8.set(this.hCount);
      this.hCount = c8;
      const h8 = new Uint8Array(hs);
      h8.set(this.hHead);
      this.hHead = h8;
      this.blockCapacity = cap;
    }
    b = this.blocks++;
    this.histBlock[t] = b;
    const d = this.depth;
    const since = this.tableSince[t]!;
    for (let i = 0; i < this.entries; i++) {
      const h = b * this.entries + i;
      this.hCount[h] = 1;
      this.hHead[h] = 0;
      this.hFlags[h * d] = 0;
      this.hPpn[h * d] = 0;
      this.hSince[h * d] = since;
      this.hWriter[h * d] = -1;
    }
    return b;
  }

  static tableOfPpn(ppn: number): number {
    return ppn - TABLE_PPN_BASE;
  }
  static ppnOfTable(t: number): number {
    return TABLE_PPN_BASE + t;
  }

  /** History index of `slot`, or -1 when its table was never written since allocation. */
  private hist(slot: number): number {
    const t = Math.floor(slot / this.entries);
    const b = this.histBlock[t]!;
    return b < 0 ? -1 : b * this.entries + (slot - t * this.entries);
  }

  /** Store a PTE at tick `now` by hart `writer` (an explicit store: a new version). */
  write(slot: number, flags: number, ppn: number, now: number, writer = -1): void {
    this.flags[slot] = flags;
    this.ppn[slot] = ppn;
    const t = Math.floor(slot / this.entries);
    const h = this.blockOf(t) * this.entries + (slot - t * this.entries);
    const d = this.depth;
    const head = (this.hHead[h]! + 1) % d;
    this.hHead[h] = head;
    if (this.hCount[h]! < d) this.hCount[h] = this.hCount[h]! + 1;
    const at = h * d + head;
    this.hFlags[at] = flags;
    this.hPpn[at] = ppn;
    this.hSince[at] = now;
    this.hWriter[at] = writer;
  }

  /** Number of versions kept for `slot` (1 = never changed since its table was allocated). */
  versions(slot: number): number {
    const h = this.hist(slot);
    return h < 0 ? 1 : this.hCount[h]!;
  }
  /** Ring index of version `k` back from the newest (k = 0 is the newest); needs a history block. */
  private at(slot: number, k: number): number {
    const h = this.hist(slot);
    const d = this.depth;
    return h * d + ((this.hHead[h]! - k + d) % d);
  }
  versionFlags(slot: number, k: number): number {
    return this.hFlags[this.at(slot, k)]!;
  }
  versionPpn(slot: number, k: number): number {
    return this.hPpn[this.at(slot, k)]!;
  }
  /** Tick at which version `k` became current. */
  versionSince(slot: number, k: number): number {
    return this.hSince[this.at(slot, k)]!;
  }
  /** Hart that stored version `k` (-1 for boot). */
  versionWriter(slot: number, k: number): number {
    return this.hWriter[this.at(slot, k)]!;
  }
  /** Tick since which the current version is current. */
  since(slot: number): number {
    const h = this.hist(slot);
    if (h < 0) return this.tableSince[Math.floor(slot / this.entries)]!;
    return this.hSince[h * this.depth + this.hHead[h]!]!;
  }
  isValid(slot: number): boolean {
    return (this.flags[slot]! & PTE_V) !== 0;
  }
}
