/**
 * Explorer figures (issue 17), one sample: executions per second of a proof run (linux-6.12 x
 * cross-hart-vmalloc x caches-invalid x 2 harts, one round, the default bound, a fixed number of
 * executions), and for every failing cell of the thread table (caches-invalid, Sv39, 2 harts) the
 * time and executions to the first counterexample (no shortening, no shrinking). The bench runs it
 * in a child per tree and repetition (tools/bench/runner.ts `explore`) and takes medians.
 */
import type { Cell } from '@tlblab/core';
import type { Core } from './workloads.ts';

/** The CLI's registry of built-in parts (strategy sets such as linux-6.12 live there). */
export interface RegistryApi {
  builtinParts(): unknown;
  createRegistry(...parts: never[]): unknown;
  resolveStrategySet(registry: never, id: string): Cell['strategy'];
  scenarioById(registry: never, id: string): Cell['scenario'];
}

// The failing cells of the thread table (the 64-bit-inert sv32-vmalloc-fault duplicates the
// baseline and is left out).
export const FAILING: readonly [string, string][] = [
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

/** `capExecutions` bounds each search for a first counterexample (the same in every tree, so the
 *  times stay comparable): a cell whose counterexample lies beyond it reports `found: false`. */
export function exploreSample(core: Core, reg: RegistryApi, proofExecutions: number, capExecutions: number) {
  const registry = reg.createRegistry(reg.builtinParts() as never) as never;
  const cellOf = (s: string, sc: string, params: Record<string, unknown> = {}): Cell => ({
    strategy: reg.resolveStrategySet(registry, s),
    scenario: reg.scenarioById(registry, sc),
    params,
    machine: core.PROFILES['caches-invalid']!,
    harts: 2,
    mode: 'sv39',
  });
  const proofCell = cellOf('linux-6.12', 'cross-hart-vmalloc', { rounds: 1 });
  let t0 = performance.now();
  const proof = core.explore(proofCell, { deepen: false, limits: { executions: proofExecutions } });
  const proofSeconds = (performance.now() - t0) / 1000;
  const first = FAILING.map(([s, sc]) => {
    t0 = performance.now();
    const r = core.explore(cellOf(s, sc), {
      shorten: 0,
      shrink: false,
      limits: { executions: capExecutions },
    });
    const ms = performance.now() - t0;
    return {
      cell: `${s} x ${sc}`,
      outcome: r.counterexample?.outcome ?? null,
      found: r.counterexample !== undefined && r.counterexample !== null,
      ms,
      executions: r.executionsToFailure ?? r.executions,
    };
  });
  return {
    bound: proof.boundText,
    proofExecutions: proof.executions,
    executionsPerSecond: proof.executions / proofSeconds,
    capExecutions,
    firstCounterexample: first,
    found: first.filter((f) => f.found).length,
    maxMsToFirstCounterexample: Math.max(...first.map((f) => f.ms)),
    totalMsToFirstCounterexamples: first.reduce((a, f) => a + f.ms, 0),
  };
}
