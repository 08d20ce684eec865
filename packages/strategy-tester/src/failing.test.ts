/**
 * A strategy that throws or returns nonsense yields `strategy-error` cells naming it, and every
 * other cell of the same sweep is exactly what it would be without it.
 */
import { type Cell, type CellRecord, PROFILES, runCell } from '@tlblab/core';
import { baseline, onBaseline } from '@tlblab/strategy-baseline';
import { describe, expect, it } from 'vitest';
import { type FailingHow, type FailingSite, failingStrategy } from './failing.js';
import { crossHartVmalloc, kernelProtectionFault, vfreeReuse } from './probes.js';
import { createSpy } from './spy.js';

const machine = PROFILES['caches-invalid']!;
const seeds = { base: 1, count: 6 };

/** A probe that reaches each site. */
const reaching: Record<FailingSite, Cell['scenario']> = {
  setup: kernelProtectionFault,
  trapEntry: kernelProtectionFault,
  kernelFault: kernelProtectionFault,
  flushCacheVmap: kernelProtectionFault,
  flushTlbKernelRange: vfreeReuse,
  'ipi-callback': crossHartVmalloc,
};

const cases: [FailingSite, FailingHow][] = [
  ['setup', 'throw'],
  ['setup', 'nonsense'],
  ['trapEntry', 'throw'],
  ['trapEntry', 'nonsense'],
  ['kernelFault', 'throw'],
  ['kernelFault', 'nonsense'],
  ['flushCacheVmap', 'throw'],
  ['flushCacheVmap', 'nonsense'],
  ['flushTlbKernelRange', 'throw'],
  ['flushTlbKernelRange', 'nonsense'],
  ['ipi-callback', 'throw'],
];

describe('failing-strategy fixture', () => {
  for (const [site, how] of cases) {
    it(`${site} that ${how === 'throw' ? 'throws' : 'returns nonsense'} makes every run a strategy-error naming the strategy`, () => {
      const s = failingStrategy(site, how);
      const rec = runCell({ strategy: onBaseline(s), scenario: reaching[site], machine, harts: 2 }, seeds);
      expect(rec.outcomes).toEqual({ 'strategy-error': seeds.count });
      expect(rec.verdict).toBe('incorrect');
      expect(rec.firstFailure?.failure?.message).toMatch(
        site === 'ipi-callback' ? /IPI callback/ : new RegExp(`'${s.name}'`),
      );
    });
  }

  it('leaves every other cell of the same sweep untouched', () => {
    const everywhere: [FailingSite, FailingHow][] = [
      ['setup', 'throw'],
      ['flushCacheVmap', 'nonsense'],
      ['ipi-callback', 'throw'],
    ];
    const others = [baseline(), createSpy().strategy];
    const scenarios = [crossHartVmalloc, kernelProtectionFault, vfreeReuse];
    const sweep = (withFailing: boolean): CellRecord[] => {
      const out: CellRecord[] = [];
      for (const scenario of scenarios) {
        for (const [i, s] of others.entries()) {
          if (withFailing) {
            // Sites every probe here reaches (each maps memory on two harts).
            const [site, how] = everywhere[(i + scenarios.indexOf(scenario)) % everywhere.length]!;
            const failed = runCell(
              { strategy: onBaseline(failingStrategy(site, how)), scenario, machine, harts: 2 },
              seeds,
            );
            expect(failed.outcomes['strategy-error'] ?? 0).toBeGreaterThan(0);
          }
          out.push(runCell({ strategy: onBaseline(s), scenario, machine, harts: 2 }, seeds));
        }
      }
      return out;
    };
    expect(sweep(true)).toEqual(sweep(false));
  });
});
