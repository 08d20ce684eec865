/**
 * Steps and time per step against the hart count (issue 13): for one strategy set and scenario on
 * caches-invalid, each hart count's steps per run, its operations and scaled step budget, and the
 * wall time per run and per step (one warm-up run first; boot included, as users wait for it).
 *
 *   node --conditions=source --single-threaded-gc --import tsx tools/step-scaling.ts \
 *     linux-6.12 vmalloc-stress 32,64,128,256,512 [seeds=2]
 *
 * Times are of this machine at this moment: compare hart counts within one run, never across
 * machines. The step counts are exact and deterministic.
 */

import { builtinParts, createRegistry, resolveStrategySet } from '../apps/cli/src/registry.ts';
import { PROFILES, prepareCell, simulate } from '../packages/core/src/index.ts';
import { scenarioById } from '../packages/scenarios/src/index.ts';

const [strategy, scenario, harts, seedsText] = process.argv.slice(2);
if (!strategy || !scenario || !harts) {
  console.error('usage: tools/step-scaling.ts <strategy set> <scenario> <harts,harts,...> [seeds]');
  process.exit(2);
}
const seeds = Number(seedsText ?? 2);
const registry = createRegistry(builtinParts());
const sc = scenarioById(scenario);
if (!sc) throw new Error(`unknown scenario '${scenario}'`);
console.log('harts  steps/run  operations  budget     ms/run   us/step  outcomes');
for (const h of harts.split(',').map(Number)) {
  const cell = {
    strategy: resolveStrategySet(registry, strategy),
    scenario: sc,
    machine: PROFILES['caches-invalid']!,
    harts: h,
  };
  const prepared = prepareCell(cell);
  let ops = 0;
  for (const p of prepared.programs.programs) ops += countOps(p);
  simulate(cell, 1_000_000); // warm-up
  let steps = 0;
  const outcomes = new Set<string>();
  const t0 = performance.now();
  for (let s = 0; s < seeds; s++) {
    const r = simulate(cell, s);
    steps += r.metrics.steps;
    outcomes.add(r.outcome);
  }
  const ms = performance.now() - t0;
  console.log(
    `${String(h).padStart(5)}  ${String(Math.round(steps / seeds)).padStart(9)}  ${String(ops).padStart(10)}  ${String(prepared.kernel.stepLimit).padStart(8)}  ${(ms / seeds).toFixed(0).padStart(7)}  ${((ms / steps) * 1000).toFixed(1).padStart(8)}  ${[...outcomes].join(',')}`,
  );
}

function countOps(list: readonly { op: string; times?: number; body?: readonly unknown[] }[]): number {
  let n = 0;
  for (const op of list)
    n += op.op === 'repeat' ? (op.times ?? 0) * countOps((op.body ?? []) as typeof list) : 1;
  return n;
}
