/**
 * `pnpm demo`: the default comparison of issue 6 — all six strategies and the four linux-* sets,
 * every built-in scenario, every core profile, Sv39 and Sv32 (sv32-new-pgd needs Sv32), 1 to 8
 * harts — written to tlblab-results/results.jsonl, the text report printed, the HTML report
 * written beside it; then one real kernel workload (real-fork, a captured Linux 6.12 boot + fork
 * loop) on the linux-* sets at 2 and 16 harts, to tlblab-results/real-fork.jsonl. Sized to finish well under 60 s on a 2-core machine (measured: see
 * apps/cli/README.md). Extra arguments go to `tlblab compare` (e.g. `pnpm demo --seeds 20`).
 *
 * Time (issue 13): the reports are rendered on this thread, one core, so the real-fork comparison
 * (which needs nothing from them) runs meanwhile on a thread of its own with its own worker pool;
 * its output is held and printed after the reports, so the demo prints what it printed when the
 * steps ran one after another.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
// The built CLI (`pnpm demo` builds it first when its sources changed): its workers then run
// dist/worker.js without a TypeScript loader; tsx only transpiles this file.
import { main } from '../apps/cli/dist/index.js';

const io = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
const dir = 'tlblab-results';
const results = `${dir}/results.jsonl`;
const realResults = `${dir}/real-fork.jsonl`;
mkdirSync(dir, { recursive: true });

const t0 = performance.now();
const comparison = [
  'compare',
  '-s',
  'all',
  '-c',
  'all',
  '-m',
  'all',
  '--mode',
  'sv39,sv32',
  '--harts',
  '1,2,4,8',
  '--seeds',
  '16',
  ...process.argv.slice(2),
  '--out',
  results,
];
const reports: string[][] = [
  // The mail-sized digest (scorecard first); `tlblab report <file> --full` prints everything.
  ['report', results, '--format', 'text'],
  ['report', results, '--format', 'html', '--out', `${dir}/report.html`],
];
const real: string[][] = [
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
    '--out',
    realResults,
  ],
  ['report', realResults, '--format', 'text'],
];

/** What steps run on another thread printed, and how they ended. */
interface Held {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The steps on a worker thread running the built CLI, their stdout and stderr held in memory
 * (stdout as a terminal when ours is one, so colours are what they would have been; stderr not, so
 * no progress bar is drawn into the buffer).
 */
function onThread(steps: readonly string[][]): { readonly done: Promise<Held>; stop(): void } {
  const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { Writable } = require('node:stream');
const held = (tty) => {
  const chunks = [];
  const w = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  w.isTTY = tty;
  return { w, text: () => chunks.join('') };
};
(async () => {
  const { main } = await import(workerData.cli);
  const out = held(workerData.tty);
  const err = held(false);
  const io = { stdout: out.w, stderr: err.w, cwd: workerData.cwd, env: workerData.env };
  let code = 0;
  for (const args of workerData.steps) {
    code = await main(args, io);
    if (code !== 0) break;
  }
  parentPort.postMessage({ code, stdout: out.text(), stderr: err.text() });
})().catch((e) => parentPort.postMessage({ code: 1, stdout: '', stderr: String(e && e.stack || e) + '\\n' }));
`;
  const worker = new Worker(source, {
    eval: true,
    // Built JavaScript only: no TypeScript loader on this thread (nor on the pool it starts).
    execArgv: [],
    workerData: {
      cli: new URL('../apps/cli/dist/index.js', import.meta.url).href,
      steps,
      cwd: io.cwd,
      env: { ...process.env },
      tty: process.stdout.isTTY === true,
    },
  });
  const done = new Promise<Held>((resolve, reject) => {
    worker.once('message', (m: Held) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`demo: the real-fork thread exited (${code})`)));
  });
  // Not an unhandled rejection while the reports render; awaited (or stopped) later.
  done.catch(() => {});
  return { done, stop: () => void worker.terminate() };
}

async function runAll(): Promise<number> {
  const code = await main(comparison, io);
  if (code !== 0) return code;
  const held = onThread(real);
  for (const args of reports) {
    const c = await main(args, io);
    if (c !== 0) {
      held.stop();
      return c;
    }
  }
  const r = await held.done;
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

process.exitCode = await runAll();
if (process.exitCode === 0) {
  process.stderr.write(
    `demo: ${results} and ${dir}/report.html in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
