/**
 * Loader of the hardware hot path compiled from ../assembly/hw.ts: one `WebAssembly.Module`
 * compiled per process, one instance per machine (`WasmHardware`). The instance owns per-hart
 * TLBs, page-walk caches and a mirror of the newest PTE of every page-table slot in its linear
 * memory; the result registers and counters are Float64Array views on that memory, read by JS
 * after a call (no allocation per access).
 */
import { readFileSync } from 'node:fs';
import type { FaultKind, MachineConfig, ModeGeometry } from '@tlblab/core';

/**
 * The part of the `WebAssembly` global this loader uses. Node 20's type definitions do not
 * declare the global (it comes with the DOM lib), so it is typed here rather than pulling the DOM
 * lib into a Node package.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
/** A compiled module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The module's exports (assembly/hw.ts), as the instance exposes them. */
export interface HwExports {
  readonly memory: WasmMemory;
  init(
    harts: number,
    entries: number,
    ways: number,
    random: number,
    split: number,
    pwc: number,
    levels: number,
    bitsPerLevel: number,
    vaBits: number,
    is64: number,
    tables: number,
    cachesInvalid: number,
    invalidNonLeafInTlb: number,
    invalidEvictBound: number,
    svadu: number,
    staleKind: number,
    leafOnly: number,
    tlbHit: number,
    walkLevelPwc: number,
    walkLevelMemory: number,
    ticksPerCycle: number,
    widestWindow: number,
    scratchBytes: number,
  ): number;
  layout(which: number): number;
  setContext(hart: number, root: number, asid: number, priv: number, sum: number, mxr: number): void;
  setPte(slot: number, flags: number, ppn: number, since: number, multi: number): void;
  reset(): void;
  access(hart: number, vpnHi: number, vpnLo: number, typeCode: number, clock: number): number;
  accessF64(hart: number, vpn: number, typeCode: number, clock: number): number;
  speculate(hart: number, vpnHi: number, vpnLo: number, clock: number): number;
  speculateF64(hart: number, vpn: number, clock: number): number;
  fence(hart: number, form: number, vpn: number, asid: number, tick: number): void;
  drive(harts: number, perHart: number, first: number, count: number, typeCode: number): number;
}

/**
 * What the wasm asks of JS (the parts that stay there): the staleness rule for a slot with older
 * versions, Svadu's A/D store, and a victim choice. Each writes its PTE result with `inPte`.
 */
export interface HwImports {
  /** Staleness rule for `slot` (more than one version kept); answer with `WasmHardware.inPte`. */
  readStale(
    hart: number,
    slot: number,
    level: number,
    vpn: number,
    parentGlobal: boolean,
    walkStart: number,
  ): void;
  /** Svadu's atomic A/D update of the leaf at `slot`; false = the newest PTE no longer permits the
   *  access (a `walk` fault). On true, answer with `inPte` (the stored flags, PPN, since). */
  adUpdate(
    hart: number,
    slot: number,
    level: number,
    typeCode: number,
    flags: number,
    ppn: number,
    clock: number,
  ): boolean;
  /** A `victim` choice among `n` > 1 ways. */
  chooseVictim(n: number): number;
}

/** Result block slots (assembly/hw.ts `R_*`). */
const R_CLOCK = 0;
const R_FLAGS = 1;
const R_PPN = 2;
const R_SINCE = 3;
const R_LEVEL = 4;
const R_PAGE_PPN = 5;
const R_KIND = 6;
const R_WALK_SLOT = 7;
const R_IN_FLAGS = 8;
const R_IN_PPN = 9;
const R_IN_SINCE = 10;
const RESULTS = 16;
/** Counter slots (assembly/hw.ts `C_*`): the names of core's metrics they stand for. */
export const WASM_COUNTERS = [
  'accesses',
  'tlbHits',
  'tlbMisses',
  'tlbNegativeHits',
  'refillMisses',
  'walksDemand',
  'walksSpeculative',
  'walkLevels',
] as const;

const KINDS: readonly FaultKind[] = [
  'none',
  'negative',
  'walk',
  'protection',
  'non-canonical',
  'reserved',
  'misaligned',
  'accessed-dirty',
];

/**
 * core's `TICKS_PER_CYCLE` (packages/core/src/sim/hardware.ts, not exported publicly): the
 * staleness windows compare ticks as cycles. The equivalence test checks it matches.
 */
export const TICKS_PER_CYCLE = 4096;

/** SFENCE.VMA forms as the wasm codes them. */
export const FENCE_FORM = { all: 0, asid: 1, va: 2, 'va-asid': 3 } as const;

let compiled: WasmModule | null = null;

/** The compiled module (once per process). */
export function hwModule(): WasmModule {
  if (compiled === null) {
    // ../wasm from both src/ (tests, tsx) and dist/ (built).
    const bytes = readFileSync(new URL('../wasm/hw.wasm', import.meta.url));
    compiled = new WA.Module(bytes);
  }
  return compiled;
}

export interface WasmHardwareOptions {
  readonly machine: MachineConfig;
  readonly geometry: ModeGeometry;
  readonly harts: number;
  /** Page-table pages the mirror holds (table numbers 0..tables-1). */
  readonly tables: number;
  /** Bytes of scratch memory for a caller's own data (`scratch`), e.g. the bench's stream. */
  readonly scratchBytes?: number;
}

/** Typed-array views of one TLB region (for tests and traces; `tag` is the u64 tag). */
export interface TlbViews {
  readonly tag: BigUint64Array;
  readonly level: Uint8Array;
  readonly asid: Uint16Array;
  readonly flags: Uint16Array;
  readonly ppn: Float64Array;
  readonly state: Uint8Array;
  readonly versionSince: Float64Array;
  readonly filledAt: Float64Array;
}
export interface PwcViews {
  readonly slot: Int32Array;
  readonly state: Uint8Array;
  readonly flags: Uint16Array;
  readonly ppn: Float64Array;
  readonly asid: Uint16Array;
  readonly filledAt: Float64Array;
}

/**
 * One machine's hardware hot path in wasm. `access*` / `speculate*` return the same codes as
 * core's `Hardware.accessReg` / `speculateReg` (0 OK, 1 page fault: invalid, 2 page fault:
 * protection; 1/0 walked or not); the result registers below then hold what `Hardware`'s fields
 * would. The hart's clock goes in as an argument and comes out as `clock`.
 */
export class WasmHardware {
  readonly exports: HwExports;
  /** The result block (see `R_*`) and, after it, the counters (`WASM_COUNTERS` order). */
  readonly res: Float64Array;
  readonly counters: Float64Array;
  readonly harts: number;
  readonly tlbsPerHart: number;
  readonly entries: number;
  readonly pwcEntries: number;
  readonly slots: number;

  constructor(opts: WasmHardwareOptions, imports: HwImports) {
    const m = opts.machine;
    const g = opts.geometry;
    let self: WasmHardware | null = null;
    const env = {
      tlblab: {
        readStale: (h: number, slot: number, level: number, vpn: number, pg: number, walkStart: number) =>
          imports.readStale(h, slot, level, vpn, pg !== 0, walkStart),
        adUpdate: (h: number, slot: number, level: number, t: number, f: number, p: number, c: number) =>
          imports.adUpdate(h, slot, level, t, f, p, c) ? 0 : 1,
        choose: (_kind: number, n: number) => {
          const v = imports.chooseVictim(n);
          if (!(v >= 0 && v < n)) throw new RangeError(`victim choice ${v} outside 0..${n - 1}`);
          return v;
        },
      },
      env: {
        abort: () => {
          throw new Error(`hw.wasm aborted${self ? '' : ' during init'}`);
        },
      },
    };
    const instance = new WA.Instance(hwModule(), env);
    this.exports = instance.exports as unknown as HwExports;
    const st = m.staleness;
    const stKind = st.kind === 'newest' ? 0 : st.kind === 'window' ? 1 : st.kind === 'svvptc' ? 2 : 3;
    const resAt = this.exports.init(
      opts.harts,
      m.tlb.entries,
      m.tlb.ways,
      m.tlb.replacement === 'random' ? 1 : 0,
      m.tlb.split === true ? 1 : 0,
      m.pwc.entries,
      g.levels,
      g.bitsPerLevel,
      g.vaBits,
      g.is64 ? 1 : 0,
      opts.tables,
      m.cachesInvalid === 'none' ? 0 : m.cachesInvalid === 'leaf' ? 1 : 2,
      m.invalidNonLeafIn === 'tlb' ? 1 : 0,
      m.invalidEvictBound,
      m.adUpdate === 'svadu' ? 1 : 0,
      stKind,
      st.kind !== 'newest' && st.levels === 'leaf' ? 1 : 0,
      m.costs.tlbHit,
      m.costs.walkLevelPwc,
      m.costs.walkLevelMemory,
      TICKS_PER_CYCLE,
      st.kind === 'window' ? st.d : st.kind === 'svvptc' ? Math.max(st.d, st.bound) : 0,
      opts.scratchBytes ?? 0,
    );
    // Views after init: its memory.grow detached any earlier ones; nothing grows it later.
    const buf = this.exports.memory.buffer;
    this.res = new Float64Array(buf, resAt, RESULTS);
    this.counters = new Float64Array(buf, resAt + RESULTS * 8, WASM_COUNTERS.length);
    this.harts = opts.harts;
    this.tlbsPerHart = m.tlb.split === true ? 2 : 1;
    this.entries = m.tlb.entries;
    this.pwcEntries = m.pwc.entries;
    this.slots = opts.tables * g.entriesPerTable;
    self = this;
  }

  /** Byte offset of the scratch region in `exports.memory`. */
  get scratch(): number {
    return this.exports.layout(18);
  }

  get clock(): number {
    return this.res[R_CLOCK]!;
  }
  get wFlags(): number {
    return this.res[R_FLAGS]!;
  }
  get wPpn(): number {
    return this.res[R_PPN]!;
  }
  get wSince(): number {
    return this.res[R_SINCE]!;
  }
  get wLevel(): number {
    return this.res[R_LEVEL]!;
  }
  get wPagePpn(): number {
    return this.res[R_PAGE_PPN]!;
  }
  /** Slot of the last PTE the walker stopped at (walker.ts `slot`). */
  get walkSlot(): number {
    return this.res[R_WALK_SLOT]!;
  }
  get faultKind(): FaultKind {
    return KINDS[this.res[R_KIND]!]!;
  }

  /** Answer of a `readStale` / `adUpdate` import: the PTE version read or stored. */
  inPte(flags: number, ppn: number, since: number): void {
    const r = this.res;
    r[R_IN_FLAGS] = flags;
    r[R_IN_PPN] = ppn;
    r[R_IN_SINCE] = since;
  }

  /** Mirror slot `slot`'s newest PTE (`multi`: more than one version is kept for it). */
  setPte(slot: number, flags: number, ppn: number, since: number, multi: boolean): void {
    if (slot < 0 || slot >= this.slots)
      throw new RangeError(`slot ${slot} outside the mirror (${this.slots})`);
    this.exports.setPte(slot, flags, ppn, since, multi ? 1 : 0);
  }

  setContext(hart: number, root: number, asid: number, priv: number, sum: boolean, mxr: boolean): void {
    this.exports.setContext(hart, root, asid, priv, sum ? 1 : 0, mxr ? 1 : 0);
  }

  /** Views of hart `hart`'s TLB `which` (0 data/unified, 1 instruction on a split core). */
  tlb(hart: number, which = 0): TlbViews {
    const x = this.exports;
    const buf = x.memory.buffer;
    const n = this.entries;
    const first = (hart * this.tlbsPerHart + which) * n;
    return {
      tag: new BigUint64Array(buf, x.layout(0) + first * 8, n),
      level: new Uint8Array(buf, x.layout(1) + first, n),
      asid: new Uint16Array(buf, x.layout(2) + first * 2, n),
      flags: new Uint16Array(buf, x.layout(3) + first * 2, n),
      ppn: new Float64Array(buf, x.layout(4) + first * 8, n),
      state: new Uint8Array(buf, x.layout(5) + first, n),
      versionSince: new Float64Array(buf, x.layout(6) + first * 8, n),
      filledAt: new Float64Array(buf, x.layout(16) + first * 8, n),
    };
  }

  pwc(hart: number): PwcViews {
    const x = this.exports;
    const buf = x.memory.buffer;
    const n = this.pwcEntries;
    const first = hart * n;
    return {
      slot: new Int32Array(buf, x.layout(11) + first * 4, n),
      state: new Uint8Array(buf, x.layout(12) + first, n),
      flags: new Uint16Array(buf, x.layout(13) + first * 2, n),
      ppn: new Float64Array(buf, x.layout(14) + first * 8, n),
      asid: new Uint16Array(buf, x.layout(15) + first * 2, n),
      filledAt: new Float64Array(buf, x.layout(17) + first * 8, n),
    };
  }
}
