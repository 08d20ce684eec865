/**
 * The figures of issue 13's "Done when", each measured with interleaved repetitions across the
 * trees (and references) in one bench run. A figure returns its raw samples and summaries (for the
 * JSON) and rows of the final table. Every "ratio" in the table is a speedup of the current tree
 * over the base (> 1 = current better): base time / current time, or current rate / base rate.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_SEEDS, DEMO_SWEEP } from '../demo-sweep.ts';
import {
  type ChildResult,
  interleaved,
  lastJson,
  median,
  ratio,
  runChild,
  type Summary,
  sig,
  summarize,
} from './stats.ts';
import { CURRENT_DIR, cliLaunch, type Launch, prepare, scriptLaunch, type Tree, tsxLoader } from './trees.ts';
import { wasmHwPath } from './wasm.ts';

export interface Row {
  readonly figure: string;
  readonly current: string;
  readonly base: string;
  readonly ratio: string;
  readonly target: string;
  /** null: no target for this row, or it needs the base and there is none. */
  readonly met: boolean | null;
}

export interface Ctx {
  readonly trees: readonly Tree[];
  readonly quick: boolean;
  readonly work: string;
  readonly timeBin: string | null;
  /** `--demo-reps N`: the demo's repetitions (it is the longest figure). */
  readonly demoReps?: number;
  readonly log: (s: string) => void;
}

export interface Figure {
  readonly rows: Row[];
  readonly data: Record<string, unknown>;
}

const spread = (s: Summary, unit = '') =>
  `${sig(s.median)}${unit} [${sig(s.min)}–${sig(s.max)}]${s.n > 1 ? ` n=${s.n}` : ''}`;
const hasBase = (ctx: Ctx) => ctx.trees.some((t) => t.label === 'base');

/** A runner sample for `tree` (see runner.ts); wasm.ts's runner arms use it too. */
export async function sample<T>(ctx: Ctx, task: string, tree: Tree, args: object): Promise<T> {
  const r = await runChild(
    process.execPath,
    [
      '--conditions=source',
      '--single-threaded-gc',
      '--import',
      tsxLoader(CURRENT_DIR),
      join(CURRENT_DIR, 'tools/bench/runner.ts'),
      task,
      tree.dir,
      JSON.stringify(args),
    ],
    { cwd: ctx.work },
  );
  if (r.code !== 0)
    throw new Error(`runner ${task} (${tree.label}) exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return lastJson<T>(r.stdout);
}

/** A fresh empty cwd for a command that writes results next to itself. */
function scratch(ctx: Ctx): string {
  return mkdtempSync(join(ctx.work, 'run-'));
}

async function timedLaunch(ctx: Ctx, launch: Launch, extra: readonly string[]): Promise<ChildResult> {
  const cwd = scratch(ctx);
  const r = await runChild(launch.cmd, [...launch.args, ...extra], {
    cwd,
    timeV: true,
    timeBin: ctx.timeBin,
  });
  rmSync(cwd, { recursive: true, force: true });
  if (r.code !== 0)
    throw new Error(`${launch.how} ${extra.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r;
}

/** Summaries per arm, and the current-over-base speedup row values. */
function compareArms(
  samples: Record<string, number[]>,
  higherIsBetter: boolean,
): { cur: Summary; base: Summary | null; speedup: ReturnType<typeof ratio> | null } {
  const cur = summarize(samples.current ?? []);
  const b = samples.base ? summarize(samples.base) : null;
  const speedup = b
    ? higherIsBetter
      ? ratio(samples.current!, samples.base!)
      : ratio(samples.base!, samples.current!)
    : null;
  return { cur, base: b, speedup };
}

const ratioText = (r: ReturnType<typeof ratio> | null) =>
  r ? `${sig(r.ofMedians)}× [${sig(r.min)}–${sig(r.max)}]` : '(no base)';

// ---------------------------------------------------------------------------------------------
// 1. The step loop against its references.

/**
 * The C bare-lookup reference (ref/lookup.c), compiled at `cc -O2` into the bench's scratch dir as
 * `name`; `cSkipped` says why when there is no compiler (the figures then leave the C rows out).
 */
export function compileCReference(
  ctx: Ctx,
  name: string,
): { cSrc: string; cBin: string; cSkipped: string | null } {
  const cSrc = join(CURRENT_DIR, 'tools/bench/ref/lookup.c');
  const cBin = join(ctx.work, name);
  try {
    execFileSync('cc', ['-O2', '-o', cBin, cSrc], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cSrc, cBin, cSkipped: null };
  } catch (e) {
    const cSkipped = `C reference skipped: \`cc -O2\` failed or no C compiler (${(e as Error).message.split('\n')[0]})`;
    ctx.log(cSkipped);
    return { cSrc, cBin, cSkipped };
  }
}

export async function stepLoop(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 3 : 5;
  const harts = 8;
  const accessesPerHart = ctx.quick ? 60_000 : 250_000;
  const accesses = harts * accessesPerHart;
  const { cSrc, cBin, cSkipped } = compileCReference(ctx, 'lookup');
  const arms = [...ctx.trees.map((t) => t.label), 'fair', 'bare', ...(cSkipped ? [] : ['c'])];
  const raw = await interleaved(arms, reps, async (arm) => {
    const tree = ctx.trees.find((t) => t.label === arm);
    if (tree)
      return sample<{ rate: number; accesses: number; outcome: string }>(ctx, 'steploop', tree, {
        harts,
        accessesPerHart,
      });
    if (arm === 'c') {
      const r = await runChild(cBin, [String(harts), String(accesses), '64', '4']);
      const j = lastJson<{ accesses: number; cpuSeconds: number }>(r.stdout);
      return { rate: j.accesses / j.cpuSeconds, accesses: j.accesses, outcome: 'ok' };
    }
    return sample<{ rate: number; accesses: number; outcome: string }>(ctx, arm, ctx.trees[0]!, {
      harts,
      accesses,
    });
  });
  const rates = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.map((x) => x.rate)]));
  const { cur, base, speedup } = compareArms(rates, true);
  const vs = (ref: string) => (rates[ref] ? ratio(rates.current!, rates[ref]!) : null);
  const fair = vs('fair');
  const c = vs('c');
  const bare = vs('bare');
  const M = (s: Summary) =>
    spread({ ...s, median: s.median / 1e6, min: s.min / 1e6, max: s.max / 1e6 }, ' M/s');
  const rows: Row[] = [
    {
      figure: 'step loop accesses/CPU-s',
      current: M(cur),
      base: base ? M(base) : '-',
      ratio: ratioText(speedup),
      target: '≥ 2.5×',
      met: speedup ? speedup.ofMedians >= 2.5 : null,
    },
    {
      figure: 'step loop / fair JS ref',
      current: fair ? `${sig(fair.ofMedians)} [${sig(fair.min)}–${sig(fair.max)}]` : '-',
      base: base && rates.fair ? sig(median(rates.base!) / median(rates.fair)) : '-',
      ratio: '',
      target: '≥ 0.85',
      met: fair ? fair.ofMedians >= 0.85 : null,
    },
    {
      figure: 'step loop / C -O2 bare lookup',
      current: c ? `${sig(c.ofMedians)} [${sig(c.min)}–${sig(c.max)}]` : (cSkipped ?? '-'),
      base: base && rates.c ? sig(median(rates.base!) / median(rates.c)) : '-',
      ratio: '',
      target: '≥ 0.05',
      met: c ? c.ofMedians >= 0.05 : null,
    },
    {
      figure: 'step loop / JS bare lookup',
      current: bare ? `${sig(bare.ofMedians)} [${sig(bare.min)}–${sig(bare.max)}]` : '-',
      base: base && rates.bare ? sig(median(rates.base!) / median(rates.bare)) : '-',
      ratio: '',
      target: '',
      met: null,
    },
  ];
  const refs = Object.fromEntries(
    ['fair', 'bare', 'c'].filter((k) => rates[k]).map((k) => [k, summarize(rates[k]!)]),
  );
  return {
    rows,
    data: {
      workload: `runPrepared: ${harts} harts, caches-invalid, ${accessesPerHart} accesses per hart (48 user + 16 vmalloc pages per round, hart 0 maps every 50 rounds), seed 1; references on the same page stream and count`,
      unit: 'accesses per CPU second',
      reps,
      arms,
      samples: raw,
      current: cur,
      base,
      references: refs,
      cReference: cSkipped ?? `cc -O2 ${cSrc}`,
      speedupCurrentOverBase: speedup,
      modelOverFair: fair,
      modelOverC: c,
      modelOverBareJs: bare,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. The demo end to end.

export async function demo(ctx: Ctx): Promise<Figure> {
  const reps = ctx.demoReps ?? (ctx.quick ? 1 : 3);
  // --quick: a smaller comparison (extra arguments go to the demo's `tlblab compare`; the last
  // --harts and --seeds win).
  const extra = ctx.quick ? ['--seeds', '1', '--harts', '2'] : [];
  const launches = Object.fromEntries(ctx.trees.map((t) => [t.label, scriptLaunch(t.dir, 'demo')]));
  for (const t of ctx.trees) prepare(t, launches[t.label]!);
  const raw = await interleaved(
    ctx.trees.map((t) => t.label),
    reps,
    async (arm) => {
      const r = await timedLaunch(ctx, launches[arm]!, extra);
      ctx.log(`  demo ${arm}: ${r.wallSeconds.toFixed(1)} s`);
      return { seconds: r.wallSeconds, peakRssMB: r.peakRssMB };
    },
  );
  const secs = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.map((x) => x.seconds)]));
  const { cur, base, speedup } = compareArms(secs, false);
  return {
    rows: [
      {
        figure: `demo wall s${ctx.quick ? ' (--seeds 1 --harts 2)' : ''}`,
        current: spread(cur, ' s'),
        base: base ? spread(base, ' s') : '-',
        ratio: ratioText(speedup),
        // The issue's "≤ ~6 s on a quiet 2-core machine" is about the full demo: --quick judges the ratio only.
        target: ctx.quick ? '≥ 2.5× (≤ ~6 s: full demo)' : '≥ 2.5× and ≤ ~6 s quiet',
        met: speedup ? speedup.ofMedians >= 2.5 && (ctx.quick || cur.median <= 6) : null,
      },
    ],
    data: {
      how: Object.fromEntries(Object.entries(launches).map(([k, l]) => [k, l.how])),
      extraArgs: extra,
      reps,
      samples: raw,
      current: cur,
      base,
      speedupCurrentOverBase: speedup,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Time to a verdict for one cell from the installed bin.

/** The issue's cell, defined once in apps/cli/scripts/run-cell.json (measure-startup.mjs, a test). */
const RUN_CELL_SPEC = JSON.parse(
  readFileSync(join(CURRENT_DIR, 'apps/cli/scripts/run-cell.json'), 'utf8'),
) as { readonly cell: readonly string[]; readonly seeds: number };
const RUN_CELL = [...RUN_CELL_SPEC.cell, '--seeds', String(RUN_CELL_SPEC.seeds)];

export async function cliRun(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 3 : 7;
  const launches = Object.fromEntries(ctx.trees.map((t) => [t.label, cliLaunch(t.dir)]));
  for (const t of ctx.trees) {
    prepare(t, launches[t.label]!);
    ctx.log(`  ${t.label} CLI: ${launches[t.label]!.how}`);
    await timedLaunch(ctx, launches[t.label]!, RUN_CELL); // warm the file cache
  }
  const raw = await interleaved(
    ctx.trees.map((t) => t.label),
    reps,
    async (arm) => (await timedLaunch(ctx, launches[arm]!, RUN_CELL)).wallSeconds,
  );
  const { cur, base, speedup } = compareArms(raw, false);
  const ms = (s: Summary) =>
    spread({ ...s, median: s.median * 1e3, min: s.min * 1e3, max: s.max * 1e3 }, ' ms');
  return {
    rows: [
      {
        figure: 'tlblab run (1 cell, 64 seeds) wall',
        current: ms(cur),
        base: base ? ms(base) : '-',
        ratio: ratioText(speedup),
        target: '≤ 400 ms',
        met: cur.median <= 0.4,
      },
    ],
    data: {
      command: `tlblab ${RUN_CELL.join(' ')}`,
      how: Object.fromEntries(Object.entries(launches).map(([k, l]) => [k, l.how])),
      reps,
      unit: 'wall seconds',
      samples: raw,
      current: cur,
      base,
      speedupCurrentOverBase: speedup,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 4. --jobs 2 against the two-CPU-loop ceiling.

const CPU_LOOP =
  'let x=1;const n=Number(process.argv[1]);for(let i=0;i<n;i++){x=(Math.imul(x,1103515245)+12345)|0}process.stdout.write(String(x))';

/** User + system CPU seconds of a child run under GNU time -v (null without it). */
function cpuSecondsOf(r: ChildResult): number | null {
  const u = /User time \(seconds\): ([\d.]+)/.exec(r.stderr);
  const s = /System time \(seconds\): ([\d.]+)/.exec(r.stderr);
  return u && s ? Number(u[1]) + Number(s[1]) : null;
}

const JOBS_SCENARIOS =
  'cross-hart-vmalloc,vmap-stack-migrate,module-load-exec,ioremap-irq,vfree-reuse,tracing-in-fault-path';

/**
 * One `--jobs` workload: the sweep at --jobs 1 and 2 per tree and, in the same rotation, the
 * ceiling. Besides the wall-clock efficiency (the issue's figure) it records the CPU seconds of
 * each sweep: `cpu2 / cpu1`, the CPU the second worker adds, moves far less with the machine's load
 * than wall time does, and says how close to the ceiling a quiet machine could get.
 */
async function jobsWorkload(
  ctx: Ctx,
  label: string,
  args: readonly string[],
  reps: number,
  loopIters: string,
  /** Also time the sweep without `--jobs` (session 6: the default adapts, apps/cli/src/in-thread.ts). */
  withDefault = false,
): Promise<Figure> {
  const sweep = (out: string, j: number) => [
    'compare',
    ...args,
    ...(j > 0 ? ['--jobs', String(j)] : []),
    '--out',
    out,
  ];
  const launches = Object.fromEntries(ctx.trees.map((t) => [t.label, cliLaunch(t.dir)]));
  const cpuLoop = () => runChild(process.execPath, ['-e', CPU_LOOP, loopIters]);
  // One arm = one tree's jobs-1 and jobs-2 sweeps; the ceiling is its own arm, in the same rotation.
  const arms = [...ctx.trees.map((t) => t.label), 'ceiling'];
  const raw = await interleaved(arms, reps, async (arm) => {
    if (arm === 'ceiling') {
      const one = (await cpuLoop()).wallSeconds;
      const t0 = process.hrtime.bigint();
      await Promise.all([cpuLoop(), cpuLoop()]);
      const two = Number(process.hrtime.bigint() - t0) / 1e9;
      return { a: one, b: two, speedup: (2 * one) / two, cpuA: null, cpuB: null, d: null };
    }
    const l = launches[arm]!;
    const j1 = await timedLaunch(ctx, l, sweep(join(ctx.work, `${arm}-j1.jsonl`), 1));
    const j2 = await timedLaunch(ctx, l, sweep(join(ctx.work, `${arm}-j2.jsonl`), 2));
    const jd = withDefault ? await timedLaunch(ctx, l, sweep(join(ctx.work, `${arm}-jd.jsonl`), 0)) : null;
    ctx.log(
      `  jobs ${label} ${arm}: --jobs 1 ${j1.wallSeconds.toFixed(1)} s (cpu ${cpuSecondsOf(j1)?.toFixed(1) ?? '?'}), --jobs 2 ${j2.wallSeconds.toFixed(1)} s (cpu ${cpuSecondsOf(j2)?.toFixed(1) ?? '?'})${jd ? `, default ${jd.wallSeconds.toFixed(1)} s` : ''}`,
    );
    return {
      a: j1.wallSeconds,
      b: j2.wallSeconds,
      speedup: j1.wallSeconds / j2.wallSeconds,
      cpuA: cpuSecondsOf(j1),
      cpuB: cpuSecondsOf(j2),
      d: jd?.wallSeconds ?? null,
    };
  });
  const ceiling = raw.ceiling!.map((x) => x.speedup);
  const eff = (arm: string) =>
    raw[arm] ? raw[arm]!.map((x, i) => x.speedup / (ceiling[i] ?? Number.NaN)) : undefined;
  const effs: Record<string, number[]> = {};
  const cpuRatios: Record<string, number[]> = {};
  for (const t of ctx.trees) {
    effs[t.label] = eff(t.label)!;
    const rs = raw[t.label]!.flatMap((x) => (x.cpuA && x.cpuB ? [x.cpuB / x.cpuA] : []));
    if (rs.length > 0) cpuRatios[t.label] = rs;
  }
  const { cur, base, speedup } = compareArms(effs, true);
  const rows: Row[] = [
    {
      figure: `--jobs 2 speedup / CPU-loop ceiling (${label})`,
      current: spread(cur),
      base: base ? spread(base) : '-',
      ratio: ratioText(speedup),
      target: '≥ 0.9',
      met: cur.median >= 0.9,
    },
  ];
  const cpu = cpuRatios.current ? compareArms(cpuRatios, false) : null;
  if (cpu) {
    rows.push({
      figure: `--jobs 2 CPU / --jobs 1 CPU (${label})`,
      current: spread(cpu.cur),
      base: cpu.base ? spread(cpu.base) : '-',
      ratio: ratioText(cpu.speedup),
      target: '-',
      met: null,
    });
  }
  // Without --jobs (the base's default is one worker per core): wall time over the faster of
  // --jobs 1 and --jobs 2 in the same repetition. The default should be as fast as the better one.
  const defaults: Record<string, number[]> = {};
  for (const t of ctx.trees) {
    const rs = raw[t.label]!.flatMap((x) => (x.d !== null ? [x.d / Math.min(x.a, x.b)] : []));
    if (rs.length > 0) defaults[t.label] = rs;
  }
  const def = defaults.current ? compareArms(defaults, false) : null;
  if (def) {
    rows.push({
      figure: `no --jobs / faster of --jobs 1, 2, wall (${label})`,
      current: spread(def.cur),
      base: def.base ? spread(def.base) : '-',
      ratio: ratioText(def.speedup),
      target: '≤ 1.05',
      met: def.cur.median <= 1.05,
    });
  }
  return {
    rows,
    data: {
      command: `tlblab ${sweep('OUT', 9).join(' ').replace('--jobs 9', '[--jobs N]')}`,
      ceiling: `node -e <int loop of ${loopIters} iterations>: one copy, then two at once; ceiling = 2 t1 / t2`,
      reps,
      samples: raw,
      ceilingSpeedup: summarize(ceiling),
      sweepSpeedup: Object.fromEntries(
        ctx.trees.map((t) => [t.label, summarize(raw[t.label]!.map((x) => x.speedup))]),
      ),
      efficiency: { current: cur, base },
      cpuJobs2OverJobs1: cpu ? { current: cpu.cur, base: cpu.base } : null,
      defaultOverFaster: def ? { current: def.cur, base: def.base } : null,
    },
  };
}

export async function jobs(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 2 : 3;
  const loopIters = String(ctx.quick ? 4e8 : 8e8);
  // The bench sweep: sized so one sweep takes a few seconds at --jobs 1 (4-5 s quick, here): a
  // second worker's start and JIT warm-up is paid once per sweep, as in the sweeps --jobs is for;
  // at 8 seeds (0.7 s after the per-cell work got cheaper) it was most of the sweep.
  // --quick: two machines instead of all seven (about 2/7 of the cells).
  const bench = await jobsWorkload(
    ctx,
    'bench sweep',
    [
      '-s',
      'all',
      '-c',
      JOBS_SCENARIOS,
      '-m',
      ctx.quick ? 'caches-invalid,emulator' : 'all',
      '--harts',
      '2,4',
      '--seeds',
      '48',
    ],
    reps,
    loopIters,
    true,
  );
  // The demo's sweep (tools/demo.ts), the project's real one: every set, scenario and machine, Sv39
  // and Sv32, 1-8 harts. 16 seeds as the demo runs it (~20 s of CPU at --jobs 1); --quick: 4 seeds.
  // Each V8 isolate compiles its own code, ~1.5 s of CPU on V8's background threads per worker
  // for the bench sweep: a longer sweep pays that less per cell (docs/bench.md, "--jobs").
  const demoSweep = await jobsWorkload(
    ctx,
    'demo sweep',
    [...DEMO_SWEEP, '--seeds', ctx.quick ? '4' : String(DEMO_SEEDS)],
    ctx.quick ? 1 : 2,
    loopIters,
  );
  return {
    rows: [...bench.rows, ...demoSweep.rows],
    data: { ...bench.data, demoSweep: demoSweep.data },
  };
}

// ---------------------------------------------------------------------------------------------
// 5. Peak memory of a 64-hart run of ~1 M accesses, as a user runs it.

/**
 * The installed bin on a built-in cell: fork-storm on 64 harts, one seed, 1.1 M accesses (each of
 * the 64 shells does 4 forks and, between them, 64 passes over its 64 user pages and 3 kernel
 * pages). Peak RSS is the whole process's (main thread and any worker), read by a preload that
 * prints `process.resourceUsage().maxRSS` at exit, so it needs neither GNU time nor the tree's
 * own help, and measures the base tree the same way.
 */
const MEMORY_CELL = [
  'run',
  '-s',
  'early-sfence',
  '-c',
  'fork-storm',
  '-m',
  'caches-invalid',
  '--harts',
  '64',
  '--seed',
  '0',
  '--param',
  'userPages=64',
  '--param',
  'backgroundRounds=64',
  '--param',
  'tasksPerHart=4',
  '--json',
];
const PEAK_RSS_HOOK =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript source for the child; its template literal runs there
  'data:text/javascript,process.on("exit",()=>process.stderr.write(`\\ntlblab-bench peak-rss-kb ${process.resourceUsage().maxRSS}\\n`))';

async function peakRss(
  ctx: Ctx,
  launch: Launch,
  extra: readonly string[],
): Promise<{ peakRssMB: number; stdout: string }> {
  const cwd = scratch(ctx);
  const r = await runChild(launch.cmd, ['--import', PEAK_RSS_HOOK, ...launch.args, ...extra], { cwd });
  rmSync(cwd, { recursive: true, force: true });
  const m = /tlblab-bench peak-rss-kb (\d+)/.exec(r.stderr);
  if (r.code !== 0 || !m)
    throw new Error(`${launch.how} ${extra.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return { peakRssMB: Number(m[1]) / 1024, stdout: r.stdout };
}

export async function memory(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 1 : 2;
  const launches = Object.fromEntries(ctx.trees.map((t) => [t.label, cliLaunch(t.dir)]));
  for (const t of ctx.trees) prepare(t, launches[t.label]!);
  const raw = await interleaved(
    ctx.trees.map((t) => t.label),
    reps,
    async (arm) => {
      const l = launches[arm]!;
      const run = await peakRss(ctx, l, MEMORY_CELL);
      const record = lastJson<{ outcomes: Record<string, number>; metrics: { accesses: { mean: number } } }>(
        run.stdout,
      );
      // The same command's footprint without the run: start-up, modules, registry.
      const idle = await peakRss(ctx, l, ['list', 'scenarios']);
      return {
        peakRssMB: run.peakRssMB,
        startupRssMB: idle.peakRssMB,
        accesses: record.metrics.accesses.mean,
        outcomes: record.outcomes,
      };
    },
  );
  const peak = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.map((x) => x.peakRssMB)]));
  const { cur, base, speedup } = compareArms(peak, false);
  const pre = (arm: string) =>
    raw[arm] ? ` (start-up ${sig(median(raw[arm]!.map((x) => x.startupRssMB)))})` : '';
  return {
    rows: [
      {
        figure: 'peak RSS, 64 harts × ~1 M accesses',
        current: spread(cur, ' MB') + pre('current'),
        base: base ? spread(base, ' MB') + pre('base') : '-',
        ratio: ratioText(speedup),
        target: '≤ 150 MB',
        met: cur.median <= 150,
      },
    ],
    data: {
      command: `tlblab ${MEMORY_CELL.join(' ')}`,
      how: Object.fromEntries(Object.entries(launches).map(([k, l]) => [k, l.how])),
      note: 'process.resourceUsage().maxRSS at exit of the installed bin (main thread and workers); start-up = the same for `tlblab list scenarios`',
      samples: raw,
      current: cur,
      base,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 6. Cost per step against harts, time against seeds.

export async function scaling(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 1 : 3;
  const counts = ctx.quick ? [32, 128, 512] : [32, 64, 128, 256, 512];
  const rounds = ctx.quick ? 10 : 20;
  const labels = ctx.trees.map((t) => t.label);
  const tree = (arm: string) => ctx.trees.find((t) => t.label === arm)!;
  type HartRow = {
    harts: number;
    nsPerStep: number;
    verdict: string;
    stepsPerRun: number;
  };
  type SeedRow = { seeds: number; msPerSeed: number; cpuSeconds: number };
  const harts = await interleaved(labels, reps, (arm) =>
    sample<{ rows: HartRow[] }>(ctx, 'harts', tree(arm), { counts, seeds: 1, rounds }),
  );
  // 1, 4, 16 as issue 13 asks, and 64: a seed costs about a millisecond, so slopes over 12 and 48
  // seeds are what the noise leaves readable.
  const seedCounts = [1, 4, 16, 64];
  const seeds = await interleaved(labels, reps, (arm) =>
    sample<{ rows: SeedRow[] }>(ctx, 'seeds', tree(arm), { counts: seedCounts, times: ctx.quick ? 7 : 9 }),
  );
  const byArm = (f: (arm: string) => number[]) => Object.fromEntries(labels.map((l) => [l, f(l)]));
  const at = (arm: string, i: number, k: 'nsPerStep') => harts[arm]!.map((s) => s.rows[i]![k]);
  const last = counts.length - 1;
  const flatTotal = compareArms(
    byArm((a) => at(a, last, 'nsPerStep').map((x, r) => x / at(a, 0, 'nsPerStep')[r]!)),
    false,
  );
  const ns = compareArms(
    byArm((a) => at(a, last, 'nsPerStep')),
    false,
  );
  // Linear in seeds: the cost of one more seed from 4 to 16 over that from 1 to 4 (1 = affine).
  const slope = (s: { rows: SeedRow[] }, i: number, j: number) =>
    (s.rows[j]!.cpuSeconds - s.rows[i]!.cpuSeconds) / (seedCounts[j]! - seedCounts[i]!);
  const linear = compareArms(
    byArm((a) => seeds[a]!.map((s) => slope(s, 2, 3) / slope(s, 1, 2))),
    false,
  );
  const perSeed = compareArms(
    byArm((a) => seeds[a]!.map((s) => slope(s, 1, 2) * 1e3)),
    false,
  );
  const big = counts[last]!;
  return {
    rows: [
      {
        figure: `ns/step at ${big} harts (prepare+boot incl.)`,
        current: spread(ns.cur, ' ns'),
        base: ns.base ? spread(ns.base, ' ns') : '-',
        ratio: ratioText(ns.speedup),
        target: '',
        met: null,
      },
      {
        figure: `ns/step ${big}/${counts[0]} harts`,
        current: spread(flatTotal.cur),
        base: flatTotal.base ? spread(flatTotal.base) : '-',
        ratio: '',
        target: '≤ 1.25 (flat)',
        met: flatTotal.cur.median <= 1.25,
      },
      {
        figure: 'ms per extra seed (16→64 seeds)',
        current: spread(perSeed.cur, ' ms'),
        base: perSeed.base ? spread(perSeed.base, ' ms') : '-',
        ratio: ratioText(perSeed.speedup),
        target: '',
        met: null,
      },
      {
        figure: 'seed cost 16→64 / 4→16 (linear = 1)',
        current: spread(linear.cur),
        base: linear.base ? spread(linear.base) : '-',
        ratio: '',
        // Linear or better: a later seed must not cost more than an earlier one (JIT warm-up and
        // per-cell work make it cost less).
        target: '≤ 1.25 (linear)',
        met: linear.cur.median <= 1.25,
      },
    ],
    data: {
      harts: {
        workload: `runCell, 1 seed, ${rounds} rounds: every hart vmallocs 8 pages, fills them, rounds x (stream them + 16 user pages); no maintenance policy; caches-invalid; CPU time / engine steps.; prepare and boot included`,
        counts,
        nsPerStep: Object.fromEntries(
          labels.map((a) => [
            a,
            counts.map((h, i) => ({
              harts: h,
              ...summarize(at(a, i, 'nsPerStep')),
            })),
          ]),
        ),
        samples: harts,
      },
      seeds: {
        workload:
          'runCell early-sfence x cross-hart-vmalloc x caches-invalid x 4 harts, CPU time (median of repeated timings in one process)',
        samples: seeds,
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 7. The explorer (issue 17).

export async function explore(ctx: Ctx): Promise<Figure> {
  const reps = ctx.quick ? 1 : 3;
  const labels = ctx.trees
    .filter((t) => existsSync(join(t.dir, 'apps/cli/src/registry.ts')))
    .map((t) => t.label);
  type Cell = {
    cell: string;
    found: boolean;
    ms: number;
    executions: number;
    executionsPerSecond: number;
    operations: number | null;
  };
  type Ex = {
    executionsPerSecond: number;
    totalMsToFirstCounterexamples: number;
    maxMsToFirstCounterexample: number;
    operationsBound: boolean;
    firstCounterexample: Cell[];
  };
  // The cap holds for a cell's whole search, smaller instances' proofs included (module-load-exec
  // proves two one-module instances, about 4100 executions, before its two-module one fails).
  const cap = ctx.quick ? 10_000 : 20_000;
  const raw = await interleaved(labels, reps, (arm) =>
    sample<Ex>(ctx, 'explore', ctx.trees.find((t) => t.label === arm)!, {
      proofExecutions: ctx.quick ? 2000 : 6000,
      capExecutions: cap,
    }),
  );
  const eps = compareArms(
    Object.fromEntries(labels.map((a) => [a, raw[a]!.map((x) => x.executionsPerSecond)])),
    true,
  );
  const ttf = compareArms(
    Object.fromEntries(labels.map((a) => [a, raw[a]!.map((x) => x.totalMsToFirstCounterexamples)])),
    false,
  );
  // Per failing cell (issue 17's "Done when"): ms to the first counterexample (median over the
  // repetitions), its executions/s, and the kernel operations of the counterexample shown.
  const cur = raw.current ?? [];
  const cellNames = cur[0]?.firstCounterexample.map((c) => c.cell) ?? [];
  const perCell = cellNames.map((name, i) => {
    const of = (arm: string) => (raw[arm] ?? []).map((x) => x.firstCounterexample[i]!).filter(Boolean);
    const mine = of('current');
    const ms = median(mine.map((c) => c.ms));
    const found = mine.every((c) => c.found);
    const operations = mine[0]?.operations ?? null;
    const base = of('base');
    const baseMs = base.length > 0 ? median(base.map((c) => c.ms)) : null;
    return {
      cell: name,
      found,
      ms,
      executions: mine[0]?.executions ?? 0,
      executionsPerSecond: median(mine.map((c) => c.executionsPerSecond)),
      operations,
      baseMs,
      baseFound: base.length > 0 ? base.every((c) => c.found) : null,
      withinMs: found && ms <= 1000,
      withinOperations: operations === null ? null : operations <= 12,
    };
  });
  const cellRows: Row[] = perCell.map((c) => ({
    figure: `explore ${c.cell}: 1st cex`,
    current: c.found
      ? `${sig(c.ms)} ms, ${c.executions} exec. (${sig(c.executionsPerSecond)}/s), ${c.operations ?? '?'} ops`
      : `not found in ${cap} exec.`,
    base: c.baseMs === null ? '-' : c.baseFound ? `${sig(c.baseMs)} ms (default sizes)` : 'not found',
    ratio: '',
    target: '≤ 1 s, ≤ 12 ops',
    met: c.found && c.withinMs && c.withinOperations === true,
  }));
  return {
    rows: [
      {
        figure: 'explore executions/s (proof cell)',
        current: spread(eps.cur),
        base: eps.base ? spread(eps.base) : '-',
        ratio: ratioText(eps.speedup),
        target: '',
        met: null,
      },
      {
        figure: `explore ms to first cex, ${cellNames.length} cells (≤${cap} exec. each)`,
        current: spread(ttf.cur, ' ms'),
        base: ttf.base ? spread(ttf.base, ' ms') : '-',
        ratio: ratioText(ttf.speedup),
        target: '',
        met: null,
      },
      ...cellRows,
    ],
    data: { reps, samples: raw, executionsPerSecond: eps, msToFirstCounterexamples: ttf, perCell },
  };
}

// biome-ignore format: the registration stays one line (merges of figures added in parallel stay mechanical)
export const FIGURES = { steploop: stepLoop, demo, cli: cliRun, jobs, memory, scaling, explore, wasm: wasmHwPath } as const;
export type FigureName = keyof typeof FIGURES;

export function withScratch<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tlblab-bench-'));
  return run(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}
export { hasBase };
