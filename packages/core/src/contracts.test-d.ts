import { expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Strategy, type StrategySlots } from './contracts.js';
import { ops } from './scenario.js';

test('defineStrategy keeps the options type and checks slot return values', () => {
  const s = defineStrategy<{ threshold: number }>({
    name: 'x',
    meta: { title: 't', description: 'd', source: {} },
    options: { threshold: 3 },
    setup: () => ({ trapEntry: () => 'replay' }),
  });
  expectTypeOf(s).toEqualTypeOf<Strategy<{ threshold: number }>>();
  expectTypeOf(s.options).toEqualTypeOf<{ threshold: number } | undefined>();
  expectTypeOf<ReturnType<NonNullable<StrategySlots['trapEntry']>>>().toEqualTypeOf<'replay' | 'continue'>();
  expectTypeOf<ReturnType<NonNullable<StrategySlots['kernelFault']>>>().toEqualTypeOf<
    'handled' | 'unhandled'
  >();
});

test('defineScenario infers params from its schema', () => {
  const sc = defineScenario({
    id: 's',
    meta: { title: 't', story: 's', source: 's' },
    minHarts: 1,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({ pages: z.number().default(4) }),
    build: (p) => {
      expectTypeOf(p.pages).toEqualTypeOf<number>();
      return { programs: [[ops.vmalloc('a', p.pages)]] };
    },
  });
  expectTypeOf(sc.id).toEqualTypeOf<string>();
});
