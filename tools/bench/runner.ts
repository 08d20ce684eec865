/**
 * One bench sample in a fresh process: `runner.ts TASK TREE [JSON-ARGS]`. Loads TREE's
 * `@tlblab/core` (and, for some tasks, its scenarios, strategies and CLI registry) from source by
 * path, runs the task once after a warm-up, and prints one JSON line. tools/bench.ts starts it
 * alternately for the base tree and the current one, so each sample has its own heap and JIT state
 * and the two trees never share a process. Only public exports are used, so the workloads survive
 * the trees' internal refactors. Rates are per CPU second of this process (`process.cpuUsage`; the
 * bench runs node with --single-threaded-gc), which the machine's other load colours least.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Cell } from '@tlblab/core';
import type { RegistryApi } from './explore.ts';
import { exploreSample } from './explore.ts';
import { bareLoop, fairLoop } from './ref/refs.ts';
import { median } from './stats.ts';
import { type Core, fenceAll, localOnly, perHart, steadyState, type Zod } from './workloads.ts';

const [task, tree, argText] = process.argv.slice(2);
if (!task || !tree) {
  process.stderr.write('usage: runner.ts TASK TREE [JSON-ARGS]\n');
  process.exit(2);
}
const args = (argText ? JSON.parse(argText) : {}) as Record<string, number | number[]>;
const num = (k: string, d: number) => (typeof args[k] === 'number' ? (args[k] as number) : d);
const list = (k: string, d: number[]) => (Array.isArray(args[k]) ? (args[k] as number[]) : d);

const load = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(tree, rel)).href)) as T;
const core = await load<Core>('packages/core/src/index.ts');
// The tree's own zod (root devDependency), so schemas come from the same copy its core parses with.
const z: Zod = existsSync(join(tree, 'node_modules/zod/index.js'))
  ? await load<Zod>('node_modules/zod/index.js')
  : await import('zod');

function cpu<T>(run: () => T): { value: T; cpuSeconds: number; wallSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = run();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { value, cpuSeconds: (c.user + c.system) / 1e6, wallSeconds };
}

const BIG_BUDGET = { stepLimit: 1_000_000_000 };

/** The step loop: `runPrepared` (boot + run, programs built and compiled beforehand) on the
 *  steady-state workload. */
function stepLoop(harts: number, accessesPerHart: number) {
  const cell: Cell = {
    strategy: fenceAll(core),
    scenario: steadyState(core, z, harts, accessesPerHart),
    machine: core.PROFILES['caches-invalid']!,
    harts,
    kernel: BIG_BUDGET,
  };
  const prepared = core.prepareCell(cell);
  const t = cpu(() => core.runPrepared(cell, prepared, new core.SeededChooser(1)));
  const m = t.value.metrics as unknown as Record<string, number>;
  return {
    outcome: t.value.outcome,
    accesses: m.accesses!,
    steps: m.steps!,
    cpuSeconds: t.cpuSeconds,
    wallSeconds: t.wallSeconds,
    rate: m.accesses! / t.cpuSeconds,
  };
}

function perHartCell(harts: number, rounds: number): Cell {
  return {
    strategy: localOnly(core),
    scenario: perHart(core, z),
    params: { rounds },
    machine: core.PROFILES['caches-invalid']!,
    harts,
    kernel: BIG_BUDGET,
  };
}

async function registry(): Promise<RegistryApi> {
  return load<RegistryApi>('apps/cli/src/registry.ts');
}

let out: unknown;
switch (task) {
  case 'steploop': {
    // Warm-up, the same for every tree: `warmRuns` runs of `warmAccessesPerHart` (default 2 ×
    // 2 M accesses). The JIT's tiers were seen to ramp for ~2 M accesses and a third run of one
    // process is still ~10% faster than the second, so the former 160 k-access warm-up measured
    // start-up as much as the loop (docs/bench.md, "The step loop").
    const harts = num('harts', 8);
    const warmRuns = num('warmRuns', 2);
    for (let i = 0; i < warmRuns; i++) stepLoop(harts, num('warmAccessesPerHart', 250_000));
    out = stepLoop(harts, num('accessesPerHart', 250_000));
    break;
  }
  case 'fair':
  case 'bare': {
    const f = task === 'fair' ? fairLoop : bareLoop;
    const harts = num('harts', 8);
    const accesses = num('accesses', 2_000_000);
    const geometry = core.PROFILES['caches-invalid']!.tlb;
    // Warm-up as long as the step loop's (2 × 2 M accesses by default).
    for (let i = 0; i < num('warmRuns', 2); i++) f(harts, num('warmAccesses', 2_000_000), geometry);
    const r = f(harts, accesses, geometry);
    out = { ...r, rate: r.accesses / r.cpuSeconds };
    break;
  }
  case 'harts': {
    // Cost per engine step at each hart count, same work per hart: CPU time of runCell (prepare,
    // boot, run) over its engine steps, so per-hart boot and per-step scans of all harts both
    // show. (A marginal cost from two run lengths was tried: its difference drowns in the noise.)
    const seeds = num('seeds', 1);
    const counts = list('counts', [32, 64, 128, 256, 512]);
    const rounds = num('rounds', 20);
    for (let i = 0; i < 2; i++) core.runCell(perHartCell(counts[0]!, rounds), { base: 0, count: 1 }); // warm-up
    out = {
      rows: counts.map((harts) => {
        // Small hart counts run short: the median of up to 5 timings there (512 / harts of them).
        const ts: number[] = [];
        let last: ReturnType<typeof core.runCell> | undefined;
        for (let i = 0; i < Math.min(5, Math.max(1, Math.round(512 / harts))); i++) {
          const t = cpu(() => core.runCell(perHartCell(harts, rounds), { base: 0, count: seeds }));
          ts.push(t.cpuSeconds);
          last = t.value;
        }
        const steps = last!.metrics.steps!.mean * seeds;
        return {
          harts,
          seeds,
          verdict: last!.verdict,
          stepsPerRun: last!.metrics.steps!.mean,
          cpuSeconds: median(ts),
          nsPerStep: (median(ts) * 1e9) / steps,
        };
      }),
    };
    break;
  }
  case 'seeds': {
    // Time per cell against the seed count: early-sfence x cross-hart-vmalloc x caches-invalid x 4.
    const { crossHartVmalloc } = await load<{ crossHartVmalloc: Cell['scenario'] }>(
      'packages/scenarios/src/index.ts',
    );
    const { earlySfence } = await load<{ earlySfence: () => Cell['strategy'] }>(
      'packages/strategy-early-sfence/src/index.ts',
    );
    const cell: Cell = {
      strategy: earlySfence(),
      scenario: crossHartVmalloc,
      machine: core.PROFILES['caches-invalid']!,
      harts: 4,
    };
    const counts = list('counts', [1, 4, 16]);
    const times = num('times', 5);
    for (let i = 0; i < 3; i++) core.runCell(cell, { base: 0, count: 16 }); // warm-up
    out = {
      rows: counts.map((count) => {
        // The median of `times` timings: each is a few ms, so one alone is mostly noise.
        const ts: number[] = [];
        let verdict = '';
        for (let i = 0; i < times; i++) {
          const t = cpu(() => core.runCell(cell, { base: 0, count }));
          ts.push(t.cpuSeconds);
          verdict = t.value.verdict;
        }
        const cpuSeconds = median(ts);
        return { seeds: count, verdict, cpuSeconds, msPerSeed: (cpuSeconds * 1e3) / count, samples: ts };
      }),
    };
    break;
  }
  case 'explore': {
    const reg = await registry();
    exploreSample(core, reg, 300, 300); // warm-up
    out = exploreSample(core, reg, num('proofExecutions', 6000), num('capExecutions', 5000));
    break;
  }
  default:
    process.stderr.write(`runner: unknown task ${task}\n`);
    process.exit(2);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
