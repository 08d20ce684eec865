/**
 * `pnpm demo`: the default comparison of issue 6 — all six strategies and the four linux-* sets,
 * every built-in scenario, every core profile, Sv39 and Sv32 (sv32-new-pgd needs Sv32), 1 to 8
 * harts — written to tlblab-results/results.jsonl, the text report printed, the HTML report
 * written beside it; then one real kernel workload (real-fork, a captured Linux 6.12 boot + fork
 * loop) on the linux-* sets at 2 and 16 harts, to tlblab-results/real-fork.jsonl. Sized to finish well under 60 s on a 2-core machine (measured: see
 * apps/cli/README.md). Extra arguments go to `tlblab compare` (e.g. `pnpm demo --seeds 20`).
 *
 * Time (issue 13): the steps run the built CLI (`pnpm demo` builds it first when its sources
 * changed) on worker threads started without the TypeScript loader this file needs: under tsx every
 * module the CLI imports went through tsx's loader hooks (about 0.3-0.5 s of the short demo). The
 * reports render on one core, so the real-fork comparison (which needs nothing from them) runs
 * meanwhile on a second thread with its own worker pool; its output is held and printed after the
 * reports, so the demo prints what it printed when the steps ran one after another.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DEMO_SEEDS, DEMO_SWEEP } from './demo-sweep.ts';

const cli = new URL('../apps/cli/dist/index.js', import.meta.url).href;
const dir = 'tlblab-results';
const results = `${dir}/results.jsonl`;
const realResults = `${dir}/real-fork.jsonl`;
mkdirSync(dir, { recursive: true });

const t0 = performance.now();
const comparison = [
  'compare',
  ...DEMO_SWEEP,
  '--seeds',
  String(DEMO_SEEDS),
  ...process.argv.slice(2),
  '--out',
  results,
];
const reports: string[][] = [
  // The mail-sized digest (scorecard first); `tlblab report <file> --full` prints everything.
  ['report', results, '--format', 'text'],
  ['report', results, '--format', 'html', '--out', `${dir}/report.html`],
];
const realSteps: string[][] = [
  // One real kernel workload (issue 16): a captured 6.12 boot + fork loop, replayed on the linux-*
  // sets beyond its 2 captured harts. Opt-in scenarios are not in `-c all`; one seed keeps it short.
  [
    'compare',
    '-s',
    'linux-6.4,linux-6.5,linux-6.7,linux-6.12',
    '-c',
    'real-fork',
    '-m',
    'caches-invalid',
    '--harts',
    '2,16',
    '--seeds',
    '1',
    // One worker: it runs beside the reports (one core), and a second worker's start-up, capture
    // parsing and JIT warm-up cost more CPU (~0.85 s) than splitting 8 cells saves.
    '--jobs',
    '1',
    '--out',
    realResults,
  ],
  ['report', realResults, '--format', 'text'],
];

/** How a thread's steps ended; with `hold`, what they printed. */
interface Ended {
  readonly code: number;
  readonly stdout?: string;
  readonly stderr?: string;
}

/**
 * A thread running CLI steps (`main(argv, io)` of the built CLI, one after another, stopping at the
 * first that fails). Its output goes straight to ours, with our terminal's `isTTY` and `columns`
 * (so colours and the progress bar are what they were), or with `hold` into memory (stdout as a
 * terminal when ours is one, stderr not, so no bar is drawn into the buffer). It posts 'stepped'
 * after each step. A Ctrl-C here is passed on: the compare step's handler prints the --resume
 * command, as it did when the steps ran on this thread.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { Writable } = require('node:stream');
const held = (tty) => {
  const chunks = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  w.isTTY = tty;
  return { w, text: () => chunks.join('') };
};
const live = (stream, tty) => {
  if (tty.isTTY) Object.assign(stream, tty);
  return stream;
};
parentPort.on('message', (m) => {
  if (m !== 'SIGINT') return;
  if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT');
  else process.exit(130);
});
parentPort.unref();
(async () => {
  const { main } = await import(workerData.cli);
  const out = workerData.hold ? held(workerData.stdout.isTTY === true) : null;
  const err = workerData.hold ? held(false) : null;
  const io = {
    stdout: out ? out.w : live(process.stdout, workerData.stdout),
    stderr: err ? err.w : live(process.stderr, workerData.stderr),
    cwd: workerData.cwd,
    env: workerData.env,
  };
  let code = 0;
  for (const args of workerData.steps) {
    code = await main(args, io);
    if (code !== 0) break;
    parentPort.postMessage('stepped');
  }
  parentPort.postMessage(out ? { code, stdout: out.text(), stderr: err.text() } : { code });
})().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\\n');
  parentPort.postMessage({ code: 1 });
});
`;

interface Thread {
  /** Settles when the thread has exited (its output flushed) with how its steps ended. */
  readonly ended: Promise<Ended>;
  /** Resolves after the first step succeeded. */
  readonly firstStep: Promise<void>;
  readonly worker: Worker;
}

function tty(stream: NodeJS.WriteStream): { isTTY?: boolean; columns?: number } {
  return stream.isTTY ? { isTTY: true, columns: stream.columns } : {};
}

function onThread(steps: readonly string[][], hold: boolean): Thread {
  const worker = new Worker(THREAD, {
    eval: true,
    // Built JavaScript only: no TypeScript loader on this thread (nor on the pools it starts).
    execArgv: [],
    workerData: {
      cli,
      steps,
      hold,
      cwd: process.cwd(),
      env: { ...process.env },
      stdout: tty(process.stdout),
      stderr: tty(process.stderr),
    },
  });
  let result: Ended = { code: 1 };
  let stepped!: () => void;
  const firstStep = new Promise<void>((resolve) => {
    stepped = resolve;
  });
  worker.on('message', (m: 'stepped' | Ended) => {
    if (m === 'stepped') stepped();
    else result = m;
  });
  const ended = new Promise<Ended>((resolve, reject) => {
    worker.once('error', reject);
    // 'exit' comes after the thread's stdout and stderr have reached ours.
    worker.once('exit', (code) => resolve(code === 0 ? result : { code }));
  });
  ended.catch(() => {});
  return { ended, firstStep, worker };
}

async function runAll(): Promise<number> {
  const main = onThread([comparison, ...reports], false);
  const forward = () => main.worker.postMessage('SIGINT');
  process.on('SIGINT', forward);
  try {
    // The real-fork comparison starts once the sweep is written, while the reports render.
    const real = main.firstStep.then(() => onThread(realSteps, true));
    const first = await main.ended;
    if (first.code !== 0) {
      void real.then((t) => t.worker.terminate());
      return first.code;
    }
    const r = await (await real).ended;
    if (r.stdout) process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    return r.code;
  } finally {
    process.removeListener('SIGINT', forward);
  }
}

process.exitCode = await runAll();
if (process.exitCode === 0) {
  process.stderr.write(
    `demo: ${results} and ${dir}/report.html in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
