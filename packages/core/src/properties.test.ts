/**
 * Property tests (fast-check) of the invariants the model promises.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layoutFor } from './addr.js';
import {
  CHOICE_FORMAT,
  decodeChoices,
  encodeChoices,
  GAP_NEVER,
  ReplayChooser,
  SeededChooser,
} from './choice.js';
import { defineScenario, defineStrategy, type Op } from './contracts.js';
import { PAGE_KERNEL } from './hw/pte.js';
import { EMPTY, FLUSHED, Tlb } from './hw/tlb.js';
import { resolveKernelConfig } from './kernel-config.js';
import { defineMachine, PROFILES } from './profiles.js';
import { area, ops } from './scenario.js';
import { Hardware, OK } from './sim/hardware.js';
import { KernelMm } from './sim/kernel-mm.js';
import { newCounters } from './sim/metrics.js';
import { replay, simulate } from './simulate.js';

describe('invariants', () => {
  it('after a covering SFENCE.VMA no walk returns an older PTE version (adversarial walker)', () => {
    const adversarial = defineMachine({
      name: 'adversarial',
      extends: 'caches-invalid-walk',
      staleness: { kind: 'adversarial', levels: 'all' },
      ownStoresVisible: false,
      speculation: null,
    });
    const base = layoutFor('sv39').vmalloc.start;
    fc.assert(
      fc.property(
        fc.array(fc.record({ page: fc.integer({ min: 0, max: 7 }), unmap: fc.boolean() }), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 1000 }),
        (writes, probe, seed) => {
          const hw = new Hardware(adversarial, layoutFor('sv39'), 1, new SeededChooser(seed), newCounters());
          const mm = new KernelMm(hw, resolveKernelConfig({ mode: 'sv39' }));
          const h = hw.harts[0]!;
          h.rootTable = mm.newProcessRoot();
          h.asid = 1;
          for (const w of writes) {
            hw.step++;
            if (w.unmap) mm.clearLeaf(base + w.page);
            else mm.setLeaf(mm.initMm, base + w.page, 0, PAGE_KERNEL, 0x100 + w.page);
          }
          hw.step++;
          hw.fence(h, 'all', 0, 0, 'local');
          const mappedNow =
            mm.leafSlot(mm.initMm, base + probe) >= 0 && hw.mem.isValid(mm.leafSlot(mm.initMm, base + probe));
          const r = hw.access(h, base + probe, 'read');
          expect(r === OK).toBe(mappedNow);
          if (r === OK) expect(hw.wPpn).toBe(0x100 + probe);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a TLB never holds more entries than its capacity, nor more than `ways` per set, nor duplicates', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 64),
        fc.constantFrom(1, 2, 4, 8),
        fc.array(
          fc.record({
            vpn: fc.integer({ min: 0, max: 200 }),
            level: fc.integer({ min: 0, max: 1 }),
            neg: fc.boolean(),
          }),
          {
            maxLength: 300,
          },
        ),
        (entries, ways, fills) => {
          const tlb = new Tlb(entries, ways, 'random', 9, 3);
          const chooser = new SeededChooser(1);
          for (const f of fills) tlb.fill(f.vpn, f.level, 1, PAGE_KERNEL, 0, f.neg, 0, 0, chooser);
          expect(tlb.occupancy()).toBeLessThanOrEqual(entries);
          const seen = new Set<string>();
          for (let e = 0; e < entries; e++) {
            if (tlb.state[e] === EMPTY || tlb.state[e] === FLUSHED) continue;
            const key = `${tlb.level[e]}:${tlb.tag[e]}:${tlb.asid[e]}`;
            expect(seen.has(key)).toBe(false);
            seen.add(key);
            expect(Math.floor(e / ways)).toBe(tlb.tag[e]! % tlb.sets);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('choice lists survive encoding exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { maxLength: 500 }), (values) => {
        expect(Array.from(decodeChoices(encodeChoices(values)))).toEqual(values);
      }),
    );
  });

  it('choice logs carry their format version; a log of another format fails to replay with a clear message', () => {
    const log = encodeChoices([3, 3, GAP_NEVER, 0]);
    expect(log.startsWith(`${CHOICE_FORMAT}.`)).toBe(true);
    expect(Array.from(decodeChoices(log))).toEqual([3, 3, GAP_NEVER, 0]);
    const body = log.slice(log.indexOf('.') + 1);
    // A log from before the version (no prefix) and one from a later format.
    expect(() => new ReplayChooser(body)).toThrow(/no format version.*re-run the cell/);
    expect(() => new ReplayChooser(`${CHOICE_FORMAT + 1}.${body}`)).toThrow(
      new RegExp(`format ${CHOICE_FORMAT + 1}, this tlblab replays format ${CHOICE_FORMAT}`),
    );
  });

  it('a gap is geometric: counting down on eligible steps fires like a per-step coin of the same p', () => {
    for (const p of [0.02, 0.3, 0.5]) {
      const c = new SeededChooser(7);
      const steps = 200_000;
      let fired = 0;
      let left = -1;
      for (let i = 0; i < steps; i++) {
        if (left < 0) left = c.gap('speculate', p);
        if (left === 0) {
          fired++;
          left = -1;
        } else left--;
      }
      // Binomial(steps, p): 5 standard deviations.
      const sd = Math.sqrt(steps * p * (1 - p));
      expect(Math.abs(fired - steps * p)).toBeLessThan(5 * sd);
    }
    const c = new SeededChooser(1);
    expect(c.gap('speculate', 0)).toBe(GAP_NEVER);
    expect(c.gap('speculate', 1)).toBe(0);
    expect(c.log.length).toBe(0);
  });

  /** Random small programs over a few areas on 2-3 harts. */
  const opArb: fc.Arbitrary<(names: string[]) => Op> = fc.oneof(
    fc.record({ k: fc.constant('read'), a: fc.nat(2), p: fc.nat(3) }).map(
      ({ a, p }) =>
        (names: string[]) =>
          ops.read(area(names[a]!, p)),
    ),
    fc.record({ k: fc.constant('write'), a: fc.nat(2), p: fc.nat(3) }).map(
      ({ a, p }) =>
        (names: string[]) =>
          ops.write(area(names[a]!, p)),
    ),
    fc.record({ k: fc.constant('stream'), a: fc.nat(2) }).map(
      ({ a }) =>
        (names: string[]) =>
          ops.stream(names[a]!),
    ),
    fc.nat(500).map((c) => () => ops.compute(c)),
  );

  const randomCell = fc
    .record({
      harts: fc.integer({ min: 1, max: 3 }),
      bodies: fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 3, maxLength: 3 }),
      machine: fc.constantFrom(...Object.keys(PROFILES)),
      flush: fc.boolean(),
    })
    .map(({ harts, bodies, machine, flush }) => {
      const names = ['A', 'B', 'C'];
      const scenario = defineScenario({
        id: 'random',
        meta: { title: 'random', story: 'property test', source: 'test' },
        minHarts: 1,
        modes: ['sv39'],
        expect: 'ok',
        params: z.object({}),
        build: (_p, env) => ({
          // Hart 0 maps the three areas (4 pages each) and publishes them; every hart then runs its body.
          programs: Array.from({ length: env.harts }, (_, h) => [
            ...(h === 0
              ? [...names.map((n) => ops.vmalloc(n, 4)), ops.signal('mapped')]
              : [ops.wait('mapped')]),
            ...bodies[h]!.map((mk) => mk(names)),
          ]),
          userPages: 2,
        }),
      });
      const strategy = defineStrategy({
        name: flush ? 'flush' : 'none',
        meta: { title: 't', description: 't', source: {} },
        setup: () => (flush ? { flushCacheVmap: (ctx) => ctx.flushTlbAll() } : {}),
      });
      return { strategy, scenario, machine: PROFILES[machine]!, harts };
    });

  it('replaying any recorded choice list reproduces the run exactly', () => {
    fc.assert(
      fc.property(randomCell, fc.integer({ min: 0, max: 10_000 }), (cell, seed) => {
        const run = simulate(cell, seed);
        const again = replay(cell, run.choices, { seed });
        expect(again.outcome).toBe(run.outcome);
        expect(again.metrics).toEqual(run.metrics);
        expect(again.failure).toEqual(run.failure);
        expect(again.choices).toBe(run.choices);
      }),
      { numRuns: 150 },
    );
  });

  it('simulate is a pure function of its inputs', () => {
    fc.assert(
      fc.property(randomCell, fc.integer({ min: 0, max: 10_000 }), (cell, seed) => {
        expect(simulate(cell, seed)).toEqual(simulate(cell, seed));
      }),
      { numRuns: 100 },
    );
  });
});
