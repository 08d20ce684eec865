/**
 * The wasm hot path on the hardware calls of real simulator runs: `simulate` runs cells of the
 * scenario library (booted page tables, vmalloc / module / ioremap mappings, IPIs, SBI fences,
 * speculation, traps) while every call its `Hardware` gets — demand accesses with the hart's
 * satp / privilege / clock at the time, speculative walks, PTE stores, table allocations, fences —
 * is recorded with the ticks and clocks it ran at. Each run is then replayed from its booted
 * memory on a JS `Hardware` and on a `WasmMachine` (choosers of one seed, so stale-read and
 * victim choices are asked alike) and compared after every call as in equivalence.test.ts.
 */
import { type Cell, GEOMETRY, type MachineConfig, PROFILES, SeededChooser, simulate } from '@tlblab/core';
import { crossHartVmalloc, moduleLoadExec, vmallocStress, vmapStackMigrate } from '@tlblab/scenarios';
import { baseline } from '@tlblab/strategy-baseline';
import { earlySfence } from '@tlblab/strategy-early-sfence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FenceForm, FenceOrigin } from '../../core/src/contracts.js';
import { PageTableMemory, type PageTableSnapshot } from '../../core/src/hw/page-tables.js';
import { Hardware, type HartHw } from '../../core/src/sim/hardware.js';
import { newCounters } from '../../core/src/sim/metrics.js';
import { compareAccess, compareState } from './compare-support.js';
import { type TypeCode, WasmMachine } from './index.js';

/** The machine state an op ran at: every hart's clock and context, the tick, the running hart. */
interface At {
  readonly tick: number;
  readonly cur: number;
  readonly clocks: number[];
  readonly ctx: [number, number, number, boolean, boolean][];
}
type Op =
  | { k: 'access'; at: At; h: number; vpn: number; t: TypeCode }
  | { k: 'spec'; at: At; h: number; vpn: number }
  | { k: 'store'; at: At; slot: number; flags: number; ppn: number }
  | { k: 'alloc'; at: At; now: number }
  | { k: 'fence'; at: At; h: number; form: FenceForm; vpn: number; asid: number; origin: FenceOrigin };
interface Run {
  readonly boot: PageTableSnapshot;
  machine: MachineConfig | null;
  layout: Hardware['layout'] | null;
  harts: number;
  readonly ops: Op[];
}

const runs: Run[] = [];
const byMem = new Map<PageTableMemory, Run>();
let restore: (() => void) | null = null;

/** Record the hardware calls of every `Hardware` built while installed. */
function install(): void {
  const hp = Hardware.prototype;
  const orig = {
    accessReg: hp.accessReg,
    speculateReg: hp.speculateReg,
    storePte: hp.storePte,
    fence: hp.fence,
    acquire: PageTableMemory.acquire,
    allocTable: PageTableMemory.prototype.allocTable,
  };
  let depth = 0; // calls made inside a recorded call (storePte -> mem.write, ...) are not ops
  const at = (hw: Hardware): At => ({
    tick: hw.tick,
    cur: hw.currentHart,
    clocks: hw.harts.map((h) => h.clock),
    ctx: hw.harts.map((h) => [h.rootTable, h.asid, h.priv, h.sum, h.mxr]),
  });
  const runOf = (hw: Hardware): Run | undefined => {
    const r = byMem.get(hw.mem);
    if (r && r.machine === null) {
      r.machine = hw.machine;
      r.layout = hw.layout;
      r.harts = hw.harts.length;
    }
    return r;
  };
  const rec = <A extends unknown[], R>(hw: Hardware, make: (a: At) => Op, f: (...a: A) => R, args: A): R => {
    const r = depth === 0 ? runOf(hw) : undefined;
    if (r) r.ops.push(make(at(hw)));
    depth++;
    try {
      return f.apply(hw, args);
    } finally {
      depth--;
    }
  };
  PageTableMemory.acquire = (entries, depthArg, from) => {
    const mem = orig.acquire.call(PageTableMemory, entries, depthArg, from);
    const run: Run = { boot: mem.snapshot(), machine: null, layout: null, harts: 0, ops: [] };
    runs.push(run);
    byMem.set(mem, run);
    return mem;
  };
  PageTableMemory.prototype.allocTable = function (now: number) {
    const r = depth === 0 ? byMem.get(this) : undefined;
    // Allocations outside a hardware call come from the kernel model (KernelMm): the tick only.
    if (r) r.ops.push({ k: 'alloc', at: { tick: 0, cur: -1, clocks: [], ctx: [] }, now });
    return orig.allocTable.call(this, now);
  };
  hp.accessReg = function (hart: HartHw, t: number) {
    const vpn = this.vpnReg[0]!;
    return rec(this, (a) => ({ k: 'access', at: a, h: hart.id, vpn, t: t as TypeCode }), orig.accessReg, [
      hart,
      t,
    ]);
  };
  hp.speculateReg = function (hart: HartHw) {
    const vpn = this.vpnReg[0]!;
    return rec(this, (a) => ({ k: 'spec', at: a, h: hart.id, vpn }), orig.speculateReg, [hart]);
  };
  hp.storePte = function (slot: number, flags: number, ppn: number) {
    return rec(this, (a) => ({ k: 'store', at: a, slot, flags, ppn }), orig.storePte, [slot, flags, ppn]);
  };
  hp.fence = function (hart: HartHw, form: FenceForm, vpn: number, asid: number, origin: FenceOrigin) {
    return rec(this, (a) => ({ k: 'fence', at: a, h: hart.id, form, vpn, asid, origin }), orig.fence, [
      hart,
      form,
      vpn,
      asid,
      origin,
    ]);
  };
  restore = () => {
    Object.assign(hp, {
      accessReg: orig.accessReg,
      speculateReg: orig.speculateReg,
      storePte: orig.storePte,
      fence: orig.fence,
    });
    PageTableMemory.acquire = orig.acquire;
    PageTableMemory.prototype.allocTable = orig.allocTable;
  };
}

/** Put both sides at the state the op ran at. */
function enter(a: Hardware, b: Hardware, wm: WasmMachine, at: At): void {
  if (at.clocks.length === 0) return;
  for (const hw of [a, b]) {
    hw.tick = at.tick;
    hw.currentHart = at.cur;
    hw.harts.forEach((h, i) => {
      h.clock = at.clocks[i]!;
      [h.rootTable, h.asid, h.priv, h.sum, h.mxr] = at.ctx[i]!;
    });
  }
  for (const h of b.harts) wm.syncHart(h);
}

function replayRun(run: Run, label: string): number {
  const machine = run.machine!;
  const a = new Hardware(machine, run.layout!, run.harts, new SeededChooser(5), newCounters(), run.boot);
  const b = new Hardware(machine, run.layout!, run.harts, new SeededChooser(5), newCounters(), run.boot);
  const wm = new WasmMachine(b, { machine, geometry: GEOMETRY[run.layout!.mode], tables: 512 });
  const p = { a, b, wm };
  let accesses = 0;
  run.ops.forEach((op, i) => {
    const where = `${label} op ${i} ${op.k}`;
    enter(a, b, wm, op.at);
    switch (op.k) {
      case 'access': {
        const ca = a.accessCode(a.harts[op.h]!, op.vpn, op.t);
        const cb = wm.access(b.harts[op.h]!, op.vpn, op.t);
        compareAccess(p, ca, cb, `${where} h${op.h} vpn ${op.vpn.toString(16)} t${op.t}`);
        accesses++;
        break;
      }
      case 'spec': {
        const sa = a.speculate(a.harts[op.h]!, op.vpn);
        const sb = wm.speculate(b.harts[op.h]!, op.vpn);
        if (sa !== sb) throw new Error(`${where}: wasm ${sb} != js ${sa}`);
        // The hardware's level register after a speculative walk (trace text reads it).
        if (sa && a.wLevel !== wm.wasm.wLevel)
          throw new Error(`${where}: level ${wm.wasm.wLevel} != ${a.wLevel}`);
        break;
      }
      case 'store':
        a.storePte(op.slot, op.flags, op.ppn);
        wm.storePte(op.slot, op.flags, op.ppn);
        break;
      case 'alloc':
        a.mem.allocTable(op.now);
        wm.allocTable(op.now);
        break;
      case 'fence':
        a.fence(a.harts[op.h]!, op.form, op.vpn, op.asid, op.origin);
        wm.fence(b.harts[op.h]!, op.form, op.vpn, op.asid, op.origin);
        break;
    }
    compareState(p, where);
  });
  expect((b.chooser as SeededChooser).encoded()).toBe((a.chooser as SeededChooser).encoded());
  return accesses;
}

const CELLS: [string, Cell][] = [
  [
    'early-sfence cross-hart-vmalloc caches-invalid 4',
    { strategy: earlySfence(), scenario: crossHartVmalloc, machine: PROFILES['caches-invalid']!, harts: 4 },
  ],
  [
    'baseline vmap-stack-migrate caches-invalid-walk-tlb 2',
    {
      strategy: baseline(),
      scenario: vmapStackMigrate,
      machine: PROFILES['caches-invalid-walk-tlb']!,
      harts: 2,
    },
  ],
  [
    'baseline module-load-exec svvptc 2',
    { strategy: baseline(), scenario: moduleLoadExec, machine: PROFILES.svvptc!, harts: 2 },
  ],
  [
    'early-sfence vmalloc-stress caches-invalid-walk 3',
    { strategy: earlySfence(), scenario: vmallocStress, machine: PROFILES['caches-invalid-walk']!, harts: 3 },
  ],
];

describe('wasm hot path on recorded simulator runs', () => {
  beforeAll(install);
  afterAll(() => restore?.());
  for (const [label, cell] of CELLS) {
    it(label, () => {
      runs.length = 0;
      for (const seed of [1, 2, 3, 4]) simulate(cell, seed);
      restore?.();
      try {
        const recorded = runs.filter((r) => r.machine !== null && r.ops.length > 0);
        expect(recorded.length).toBeGreaterThanOrEqual(2);
        let accesses = 0;
        recorded.forEach((r, i) => {
          accesses += replayRun(r, `${label} run ${i}`);
        });
        expect(accesses).toBeGreaterThan(60);
      } finally {
        install();
      }
    });
  }
});
