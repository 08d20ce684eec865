#!/usr/bin/env node
/**
 * Start-up and sweep figures of issue 13, A/B between two checkouts that both have a build
 * (`pnpm build`): `node apps/cli/scripts/measure-startup.mjs <repo-A> <repo-B> [reps]`.
 * Runs A B A B ... (interleaved, so both see the same load) and prints medians, spread (min-max)
 * and B/A ratios: wall of `--version`, `list scenarios`, the issue's `run` cell from dist/bin.js;
 * `compare --jobs 1` and `--jobs 2` of one sweep, beside the ceiling of two concurrent copies of a
 * CPU loop measured in the same round; and the per-cell time outside the cells (`--jobs 1` wall
 * less the start-up of `list` less the cells' own runCell time, measured in-process, per cell).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [repoA, repoB, repsText] = process.argv.slice(2);
if (!repoA || !repoB) {
  process.stderr.write('usage: measure-startup.mjs <repo-A> <repo-B> [reps]\n');
  process.exit(2);
}
const reps = Number(repsText ?? 5);
// The issue's `run` cell, defined once in run-cell.json (also read by the bench and a test).
const RUN_CELL = JSON.parse(readFileSync(new URL('./run-cell.json', import.meta.url), 'utf8'));
const CELL = [...RUN_CELL.cell, '--seeds', String(RUN_CELL.seeds)];
const SWEEP = [
  'compare',
  '-s',
  'all',
  '-c',
  'all',
  '-m',
  'all',
  '--harts',
  '1,2,4',
  '--seeds',
  process.env.SWEEP_SEEDS ?? '4',
];

function wall(repo, args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(repo, 'apps/cli/dist/bin.js'), ...args], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`${repo}: ${args.join(' ')}: ${r.stderr}`);
  return performance.now() - t0;
}

/** Wall of `copies` concurrent CPU loops of fixed work. */
function loops(copies) {
  const code = 'let x=0;for(let i=0;i<6e8;i++)x=(x*31+i)|0;if(x===42)console.log(x)';
  const t0 = performance.now();
  return Promise.all(
    Array.from(
      { length: copies },
      () => new Promise((res) => spawn(process.execPath, ['-e', code]).on('close', res)),
    ),
  ).then(() => performance.now() - t0);
}

/** Σ runCell over the sweep's cells, in-process (ms), and the cell count. */
function cellTime(repo) {
  const script = `
    const { loadRegistry, buildPlan, coreCell } = await import(${JSON.stringify(join(repo, 'apps/cli/dist/index.js'))});
    const { runCell } = await import(${JSON.stringify(join(repo, 'packages/core/dist/index.js'))});
    const { registry } = await loadRegistry({ cwd: process.cwd(), config: null, plugins: [], builtins: true });
    const seeds = { base: 0, count: ${Number(process.env.SWEEP_SEEDS ?? 4)} };
    const plan = buildPlan(registry, { strategies: ['all'], scenarios: ['all'], machines: ['all'], modes: ['sv39'], harts: [1, 2, 4], seeds, params: {}, kernel: {}, shard: null });
    let t = 0;
    for (let rep = 0; rep < 2; rep++) { t = 0; for (const c of plan.selected) { const t0 = performance.now(); runCell(coreCell(registry, c, plan.input.params, plan.input.kernel), seeds, { index: c.index }); t += performance.now() - t0; } }
    console.log(JSON.stringify({ ms: t, cells: plan.selected.length }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = {};
const add = (name, side, v) => {
  rows[name] ??= { A: [], B: [] };
  rows[name][side].push(v);
};
const out = join(tmpdir(), `measure-startup-${process.pid}.jsonl`);
for (let i = 0; i < reps; i++) {
  for (const [side, repo] of [
    ['A', repoA],
    ['B', repoB],
  ]) {
    add('--version ms', side, wall(repo, ['--version']));
    add('list scenarios ms', side, wall(repo, ['list', 'scenarios']));
    add('run cell ms', side, wall(repo, CELL));
  }
  if (process.env.SKIP_SWEEP) continue;
  const one = await loops(1);
  const two = await loops(2);
  const ceiling = (2 * one) / two;
  for (const [side, repo] of [
    ['A', repoA],
    ['B', repoB],
  ]) {
    const j1 = wall(repo, [...SWEEP, '--jobs', '1', '--out', out]);
    const j2 = wall(repo, [...SWEEP, '--jobs', '2', '--out', out]);
    add('compare --jobs 1 ms', side, j1);
    add('compare --jobs 2 ms', side, j2);
    add('jobs-2 speedup / two-loop ceiling', side, j1 / j2 / ceiling);
    if (i === 0) {
      const { ms, cells } = cellTime(repo);
      const startup = wall(repo, ['list', 'scenarios']);
      add('outside-cell ms/cell (jobs 1)', side, (j1 - startup - ms) / cells);
      add('cells', side, cells);
    }
  }
  add('two-loop ceiling', 'A', ceiling);
}
rmSync(out, { force: true });
console.log(
  `A = ${repoA}\nB = ${repoB}\n${reps} interleaved rounds; median [min-max]; ratio = B/A of medians`,
);
for (const [name, { A, B }] of Object.entries(rows)) {
  const f = (xs) =>
    xs.length
      ? `${median(xs).toFixed(name.includes('/') ? 3 : 1)} [${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}]`
      : '-';
  const ratio = A.length && B.length ? (median(B) / median(A)).toFixed(3) : '';
  console.log(`${name.padEnd(36)} A ${f(A).padEnd(28)} B ${f(B).padEnd(28)} ${ratio}`);
}
