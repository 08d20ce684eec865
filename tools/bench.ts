/**
 * `pnpm bench [--quick] [--base REF] [--name NAME] [--demo-reps N] [FIGURE...]`: issue 13's figures, each a ratio
 * measured in this one run with interleaved repetitions (medians and spread), printed as a table
 * and written with every raw sample to bench-results/NAME.json (default `bench`). See docs/bench.md.
 *
 * The base tree: `TLBLAB_BENCH_BASE=<dir>` (an installed checkout, used read-only) or `--base REF`
 * (a temporary detached worktree, installed and removed afterwards). Without one, the current tree
 * is measured alone against its references and the table says so.
 * Figures: steploop, demo, cli, jobs, memory, scaling, explore, wasm (all by default; wasm measures
 * the hardware path only, current tree only).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIGURES, type Figure, type FigureName, type Row, withScratch } from './bench/figures.ts';
import { machineInfo } from './bench/stats.ts';
import { CURRENT_DIR, type Tree, worktreeOf } from './bench/trees.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const quick = argv.includes('--quick');
if (quick) argv.splice(argv.indexOf('--quick'), 1);
const baseRef = flag('--base');
const demoRepsText = flag('--demo-reps');
const demoReps = demoRepsText === undefined ? undefined : Number(demoRepsText);
if (demoReps !== undefined && !(Number.isInteger(demoReps) && demoReps > 0)) {
  process.stderr.write('bench: --demo-reps takes a positive integer\n');
  process.exit(2);
}
const name = flag('--name') ?? (quick ? 'bench-quick' : 'bench');
const all = Object.keys(FIGURES) as FigureName[];
const unknown = argv.filter((a) => !all.includes(a as FigureName));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown figure or flag ${unknown.join(', ')} (figures: ${all.join(', ')})\n`);
  process.exit(2);
}
const wanted = argv.length > 0 ? (argv as FigureName[]) : all;

const log = (s: string) => process.stderr.write(`${s}\n`);
const trees: Tree[] = [{ label: 'current', dir: CURRENT_DIR, owned: true }];
let cleanup = () => {};
const baseEnv = process.env.TLBLAB_BENCH_BASE;
if (baseRef) {
  const w = worktreeOf(baseRef);
  trees.push(w.tree);
  cleanup = w.cleanup;
} else if (baseEnv) {
  if (
    !existsSync(join(baseEnv, 'packages/core/src/index.ts')) ||
    !existsSync(join(baseEnv, 'node_modules'))
  ) {
    log(`bench: TLBLAB_BENCH_BASE=${baseEnv} is not an installed tlblab checkout`);
    process.exit(2);
  }
  trees.push({ label: 'base', dir: baseEnv, owned: false });
}
const baseNote = trees[1]
  ? `base: ${trees[1].dir}${baseRef ? ` (${baseRef})` : ''}`
  : 'no base tree (set TLBLAB_BENCH_BASE=<dir> or pass --base <ref>): the current tree alone against its references; the base and ratio columns are empty';
log(`bench: current ${CURRENT_DIR}; ${baseNote}${quick ? '; --quick' : ''}`);
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const started = new Date();
const before = machineInfo();
const results: Record<string, Figure | { error: string }> = {};
const rows: Row[] = [];
try {
  await withScratch(async (work) => {
    for (const fig of wanted) {
      const t0 = performance.now();
      log(`bench: ${fig} ...`);
      try {
        const f = await FIGURES[fig]({ trees, quick, work, timeBin, log, demoReps });
        results[fig] = f;
        rows.push(...f.rows);
        for (const r of f.rows) log(`  ${r.figure}: ${r.current}${r.ratio ? `; vs base ${r.ratio}` : ''}`);
      } catch (e) {
        // One figure failing (e.g. a tree whose CLI cannot start) must not lose the others.
        const msg = (e as Error).message;
        results[fig] = { error: msg };
        rows.push({
          figure: fig,
          current: `FAILED: ${msg.split('\n')[0]}`,
          base: '',
          ratio: '',
          target: '',
          met: false,
        });
        log(`bench: ${fig} failed: ${msg}`);
      }
      log(`bench: ${fig} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  });
} finally {
  cleanup();
}

// The table: figure, current, base, ratio (speedup of current over base), target, met?
const header = ['figure', 'current median [min–max]', 'base', 'speedup', 'target', 'met?'];
const cells = rows.map((r) => [
  r.figure,
  r.current,
  r.base,
  r.ratio,
  r.target,
  r.met === null ? '-' : r.met ? 'yes' : 'NO',
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
const table = [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
// A machine busier than its cores makes wall-clock figures (demo, run, --jobs) swing by tens of
// percent between identical trees: say so beside the table rather than let a ratio pass as a finding.
const after = machineInfo();
const busiest = Math.max(before.loadavg[0]!, after.loadavg[0]!);
const loadNote =
  busiest > before.nproc
    ? `warning: 1-min load average reached ${busiest} on ${before.nproc} CPUs during this run: wall-clock ratios are unreliable (compare two identical trees to see the noise floor)`
    : `load average ${before.loadavg[0]} at start, ${after.loadavg[0]} at end on ${before.nproc} CPUs`;
process.stdout.write(`\n${baseNote}\n${loadNote}\n${table}\n`);

const out = {
  name,
  quick,
  started: started.toISOString(),
  seconds: Math.round((Date.now() - started.getTime()) / 1000),
  machine: { ...before, loadavgAtEnd: after.loadavg },
  loadNote,
  trees: trees.map((t) => ({
    label: t.label,
    dir: t.dir,
    ref: t.label === 'base' ? (baseRef ?? null) : null,
  })),
  note: baseNote,
  table: rows,
  figures: results,
};
mkdirSync(join(CURRENT_DIR, 'bench-results'), { recursive: true });
const file = join(CURRENT_DIR, 'bench-results', `${name}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
log(`bench: wrote ${file}`);
process.exitCode = Object.values(results).some((r) => 'error' in r) ? 1 : 0;
