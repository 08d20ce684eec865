/**
 * The `wasm` figure (issue 13, item 3): the step-loop figure's page stream through the hardware
 * path only — TLB lookup, on a miss the walk, fills, the staleness rule — with no engine step, no
 * schedule or speculation draw, no kernel op: (a) core's JS `Hardware.accessReg`, (b) the wasm
 * prototype (`@tlblab/hw-wasm`) with one JS -> wasm call per access, (c) the same wasm with the
 * loop over the stream inside wasm (one call per segment), beside the step loop's references (the
 * fair JS loop, the JS bare lookup, the C -O2 bare lookup) measured in the same rotation.
 *
 * Workload, per arm alike: caches-invalid, Sv39, 8 harts round robin, hart h's i-th access the
 * i-th page of ./ref/stream.ts (48 user pages in ASID 1, 16 global vmalloc pages); every 50
 * rounds hart 0 re-maps 4 vmalloc pages (4 PTE stores: new versions) and every hart runs
 * `sfence.vma x0, x0` (the steady-state workload's flush-all policy). The arms must end with the
 * same counters (checked: a figure whose arms disagree fails).
 *
 * Each sample is a fresh process: `node --conditions=source --import tsx tools/bench/wasm.ts
 * sample ARM '{"harts":8,"accesses":N}'` (current tree only: the base tree has no wasm).
 */
import { fileURLToPath } from 'node:url';
import { type Ctx, compileCReference, type Figure, type Row, sample } from './figures.ts';
import { makeStream, PER_HART } from './ref/stream.ts';
import {
  interleaved,
  lastJson,
  median,
  type Ratio,
  ratio,
  runChild,
  type Summary,
  sig,
  summarize,
} from './stats.ts';
import { CURRENT_DIR, tsxLoader } from './trees.ts';

type HwArm = 'js' | 'wasm' | 'wasm-loop';
interface HwSample {
  readonly rate: number;
  readonly accesses: number;
  readonly cpuSeconds: number;
  readonly counters: Record<string, number>;
  /** JS calls the wasm made back (staleness rule) during the measured run. */
  readonly staleCalls: number;
}

const ROUNDS_PER_REMAP = 50;
const REMAP_PAGES = 4;

/** One sample of a hardware-path arm in this process (the child's work). */
async function hwSample(arm: HwArm, harts: number, accesses: number): Promise<HwSample> {
  const core = await import('../../packages/core/src/index.ts');
  const { Hardware } = await import('../../packages/core/src/sim/hardware.ts');
  const { M, newCounters } = await import('../../packages/core/src/sim/metrics.ts');
  const { PageTableMemory } = await import('../../packages/core/src/hw/page-tables.ts');
  const { PAGE_KERNEL, PAGE_TABLE, PAGE_USER } = await import('../../packages/core/src/hw/pte.ts');
  const { WasmMachine } = await import('../../packages/hw-wasm/src/index.ts');

  const run = (n: number): HwSample => {
    const machine = core.PROFILES['caches-invalid']!;
    const g = core.GEOMETRY.sv39;
    const hw = new Hardware(machine, core.layoutFor('sv39'), harts, new core.SeededChooser(1), newCounters());
    const s = makeStream(harts);
    const vpnOf = (k: number) => s.hi[k]! * 2 ** 32 + (s.lo[k]! >>> 0);
    // Page tables: one root (ASID 1) with the user pages and the global kernel pages.
    const root = hw.mem.allocTable(hw.nextTick());
    let nextPpn = 0x1000;
    const map = (vpn: number, flags: number): number => {
      let table = root;
      for (let l = g.levels - 1; l > 0; l--) {
        const slot = table * g.entriesPerTable + (Math.floor(vpn / 2 ** (9 * l)) % 512);
        if (hw.mem.flags[slot] === 0)
          hw.storePte(slot, PAGE_TABLE, PageTableMemory.ppnOfTable(hw.mem.allocTable(hw.nextTick())));
        table = PageTableMemory.tableOfPpn(hw.mem.ppn[slot]!);
      }
      const leaf = table * g.entriesPerTable + (vpn % 512);
      hw.storePte(leaf, flags, nextPpn++);
      return leaf;
    };
    for (let k = 0; k < harts * PER_HART; k++) map(vpnOf(k), s.global[k] ? PAGE_KERNEL : PAGE_USER);
    // The re-mapped buffer: 4 pages just past the harts' buffers.
    const remap = Array.from({ length: REMAP_PAGES }, (_, i) =>
      map(vpnOf(harts * PER_HART - 1) + 1 + i, PAGE_KERNEL),
    );
    for (const h of hw.harts) {
      h.rootTable = root;
      h.asid = 1;
    }
    const wm =
      arm === 'js'
        ? null
        : new WasmMachine(hw, {
            machine,
            geometry: g,
            tables: 64,
            scratchBytes: harts * (PER_HART * 8 + 12),
          });
    let staleCalls = 0;
    if (wm) {
      // Count the staleness rule's calls back into JS (the boundary crossings other than access).
      const readPte = hw.readPte.bind(hw);
      hw.readPte = (...a: Parameters<typeof readPte>) => {
        staleCalls++;
        readPte(...a);
      };
    }
    const remapAndFence = () => {
      hw.currentHart = 0;
      for (const slot of remap) {
        const ppn = nextPpn++;
        if (wm) wm.storePte(slot, PAGE_KERNEL, ppn);
        else hw.storePte(slot, PAGE_KERNEL, ppn);
      }
      for (const h of hw.harts) {
        hw.currentHart = h.id;
        if (wm) wm.fence(h, 'all', 0, 0, 'ipi');
        else hw.fence(h, 'all', 0, 0, 'ipi');
      }
      hw.currentHart = -1;
    };
    const segment = ROUNDS_PER_REMAP * PER_HART * harts;
    const pos = new Int32Array(harts);
    const hartsArr = hw.harts;
    const vpns = new Float64Array(harts * PER_HART).map((_, k) => vpnOf(k));
    let ok = 0;
    const c0 = process.cpuUsage();
    if (arm === 'js') {
      const reg = hw.vpnReg;
      let h = 0;
      for (let done = 0; done < n; ) {
        const end = Math.min(n, done + segment);
        for (; done < end; done++) {
          const p = pos[h]!;
          reg[0] = vpns[h * PER_HART + p]!;
          pos[h] = p + 1 === PER_HART ? 0 : p + 1;
          if (hw.accessReg(hartsArr[h]!, 0) === 0) ok++;
          h = h + 1 === harts ? 0 : h + 1;
        }
        if (done < n) remapAndFence();
      }
    } else if (arm === 'wasm') {
      const w = wm!;
      const hi = s.hi;
      const lo = s.lo;
      let h = 0;
      for (let done = 0; done < n; ) {
        const end = Math.min(n, done + segment);
        for (; done < end; done++) {
          const p = pos[h]!;
          const k = h * PER_HART + p;
          pos[h] = p + 1 === PER_HART ? 0 : p + 1;
          if (w.accessHalves(hartsArr[h]!, hi[k]!, lo[k]!, 0) === 0) ok++;
          h = h + 1 === harts ? 0 : h + 1;
        }
        if (done < n) remapAndFence();
      }
    } else {
      // The loop in wasm: stream (u64 per access, as lo/hi u32), positions, clocks in scratch.
      const w = wm!;
      const mem = w.wasm.exports.memory.buffer;
      const base = w.wasm.scratch;
      const u32 = new Uint32Array(mem, base, harts * PER_HART * 2);
      for (let k = 0; k < harts * PER_HART; k++) {
        u32[2 * k] = s.lo[k]! >>> 0;
        u32[2 * k + 1] = s.hi[k]! >>> 0;
      }
      const clocks = new Float64Array(mem, base + harts * PER_HART * 8 + harts * 4, harts);
      for (let done = 0; done < n; ) {
        const count = Math.min(segment, n - done);
        for (const h of hartsArr) clocks[h.id] = h.clock;
        // Segments are whole rounds of all harts, so every segment starts at hart 0.
        ok += w.wasm.exports.drive(harts, PER_HART, 0, count, 0);
        for (const h of hartsArr) h.clock = clocks[h.id]!;
        done += count;
        if (done < n) remapAndFence();
      }
    }
    const c = process.cpuUsage(c0);
    const cpuSeconds = (c.user + c.system) / 1e6;
    const names = ['accesses', 'tlbHits', 'tlbMisses', 'refillMisses', 'walksDemand', 'walkLevels'] as const;
    const counters: Record<string, number> = { ok };
    if (wm) {
      const wc = wm.accessCounters();
      for (const k of names) counters[k] = wc[k];
    } else for (const k of names) counters[k] = hw.counters[M[k]]!;
    counters.sfenceAll = hw.counters[M.sfenceAll]!;
    return { rate: n / cpuSeconds, accesses: n, cpuSeconds, counters, staleCalls };
  };
  // Warm-up: both the JS loop and the wasm reach their steady rate only after about 2 M accesses
  // (measured: six consecutive 480 k runs went 8.7, 8.4, 5.7, 20, 21, 18 M/s for wasm, alike for
  // JS), so a short warm-up measured the tiers' start-up, not the path.
  for (let i = 0; i < 4; i++) run(500_000);
  return run(accesses);
}

// ---------------------------------------------------------------------------------------------
// The figure.

async function childSample(ctx: Ctx, arm: HwArm, args: object): Promise<HwSample> {
  const r = await runChild(
    process.execPath,
    [
      '--conditions=source',
      '--single-threaded-gc',
      '--import',
      tsxLoader(CURRENT_DIR),
      fileURLToPath(import.meta.url),
      'sample',
      arm,
      JSON.stringify(args),
    ],
    { cwd: ctx.work },
  );
  if (r.code !== 0) throw new Error(`wasm sample ${arm} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return lastJson<HwSample>(r.stdout);
}

const M_S = (s: Summary) =>
  `${sig(s.median / 1e6)} M/s [${sig(s.min / 1e6)}–${sig(s.max / 1e6)}]${s.n > 1 ? ` n=${s.n}` : ''}`;
const R = (r: Ratio | null) => (r ? `${sig(r.ofMedians)} [${sig(r.min)}–${sig(r.max)}]` : '-');
const X = (r: Ratio | null) => (r ? `${sig(r.ofMedians)}× [${sig(r.min)}–${sig(r.max)}]` : '-');

export async function wasmHwPath(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 3 : 5;
  const harts = 8;
  const accesses = harts * (ctx.quick ? 60_000 : 250_000);
  const { cSrc, cBin, cSkipped } = compileCReference(ctx, 'lookup-wasm-fig');
  const current = ctx.trees.find((t) => t.label === 'current')!;
  const arms = ['js', 'wasm', 'wasm-loop', 'step', 'fair', 'bare', ...(cSkipped ? [] : ['c'])];
  const raw = await interleaved(arms, reps, async (arm): Promise<HwSample | { rate: number }> => {
    if (arm === 'js' || arm === 'wasm' || arm === 'wasm-loop')
      return childSample(ctx, arm, { harts, accesses });
    if (arm === 'c') {
      const r = await runChild(cBin, [String(harts), String(accesses), '64', '4']);
      const j = lastJson<{ accesses: number; cpuSeconds: number }>(r.stdout);
      return { rate: j.accesses / j.cpuSeconds };
    }
    // `step`: the step-loop figure's own sample (runPrepared on the steady-state workload).
    const task = arm === 'step' ? 'steploop' : arm;
    // The step sample warmed up as long as the hardware arms (2 M accesses), for a fair share.
    const args =
      arm === 'step'
        ? { harts, accessesPerHart: accesses / harts, warmAccessesPerHart: 2_000_000 / harts }
        : { harts, accesses };
    // Spawned as every runner sample is (figures.ts `sample`).
    return { rate: (await sample<{ rate: number }>(ctx, task, current, args)).rate };
  });
  // The arms did the same work: identical counters, or the figure is not a comparison.
  const hwArms = ['js', 'wasm', 'wasm-loop'] as const;
  const ref = JSON.stringify((raw.js![0] as HwSample).counters);
  for (const a of hwArms)
    for (const s of raw[a]! as HwSample[])
      if (JSON.stringify(s.counters) !== ref)
        throw new Error(`wasm figure: arm ${a} counters ${JSON.stringify(s.counters)} != js ${ref}`);
  const rates = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.map((x) => x.rate)]));
  const vs = (a: string, b: string) => (rates[a] && rates[b] ? ratio(rates[a]!, rates[b]!) : null);
  // Amdahl: the JS hardware path's share of a step-loop access's time (same stream, same count),
  // and what the step loop would gain if only that share ran at the wasm arms' speed: a
  // projection from measured medians, not a measurement of a wasm step loop.
  const share = rates.step && rates.js ? median(rates.step) / median(rates.js) : null;
  const amdahl = (r: Ratio | null) =>
    share === null || r === null ? Number.NaN : 1 / (1 - share + share / r.ofMedians);
  const row = (figure: string, current: string, r = '', target = ''): Row => ({
    figure,
    current,
    base: '-',
    ratio: r,
    target,
    met: null,
  });
  const rows: Row[] = [
    row('hw path only (no step) JS accesses/CPU-s', M_S(summarize(rates.js!))),
    row('hw path only: wasm, call per access', M_S(summarize(rates.wasm!)), `${X(vs('wasm', 'js'))} of JS`),
    row(
      'hw path only: wasm, loop in wasm',
      M_S(summarize(rates['wasm-loop']!)),
      `${X(vs('wasm-loop', 'js'))} of JS`,
    ),
    row(
      'wasm hw path / fair JS ref (does more)',
      `${R(vs('wasm', 'fair'))}; loop in wasm ${R(vs('wasm-loop', 'fair'))}`,
    ),
    row(
      'wasm hw path / C -O2 bare lookup',
      cSkipped ? cSkipped : `${R(vs('wasm', 'c'))}; loop in wasm ${R(vs('wasm-loop', 'c'))}`,
    ),
    row('JS hw path / fair JS ref; / C', `${R(vs('js', 'fair'))}; ${cSkipped ? '-' : R(vs('js', 'c'))}`),
    row(
      'hw path share of a step-loop access (JS)',
      share === null ? '-' : `${sig(share)} (step ${sig(median(rates.step!) / 1e6)} M/s)`,
    ),
    row(
      'step loop if its hw path ran at wasm speed',
      share === null
        ? '-'
        : `projected ${sig(amdahl(vs('wasm', 'js')))}× (call per access), ${sig(amdahl(vs('wasm-loop', 'js')))}× (loop in wasm)`,
    ),
  ];
  return {
    rows,
    data: {
      workload: `hardware path only (no engine step, no schedule/speculation draws): caches-invalid, sv39, ${harts} harts round robin, ${accesses} reads of the ./ref/stream.ts pages; every ${ROUNDS_PER_REMAP} rounds hart 0 re-maps ${REMAP_PAGES} kernel pages and every hart runs sfence.vma x0,x0; references on the same stream and count`,
      arms: {
        js: 'core Hardware.accessReg (VPN through vpnReg)',
        wasm: '@tlblab/hw-wasm WasmMachine.accessHalves: one JS -> wasm call per access (VPN as two u32 halves), clock written back',
        'wasm-loop':
          'the same wasm, the loop over the stream inside wasm (drive), one call per 50-round segment',
        fair: 'tools/bench/ref/refs.ts fairLoop (also draws a schedule choice and a speculation decision per access, logs them)',
        bare: 'tools/bench/ref/refs.ts bareLoop',
        c: cSkipped ?? `cc -O2 ${cSrc}`,
      },
      unit: 'accesses per CPU second',
      reps,
      samples: raw,
      summaries: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, summarize(v)])),
      wasmOverJs: vs('wasm', 'js'),
      wasmLoopOverJs: vs('wasm-loop', 'js'),
      wasmOverFair: vs('wasm', 'fair'),
      wasmOverC: vs('wasm', 'c'),
      wasmLoopOverC: vs('wasm-loop', 'c'),
      jsOverFair: vs('js', 'fair'),
      hwShareOfStep: share,
      projectedStepSpeedup: {
        callPerAccess: amdahl(vs('wasm', 'js')),
        loopInWasm: amdahl(vs('wasm-loop', 'js')),
      },
    },
  };
}

// A child sample: `wasm.ts sample ARM JSON`.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'sample') {
  const arm = process.argv[3] as HwArm;
  const args = JSON.parse(process.argv[4] ?? '{}') as { harts?: number; accesses?: number };
  const out = await hwSample(arm, args.harts ?? 8, args.accesses ?? 2_000_000);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
