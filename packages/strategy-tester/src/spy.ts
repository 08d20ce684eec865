/**
 * The recording spy strategy (ChampSim's spy modules): wraps a delegate strategy (the baseline by
 * default), fills all four slots, and records every call with its hart, simulation step, arguments
 * and result. Tests use it to check that the core calls each slot at its documented moment
 * (contracts.ts), and that a strategy's decisions follow its kernel code.
 *
 * The record is per run: `setup` (once per run) clears it, so after `simulate()` it holds that
 * run's calls. Missing delegate slots get neutral fillers ('continue', 'unhandled', no-op); a filled
 * `kernelFault` is charged `kernelFunction`, so cycle metrics may differ slightly from the delegate
 * alone, outcomes do not.
 */
import {
  defineStrategy,
  type KernelContext,
  type KernelRange,
  SLOT_NAMES,
  type SlotName,
  type Strategy,
  type StrategySlots,
  type Trap,
  type TrapEntryContext,
} from '@tlblab/core';
import { baseline } from '@tlblab/strategy-baseline';

export interface SlotCall {
  readonly slot: SlotName;
  readonly hart: number;
  /** `ctx.step` when the slot ran. */
  readonly step: number;
  /** The trap (trapEntry, kernelFault) or the range (flush slots), copied. */
  readonly trap?: Trap;
  readonly range?: KernelRange;
  /** What the slot returned (trapEntry, kernelFault). */
  readonly result?: string;
  /** With `walkRanges`: init_mm presence of each page of the range when the flush slot was called. */
  readonly present?: readonly boolean[];
}

export interface Spy {
  readonly strategy: Strategy;
  /** Calls of the last run, in order. */
  readonly calls: readonly SlotCall[];
  of(slot: SlotName): SlotCall[];
}

export interface SpyOptions {
  /** The strategy whose slots run inside the spy (default: `baseline()`). */
  readonly delegate?: Strategy;
  /** In the flush slots, walk init_mm for every page of the range first (charged like any walk). */
  readonly walkRanges?: boolean;
}

export const SPY_NAME = 'spy';

export function createSpy(options: SpyOptions = {}): Spy {
  const delegate = options.delegate ?? baseline();
  const calls: SlotCall[] = [];
  const walk = (ctx: KernelContext, range: KernelRange) =>
    options.walkRanges
      ? Array.from({ length: range.pages }, (_, i) => ctx.walkInitMm(range.start + i).present)
      : undefined;
  const strategy = defineStrategy({
    name: SPY_NAME,
    meta: {
      title: `spy over ${delegate.name}`,
      description: `Records every slot call (hart, step, arguments, result) and runs ${delegate.name}'s slots.`,
      source: { note: 'test fixture (@tlblab/strategy-tester)' },
      slots: SLOT_NAMES,
    },
    ...(delegate.notrace ? { notrace: delegate.notrace } : {}),
    ...(delegate.functions ? { functions: delegate.functions } : {}),
    ...(delegate.kernelConfig ? { kernelConfig: delegate.kernelConfig } : {}),
    setup: (setup) => {
      calls.length = 0;
      const inner: StrategySlots = delegate.setup(setup);
      return {
        trapEntry: (ctx: TrapEntryContext, trap: Trap) => {
          const r = inner.trapEntry ? inner.trapEntry(ctx, trap) : 'continue';
          calls.push({ slot: 'trapEntry', hart: ctx.hart, step: ctx.step, trap: { ...trap }, result: r });
          return r;
        },
        kernelFault: (ctx, trap) => {
          const step = ctx.step;
          const r = inner.kernelFault ? inner.kernelFault(ctx, trap) : 'unhandled';
          calls.push({ slot: 'kernelFault', hart: ctx.hart, step, trap: { ...trap }, result: r });
          return r;
        },
        flushCacheVmap: (ctx, range) => {
          const present = walk(ctx, range);
          calls.push({
            slot: 'flushCacheVmap',
            hart: ctx.hart,
            step: ctx.step,
            range: { ...range },
            ...(present ? { present } : {}),
          });
          inner.flushCacheVmap?.(ctx, range);
        },
        flushTlbKernelRange: (ctx, range) => {
          const present = walk(ctx, range);
          calls.push({
            slot: 'flushTlbKernelRange',
            hart: ctx.hart,
            step: ctx.step,
            range: { ...range },
            ...(present ? { present } : {}),
          });
          inner.flushTlbKernelRange?.(ctx, range);
        },
      };
    },
  });
  return { strategy, calls, of: (slot) => calls.filter((c) => c.slot === slot) };
}
