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
 * Entries per table are a power of two (512, or 1024 on Sv32), so slot <-> table is a shift.
 */
import { PTE_V } from './pte.js';

/** Physical page numbers of page-table pages start here (data pages are allocated below it). */
export const TABLE_PPN_BASE = 0x80000;

/** Released memories by geometry, reused by later runs in the same thread (a run allocates and
 *  zeroes far less than it would build from scratch, and the GC sees no churn). */
const POOL = new Map<string, PageTableMemory[]>();
const POOL_LIMIT = 4;

/**
 * A copy of a memory's contents (the booted page tables of a cell), restored into a memory of the
 * same geometry. Immutable once taken. Sparse: a slot never stored to since its table was
 * allocated is zero with one version current since the allocation, so only the history entries
 * (the slots stored to, each with its versions) and the tables' allocation ticks are kept. A boot
 * stores to a few hundred of the tens of thousands of slots its tables hold (every vmalloc and
 * modules table is pre-allocated empty), so taking or restoring an image costs what boot stored,
 * not what it allocated.
 */
export interface PageTableSnapshot {
  readonly entries: number;
  readonly depth: number;
  readonly tableCount: number;
  readonly histCount: number;
  readonly tableSince: Float64Array;
  /** Per history entry: the slot it belongs to (its current value is the newest version). */
  readonly hSlot: Int32Array;
  readonly hFlags: Uint16Array;
  readonly hPpn: Float64Array;
  readonly hSince: Float64Array;
  readonly hWriter: Int16Array;
  readonly hCount: Uint8Array;
  readonly hHead: Uint8Array;
}

type Column = Uint8Array | Uint16Array | Int16Array | Int32Array | Float64Array;

/** `a` copied into a new array of the same type and `length` elements, the rest `fill`. */
function grown<T extends Column>(a: T, length: number, fill = 0): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  if (fill !== 0) b.fill(fill, a.length);
  b.set(a);
  return b;
}

export class PageTableMemory {
  /** A memory for `entriesPerTable`/`depth`, zeroed or holding `from`'s contents, reused from an
   *  earlier run when one is free. */
  static acquire(
    entriesPerTable: number,
    depth: number,
    from: PageTableSnapshot | null = null,
  ): PageTableMemory {
    const mem = POOL.get(`${entriesPerTable}:${depth}`)?.pop() ?? null;
    if (mem === null) {
      const fresh = new PageTableMemory(entriesPerTable, depth);
      if (from !== null) fresh.restore(from);
      return fresh;
    }
    if (from !== null) mem.restore(from);
    else mem.reset();
    return mem;
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

  /** Back to the state of a new memory (only the slots stored to are cleared). */
  private reset(): void {
    this.clearSlots(0, this.histCount);
    this.tableSince.fill(0, 0, this.tableCount);
    this.clearDirty();
    this.tableCount = 0;
    this.histCount = 0;
    this.baseHist = 0;
    this.base = null;
  }

  readonly entries: number;
  /** log2(entries): slot >> shift is the slot's table. */
  private readonly shift: number;
  readonly depth: number;
  /** Current (newest) PTE flags per slot. */
  flags: Uint16Array;
  /** Current PPN per slot. */
  ppn: Float64Array;
  /** Tick at which each table was allocated (zeroed): the "since" of its untouched entries. */
  private tableSince: Float64Array;
  /**
   * Per slot: its history entry, created on the first store to that slot (a run writes a few
   * entries of the tables it touches, so it does not pay for the history of the rest). -1 = never
   * written since its table was allocated: one version, zero, current since the allocation.
   */
  private histOf: Int32Array;
  private histCount = 0;
  private hFlags: Uint16Array;
  private hPpn: Float64Array;
  private hSince: Float64Array;
  /** Hart that stored each version (-1 = boot / the kernel before any hart ran). */
  private hWriter: Int16Array;
  /** Per history entry: its slot. The slots not at their initial zero are exactly those of the
   *  entries below `histCount` (every store goes through `write`, which creates the entry), so
   *  clearing a memory or undoing a run visits what was stored, not every allocated slot. */
  private hSlot: Int32Array;
  /** Per history entry: versions kept and ring head. */
  private hCount: Uint8Array;
  private hHead: Uint8Array;
  tableCount = 0;
  private capacity: number;
  private histCapacity: number;
  /** The snapshot this memory was last restored from; below `baseHist` every history entry is
   *  that snapshot's, except those a store changed since (`dirtyList`, marked in `hDirty`):
   *  restoring the same snapshot again copies back only those and clears the slots of the
   *  entries created since. */
  private base: PageTableSnapshot | null = null;
  private baseHist = 0;
  private hDirty: Uint8Array;
  private dirtyList: Int32Array;
  private dirtyCount = 0;

  constructor(entriesPerTable: number, depth: number, initialTables = 128) {
    if (entriesPerTable <= 0 || (entriesPerTable & (entriesPerTable - 1)) !== 0)
      throw new RangeError(`entries per table must be a power of two (got ${entriesPerTable})`);
    this.entries = entriesPerTable;
    this.shift = 31 - Math.clz32(entriesPerTable);
    this.depth = depth;
    this.capacity = initialTables;
    const slots = initialTables * entriesPerTable;
    this.flags = new Uint16Array(slots);
    this.ppn = new Float64Array(slots);
    this.tableSince = new Float64Array(initialTables);
    this.histOf = new Int32Array(slots).fill(-1);
    this.histCapacity = 1024;
    const hs = this.histCapacity;
    this.hFlags = new Uint16Array(hs * depth);
    this.hPpn = new Float64Array(hs * depth);
    this.hSince = new Float64Array(hs * depth);
    this.hWriter = new Int16Array(hs * depth);
    this.hCount = new Uint8Array(hs);
    this.hHead = new Uint8Array(hs);
    this.hSlot = new Int32Array(hs);
    this.hDirty = new Uint8Array(hs);
    this.dirtyList = new Int32Array(hs);
  }

  /** Allocate a zeroed table page at tick `now`; returns its table number. */
  allocTable(now: number): number {
    if (this.tableCount === this.capacity) this.grow(this.capacity * 2);
    const t = this.tableCount++;
    this.tableSince[t] = now;
    return t;
  }

  private grow(cap: number): void {
    const slots = cap << this.shift;
    this.flags = grown(this.flags, slots);
    this.ppn = grown(this.ppn, slots);
    this.histOf = grown(this.histOf, slots, -1);
    this.tableSince = grown(this.tableSince, cap);
    this.capacity = cap;
  }

  private growHistory(cap: number): void {
    const d = this.depth;
    this.hFlags = grown(this.hFlags, cap * d);
    this.hPpn = grown(this.hPpn, cap * d);
    this.hSince = grown(this.hSince, cap * d);
    this.hWriter = grown(this.hWriter, cap * d);
    this.hCount = grown(this.hCount, cap);
    this.hHead = grown(this.hHead, cap);
    this.hSlot = grown(this.hSlot, cap);
    this.hDirty = grown(this.hDirty, cap);
    this.dirtyList = grown(this.dirtyList, cap);
    this.histCapacity = cap;
  }

  /** The history entry of `slot`, created on its first store with the zero version it had since
   *  its table was allocated. */
  private histFor(slot: number): number {
    let h = this.histOf[slot]!;
    if (h >= 0) return h;
    if (this.histCount === this.histCapacity) this.growHistory(this.histCapacity * 2);
    h = this.histCount++;
    this.histOf[slot] = h;
    this.hSlot[h] = slot;
    const at = h * this.depth;
    this.hCount[h] = 1;
    this.hHead[h] = 0;
    this.hFlags[at] = 0;
    this.hPpn[at] = 0;
    this.hSince[at] = this.tableSince[slot >> this.shift]!;
    this.hWriter[at] = -1;
    return h;
  }

  static tableOfPpn(ppn: number): number {
    return ppn - TABLE_PPN_BASE;
  }
  static ppnOfTable(t: number): number {
    return TABLE_PPN_BASE + t;
  }

  /** PTE stores so far (the explorer's position reduction reads it; decides nothing). */
  writes = 0;

  /** Store a PTE at tick `now` by hart `writer` (an explicit store: a new version). */
  write(slot: number, flags: number, ppn: number, now: number, writer = -1): void {
    this.writes++;
    this.flags[slot] = flags;
    this.ppn[slot] = ppn;
    const h = this.histFor(slot);
    if (h < this.baseHist && this.hDirty[h] === 0) {
      this.hDirty[h] = 1;
      this.dirtyList[this.dirtyCount++] = h;
    }
    const d = this.depth;
    let head = this.hHead[h]! + 1;
    if (head === d) head = 0;
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
    const h = this.histOf[slot]!;
    return h < 0 ? 1 : this.hCount[h]!;
  }
  /** Ring index of version `k` back from the newest (k = 0 is the newest, k < versions(slot));
   *  needs a history entry. */
  private at(slot: number, k: number): number {
    const h = this.histOf[slot]!;
    const d = this.depth;
    let i = this.hHead[h]! - k;
    if (i < 0) i += d;
    return h * d + i;
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
    const h = this.histOf[slot]!;
    if (h < 0) return this.tableSince[slot >> this.shift]!;
    return this.hSince[h * this.depth + this.hHead[h]!]!;
  }
  isValid(slot: number): boolean {
    return (this.flags[slot]! & PTE_V) !== 0;
  }

  /** A copy of this memory: the tables allocated so far and the history of the slots stored to. */
  snapshot(): PageTableSnapshot {
    const hs = this.histCount;
    const d = this.depth;
    return {
      entries: this.entries,
      depth: d,
      tableCount: this.tableCount,
      histCount: hs,
      tableSince: this.tableSince.slice(0, this.tableCount),
      hSlot: this.hSlot.slice(0, hs),
      hFlags: this.hFlags.slice(0, hs * d),
      hPpn: this.hPpn.slice(0, hs * d),
      hSince: this.hSince.slice(0, hs * d),
      hWriter: this.hWriter.slice(0, hs * d),
      hCount: this.hCount.slice(0, hs),
      hHead: this.hHead.slice(0, hs),
    };
  }

  /**
   * Become exactly the memory `s` was taken from. Restoring the snapshot this memory was last
   * restored from undoes only what stores changed since (a run stores to a few slots); otherwise
   * the slots this memory stored to are cleared and `s`'s entries copied in whole. History entries
   * past `s.histCount` need no clearing: an entry is initialised when it is created.
   */
  restore(s: PageTableSnapshot): void {
    if (s.entries !== this.entries || s.depth !== this.depth)
      throw new RangeError('page-table snapshot of another geometry');
    if (s.tableCount > this.capacity) this.grow(Math.max(s.tableCount, this.capacity * 2));
    if (s.histCount > this.histCapacity) this.growHistory(Math.max(s.histCount, this.histCapacity * 2));
    if (this.base === s) {
      // Entries created since were for slots at zero in `s`.
      this.clearSlots(s.histCount, this.histCount);
      for (let i = 0; i < this.dirtyCount; i++) this.loadEntry(s, this.dirtyList[i]!);
    } else {
      this.clearSlots(0, this.histCount);
      this.hSlot.set(s.hSlot);
      this.hFlags.set(s.hFlags);
      this.hPpn.set(s.hPpn);
      this.hSince.set(s.hSince);
      this.hWriter.set(s.hWriter);
      this.hCount.set(s.hCount);
      this.hHead.set(s.hHead);
      const d = this.depth;
      for (let h = 0; h < s.histCount; h++) {
        const slot = s.hSlot[h]!;
        const at = h * d + s.hHead[h]!;
        this.histOf[slot] = h;
        this.flags[slot] = s.hFlags[at]!;
        this.ppn[slot] = s.hPpn[at]!;
      }
    }
    this.clearDirty();
    // Tables allocated after the snapshot: back to never allocated.
    this.tableSince.set(s.tableSince);
    if (this.tableCount > s.tableCount) this.tableSince.fill(0, s.tableCount, this.tableCount);
    this.tableCount = s.tableCount;
    this.histCount = s.histCount;
    this.baseHist = s.histCount;
    this.base = s;
  }

  /** The slots of history entries [from, to) back to zero with no history. */
  private clearSlots(from: number, to: number): void {
    for (let h = from; h < to; h++) {
      const slot = this.hSlot[h]!;
      this.flags[slot] = 0;
      this.ppn[slot] = 0;
      this.histOf[slot] = -1;
    }
  }

  /** History entry `h` of `s` copied in, and its slot's current value (the slot keeps entry h). */
  private loadEntry(s: PageTableSnapshot, h: number): void {
    const d = this.depth;
    const at = h * d;
    for (let k = at; k < at + d; k++) {
      this.hFlags[k] = s.hFlags[k]!;
      this.hPpn[k] = s.hPpn[k]!;
      this.hSince[k] = s.hSince[k]!;
      this.hWriter[k] = s.hWriter[k]!;
    }
    this.hCount[h] = s.hCount[h]!;
    const head = s.hHead[h]!;
    this.hHead[h] = head;
    const slot = s.hSlot[h]!;
    this.flags[slot] = s.hFlags[at + head]!;
    this.ppn[slot] = s.hPpn[at + head]!;
  }

  private clearDirty(): void {
    for (let i = 0; i < this.dirtyCount; i++) this.hDirty[this.dirtyList[i]!] = 0;
    this.dirtyCount = 0;
  }
}
