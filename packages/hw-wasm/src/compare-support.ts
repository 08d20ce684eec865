/**
 * Shared by the equivalence tests: compare a JS `Hardware` (`a`) with a `WasmMachine` over its
 * own JS half after an op — the result of an access, every hart's clock, the counters, the
 * choice-log length, and every non-empty TLB and PWC entry. Each check throws with where it
 * differed.
 */
import type { SeededChooser } from '@tlblab/core';
import type { Hardware } from '../../core/src/sim/hardware.js';
import { M } from '../../core/src/sim/metrics.js';
import type { WasmMachine } from './index.js';

export interface Sides {
  readonly a: Hardware;
  readonly b: Hardware;
  readonly wm: WasmMachine;
}

/** An access's code, fault kind and result registers. */
export function compareAccess(p: Sides, ca: number, cb: number, where: string): void {
  if (ca !== cb) throw new Error(`${where}: wasm code ${cb} != js ${ca}`);
  const ra = [p.a.faultKind, p.a.wFlags, p.a.wPpn, p.a.wSince, p.a.wLevel, p.a.wPagePpn];
  const w = p.wm.wasm;
  const rb = [p.wm.faultKind, w.wFlags, w.wPpn, w.wSince, w.wLevel, w.wPagePpn];
  if (ra.join() !== rb.join()) throw new Error(`${where}: wasm results ${rb.join()} != js ${ra.join()}`);
}

/** Clocks, counters, choice-log length and caches after any op. */
export function compareState(p: Sides, where: string): void {
  const harts = p.a.harts.length;
  for (let k = 0; k < harts; k++) {
    if (p.a.harts[k]!.clock !== p.b.harts[k]!.clock)
      throw new Error(`${where}: hart ${k} clock wasm ${p.b.harts[k]!.clock} != js ${p.a.harts[k]!.clock}`);
  }
  const wc = p.wm.accessCounters();
  for (const m of METRICS) {
    if (wc[m] !== p.a.counters[M[m]])
      throw new Error(`${where}: counter ${m} wasm ${wc[m]} != js ${p.a.counters[M[m]]}`);
  }
  const la = (p.a.chooser as SeededChooser).log.length;
  const lb = (p.b.chooser as SeededChooser).log.length;
  if (la !== lb) throw new Error(`${where}: choice log length wasm ${lb} != js ${la}`);
  compareCaches(p, where);
}

export const METRICS = [
  'accesses',
  'tlbHits',
  'tlbMisses',
  'tlbNegativeHits',
  'refillMisses',
  'walksDemand',
  'walksSpeculative',
  'walkLevels',
] as const;

export function compareCaches(p: { readonly a: Hardware; readonly wm: WasmMachine }, where: string): void {
  for (let h = 0; h < p.a.harts.length; h++) {
    const ha = p.a.harts[h]!;
    const tlbs = ha.itlb ? [ha.tlb, ha.itlb] : [ha.tlb];
    tlbs.forEach((t, which) => {
      const w = p.wm.wasm.tlb(h, which);
      for (let e = 0; e < t.entries; e++) {
        const st = t.state[e]!;
        if (w.state[e] !== st)
          throw new Error(`${where}: hart ${h} tlb${which} entry ${e} state ${w.state[e]} != ${st}`);
        if (st === 0) continue;
        const js = [t.tag[e], t.level[e], t.asid[e], t.flags[e], t.ppn[e], t.versionSince[e], t.filledAt[e]];
        const wa = [
          Number(w.tag[e]),
          w.level[e],
          w.asid[e],
          w.flags[e],
          w.ppn[e],
          w.versionSince[e],
          w.filledAt[e],
        ];
        if (js.join() !== wa.join())
          throw new Error(`${where}: hart ${h} tlb${which} entry ${e}: wasm ${wa.join()} != js ${js.join()}`);
      }
    });
    const pa = ha.pwc;
    if (pa) {
      const w = p.wm.wasm.pwc(h);
      for (let e = 0; e < pa.entries; e++) {
        const st = pa.state[e]!;
        if (w.state[e] !== st)
          throw new Error(`${where}: hart ${h} pwc entry ${e} state ${w.state[e]} != ${st}`);
        if (st === 0) continue;
        const js = [pa.slot[e], pa.asid[e], pa.flags[e], pa.ppn[e], pa.filledAt[e]];
        const wa = [w.slot[e], w.asid[e], w.flags[e], w.ppn[e], w.filledAt[e]];
        if (js.join() !== wa.join())
          throw new Error(`${where}: hart ${h} pwc entry ${e}: wasm ${wa.join()} != js ${js.join()}`);
      }
    }
  }
}
