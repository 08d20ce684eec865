/**
 * The kit judges: it accepts true claims and rejects false ones (a harness that cannot fail proves
 * nothing), and its contract checks catch each kind of broken strategy.
 */
import { defineStrategy, parseOptions } from '@tlblab/core';
import { baseline } from '@tlblab/strategy-baseline';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contractProblems, judgeInvalid, judgeValid, runStrategyConformance } from './conformance.js';
import { crossHartVmalloc, kernelNofaultWrite, vfreeReuse } from './probes.js';
import { createSpy } from './spy.js';

describe('judging cases', () => {
  it('rejects a valid case the strategy fails, naming the seed and outcome', () => {
    const { problems } = judgeValid(baseline(), { scenario: crossHartVmalloc, seeds: 10 });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/seed \d+ ended panic:spurious-fault/);
  });

  it('rejects an invalid case whose cell is correct', () => {
    const { problems } = judgeInvalid(baseline(), {
      scenario: kernelNofaultWrite,
      outcome: 'livelock',
      seeds: 5,
    });
    expect(problems.join('\n')).toMatch(/every run met 'ok'/);
  });

  it('rejects an invalid case that fails with another outcome', () => {
    const { problems } = judgeInvalid(baseline(), {
      scenario: crossHartVmalloc,
      outcome: 'livelock',
      seeds: 10,
    });
    expect(problems.join('\n')).toMatch(/no run ended with livelock/);
  });

  it('accepts an invalid case and reports its first seed with that outcome', () => {
    const r = judgeInvalid(baseline(), {
      scenario: crossHartVmalloc,
      outcome: 'panic:spurious-fault',
      seeds: 10,
    });
    expect(r.problems).toEqual([]);
    expect(r.seed).toBe(r.record.firstFailure?.seed);
  });

  it('tells a budget overrun from a failure: inconclusive, with the setting to raise', () => {
    const kernel = { stepLimit: 3 };
    const valid = judgeValid(baseline(), { scenario: kernelNofaultWrite, seeds: 2, kernel });
    expect(valid.record.verdict).toBe('inconclusive');
    expect(valid.problems[0]).toMatch(/ended step-limit: .*inconclusive, not a failure: .*stepLimit/);
    const invalid = judgeInvalid(baseline(), {
      scenario: kernelNofaultWrite,
      outcome: 'livelock',
      seeds: 2,
      kernel,
    });
    expect(invalid.problems.join('\n')).toMatch(/with livelock but it is inconclusive/);
    // A case that expects the overrun itself holds.
    const overrun = judgeInvalid(baseline(), {
      scenario: kernelNofaultWrite,
      outcome: 'step-limit',
      seeds: 2,
      kernel,
    });
    expect(overrun.problems).toEqual([]);
  });

  it('rejects `always` when some runs survive', () => {
    const r = judgeInvalid(baseline(), {
      scenario: crossHartVmalloc,
      outcome: 'panic:spurious-fault',
      seeds: 20,
      always: true,
    });
    expect(r.problems.join('\n')).toMatch(/every run to end with panic:spurious-fault/);
  });
});

describe('contract checks', () => {
  const base = baseline();

  it('accept the baseline', () => {
    expect(
      contractProblems(base, {
        packageName: '@tlblab/strategy-baseline',
        factory: baseline,
        invalidOptions: [{ transport: 'smoke' }],
      }),
    ).toEqual({});
  });

  it('catch a name that is not the package suffix', () => {
    expect(contractProblems(base, { packageName: '@tlblab/strategy-early-sfence' }).name).toHaveLength(1);
  });

  it('catch incomplete meta', () => {
    const s = defineStrategy({
      ...base,
      meta: {
        title: '',
        description: 'x',
        source: {},
        slots: ['flushTlbKernelRange', 'bogus' as 'trapEntry'],
      },
    });
    expect(contractProblems(s).meta).toEqual([
      'meta.title is empty',
      'meta.source names no commit, kernel, url or note',
      "meta.slots names unknown slot 'bogus'",
    ]);
  });

  it('catch setup returning undeclared or unknown slots', () => {
    const s = defineStrategy({
      ...base,
      setup: () => ({ trapEntry: () => 'continue' as const, onFork: () => undefined }) as never,
    });
    const p = contractProblems(s).setup ?? [];
    expect(p).toContain("sv39: setup returned unknown slot 'onFork'");
    expect(p).toContain("sv39: setup returned slot 'trapEntry' not declared in meta.slots");
  });

  it('catch state kept in the factory closure instead of setup', () => {
    let mappings = 0;
    const leaky = defineStrategy({
      name: 'leaky',
      meta: {
        title: 'leaky',
        description: 'counts mappings across runs',
        source: { note: 'fixture' },
        slots: ['flushCacheVmap'],
      },
      setup: () => ({
        flushCacheVmap: (ctx) => {
          mappings++;
          if (mappings % 2 === 1) ctx.localSfence('all');
        },
      }),
    });
    expect(contractProblems(leaky).determinism).toHaveLength(1);
  });

  it('catch options that are accepted or refused with the wrong error', () => {
    const schema = z.object({ k: z.number().default(1) });
    const lax = (o?: unknown) => defineStrategy({ ...base, options: schema.parse(o ?? {}) });
    const typed = (o?: unknown) => defineStrategy({ ...base, options: parseOptions('baseline', schema, o) });
    expect(contractProblems(base, { factory: lax, invalidOptions: [{ k: 'x' }] }).options?.[0]).toMatch(
      /not a PluginOptionError/,
    );
    expect(contractProblems(base, { factory: typed, invalidOptions: [{ k: 2 }] }).options?.[0]).toMatch(
      /were accepted/,
    );
    expect(contractProblems(base, { factory: typed, invalidOptions: [{ k: 'x' }] }).options).toBeUndefined();
  });
});

// The kit on itself: the spy over the baseline keeps the contract and the baseline's verdicts.
runStrategyConformance(createSpy().strategy, {
  valid: [{ scenario: vfreeReuse, alone: true, seeds: 10 }],
  invalid: [{ scenario: crossHartVmalloc, alone: true, outcome: 'panic:spurious-fault', seeds: 10 }],
});
