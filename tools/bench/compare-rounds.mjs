// Interleaved wall times of `tlblab compare` at the default, --jobs 1 and --jobs 2, per tree
// (docs/bench.md, "Without --jobs"; session 6). Each repetition runs every variant once in turn.
//
//   node tools/bench/compare-rounds.mjs <reps> <sweep> [A=<tree> ...]
//   VARIANTS=A:1,A:2,B:d,B:1,B:2,run node tools/bench/compare-rounds.mjs 5 one A=/work/wt/main-built
//
// <sweep>: one | c260 | bench (the jobs figure's --quick bench sweep) | full | demo4 | demo16. A variant is
// <tree>:<jobs> (`d`: no --jobs), optionally `@KEY=V+KEY=V` for environment variables (e.g.
// `B:d@TLBLAB_SWITCH_AFTER=12`), or `run` (`tlblab run` of the one-cell sweep from tree B). Tree B
// is this checkout; every tree must be built (`pnpm build`). Prints median [min-max] per variant.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const JOBS_SCENARIOS =
  'cross-hart-vmalloc,vmap-stack-migrate,module-load-exec,ioremap-irq,vfree-reuse,tracing-in-fault-path';
// The demo's sweep (tools/demo-sweep.ts), without its seeds.
const DEMO = ['-s', 'all', '-c', 'all', '-m', 'all', '--mode', 'sv39,sv32', '--harts', '1,2,4,8'];
const SWEEPS = {
  one: [
    '-s',
    'early-sfence',
    '-c',
    'cross-hart-vmalloc',
    '-m',
    'caches-invalid',
    '--harts',
    '4',
    '--seeds',
    '64',
  ],
  c260: ['-s', 'all', '-c', 'all', '-m', 'caches-invalid', '--harts', '2,4', '--seeds', '8'],
  bench: [
    '-s',
    'all',
    '-c',
    JOBS_SCENARIOS,
    '-m',
    'caches-invalid,emulator',
    '--harts',
    '2,4',
    '--seeds',
    '48',
  ],
  full: ['-s', 'all', '-c', JOBS_SCENARIOS, '-m', 'all', '--harts', '2,4', '--seeds', '48'],
  demo4: [...DEMO, '--seeds', '4'],
  demo16: [...DEMO, '--seeds', '16'],
};

const reps = Number(process.argv[2] ?? 5);
const sweep = SWEEPS[process.argv[3] ?? 'one'];
if (!Number.isInteger(reps) || reps < 1 || sweep === undefined) {
  process.stderr.write(`usage: compare-rounds.mjs <reps> ${Object.keys(SWEEPS).join('|')} [A=<tree> ...]\n`);
  process.exit(2);
}
const trees = { B: resolve(fileURLToPath(import.meta.url), '../../..') };
for (const a of process.argv.slice(4)) {
  const [k, v] = a.split('=');
  trees[k] = resolve(v);
}
const variants = (process.env.VARIANTS ?? 'B:d,B:1,B:2').split(',');
const work = mkdtempSync(join(tmpdir(), 'compare-rounds-'));
const samples = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < reps; r++) {
  for (const v of variants) {
    const [what, envs] = v.split('@');
    const env = Object.fromEntries(
      (envs ?? '')
        .split('+')
        .filter(Boolean)
        .map((e) => e.split('=')),
    );
    let args;
    if (what === 'run') args = [join(trees.B, 'apps/cli/dist/bin.js'), 'run', ...SWEEPS.one];
    else {
      const [tree, jobs] = what.split(':');
      if (trees[tree] === undefined) throw new Error(`no tree ${tree} (give ${tree}=<dir>)`);
      args = [
        join(trees[tree], 'apps/cli/dist/bin.js'),
        'compare',
        ...sweep,
        ...(jobs === 'd' ? [] : ['--jobs', jobs]),
        '--out',
        join(work, 'out.jsonl'),
      ];
    }
    const t0 = process.hrtime.bigint();
    const p = spawnSync(process.execPath, ['--single-threaded-gc', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (p.status !== 0) throw new Error(`${v} exited ${p.status}: ${String(p.stderr).slice(-2000)}`);
    samples[v].push(seconds);
  }
}
rmSync(work, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const v of variants) {
  const xs = samples[v];
  console.log(
    `${process.argv[3] ?? 'one'} ${v.padEnd(6)} median ${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}] n=${xs.length}`,
  );
}
