/**
 * Per-run cost of every built-in scenario (CPU ms per simulate() call, after warm-up, so that other
 * processes on the machine do not inflate it) at 2 and 8 harts,
 * under a kernel that fences every hart on every map and unmap, on the `emulator` profile, plus
 * the cost of an empty program (the core's per-run boot) for reference.
 *
 *   node --conditions=source --import tsx packages/scenarios/bench/per-run.ts [machine] [runs]
 */
import { defineScenario, PROFILES, simulate } from '@tlblab/core';
import { z } from 'zod';
import { scenarios } from '../src/index.js';
import { fenceEverything } from '../test/kernels.js';

const machine = PROFILES[process.argv[2] ?? 'emulator'];
if (!machine) throw new Error(`unknown machine '${process.argv[2]}'`);
const runs = Number(process.argv[3] ?? 200);
const empty = defineScenario({
  id: '(empty programs)',
  meta: {
    title: 'boot only',
    story: 'No program: what a run costs before any scenario op.',
    source: 'bench',
  },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  params: z.object({}),
  build: () => ({ programs: [] }),
});

console.log(`machine ${machine.name}, strategy ${fenceEverything.name}, ${runs} runs per cell`);
for (const s of [empty, ...scenarios]) {
  const mode = s.modes.includes('sv39') ? 'sv39' : s.modes[0]!;
  const cols: string[] = [];
  for (const harts of [2, 8]) {
    const cell = { strategy: fenceEverything, scenario: s, machine, mode, harts };
    for (let i = 0; i < 20; i++) simulate(cell, i);
    let steps = 0;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) steps += simulate(cell, i).metrics.steps;
    cols.push(
      `h${harts} ${((performance.now() - t0) / runs).toFixed(3)} ms/run, ${Math.round(steps / runs)} steps`,
    );
  }
  console.log(`${s.id.padEnd(24)} ${mode}  ${cols.join('   ')}`);
}
