/**
 * Core simulator speed (issue 2): simulated accesses per second on a steady-state workload
 * (8 harts, caches-invalid, a background working set per hart, a new mapping now and then), a
 * reference loop (a bare set-associative lookup-and-fill over the same address stream, none of the
 * model) measured in the same run, their ratio, and peak memory of a 64-hart run of one million
 * accesses. Writes bench-results/core.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  area,
  defineScenario,
  defineStrategy,
  layoutFor,
  type Op,
  ops,
  PROFILES,
  prepareCell,
  region,
  SeededChooser,
  simulate,
} from '@tlblab/core';
import { z } from 'zod';
import { Simulator } from '../../packages/core/src/engine/simulator.ts';
// The step loop alone, without building and compiling the programs (internal modules).
import { newCounters } from '../../packages/core/src/sim/metrics.ts';

const fenceAll = defineStrategy({
  name: 'bench-fence-all',
  meta: { title: 'flush every hart on map and unmap', description: 'benchmark policy', source: {} },
  setup: () => ({
    flushCacheVmap: (ctx) => ctx.flushTlbAll(),
    flushTlbKernelRange: (ctx) => ctx.flushTlbAll(),
  }),
});

/** Per hart: `rounds` passes over a working set of user pages and its own vmalloc buffer; hart 0
 *  maps a new buffer every `mapEvery` rounds. */
function workload(harts: number, accessesPerHart: number) {
  const userPages = 48;
  const bufPages = 16;
  const perRound = userPages + bufPages;
  const rounds = Math.max(1, Math.floor(accessesPerHart / perRound));
  return defineScenario({
    id: 'bench-steady-state',
    meta: { title: 'steady state', story: 'benchmark workload', source: 'tools/bench/core.ts' },
    minHarts: 1,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: () => {
      const programs: Op[][] = [];
      for (let h = 0; h < harts; h++) {
        const body: Op[] = [];
        for (let i = 0; i < userPages; i++) body.push(ops.read(region('user', i)));
        for (let i = 0; i < bufPages; i++) body.push(ops.read(area(`buf${h}`, i)));
        const prog: Op[] = [ops.vmalloc(`buf${h}`, bufPages)];
        for (let r = 0; r < rounds; r++) {
          prog.push(...body);
          if (h === 0 && r % 50 === 49) prog.push(ops.vmalloc(`new${r}`, 4));
        }
        programs.push(prog);
      }
      return { programs, userPages };
    },
  });
}

/** The modules the step loop needs: this tree's, or an earlier checkout's (`TLBLAB_BENCH_BASE`). */
interface Impl {
  readonly Simulator: typeof Simulator;
  readonly PROFILES: typeof PROFILES;
  readonly prepareCell: typeof prepareCell;
  readonly newCounters: typeof newCounters;
  readonly SeededChooser: typeof SeededChooser;
  readonly layoutFor: typeof layoutFor;
}
const HERE: Impl = { Simulator, PROFILES, prepareCell, newCounters, SeededChooser, layoutFor };

/** Time `Simulator.run()` only: the steady-state rate of the step loop. */
function measureLoop(harts: number, accessesPerHart: number, impl: Impl = HERE) {
  const scenario = workload(harts, accessesPerHart);
  const machine = impl.PROFILES['caches-invalid']!;
  const cell = { strategy: fenceAll, scenario, machine, harts, kernel: { stepLimit: 100_000_000 } };
  const prep = impl.prepareCell(cell);
  const counters = impl.newCounters();
  const sim = new impl.Simulator({
    machine,
    kernel: prep.kernel,
    layout: impl.layoutFor('sv39'),
    harts,
    programs: prep.programs.programs,
    userPages: prep.programs.userPages ?? 0,
    strategy: {
      slots: fenceAll.setup({} as never),
      slotOwner: {},
      notrace: new Set(),
      kernelFaultFn: null,
    },
    chooser: new impl.SeededChooser(1),
    counters,
    trace: false,
  });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = sim.run();
  const cpu = process.cpuUsage(c0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // CPU time of this thread's process: less coloured than wall time by other load on the machine.
  return { outcome: r.outcome, accesses: counters[5]!, secs, cpuSecs: (cpu.user + cpu.system) / 1e6 };
}

function measure(harts: number, accessesPerHart: number) {
  const scenario = workload(harts, accessesPerHart);
  const cell = {
    strategy: fenceAll,
    scenario,
    machine: PROFILES['caches-invalid']!,
    harts,
    kernel: { stepLimit: 100_000_000 },
  };
  const t0 = process.hrtime.bigint();
  const r = simulate(cell, 1);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { r, secs };
}

/** Reference: the same number of accesses through a bare 64-entry 4-way LRU TLB with an
 *  identical address mix (48 user + 16 buffer pages per hart, round robin over harts). */
function reference(harts: number, accesses: number): number {
  const E = 64;
  const W = 4;
  const S = E / W;
  const tags = Array.from({ length: harts }, () => new Float64Array(E).fill(-1));
  const lru = Array.from({ length: harts }, () => new Float64Array(E));
  const stream = new Float64Array(64);
  for (let i = 0; i < 48; i++) stream[i] = 0x400 + i;
  for (let i = 0; i < 16; i++) stream[48 + i] = 0xffffffc600000 + 0x40 + i;
  let clock = 0;
  let hits = 0;
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < accesses; n++) {
    const h = n % harts;
    const vpn = stream[Math.floor(n / harts) % 64]!;
    const t = tags[h]!;
    const l = lru[h]!;
    const base = (vpn % S) * W;
    let hit = -1;
    for (let w = 0; w < W; w++) if (t[base + w] === vpn) hit = base + w;
    if (hit >= 0) {
      hits++;
      l[hit] = ++clock;
      continue;
    }
    let victim = base;
    for (let w = 1; w < W; w++) if (l[base + w]! < l[victim]!) victim = base + w;
    t[victim] = vpn;
    l[victim] = ++clock;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (hits < 0) throw new Error('unreachable');
  return accesses / secs;
}

if (process.argv.includes('--memory-child')) {
  // A fresh process for the memory figure: peak RSS of the whole process (loader included) and
  // the RSS before the run, so the simulator's own share can be read off.
  const rssBefore = process.memoryUsage().rss;
  const big = measure(64, Math.ceil(1_000_000 / 64));
  process.stdout.write(
    JSON.stringify({
      outcome: big.r.outcome,
      accesses: big.r.metrics.accesses,
      seconds: Number(big.secs.toFixed(3)),
      rssBeforeRunMB: Math.round(rssBefore / 2 ** 20),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
  process.exit(0);
}

measure(8, 20_000); // warm-up
const steady = measure(8, 250_000);
const accesses = steady.r.metrics.accesses;
const modelRate = accesses / steady.secs;
const refRate = reference(8, accesses);
measureLoop(8, 20_000);
const loop = measureLoop(8, 250_000);

/**
 * Before/after: with `TLBLAB_BENCH_BASE` naming a checkout of an earlier commit (with its
 * node_modules installed), its step loop and this one run alternately in this process, five
 * times each, on the same workload; the medians (by process CPU time) and their ratio are reported.
 */
async function beforeAfter(dir: string) {
  const src = (p: string) => `${dir}/packages/core/src/${p}`;
  const core = (await import(src('index.ts'))) as typeof import('@tlblab/core');
  const loopModule = (await import(
    existsSync(src('engine/simulator.ts')) ? src('engine/simulator.ts') : src('sim/simulator.ts')
  )) as { Simulator: typeof Simulator };
  const metrics = (await import(src('sim/metrics.ts'))) as { newCounters: typeof newCounters };
  const base: Impl = {
    Simulator: loopModule.Simulator,
    PROFILES: core.PROFILES,
    prepareCell: core.prepareCell,
    newCounters: metrics.newCounters,
    SeededChooser: core.SeededChooser,
    layoutFor: core.layoutFor,
  };
  measureLoop(8, 20_000, base);
  const rates = { before: [] as number[], after: [] as number[] };
  for (let i = 0; i < 5; i++) {
    const b = measureLoop(8, 250_000, base);
    rates.before.push(b.accesses / b.cpuSecs);
    const a = measureLoop(8, 250_000);
    rates.after.push(a.accesses / a.cpuSecs);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[2]!;
  return {
    note: 'Simulator.run() of the base checkout and of this tree, alternated in one process (medians of 5, accesses per CPU second)',
    base: dir,
    beforeAccessesPerSecond: Math.round(median(rates.before)),
    afterAccessesPerSecond: Math.round(median(rates.after)),
    ratioAfterToBefore: Number((median(rates.after) / median(rates.before)).toFixed(3)),
  };
}
const baseDir = process.env.TLBLAB_BENCH_BASE;
const stepLoopBeforeAfter = baseDir ? await beforeAfter(baseDir) : null;

const child = spawnSync(
  process.execPath,
  [...process.execArgv, fileURLToPath(import.meta.url), '--memory-child'],
  {
    encoding: 'utf8',
  },
);
if (child.status !== 0) throw new Error(`memory child failed: ${child.stderr}`);
const run64Harts = JSON.parse(child.stdout) as Record<string, unknown>;

const out = {
  date: new Date().toISOString(),
  node: process.version,
  loadavg: loadavg(),
  steadyState: {
    note: 'simulate() end to end: programs built, compiled, run, choices encoded',
    harts: 8,
    machine: 'caches-invalid',
    outcome: steady.r.outcome,
    accesses,
    steps: steady.r.metrics.steps,
    mappings: steady.r.metrics.mappings,
    seconds: Number(steady.secs.toFixed(3)),
    accessesPerSecond: Math.round(modelRate),
  },
  stepLoopOnly: {
    note: 'Simulator.run() alone: programs built and compiled beforehand',
    outcome: loop.outcome,
    accesses: loop.accesses,
    seconds: Number(loop.secs.toFixed(3)),
    accessesPerSecond: Math.round(loop.accesses / loop.secs),
  },
  reference: { accessesPerSecond: Math.round(refRate) },
  ratioModelToReference: Number((modelRate / refRate).toFixed(3)),
  ratioStepLoopToReference: Number((loop.accesses / loop.secs / refRate).toFixed(3)),
  stepLoopBeforeAfter: stepLoopBeforeAfter ?? 'set TLBLAB_BENCH_BASE to a checkout of the earlier commit',
  run64Harts,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/core.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));
