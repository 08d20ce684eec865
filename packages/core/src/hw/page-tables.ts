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

export class PageTableMemory {
  readonly entries: number;
  readonly depth: number;
  /** Current (newest) PTE flags per slot. */
  flags: Uint16Array;
  /** Current PPN per slot. */
  ppn: Float64Array;
  /** Versions per slot, newest at `head`, ring of `depth`. */
  private hFlags: Uint16Array;
  private hPpn: Float64Array;
  private hSince: Float64Array;
  /** Hart that stored each version (-1 = boot / the kernel before any hart ran). */
  private hWriter: Int16Array;
  private hCount: Uint8Array;
  private hHead: Uint8Array;
  tableCount = 0;
  private capacity: number;

  constructor(entriesPerTable: number, depth: number, initialTables = 64) {
    this.entries = entriesPerTable;
    this.depth = depth;
    this.capacity = initialTables;
    const slots = initialTables * entriesPerTable;
    this.flags = new Uint16Array(slots);
    this.ppn = new Float64Array(slots);
    this.hFlags = new Uint16Array(slots * depth);
    this.hPpn = new Float64Array(slots * depth);
    this.hSince = new Float64Array(slots * depth);
    this.hWriter = new Int16Array(slots * depth).fill(-1);
    this.hCount = new Uint8Array(slots);
    this.hHead = new Uint8Array(slots);
  }

  /** Allocate a zeroed table page at step `now`; returns its table number. */
  allocTable(now: number): number {
    if (this.tableCount === this.capacity) this.grow();
    const t = this.tableCount++;
    const base = t * this.entries;
    for (let i = 0; i < this.entries; i++) {
      const s = base + i;
      this.hCount[s] = 1;
      this.hHead[s] = 0;
      this.hSince[s * this.depth] = now;
      this.hWriter[s * this.depth] = -1;
    }
    return t;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const slots = cap * this.entries;
    const g16 = (a: Uint16Array, n: number) => {
      const b = new Uint16Array(n);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array, n: number) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const gi16 = (a: Int16Array, n: number) => {
      const b = new Int16Array(n).fill(-1);
      b.set(a);
      return b;
    };
    const g8 = (a: Uint8Array, n: number) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.flags = g16(this.flags, slots);
    this.ppn = g64(this.ppn, slots);
    this.hFlags = g16(this.hFlags, slots * this.depth);
    this.hPpn = g64(this.hPpn, slots * this.depth);
    this.hSince = g64(this.hSince, slots * this.depth);
    this.hWriter = gi16(this.hWriter, slots * this.depth);
    this.hCount = g8(this.hCount, slots);
    this.hHead = g8(this.hHead, slots);
    this.capacity = cap;
  }

  static tableOfPpn(ppn: number): number {
    return ppn - TABLE_PPN_BASE;
  }
  static ppnOfTable(t: number): number {
    return TABLE_PPN_BASE + t;
  }

  /** Store a PTE at tick `now` by hart `writer` (an explicit store: a new version). */
  write(slot: number, flags: number, ppn: number, now: number, writer = -1): void {
    this.flags[slot] = flags;
    this.ppn[slot] = ppn;
    const d = this.depth;
    const head = (this.hHead[slot]! + 1) % d;
    this.hHead[slot] = head;
    if (this.hCount[slot]! < d) this.hCount[slot] = this.hCount[slot]! + 1;
    const at = slot * d + head;
    this.hFlags[at] = flags;
    this.hPpn[at] = ppn;
    this.hSince[at] = now;
    this.hWriter[at] = writer;
  }

  /** Number of versions kept for `slot` (1 = never changed since its table was allocated). */
  versions(slot: number): number {
    return this.hCount[slot]!;
  }
  /** Version `k` back from the newest (k = 0 is the newest). */
  private at(slot: number, k: number): number {
    const d = this.depth;
    return slot * d + ((this.hHead[slot]! - k + d) % d);
  }
  versionFlags(slot: number, k: number): number {
    return this.hFlags[this.at(slot, k)]!;
  }
  versionPpn(slot: number, k: number): number {
    return this.hPpn[this.at(slot, k)]!;
  }
  /** Step at which version `k` became current. */
  versionSince(slot: number, k: number): number {
    return this.hSince[this.at(slot, k)]!;
  }
  /** Hart that stored version `k` (-1 for boot). */
  versionWriter(slot: number, k: number): number {
    return this.hWriter[this.at(slot, k)]!;
  }
  /** Step since which the current version is current. */
  since(slot: number): number {
    return this.hSince[this.at(slot, 0)]!;
  }
  isValid(slot: number): boolean {
    return (this.flags[slot]! & PTE_V) !== 0;
  }
}
