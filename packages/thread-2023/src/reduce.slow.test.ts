/**
 * The explorer's reductions never lose a failure full enumeration finds (issue 17; docs/explore.md,
 * "Reductions"): on small cells of the thread's scenarios — failing ones (baseline) and proving
 * ones (linux-6.12), on three speculating profiles (svvptc: its bounded eviction of negative entries turns the position reduction off) — reduced and full enumeration of one bound
 * find the same set of distinct failures (`outcome: message`), so a proof holds for both or
 * neither, and the reduced one runs fewer executions. And the comparison can fail: with the
 * position reduction broken on purpose (every step taken as independent of a speculative walk),
 * vfree-reuse's failures are lost.
 */
import {
  type Cell,
  defineStrategySet,
  outcomeCensus,
  PROFILES,
  parseBounds,
  reductionFaults,
  type StrategySet,
} from '@tlblab/core';
import { scenarioById } from '@tlblab/scenarios';
import { baseline } from '@tlblab/strategy-baseline';
import { earlySfence } from '@tlblab/strategy-early-sfence';
import { rangedFlush } from '@tlblab/strategy-ranged-flush';
import { sv32VmallocFault } from '@tlblab/strategy-sv32-vmalloc-fault';
import { afterEach, describe, expect, it } from 'vitest';

const STRATEGIES: Record<string, StrategySet> = {
  baseline: defineStrategySet('baseline', [baseline()]),
  'linux-6.12': defineStrategySet('linux-6.12', [
    baseline(),
    sv32VmallocFault(),
    rangedFlush(),
    earlySfence(),
  ]),
};
const SCENARIOS: Record<string, Record<string, unknown>> = {
  'cross-hart-vmalloc': { rounds: 1 },
  'ioremap-irq': {},
  'vfree-reuse': { rounds: 1 },
};
const MACHINES = ['caches-invalid', 'reorder-window', 'svvptc'];
const BOUND = parseBounds('tie=1,jitter=0,speculate=1,stale-read=1,victim=0');

const cellOf = (sc: string, st: string, machine: string, params = SCENARIOS[sc]!): Cell => ({
  strategy: STRATEGIES[st]!,
  scenario: scenarioById(sc)!,
  params,
  machine: PROFILES[machine]!,
  harts: 2,
  mode: 'sv39',
});

const keys = (m: ReadonlyMap<string, number>) => [...m.keys()].sort();

afterEach(() => {
  reductionFaults.ignoreAll = false;
});

describe('full and reduced enumeration find the same failures', () => {
  for (const sc of Object.keys(SCENARIOS)) {
    for (const st of Object.keys(STRATEGIES)) {
      for (const m of MACHINES) {
        it(`${sc} x ${st} x ${m}`, { timeout: 300_000 }, () => {
          const cell = cellOf(sc, st, m);
          const full = outcomeCensus(cell, { bounds: BOUND, reduce: false });
          const reduced = outcomeCensus(cell, { bounds: BOUND });
          console.log(
            `${sc} x ${st} x ${m}: ${full.executions} executions full, ${reduced.executions} reduced, ${full.failures.size} distinct failures`,
          );
          expect(keys(reduced.failures)).toEqual(keys(full.failures));
          expect(reduced.executions).toBeLessThan(full.executions);
        });
      }
    }
  }
});

describe('the comparison can fail', () => {
  it('a position reduction that ignores every dependence loses vfree-reuse failures', {
    timeout: 300_000,
  }, () => {
    const cell = cellOf('vfree-reuse', 'baseline', 'caches-invalid', {});
    const bound = parseBounds('tie=1,jitter=0,speculate=1,stale-read=0,victim=0');
    const sound = outcomeCensus(cell, { bounds: bound });
    expect(sound.failures.size).toBeGreaterThan(0);
    reductionFaults.ignoreAll = true;
    const broken = outcomeCensus(cell, { bounds: bound });
    console.log(
      `vfree-reuse x baseline: ${sound.failures.size} distinct failures sound (${sound.executions} executions), ${broken.failures.size} broken (${broken.executions})`,
    );
    expect(keys(broken.failures)).not.toEqual(keys(sound.failures));
  });
});
