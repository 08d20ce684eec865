/**
 * The JS half of a wasm-backed machine: core's `Hardware` keeps the page-table memory with its
 * version history, the fence records, ticks and the `Chooser`; the wasm keeps the TLBs, the
 * page-walk caches and the walker. `WasmMachine` routes an access to the wasm and answers its
 * imports from the JS half, and mirrors every PTE store into the wasm's newest-PTE table.
 *
 * The JS half is typed structurally (`HardwareLike`), so this package depends on core's public
 * types only; core's `Hardware` (packages/core/src/sim/hardware.ts) fits it.
 */
import {
  type Chooser,
  type FaultKind,
  type FenceForm,
  type FenceOrigin,
  leafPermits,
  type MachineConfig,
  type ModeGeometry,
} from '@tlblab/core';
import { FENCE_FORM, type HwExports, WASM_COUNTERS, WasmHardware } from './wasm.js';

type HwExportsAccess = HwExports['access'];
type HwExportsAccessF64 = HwExports['accessF64'];

const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_A = 64;
const PTE_D = 128;

/** What the wasm path needs of a hart (core's `HartHw` has these fields). */
export interface HartLike {
  readonly id: number;
  clock: number;
  rootTable: number;
  asid: number;
  priv: number;
  sum: boolean;
  mxr: boolean;
  /** Tick of the hart's last `sfence.vma x0, x0` (the staleness rule's floor). */
  readonly lastFullFence: number;
}

/** Core's `PageTableMemory`, as far as the mirror and Svadu need it. */
export interface MemoryLike {
  readonly entries: number;
  readonly flags: Uint16Array;
  readonly ppn: Float64Array;
  readonly tableCount: number;
  allocTable(now: number): number;
  versions(slot: number): number;
  since(slot: number): number;
  write(slot: number, flags: number, ppn: number, now: number, writer?: number): void;
}

/** Core's `Hardware`, as far as the wasm path needs it (the staleness rule, ticks, fences). */
export interface HardwareLike {
  readonly harts: readonly HartLike[];
  readonly mem: MemoryLike;
  readonly chooser: Chooser;
  readonly counters: Float64Array;
  walkStart: number;
  wFlags: number;
  wPpn: number;
  wSince: number;
  currentHart: number;
  readPte(hart: HartLike, slot: number, level: number, vpn: number, parentGlobal: boolean): void;
  nextTick(): number;
  storePte(slot: number, flags: number, ppn: number): void;
  fence(hart: HartLike, form: FenceForm, vpn: number, asid: number, origin: FenceOrigin): void;
}

export interface WasmMachineOptions {
  readonly machine: MachineConfig;
  readonly geometry: ModeGeometry;
  /** Page-table pages the wasm mirror holds (default 256). */
  readonly tables?: number;
  /** Bytes of scratch memory in the wasm for the caller (`WasmHardware.scratch`). */
  readonly scratchBytes?: number;
}

/** Access type codes (walker.ts): 0 read, 1 write, 2 execute. */
export type TypeCode = 0 | 1 | 2;

export class WasmMachine {
  readonly js: HardwareLike;
  readonly wasm: WasmHardware;
  private readonly pow: Float64Array;
  /** The hot exports and the result block, held directly (one property load per call less). */
  private readonly accessFn: HwExportsAccess;
  private readonly accessF64Fn: HwExportsAccessF64;
  private readonly res: Float64Array;

  constructor(js: HardwareLike, opts: WasmMachineOptions) {
    this.js = js;
    const g = opts.geometry;
    this.pow = new Float64Array(g.levels + 1);
    for (let l = 0; l <= g.levels; l++) this.pow[l] = 2 ** (g.bitsPerLevel * l);
    const harts = js.harts;
    this.wasm = new WasmHardware(
      {
        machine: opts.machine,
        geometry: g,
        harts: harts.length,
        tables: opts.tables ?? 256,
        scratchBytes: opts.scratchBytes ?? 0,
      },
      {
        readStale: (h, slot, level, vpn, parentGlobal, walkStart) => {
          js.walkStart = walkStart;
          js.readPte(harts[h]!, slot, level, vpn, parentGlobal);
          this.wasm.inPte(js.wFlags, js.wPpn, js.wSince);
        },
        adUpdate: (h, slot, level, typeCode, flags, ppn, clock) =>
          this.adUpdate(harts[h]!, slot, level, typeCode, flags, ppn, clock),
        chooseVictim: (n) => js.chooser.choose('victim', n),
      },
    );
    this.accessFn = this.wasm.exports.access;
    this.accessF64Fn = this.wasm.exports.accessF64;
    this.res = this.wasm.res;
    this.syncAll();
  }

  /** Mirror every allocated slot's newest PTE and every hart's context (after boot or a restore). */
  syncAll(): void {
    const mem = this.js.mem;
    const used = mem.tableCount * mem.entries;
    for (let s = 0; s < used; s++) this.syncSlot(s);
    for (const h of this.js.harts) this.syncHart(h);
  }

  /** Mirror one slot (after a store the JS half made). */
  syncSlot(slot: number): void {
    const mem = this.js.mem;
    this.wasm.setPte(slot, mem.flags[slot]!, mem.ppn[slot]!, mem.since(slot), mem.versions(slot) > 1);
  }

  /** Mirror a hart's satp (root, ASID), privilege, SUM and MXR after the JS side changed them.
   *  (Its last full fence's tick is mirrored by `fence`.) */
  syncHart(h: HartLike): void {
    this.wasm.setContext(h.id, h.rootTable, h.asid, h.priv, h.sum, h.mxr);
  }

  /** Allocate a zeroed page-table page at tick `now` in the JS memory, mirrored (its V=0 slots are
   *  current since `now`, which a negative entry filled from them records). */
  allocTable(now: number): number {
    const mem = this.js.mem;
    const t = mem.allocTable(now);
    const first = t * mem.entries;
    for (let s = first; s < first + mem.entries; s++) this.syncSlot(s);
    return t;
  }

  /** An explicit PTE store (core's `Hardware.storePte`), mirrored. */
  storePte(slot: number, flags: number, ppn: number): void {
    this.js.storePte(slot, flags, ppn);
    this.syncSlot(slot);
  }

  /** A demand access (core's `Hardware.accessCode`): the hart's clock advances as there. */
  access(hart: HartLike, vpn: number, typeCode: TypeCode): number {
    const r = this.accessF64Fn(hart.id, vpn, typeCode, hart.clock);
    hart.clock = this.res[0]!;
    return r;
  }

  /** `access` with the VPN as two u32 halves (no double VPN at all). */
  accessHalves(hart: HartLike, vpnHi: number, vpnLo: number, typeCode: TypeCode): number {
    const r = this.accessFn(hart.id, vpnHi, vpnLo, typeCode, hart.clock);
    hart.clock = this.res[0]!;
    return r;
  }

  /** A speculative walk (core's `Hardware.speculate`): true if it walked. */
  speculate(hart: HartLike, vpn: number): boolean {
    return this.wasm.exports.speculateF64(hart.id, vpn, hart.clock) !== 0;
  }

  /** SFENCE.VMA: the JS half keeps the fence records, costs and counters; the wasm's caches drop
   *  what the form names. */
  fence(hart: HartLike, form: FenceForm, vpn: number, asid: number, origin: FenceOrigin): void {
    this.js.fence(hart, form, vpn, asid, origin);
    this.wasm.exports.fence(hart.id, FENCE_FORM[form], vpn, asid, this.js.harts[hart.id]!.lastFullFence);
  }

  get faultKind(): FaultKind {
    return this.wasm.faultKind;
  }

  /** The access counters the wasm keeps, by core metric name. */
  accessCounters(): Record<(typeof WASM_COUNTERS)[number], number> {
    const out = {} as Record<(typeof WASM_COUNTERS)[number], number>;
    WASM_COUNTERS.forEach((n, i) => {
      out[n] = this.wasm.counters[i]!;
    });
    return out;
  }

  /**
   * Svadu's A/D update (walker.ts `leaf`): an AMO on the PTE in memory, which sees its newest
   * value and "atomically check[s] that the PTE is valid and grants sufficient permissions", then
   * a PTE store by this hart ordered by a tick.
   */
  private adUpdate(
    hart: HartLike,
    slot: number,
    level: number,
    typeCode: number,
    flags: number,
    ppn: number,
    clock: number,
  ): boolean {
    const js = this.js;
    const mem = js.mem;
    // The walk's clock so far: the tick of the store is taken at it, as in the JS walker.
    hart.clock = clock;
    const nf = mem.flags[slot]!;
    const np = mem.ppn[slot]!;
    if (nf !== flags || np !== ppn) {
      if (
        (nf & PTE_V) === 0 ||
        (nf & (PTE_R | PTE_W)) === PTE_W ||
        (nf & (PTE_R | PTE_W | PTE_X)) === 0 ||
        (level > 0 && np % this.pow[level]! !== 0) ||
        !leafPermits(nf, typeCode, hart.priv, hart.sum, hart.mxr)
      )
        return false;
    }
    const f = nf | (typeCode === 1 ? PTE_A | PTE_D : PTE_A);
    const since = js.nextTick();
    mem.write(slot, f, np, since, hart.id);
    this.syncSlot(slot);
    this.wasm.inPte(f, np, since);
    return true;
  }
}
