/**
 * Running a strategy's slot: synchronously inside one stage, with the hart's `ctx` collecting the
 * calls it queues (pushed as frames once it returns, so they run before the kernel path that
 * called the slot continues). A throw or a Promise becomes a `strategy-error` outcome.
 */
import type { StrategySlots } from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import { type Frame, type HartExec, RunEnd } from '../engine/types.js';

/** Run a slot with the hart's ctx collecting queued calls; errors become `strategy-error`. */
export function callSlot<R>(sim: Simulator, h: HartExec, slot: keyof StrategySlots, fn: () => R): R {
  const ctx = h.ctx;
  const outer = ctx.queue;
  const queue: Frame[] = [];
  ctx.queue = queue;
  let r: R;
  try {
    r = fn();
  } catch (e) {
    if (e instanceof RunEnd) throw e;
    const owner = sim.strategy.slotOwner[slot] ?? '?';
    throw new RunEnd('strategy-error', {
      hart: h.hw.id,
      step: sim.hw.step,
      message: `strategy '${owner}' slot ${slot} threw: ${e instanceof Error ? e.message : String(e)}`,
    });
  } finally {
    ctx.queue = outer;
  }
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    throw new RunEnd('strategy-error', {
      hart: h.hw.id,
      step: sim.hw.step,
      message: `strategy '${sim.strategy.slotOwner[slot] ?? '?'}' slot ${slot} returned a Promise: slots run synchronously inside one step (queue cross-hart work with ctx instead)`,
    });
  }
  for (let i = queue.length - 1; i >= 0; i--) h.frames.push(queue[i]!);
  return r;
}

/** For `ctx.call` bodies: same isolation as a slot. */
export function runSlotBody(sim: Simulator, h: HartExec, what: string, fn: () => void): void {
  callSlot(sim, h, what as keyof StrategySlots, fn);
}

export function badReturn(
  sim: Simulator,
  h: HartExec,
  slot: keyof StrategySlots,
  value: unknown,
  expected: string,
): never {
  throw new RunEnd('strategy-error', {
    hart: h.hw.id,
    step: sim.hw.step,
    message: `strategy '${sim.strategy.slotOwner[slot] ?? '?'}' slot ${slot} returned ${JSON.stringify(value) ?? String(value)}; expected ${expected}`,
  });
}
