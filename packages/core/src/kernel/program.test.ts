/**
 * `ProgramRunner.compile` shares the row of an op object that recurs (a repeated body): a program
 * built from shared op objects must compile, and run, exactly as the same program built from
 * distinct copies of every op, including where the body's period is broken by inserted ops.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Op } from '../contracts.js';
import { PROFILES } from '../profiles.js';
import { area, ops, region } from '../scenario.js';
import { type Cell, simulate } from '../simulate.js';

const none = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/** Per hart: its buffer, then `rounds` passes over a body of shared op objects, with a mapping
 *  (breaking the period) every third round on hart 0, and a few offsets near a page's end. */
function programs(harts: number, rounds: number, copies: boolean): Op[][] {
  const out: Op[][] = [];
  for (let h = 0; h < harts; h++) {
    const body: Op[] = [
      ops.read(region('user', 0)),
      ops.write(area(`buf${h}`, 1)),
      ops.read(area(`buf${h}`, 2, 4000)),
      ops.read(region('user', 1, 3900)),
      ops.read(region('kernel-rodata', 0)),
      ops.write(region('user', 1)),
    ];
    const prog: Op[] = [ops.vmalloc(`buf${h}`, 4)];
    for (let r = 0; r < rounds; r++) {
      for (const op of body) prog.push(copies ? structuredClone(op) : op);
      if (h === 0 && r % 3 === 2) prog.push(ops.vmalloc(`extra${r}`, 1), ops.read(area(`extra${r}`, 0)));
      if (r % 4 === 1) prog.push(body[2]!, body[0]!);
    }
    out.push(prog);
  }
  return out;
}

function cell(copies: boolean): Cell {
  return {
    strategy: none,
    scenario: defineScenario({
      id: `test-compile-${copies ? 'copies' : 'shared'}`,
      meta: { title: 'compile', story: 'shared op objects', source: 'program.test.ts' },
      minHarts: 1,
      modes: ['sv39'],
      expect: 'ok',
      params: z.object({}),
      build: (_p, { harts }) => ({ programs: programs(harts, 40, copies), userPages: 2 }),
    }),
    machine: PROFILES['no-invalid-caching']!,
    harts: 3,
  };
}

describe('compile', () => {
  it('shared op objects run exactly as distinct copies (metrics, outcome, choice log)', () => {
    for (const seed of [1, 2, 3]) {
      const [a, b] = [cell(false), cell(true)].map((c) => {
        const r = simulate(c, seed);
        return { outcome: r.outcome, metrics: r.metrics, choices: r.choices };
      });
      expect(a!.outcome).toBe('ok');
      expect(a!.metrics.accesses).toBeGreaterThan(100);
      expect(a!.choices.length).toBeGreaterThan(10);
      expect(a).toEqual(b);
    }
  });
});
