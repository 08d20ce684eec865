/**
 * The bench's model workloads, built through the public API of whichever tree's `@tlblab/core` the
 * runner loaded (the base tree's or the current one's), so they survive internal refactors.
 */
import type * as CoreApi from '@tlblab/core';
import type { Op } from '@tlblab/core';
import type * as ZodApi from 'zod';
import { BUF_PAGES, USER_PAGES } from './ref/stream.ts';

export type Core = typeof CoreApi;
export type Zod = typeof ZodApi;

/** Flushes every hart on map and unmap: the steady-state workload's policy (correct, and its
 *  IPIs stay rare because hart 0 maps only every 50 rounds). */
export function fenceAll(core: Core) {
  return core.defineStrategy({
    name: 'bench-fence-all',
    meta: { title: 'flush every hart on map and unmap', description: 'benchmark policy', source: {} },
    setup: () => ({
      flushCacheVmap: (ctx) => ctx.flushTlbAll(),
      flushTlbKernelRange: (ctx) => ctx.flushTlbAll(),
    }),
  });
}

/** No maintenance at all: the per-hart scaling workload must not add cross-hart work per hart
 *  (every hart maps only its own buffer and no other hart reads it), so cost per step can be flat. */
export function localOnly(core: Core) {
  return core.defineStrategy({
    name: 'bench-local-only',
    meta: { title: 'no TLB maintenance', description: 'benchmark policy', source: {} },
    setup: () => ({}),
  });
}

/**
 * Steady state (the existing core bench's workload): per hart, `rounds` passes over 48 user pages
 * and its own 16-page vmalloc buffer (the page mix of ./ref/stream.ts); hart 0 maps a new 4-page
 * buffer every 50 rounds.
 */
export function steadyState(core: Core, z: Zod, harts: number, accessesPerHart: number) {
  const perRound = USER_PAGES + BUF_PAGES;
  const rounds = Math.max(1, Math.floor(accessesPerHart / perRound));
  const { ops, region, area } = core;
  return core.defineScenario({
    id: 'bench-steady-state',
    meta: { title: 'steady state', story: 'benchmark workload', source: 'tools/bench/workloads.ts' },
    minHarts: 1,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: () => {
      const programs: Op[][] = [];
      for (let h = 0; h < harts; h++) {
        const body: Op[] = [];
        for (let i = 0; i < USER_PAGES; i++) body.push(ops.read(region('user', i)));
        for (let i = 0; i < BUF_PAGES; i++) body.push(ops.read(area(`buf${h}`, i)));
        const prog: Op[] = [ops.vmalloc(`buf${h}`, BUF_PAGES)];
        for (let r = 0; r < rounds; r++) {
          prog.push(...body);
          if (h === 0 && r % 50 === 49) prog.push(ops.vmalloc(`new${r}`, 4));
        }
        programs.push(prog);
      }
      return { programs, userPages: USER_PAGES };
    },
  });
}

/** Fixed work per hart (tools/bench/cli.ts's former per-hart scenario): each hart maps its own
 *  buffer, fills it, then reads it and a 16-page user working set `rounds` times. */
export function perHart(core: Core, z: Zod) {
  const { ops, region, area } = core;
  return core.defineScenario({
    id: 'bench-per-hart',
    meta: { title: 'fixed per-hart workload', story: 'benchmark', source: 'tools/bench/workloads.ts' },
    minHarts: 1,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({ rounds: z.number().int().default(6), pages: z.number().int().default(8) }),
    build: (p, env) => ({
      userPages: 16,
      programs: Array.from({ length: env.harts }, (_, h) => {
        const body: Op[] = [ops.stream(`b${h}`, 'read')];
        for (let i = 0; i < 16; i++) body.push(ops.read(region('user', i)));
        return [
          ops.vmalloc(`b${h}`, p.pages),
          ops.stream(`b${h}`, 'write'),
          ops.repeat(p.rounds, body),
          ops.read(area(`b${h}`, 0)),
        ];
      }),
    }),
  });
}
