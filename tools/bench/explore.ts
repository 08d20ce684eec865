/**
 * Explorer speed (issue 17): executions per second of a proof run (linux-6.12 x cross-hart-vmalloc
 * x caches-invalid x 2 harts, one round, the default bound, a fixed number of executions), and for
 * every failing cell of the thread table (caches-invalid, Sv39, 2 harts) the time and executions
 * to the first counterexample (no shortening, no shrinking). Wall-clock figures on whatever
 * machine runs it; `loadavg` is recorded beside them. Writes bench-results/explore.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type Cell, explore, PROFILES } from '@tlblab/core';
import {
  builtinParts,
  createRegistry,
  resolveStrategySet,
  scenarioById,
} from '../../apps/cli/src/registry.ts';

const registry = createRegistry(builtinParts());
const cellOf = (s: string, sc: string, params: Record<string, unknown> = {}): Cell => ({
  strategy: resolveStrategySet(registry, s),
  scenario: scenarioById(registry, sc),
  params,
  machine: PROFILES['caches-invalid']!,
  harts: 2,
  mode: 'sv39',
});

const proofExecutions = 6000;
const proofCell = cellOf('linux-6.12', 'cross-hart-vmalloc', { rounds: 1 });
let t0 = performance.now();
const proof = explore(proofCell, { deepen: false, limits: { executions: proofExecutions } });
const proofSeconds = (performance.now() - t0) / 1000;

// The failing cells of the thread table (the 64-bit-inert sv32-vmalloc-fault duplicates the
// baseline and is left out).
const FAILING: [string, string][] = [
  ['baseline', 'cross-hart-vmalloc'],
  ['baseline', 'vmap-stack-migrate'],
  ['baseline', 'module-load-exec'],
  ['baseline', 'tracing-in-fault-path'],
  ['notrace-fault', 'tracing-in-fault-path'],
  ['notrace-fault', 'kernel-protection-fault'],
  ['notrace-fault', 'kernel-nofault-write'],
  ['baseline', 'ioremap-irq'],
  ['baseline', 'vfree-reuse'],
];
const first = FAILING.map(([s, sc]) => {
  t0 = performance.now();
  const r = explore(cellOf(s, sc), { shorten: 0, shrink: false });
  const ms = performance.now() - t0;
  return {
    cell: `${s} x ${sc}`,
    outcome: r.counterexample?.outcome ?? null,
    msToFirstCounterexample: Math.round(ms),
    executionsToFirstCounterexample: r.executionsToFailure,
    choicePoints: r.counterexample?.choicePoints ?? null,
  };
});

const out = {
  note: 'wall-clock on this machine; see loadavg',
  loadavg: loadavg().map((x) => Number(x.toFixed(2))),
  bound: proof.boundText,
  proof: {
    cell: 'linux-6.12|cross-hart-vmalloc|caches-invalid|sv39|h2, rounds=1',
    executions: proof.executions,
    seconds: Number(proofSeconds.toFixed(2)),
    executionsPerSecond: Math.round(proof.executions / proofSeconds),
  },
  firstCounterexample: first,
  maxMsToFirstCounterexample: Math.max(...first.map((f) => f.msToFirstCounterexample)),
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/explore.json', `${JSON.stringify(out, null, 2)}\n`);
process.stdout.write(
  `explore: ${out.proof.executionsPerSecond} executions/s (proof cell); first counterexample in at most ${out.maxMsToFirstCounterexample} ms over ${first.length} failing cells\n`,
);
for (const f of first)
  process.stdout.write(
    `  ${f.cell}: ${f.outcome} after ${f.executionsToFirstCounterexample} executions, ${f.msToFirstCounterexample} ms\n`,
  );
