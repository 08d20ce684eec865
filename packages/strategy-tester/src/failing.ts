/**
 * The failing-strategy fixture (the changesets repo's deliberately broken plugin): a strategy whose
 * setup or one slot throws or returns nonsense. The core must turn every such run into a
 * `strategy-error` naming the strategy, and leave every other cell of the same sweep untouched.
 */
import { defineStrategy, type SlotName, type Strategy, type StrategySlots } from '@tlblab/core';

/** Where it fails: in `setup`, in one slot, or inside an IPI callback a slot queued. */
export type FailingSite = 'setup' | SlotName | 'ipi-callback';
/**
 * How: `throw` an Error, or `nonsense`: setup returns a slot that is not a function; trapEntry and
 * kernelFault return values outside their contract; the flush slots queue an IPI to a hart that
 * does not exist. (`ipi-callback` only throws.)
 */
export type FailingHow = 'throw' | 'nonsense';

export function failingStrategy(site: FailingSite, how: FailingHow = 'throw'): Strategy {
  const name = `failing-${site}-${how}`;
  const boom = (): never => {
    throw new Error(`${name}: deliberate failure`);
  };
  const badMask = (harts: number) => [harts + 7];
  const slots = (): StrategySlots => {
    switch (site) {
      case 'setup':
        return {};
      case 'trapEntry':
        return { trapEntry: () => (how === 'throw' ? boom() : ('maybe' as 'replay')) };
      case 'kernelFault':
        return { kernelFault: () => (how === 'throw' ? boom() : (42 as unknown as 'handled')) };
      case 'flushCacheVmap':
        return {
          flushCacheVmap: (ctx) => (how === 'throw' ? boom() : ctx.onEachCpu(badMask(ctx.harts), () => {})),
        };
      case 'flushTlbKernelRange':
        return {
          flushTlbKernelRange: (ctx) =>
            how === 'throw' ? boom() : ctx.onEachCpu(badMask(ctx.harts), () => {}),
        };
      case 'ipi-callback':
        return { flushCacheVmap: (ctx) => ctx.onEachCpu('all', () => boom()) };
    }
  };
  const slotNames: SlotName[] =
    site === 'setup' ? ['trapEntry'] : site === 'ipi-callback' ? ['flushCacheVmap'] : [site];
  return defineStrategy({
    name,
    meta: {
      title: `fails in ${site} (${how})`,
      description:
        'Test fixture: fails deliberately so tests can check that failures are isolated to its own cells.',
      source: { note: 'test fixture (@tlblab/strategy-tester)' },
      slots: slotNames,
    },
    setup: () => {
      if (site === 'setup') {
        if (how === 'throw') boom();
        return { trapEntry: 'continue' } as unknown as StrategySlots;
      }
      return slots();
    },
  });
}
