/**
 * Failure rate of every built-in scenario under the v6.5-rc1 baseline (no mapping-side handling)
 * on a profile (default `caches-invalid`), with the outcomes seen.
 *
 *   node --conditions=source --import tsx packages/scenarios/bench/baseline-failures.ts [machine] [seeds]
 */
import { PROFILES, runCell } from '@tlblab/core';
import { scenarios } from '../src/index.js';
import { v65rc1Baseline } from '../test/kernels.js';

const machine = PROFILES[process.argv[2] ?? 'caches-invalid'];
if (!machine) throw new Error(`unknown machine '${process.argv[2]}'`);
const count = Number(process.argv[3] ?? 200);
console.log(`machine ${machine.name}, strategy ${v65rc1Baseline.name}, seeds 0..${count - 1}`);
for (const s of scenarios) {
  const mode = s.modes.includes('sv39') ? 'sv39' : s.modes[0]!;
  const cols: string[] = [];
  for (const harts of [2, 8]) {
    const r = runCell({ strategy: v65rc1Baseline, scenario: s, machine, mode, harts }, { base: 0, count });
    const failed = count - (r.outcomes[s.expect] ?? 0);
    const detail = Object.entries(r.outcomes)
      .filter(([o]) => o !== s.expect)
      .map(([o, n]) => `${o} ${n}`)
      .join(', ');
    cols.push(
      `h${harts} ${((100 * failed) / count).toFixed(0)}% fail${detail ? ` (${detail}; first seed ${r.firstFailure?.seed})` : ''}`,
    );
  }
  console.log(`${s.id.padEnd(24)} ${mode} expect ${s.expect}: ${cols.join('   ')}`);
}
