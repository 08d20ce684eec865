/**
 * Command-line speed (issue 6, "Speed"): writes bench-results/cli.json.
 * - `--jobs 2` against `--jobs 1` on a sweep of at least 200 cells (whole `tlblab compare`, pool
 *   start-up included; best of three each);
 * - time per cell against the seed count (fixed cells);
 * - time per cell against the hart count for a fixed per-hart workload (every hart maps, fills and
 *   reads its own buffer and walks a user working set), per strategy.
 * Figures are wall-clock on whatever machine runs it; `loadavg` is recorded beside them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { area, defineScenario, type Op, ops, PROFILES, region, runCell } from '@tlblab/core';
import { z } from 'zod';
import { main } from '../../apps/cli/src/index.ts';
import {
  builtinParts,
  createRegistry,
  resolveStrategySet,
  scenarioById,
} from '../../apps/cli/src/registry.ts';

const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
const work = mkdtempSync(join(tmpdir(), 'tlblab-bench-'));

async function sweepSeconds(jobs: number, args: string[]): Promise<{ seconds: number; cells: number }> {
  let out = '';
  const io = {
    stdout: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream,
    stderr: quiet,
    cwd: work,
    env: {},
  };
  const t0 = performance.now();
  const code = await main(
    [...args, '--jobs', String(jobs), '--json', '--out', join(work, `jobs${jobs}.jsonl`)],
    io,
  );
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`compare exited ${code}`);
  return { seconds, cells: (JSON.parse(out) as { cells: number }).cells };
}

const SWEEP = [
  'compare',
  '-s',
  'all',
  '-c',
  'cross-hart-vmalloc,vmap-stack-migrate,module-load-exec,ioremap-irq,vfree-reuse,tracing-in-fault-path',
  '-m',
  'all',
  '--harts',
  '2,4',
  '--seeds',
  '48',
];

const jobsRuns: Record<string, number[]> = { '1': [], '2': [] };
let cells = 0;
for (let round = 0; round < 3; round++) {
  for (const jobs of [1, 2]) {
    const r = await sweepSeconds(jobs, SWEEP);
    jobsRuns[String(jobs)]!.push(Number(r.seconds.toFixed(3)));
    cells = r.cells;
  }
}
const best = (xs: number[]) => Math.min(...xs);
const speedup = best(jobsRuns['1']!) / best(jobsRuns['2']!);

// Time per cell against seeds: the same three cells, 4..32 seeds.
const registry = createRegistry(builtinParts());
const machine = PROFILES['caches-invalid']!;
const seedCells = ['cross-hart-vmalloc', 'vfree-reuse', 'tracing-in-fault-path'].map((id) => ({
  strategy: resolveStrategySet(registry, 'linux-6.12'),
  scenario: scenarioById(registry, id),
  machine,
  harts: 4,
}));
function timeCells(run: () => void, repeat = 3): number {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    run();
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  return bestMs;
}
const seedCounts = [4, 8, 16, 32];
// Warm the JIT first so the first row does not carry the compilation.
for (const c of seedCells) runCell(c, { base: 0, count: 8 });
const perSeeds = seedCounts.map((count) => {
  const ms =
    timeCells(() => {
      for (const c of seedCells) runCell(c, { base: 0, count });
    }) / seedCells.length;
  return { seeds: count, msPerCell: Number(ms.toFixed(2)), msPerSeed: Number((ms / count).toFixed(3)) };
});

// Time per cell against harts, fixed per-hart work: each hart maps its own buffer, fills it, then
// reads it and a user working set `rounds` times.
const perHart = defineScenario({
  id: 'bench-per-hart',
  meta: { title: 'fixed per-hart workload', story: 'benchmark', source: 'tools/bench/cli.ts' },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({ rounds: z.number().int().default(6), pages: z.number().int().default(8) }),
  build: (p, env) => ({
    userPages: 16,
    programs: Array.from({ length: env.harts }, (_, h) => {
      const body: Op[] = [ops.stream(`b${h}`, 'read')];
      for (let i = 0; i < 16; i++) body.push(ops.read(region('user', i)));
      return [
        ops.vmalloc(`b${h}`, p.pages),
        ops.stream(`b${h}`, 'write'),
        ops.repeat(p.rounds, body),
        ops.read(area(`b${h}`, 0)),
      ];
    }),
  }),
});
const hartCounts = [1, 2, 4, 8, 16, 32];
const perHarts = ['baseline', 'early-sfence', 'ranged-flush', 'flush-cache-vmap'].map((s) => {
  const strategy = resolveStrategySet(registry, s);
  const rows = hartCounts.map((harts) => {
    const cell = { strategy, scenario: perHart, machine, harts };
    const record = runCell(cell, { base: 0, count: 4 });
    const ms = timeCells(() => runCell(cell, { base: 0, count: 4 }));
    return {
      harts,
      msPerCell: Number(ms.toFixed(2)),
      msPerHart: Number((ms / harts).toFixed(3)),
      stepsPerRun: record.metrics.steps!.mean,
      ipisPerRun: record.metrics.ipisSent!.mean,
      verdict: record.verdict,
    };
  });
  return { strategy: s, rows };
});

const first = (rows: { msPerHart: number }[]) => rows[0]!.msPerHart;
const out = {
  machine: {
    cores: (await import('node:os')).availableParallelism(),
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  },
  jobs: {
    command: `tlblab ${SWEEP.join(' ')} --jobs N`,
    cells,
    secondsJobs1: jobsRuns['1'],
    secondsJobs2: jobsRuns['2'],
    speedupBestOf3: Number(speedup.toFixed(2)),
  },
  seeds: {
    cells: 'linux-6.12 x {cross-hart-vmalloc, vfree-reuse, tracing-in-fault-path} x caches-invalid x 4 harts',
    rows: perSeeds,
  },
  harts: {
    scenario: 'every hart: vmalloc 8 pages, fill, 6 x (stream it + 16 user pages); caches-invalid, 4 seeds',
    note: 'msPerHart flat = linear in harts. flush-cache-vmap IPIs every hart per mapping and maps once per hart, so its simulated work (steps, IPIs) itself grows with harts^2',
    strategies: perHarts.map((p) => ({
      ...p,
      msPerHartRatioLargestToOne: Number((p.rows.at(-1)!.msPerHart / first(p.rows)).toFixed(2)),
    })),
  },
};
rmSync(work, { recursive: true, force: true });
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/cli.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(out, null, 2));
