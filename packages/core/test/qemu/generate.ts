/**
 * Seeded random page tables and access lists for the QEMU differential test (Sv32, Sv39, Sv48,
 * Sv57): superpages (aligned
 * and misaligned), reserved encodings (W=1 with R=0; a pointer at the last level), V=0 entries
 * with garbage in every other field at every level, U/S pages, execute-only pages (MXR),
 * non-canonical VAs, A and D clear, RSW bits set. Physical layout follows `guest/oracle.h`: table
 * number t lives at 0x80000000 + t * 4096 (the model's `TABLE_PPN_BASE`), data pages in
 * [DATA_BASE, DATA_BASE + DATA_BYTES).
 */
import { GEOMETRY, type Mode } from '../../src/addr.js';
import { Prng } from '../../src/choice.js';
import { PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../../src/hw/pte.js';

export const DATA_BASE = 0x81000000;
export const DATA_BYTES = 8 << 20;
const DATA_PPN = DATA_BASE / 4096;
const DATA_PAGES = DATA_BYTES / 4096;
/** RSW (bits 8-9): reserved for supervisor software, ignored by the walker. */
const RSW = 0x300;

export type AccessKind = 0 | 1 | 2; // load, store, fetch (the model's type codes)

export interface PteWrite {
  readonly table: number;
  readonly index: number;
  readonly flags: number;
  readonly ppn: number;
}

export interface GenAccess {
  readonly vpn: number;
  readonly offset: number;
  readonly kind: AccessKind;
  /** 0 = U, 1 = S. */
  readonly priv: 0 | 1;
  readonly sum: boolean;
  readonly mxr: boolean;
}

export interface GenCase {
  readonly mode: Mode;
  readonly root: number;
  /** Tables used, [firstTable, firstTable + tableCount). */
  readonly firstTable: number;
  readonly tableCount: number;
  readonly ptes: readonly PteWrite[];
  readonly accesses: readonly GenAccess[];
}

type Entry =
  | { kind: 'pointer'; child: number }
  | { kind: 'leaf'; ppn: number; aligned: boolean; user: boolean }
  | { kind: 'fault' };

class Rng {
  private readonly p: Prng;
  constructor(seed: number) {
    this.p = new Prng(seed);
  }
  next(): number {
    return this.p.next();
  }
  int(n: number): number {
    return Math.floor(this.p.next() * n);
  }
  chance(p: number): boolean {
    return this.p.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Generate one mode's tables (starting at table `firstTable`) and `count` accesses. */
export function generateCase(
  mode: Mode,
  seed: number,
  firstTable: number,
  count: number,
  maxTables = 160,
): GenCase {
  const g = GEOMETRY[mode];
  const rng = new Rng(seed);
  const n = g.entriesPerTable;
  const ptes: PteWrite[] = [];
  const tables = new Map<number, Map<number, Entry>>();
  let next = firstTable;
  const newTable = (): number => {
    const t = next++;
    tables.set(t, new Map());
    return t;
  };
  const pagesAt = (level: number) => 2 ** (g.bitsPerLevel * level);
  const alignedBase = (level: number): number => {
    // A superpage base (aligned to its size) under which the data region lies.
    const size = pagesAt(level);
    if (level === 1) return DATA_PPN + size * rng.int(DATA_PAGES / size);
    return Math.floor(DATA_PPN / size) * size;
  };
  const leafFlags = (): number => {
    // Any R/W/X combination but the reserved W-only ones (those are generated on purpose below).
    const rwx = rng.pick([PTE_R, PTE_R | PTE_W, PTE_X, PTE_R | PTE_X, PTE_R | PTE_W | PTE_X, PTE_X]);
    let f = PTE_V | rwx;
    if (rng.chance(0.5)) f |= PTE_U;
    if (rng.chance(0.3)) f |= PTE_G;
    if (rng.chance(0.7)) f |= PTE_A;
    if (rng.chance(0.6)) f |= PTE_D;
    if (rng.chance(0.2)) f |= RSW & (rng.int(4) << 8);
    return f;
  };
  const populate = (table: number, level: number): void => {
    const entries = tables.get(table)!;
    const want = 3 + rng.int(6);
    // 64-bit roots: both halves (the top index bit is the VA's sign bit).
    const indices = new Set<number>();
    if (level === g.levels - 1 && g.is64) {
      indices.add(rng.int(n / 2));
      indices.add(n / 2 + rng.int(n / 2));
    }
    while (indices.size < want) indices.add(rng.int(n));
    let pointers = 0;
    for (const index of indices) {
      // Every table above the last level gets at least two pointers while the budget lasts, so
      // each mode's tree reaches 4 KiB leaves.
      const r = level > 0 && pointers < 2 ? 0 : rng.next();
      let flags: number;
      let ppn: number;
      let entry: Entry;
      if (level > 0 && r < 0.45 && next - firstTable < maxTables) {
        pointers++;
        const child = newTable();
        flags = PTE_V | (rng.chance(0.2) ? PTE_G : 0);
        ppn = 0x80000 + child;
        entry = { kind: 'pointer', child };
        populate(child, level - 1);
      } else if (level > 0 && r >= 0.65 && r < 0.7) {
        // Misaligned superpage: low PPN fields not zero.
        flags = leafFlags();
        ppn = alignedBase(level) + 1 + rng.int(pagesAt(level) - 1);
        entry = { kind: 'leaf', ppn, aligned: false, user: (flags & PTE_U) !== 0 };
      } else if (r >= 0.7 && r < 0.8) {
        // V=0: every other bit is garbage the walker must not look at.
        flags = rng.int(1024) & ~PTE_V;
        ppn = rng.int(2 ** (g.is64 ? 30 : 22));
        entry = { kind: 'fault' };
      } else if (r >= 0.8 && r < 0.86) {
        // Reserved: W=1 with R=0 (X either way), at any level.
        flags = PTE_V | PTE_W | (rng.chance(0.5) ? PTE_X : 0) | (rng.chance(0.5) ? PTE_A | PTE_D : 0);
        ppn = alignedBase(level);
        entry = { kind: 'fault' };
      } else if (level === 0 && r >= 0.86 && r < 0.9) {
        // A pointer at the last level.
        flags = PTE_V;
        ppn = 0x80000 + firstTable;
        entry = { kind: 'fault' };
      } else {
        flags = leafFlags();
        ppn = alignedBase(level) + (level === 0 ? rng.int(DATA_PAGES) : 0);
        entry = { kind: 'leaf', ppn, aligned: true, user: (flags & PTE_U) !== 0 };
      }
      entries.set(index, entry);
      ptes.push({ table, index, flags, ppn });
    }
  };
  const root = newTable();
  populate(root, g.levels - 1);

  const accesses: GenAccess[] = [];
  const vpnBits = g.vaBits - 12;
  for (let i = 0; i < count; i++) {
    let table = root;
    let vpn = 0;
    let offsetPages: number;
    let leafUser: boolean | null = null;
    for (let level = g.levels - 1; level >= 0; level--) {
      const entries = tables.get(table)!;
      const keys = [...entries.keys()];
      const index = rng.chance(0.96) && keys.length > 0 ? rng.pick(keys) : rng.int(n);
      vpn += index * pagesAt(level);
      const e = entries.get(index);
      if (e?.kind === 'leaf') leafUser = e.user;
      if (e?.kind === 'pointer') {
        table = e.child;
        continue;
      }
      if (level > 0) {
        // The rest of the VPN: for an aligned superpage, the page inside it that lands in the data
        // region; otherwise anything.
        const span = pagesAt(level);
        if (e?.kind === 'leaf' && e.aligned) {
          const lo = Math.max(0, DATA_PPN - e.ppn);
          const hi = Math.min(span, DATA_PPN + DATA_PAGES - e.ppn);
          offsetPages = lo + rng.int(hi - lo);
        } else {
          offsetPages = rng.int(span);
        }
        vpn += offsetPages;
      }
      break;
    }
    if (g.is64) {
      // Sign-extend from the VA's top bit; sometimes break it (a non-canonical VA).
      if (vpn >= 2 ** (vpnBits - 1)) vpn += 2 ** 52 - 2 ** vpnBits;
      if (rng.chance(0.05)) {
        const bit = vpnBits + rng.int(52 - vpnBits);
        const b = 2 ** bit;
        vpn = Math.floor(vpn / b) % 2 === 1 ? vpn - b : vpn + b;
      }
    }
    const kind = rng.int(3) as AccessKind;
    const offset = kind === 2 ? 0 : 16 + 8 * rng.int((4096 - 16) / 8);
    accesses.push({
      vpn,
      offset,
      kind,
      // Mostly the privilege the leaf is for (so most accesses can complete), else the other.
      priv: leafUser !== null && rng.chance(0.7) ? (leafUser ? 0 : 1) : rng.chance(0.5) ? 1 : 0,
      sum: rng.chance(0.5),
      mxr: rng.chance(0.5),
    });
  }
  return { mode, root, firstTable, tableCount: next - firstTable, ptes, accesses };
}
