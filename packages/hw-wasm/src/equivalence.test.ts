/**
 * The wasm hot path against the JS model it ports: two core `Hardware` machines built alike with
 * choosers of the same seed, one answering accesses itself (the JS model), the other through
 * `WasmMachine` (wasm TLBs, PWC, walker; JS staleness rule, fences' records, choices). The same
 * op stream — demand accesses of every type, speculative walks, PTE stores (so slots gain
 * versions and the staleness rule's `stale-read` choices run), fences of all four forms, clock
 * advances, satp/ASID switches, privilege/SUM/MXR changes — over page tables with global kernel
 * pages, two ASIDs, superpages, V=0 leaves and non-leaves, reserved encodings, misaligned
 * superpages, A=0 / D=0 leaves and non-canonical VAs. After every op: the result code, fault kind,
 * result registers, every hart's clock, the counters, the choice log, and every non-empty TLB and
 * PWC entry must be identical.
 */
import {
  defineMachine,
  GEOMETRY,
  layoutFor,
  type MachineConfig,
  type Mode,
  PROFILES,
  Prng,
  SeededChooser,
} from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { PageTableMemory } from '../../core/src/hw/page-tables.js';
// Core internals (not public API): the JS hardware this package ports.
import {
  PAGE_KERNEL,
  PAGE_TABLE,
  PAGE_USER,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
} from '../../core/src/hw/pte.js';
import { Hardware, type HartHw, TICKS_PER_CYCLE } from '../../core/src/sim/hardware.js';
import { M, newCounters } from '../../core/src/sim/metrics.js';
import { compareAccess, compareState } from './compare-support.js';
import { type TypeCode, TICKS_PER_CYCLE as WASM_TICKS, WasmMachine } from './index.js';

/** Applies page-table building to both machines alike. */
interface Side {
  alloc(now: number): number;
  store(slot: number, flags: number, ppn: number): void;
}

class Pair {
  readonly a: Hardware;
  readonly b: Hardware;
  readonly wm: WasmMachine;
  readonly mode: Mode;
  readonly E: number;
  readonly bits: number;
  readonly levels: number;
  roots: [number, number] = [0, 0];
  /** Data pages allocated from here (below TABLE_PPN_BASE). */
  nextPpn = 0x1000;
  /** Mapped level-0 leaves (slot in root 1's tree) the stream may store to. */
  readonly leafSlots: number[] = [];
  readonly vpns: number[] = [];
  /** Break the wasm side's victim choice on purpose (the test that the comparison catches it). */
  skewVictim = false;

  constructor(machine: MachineConfig, mode: Mode, harts: number, seed: number) {
    const layout = layoutFor(mode);
    const g = GEOMETRY[mode];
    this.mode = mode;
    this.E = g.entriesPerTable;
    this.bits = g.bitsPerLevel;
    this.levels = g.levels;
    this.a = new Hardware(machine, layout, harts, new SeededChooser(seed), newCounters());
    this.b = new Hardware(machine, layout, harts, new SeededChooser(seed), newCounters());
    // The wasm side's victim choices can be skewed for the negative test (the chooser is the
    // JS half's own: stale-read choices go through it unchanged).
    const chooser = this.b.chooser as SeededChooser;
    const choose = chooser.choose.bind(chooser);
    chooser.choose = (kind, n) => {
      const v = choose(kind, n);
      return this.skewVictim && kind === 'victim' ? n - 1 - v : v;
    };
    this.wm = new WasmMachine(this.b, { machine, geometry: g, tables: 64 });
  }

  sides(): [Side, Side] {
    return [
      { alloc: (now) => this.a.mem.allocTable(now), store: (s, f, p) => this.a.storePte(s, f, p) },
      { alloc: (now) => this.wm.allocTable(now), store: (s, f, p) => this.wm.storePte(s, f, p) },
    ];
  }

  index(vpn: number, level: number): number {
    return Math.floor(vpn / 2 ** (this.bits * level)) % this.E;
  }

  /** Map `vpn` at `level` under `root` on both sides (intermediate tables as needed); returns the leaf slot. */
  map(root: number, vpn: number, level: number, flags: number, ppn: number): number {
    let slot = -1;
    const [sa, sb] = this.sides();
    for (const [side, hw] of [
      [sa, this.a],
      [sb, this.b],
    ] as const) {
      let table = root;
      for (let l = this.levels - 1; l > level; l--) {
        const s = table * this.E + this.index(vpn, l);
        if ((hw.mem.flags[s]! & PTE_V) === 0) {
          const t = side.alloc(hw.nextTick());
          side.store(s, PAGE_TABLE, PageTableMemory.ppnOfTable(t));
        }
        table = PageTableMemory.tableOfPpn(hw.mem.ppn[s]!);
      }
      slot = table * this.E + this.index(vpn, level);
      side.store(slot, flags, ppn);
    }
    return slot;
  }

  build(): void {
    const [sa, sb] = this.sides();
    const r1 = sa.alloc(this.a.nextTick());
    sb.alloc(this.b.nextTick());
    const r2 = sa.alloc(this.a.nextTick());
    sb.alloc(this.b.nextTick());
    this.roots = [r1, r2];
    const layout = layoutFor(this.mode);
    const kv = layout.vmalloc.start;
    const page = () => this.nextPpn++;
    // Kernel: 24 global vmalloc pages (every 5th left V=0 in its table), in root 1's tree.
    for (let i = 0; i < 24; i++) {
      const s = this.map(r1, kv + i, 0, i % 5 === 4 ? 0 : PAGE_KERNEL, i % 5 === 4 ? 0 : page());
      this.vpns.push(kv + i);
      this.leafSlots.push(s);
    }
    // A kernel page with X only (fetch), and one read-only.
    this.leafSlots.push(this.map(r1, kv + 40, 0, PTE_V | PTE_X | PTE_G | PTE_A, page()));
    this.leafSlots.push(this.map(r1, kv + 41, 0, PTE_V | PTE_R | PTE_G | PTE_A, page()));
    this.vpns.push(kv + 40, kv + 41, kv + 42 /* V=0 in a mapped table */);
    // User pages in ASID 1: ordinary, A=0, D=0, read-only, exec-only, W-only (reserved), a pointer
    // at level 0 (reserved), V=0.
    const kinds = [
      PAGE_USER,
      PAGE_USER & ~PTE_A,
      PAGE_USER & ~PTE_D,
      PTE_V | PTE_R | PTE_U | PTE_A,
      PTE_V | PTE_X | PTE_U | PTE_A,
      PTE_V | PTE_W | PTE_U | PTE_A | PTE_D,
      PTE_V,
      0,
    ];
    for (let i = 0; i < 32; i++) {
      const f = kinds[i % kinds.length]!;
      this.leafSlots.push(this.map(r1, 0x400 + i, 0, f, f === 0 ? 0 : page()));
      this.vpns.push(0x400 + i);
    }
    // ASID 2: the same user VPNs, other pages (only the first half mapped).
    for (let i = 0; i < 16; i++) this.map(r2, 0x400 + i, 0, PAGE_USER, page());
    // Superpages: an aligned level-1 leaf, a misaligned one, and (64-bit) a level-2 leaf.
    const s1 = 2 ** this.bits;
    this.map(r1, 8 * s1, 1, PAGE_USER, 0x40000);
    this.map(r1, 9 * s1, 1, PAGE_USER, 0x40001);
    for (const d of [0, 1, 7, s1 - 1]) this.vpns.push(8 * s1 + d, 9 * s1 + d);
    if (this.levels >= 3) {
      const s2 = 2 ** (2 * this.bits);
      this.map(r1, 3 * s2, 2, PAGE_USER | PTE_G, 0);
      for (const d of [0, 5, s2 - 1]) this.vpns.push(3 * s2 + d);
      // A V=0 entry at the root with nothing below (the caches-invalid-walk profiles cache it).
      this.vpns.push(5 * s2 + 3);
    }
    // Kernel half shared: root 2's kernel root entries are root 1's.
    for (let i = 0; i < this.E; i++) {
      const s = r1 * this.E + i;
      const f = this.a.mem.flags[s]!;
      if (f !== 0 && (i >= this.E / 2 || this.mode === 'sv32') && this.index(kv, this.levels - 1) === i) {
        for (const side of [sa, sb]) side.store(r2 * this.E + i, f, this.a.mem.ppn[s]!);
      }
    }
    // Non-canonical (64-bit): just above the VA width.
    if (GEOMETRY[this.mode].is64) this.vpns.push(2 ** (GEOMETRY[this.mode].vaBits - 12) + 3);
    for (let h = 0; h < this.a.harts.length; h++) {
      for (const hw of [this.a, this.b]) {
        hw.harts[h]!.rootTable = r1;
        hw.harts[h]!.asid = 1;
      }
      this.wm.syncHart(this.b.harts[h]!);
    }
  }
}

const TYPES: readonly TypeCode[] = [0, 0, 0, 1, 1, 2];
const FORMS = ['all', 'asid', 'va', 'va-asid'] as const;
/** Runs `ops` random ops on both sides; throws at the first difference. Returns what happened. */
function drive(p: Pair, ops: number, seed: number): Record<string, number> {
  const rng = new Prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const harts = p.a.harts.length;
  const seen: Record<string, number> = {};
  const note = (k: string) => {
    seen[k] = (seen[k] ?? 0) + 1;
  };
  for (let i = 0; i < ops; i++) {
    const h = Math.floor(rng.next() * harts);
    const ha: HartHw = p.a.harts[h]!;
    const hb: HartHw = p.b.harts[h]!;
    p.a.currentHart = h;
    p.b.currentHart = h;
    const r = rng.next();
    let what: string;
    if (r < 0.55) {
      const vpn = pick(p.vpns);
      const t = pick(TYPES);
      const ca = p.a.accessCode(ha, vpn, t);
      const cb = p.wm.access(hb, vpn, t);
      what = `access h${h} vpn ${vpn.toString(16)} type ${t}`;
      compareAccess(p, ca, cb, `op ${i} ${what}`);
      note(ca === 0 ? 'ok' : `fault:${p.a.faultKind}`);
    } else if (r < 0.65) {
      const vpn = pick(p.vpns);
      const sa = p.a.speculate(ha, vpn);
      const sb = p.wm.speculate(hb, vpn);
      what = `speculate h${h} ${vpn.toString(16)}`;
      if (sa !== sb) throw new Error(`op ${i} ${what}: wasm ${sb} != js ${sa}`);
      if (sa) note('speculative walk');
    } else if (r < 0.73) {
      const slot = pick(p.leafSlots);
      const f = pick([
        0,
        PAGE_KERNEL,
        PAGE_USER,
        PAGE_USER & ~PTE_A,
        PTE_V | PTE_R | PTE_U | PTE_A,
        p.a.mem.flags[slot]! ^ PTE_V,
      ]);
      const ppn = 0x2000 + Math.floor(rng.next() * 64);
      p.a.storePte(slot, f, ppn);
      p.wm.storePte(slot, f, ppn);
      what = `store ${slot}`;
      note('store');
    } else if (r < 0.79) {
      const form = pick(FORMS);
      const vpn = pick(p.vpns);
      const asid = pick([1, 2]);
      p.a.fence(ha, form, vpn, asid, 'local');
      p.wm.fence(hb, form, vpn, asid, 'local');
      what = `fence ${form} h${h}`;
      note(`fence ${form}`);
    } else if (r < 0.92) {
      const d = Math.floor(rng.next() * 300);
      ha.clock += d;
      hb.clock += d;
      what = 'clock';
    } else if (r < 0.96) {
      const which = rng.next() < 0.5 ? 0 : 1;
      for (const x of [ha, hb]) {
        x.rootTable = p.roots[which]!;
        x.asid = which + 1;
      }
      p.wm.syncHart(hb);
      what = `satp asid ${which + 1}`;
    } else {
      const k = Math.floor(rng.next() * 3);
      for (const x of [ha, hb]) {
        if (k === 0) x.priv = x.priv === 1 ? 0 : 1;
        else if (k === 1) x.sum = !x.sum;
        else x.mxr = !x.mxr;
      }
      p.wm.syncHart(hb);
      what = `context ${k}`;
    }
    compareState(p, `op ${i} ${what}`);
  }
  expect((p.b.chooser as SeededChooser).encoded()).toBe((p.a.chooser as SeededChooser).encoded());
  return seen;
}

const small = (name: string, extra: Partial<MachineConfig>) =>
  defineMachine({
    name,
    extends: 'caches-invalid-walk',
    tlb: { entries: 16, ways: 4, replacement: 'lru' },
    pwc: { entries: 4 },
    ...extra,
  });

const MACHINES: Record<string, MachineConfig> = {
  ...PROFILES,
  'small-lru': small('small-lru', {}),
  'small-random': small('small-random', { tlb: { entries: 16, ways: 4, replacement: 'random' } }),
  'small-split-random': small('small-split-random', {
    tlb: { entries: 8, ways: 2, replacement: 'random', split: true },
  }),
  'small-svadu': small('small-svadu', { adUpdate: 'svadu' }),
  'svadu-svvptc': defineMachine({
    name: 'svadu-svvptc',
    extends: 'svvptc',
    adUpdate: 'svadu',
    pwc: { entries: 2 },
  }),
  'non-pow2-sets': small('non-pow2-sets', { tlb: { entries: 12, ways: 2, replacement: 'lru' } }),
  adversarial: small('adversarial', {
    staleness: { kind: 'adversarial', levels: 'all' },
    ownStoresVisible: false,
    historyDepth: 4,
  }),
};

describe('wasm hot path = JS hardware model', () => {
  it("uses core's tick unit", () => {
    expect(WASM_TICKS).toBe(TICKS_PER_CYCLE);
  });

  for (const [name, machine] of Object.entries(MACHINES)) {
    for (const mode of ['sv39', 'sv32', 'sv48', 'sv57'] as const) {
      if (mode !== 'sv39' && !name.startsWith('small') && name !== 'caches-invalid') continue;
      it(`${name} ${mode}`, () => {
        const p = new Pair(machine, mode, 3, 7);
        p.build();
        const seen = drive(p, 2500, 11);
        // The stream reached the paths it is meant to compare.
        expect(seen.ok).toBeGreaterThan(50);
        expect(seen['speculative walk']).toBeGreaterThan(0);
        expect(Object.keys(seen).filter((k) => k.startsWith('fault:')).length).toBeGreaterThanOrEqual(3);
        // Stale-read choices (JS staleness rule called from the wasm walker) and victim choices
        // (the wasm asking JS's chooser) happened where the profile has them.
        if (machine.staleness.kind !== 'newest' || machine.tlb.replacement === 'random')
          expect((p.a.chooser as SeededChooser).log.length).toBeGreaterThan(10);
        // Some walks were shortened by the page-walk cache.
        if (machine.pwc.entries > 0)
          expect(p.a.counters[M.walkLevels]!).toBeLessThan(p.a.counters[M.walksDemand]! * p.levels);
      });
    }
  }

  it('the comparison catches a wasm side that differs (a skewed victim choice)', () => {
    const p = new Pair(MACHINES['small-random']!, 'sv39', 3, 7);
    p.build();
    p.skewVictim = true;
    expect(() => drive(p, 2500, 11)).toThrow(/entry|code|results|counter/);
  });
});
