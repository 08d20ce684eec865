/**
 * `pnpm demo`: the default comparison of issue 6 — all six strategies and the four linux-* sets,
 * every built-in scenario, every core profile, Sv39 and Sv32 (sv32-new-pgd needs Sv32), 1 to 8
 * harts — written to tlblab-results/results.jsonl, the text report printed, the HTML report
 * written beside it; then one real kernel workload (real-fork, a captured Linux 6.12 boot + fork
 * loop) on the linux-* sets at 2 and 16 harts, to tlblab-results/real-fork.jsonl. Sized to finish well under 60 s on a 2-core machine (measured: see
 * apps/cli/README.md). Extra arguments go to `tlblab compare` (e.g. `pnpm demo --seeds 20`).
 */
import { mkdirSync } from 'node:fs';
// The built CLI (`pnpm demo` builds it first when its sources changed): its workers then run
// dist/worker.js without a TypeScript loader; tsx only transpiles this file.
import { main } from '../apps/cli/dist/index.js';

const io = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
const dir = 'tlblab-results';
const results = `${dir}/results.jsonl`;
const realResults = `${dir}/real-fork.jsonl`;
mkdirSync(dir, { recursive: true });

const t0 = performance.now();
const steps: string[][] = [
  [
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
  ],
  // The mail-sized digest (scorecard first); `tlblab report <file> --full` prints everything.
  ['report', results, '--format', 'text'],
  ['report', results, '--format', 'html', '--out', `${dir}/report.html`],
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
for (const args of steps) {
  const code = await main(args, io);
  if (code !== 0) {
    process.exitCode = code;
    break;
  }
}
if (process.exitCode === undefined || process.exitCode === 0) {
  process.stderr.write(
    `demo: ${results} and ${dir}/report.html in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
