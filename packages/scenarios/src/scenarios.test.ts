import {
  type Cell,
  ConfigError,
  defineStrategy,
  layoutFor,
  PluginOptionError,
  PROFILES,
  prepareCell,
  runCell,
  type Scenario,
  simulate,
} from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { fenceEverything, v65rc1Baseline } from '../test/kernels.js';
import * as lib from './index.js';
import { scenarioById, scenarios } from './index.js';

const CATALOG_ORDER = [
  'cross-hart-vmalloc',
  'vmap-stack-migrate',
  'module-load-exec',
  'tracing-in-fault-path',
  'kernel-protection-fault',
  'kernel-nofault-write',
  'vmalloc-guard-page',
  'ioremap-irq',
  'sv32-new-pgd',
  'vfree-reuse',
  'vmalloc-stress',
  'fork-storm',
  'module-load-unload',
  'bpf-prog-lifecycle',
];

const camel = (id: string) => id.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

describe('the built-in library', () => {
  it('lists every catalog scenario once, in catalog order', () => {
    expect(scenarios.map((s) => s.id)).toEqual(CATALOG_ORDER);
  });

  it('exports each scenario under the camelCase of its id', () => {
    for (const s of scenarios) expect((lib as Record<string, unknown>)[camel(s.id)]).toBe(s);
  });

  it('finds scenarios by id and answers undefined for unknown ids', () => {
    for (const s of scenarios) expect(scenarioById(s.id)).toBe(s);
    expect(scenarioById('no-such-scenario')).toBeUndefined();
  });

  it('gives each scenario a story, a source, modes, a minimum hart count and an expectation', () => {
    for (const s of scenarios) {
      expect(s.meta.story.length, s.id).toBeGreaterThan(200);
      expect(s.meta.source.length, s.id).toBeGreaterThan(10);
      expect(s.modes.length, s.id).toBeGreaterThan(0);
      expect(s.minHarts, s.id).toBeGreaterThanOrEqual(1);
      expect(['ok', 'oops']).toContain(s.expect);
    }
  });

  it('marks exactly vmalloc-stress, fork-storm and the module/BPF lifecycles as cost scenarios', () => {
    expect(scenarios.filter((s) => s.purpose === 'cost').map((s) => s.id)).toEqual([
      'vmalloc-stress',
      'fork-storm',
      'module-load-unload',
      'bpf-prog-lifecycle',
    ]);
  });

  it('expects oops exactly for the protection fault and the guard page', () => {
    expect(scenarios.filter((s) => s.expect === 'oops').map((s) => s.id)).toEqual([
      'kernel-protection-fault',
      'vmalloc-guard-page',
    ]);
  });

  it('applies sv32-new-pgd to Sv32 only and the vmap-stack scenarios to 64-bit only', () => {
    expect(scenarioById('sv32-new-pgd')!.modes).toEqual(['sv32']);
    for (const id of ['vmap-stack-migrate', 'fork-storm', 'bpf-prog-lifecycle'])
      expect(scenarioById(id)!.modes).not.toContain('sv32');
  });
});

describe('scenario builds', () => {
  it('are pure: the same parameters and harts give deep-equal programs', () => {
    for (const s of scenarios) {
      for (const mode of s.modes) {
        for (const harts of [s.minHarts, 2, 5, 8].filter((h) => h >= s.minHarts)) {
          const params = s.params.parse({});
          const env = { harts, mode, layout: layoutFor(mode) };
          const one = s.build(params, env);
          const two = s.build(s.params.parse({}), env);
          expect(two, `${s.id} ${mode} h${harts}`).toEqual(one);
          expect(one.programs.length, `${s.id} h${harts}`).toBe(harts);
        }
      }
    }
  });

  it('give every hart work, so flushes meet a warm TLB everywhere', () => {
    for (const s of scenarios) {
      const mode = s.modes[0]!;
      const built = s.build(s.params.parse({}), { harts: 6, mode, layout: layoutFor(mode) });
      for (const [h, prog] of built.programs.entries())
        expect(prog.length, `${s.id} hart ${h}`).toBeGreaterThan(0);
      expect(built.userPages, s.id).toBeGreaterThan(0);
    }
  });

  it('derive vmalloc-stress random sizes from sizeSeed, not from Math.random', () => {
    const s = lib.vmallocStress;
    const env = { harts: 3, mode: 'sv39' as const, layout: layoutFor('sv39') };
    const sizesOf = (seed: number) =>
      s
        .build(
          s.params.parse({ sizeSeed: seed, cases: ['random_size_alloc_test'], loops: 6, maxRandomPages: 16 }),
          env,
        )
        .programs.flat()
        .filter((op) => op.op === 'map')
        .map((op) => (op.op === 'map' ? op.pages : 0));
    expect(sizesOf(7)).toEqual(sizesOf(7));
    expect(sizesOf(7)).not.toEqual(sizesOf(8));
    for (const n of sizesOf(7)) expect(n).toBeGreaterThanOrEqual(1);
  });

  it('runs vmalloc-stress on the requested number of workers, background work on the rest', () => {
    const s = lib.vmallocStress;
    const built = s.build(s.params.parse({ workers: 2 }), {
      harts: 4,
      mode: 'sv39',
      layout: layoutFor('sv39'),
    });
    const maps = built.programs.map((p) => p.filter((op) => op.op === 'map').length);
    expect(maps[0]).toBeGreaterThan(0);
    expect(maps[1]).toBeGreaterThan(0);
    expect(maps[2]).toBe(0);
    expect(maps[3]).toBe(0);
  });
});

describe('parameter validation', () => {
  const cell = (s: Scenario, params: Record<string, unknown>): Cell => ({
    strategy: fenceEverything,
    scenario: s,
    machine: PROFILES.emulator!,
    mode: s.modes.includes('sv39') ? 'sv39' : s.modes[0]!,
    harts: Math.max(2, s.minHarts),
    params,
  });

  const bad: Record<string, [string, unknown]> = {
    'cross-hart-vmalloc': ['rounds', 0],
    'vmap-stack-migrate': ['bufferPages', -1],
    'module-load-exec': ['modulePages', 1.5],
    'tracing-in-fault-path': ['workPages', 'two'],
    'kernel-protection-fault': ['target', 'text'],
    'kernel-nofault-write': ['probes', 0],
    'vmalloc-guard-page': ['pages', 0],
    'ioremap-irq': ['registerOffset', 4096],
    'sv32-new-pgd': ['pages', 2000],
    'vfree-reuse': ['rounds', -3],
    'vmalloc-stress': ['workers', 0],
    'fork-storm': ['tasksPerHart', 0],
    'module-load-unload': ['textPages', 0],
    'bpf-prog-lifecycle': ['jit', 'yes'],
  };

  for (const s of scenarios) {
    const [name, value] = bad[s.id]!;
    it(`${s.id}: rejects ${name} = ${JSON.stringify(value)} with an error naming the parameter`, () => {
      const c = cell(s, { [name]: value });
      let err: unknown;
      try {
        prepareCell(c);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PluginOptionError);
      const e = err as PluginOptionError;
      expect(e.plugin).toBe(s.id);
      expect(e.option).toBe(name);
      expect(e.value).toEqual(value);
      expect(e.message).toContain(name);
      expect(() => runCell(c, { base: 0, count: 1 })).toThrow(PluginOptionError);
    });
  }

  it('rejects unknown parameters, naming them', () => {
    expect(() => prepareCell(cell(lib.crossHartVmalloc, { roudns: 3 }))).toThrow(/roudns/);
  });

  it('rejects a page outside the read-only table, naming page', () => {
    expect(() =>
      prepareCell(cell(lib.kernelProtectionFault, { target: 'vmalloc-ro', tablePages: 2, page: 2 })),
    ).toThrow(expect.objectContaining({ name: 'PluginOptionError', option: 'page' }));
  });

  it('rejects unknown vmalloc test cases, naming the cases parameter', () => {
    expect(() => prepareCell(cell(lib.vmallocStress, { cases: ['fix_size_alloc_test', 'nope'] }))).toThrow(
      expect.objectContaining({ option: 'cases.1' }),
    );
  });

  it('refuses fewer harts than a scenario needs and modes it does not apply to', () => {
    expect(() => prepareCell({ ...cell(lib.crossHartVmalloc, {}), harts: 1 })).toThrow(ConfigError);
    expect(() => prepareCell({ ...cell(lib.sv32NewPgd, {}), mode: 'sv39' })).toThrow(ConfigError);
  });
});

describe('an obviously correct kernel on the emulator (quick pass)', () => {
  for (const s of scenarios) {
    const mode = s.modes.includes('sv39') ? 'sv39' : s.modes[0]!;
    it(`${s.id} meets its expectation (${s.expect}) on 8 seeds, 2 harts, ${mode}`, () => {
      const r = runCell(
        {
          strategy: fenceEverything,
          scenario: s,
          machine: PROFILES.emulator!,
          mode,
          harts: Math.max(2, s.minHarts),
        },
        { base: 0, count: 8 },
      );
      expect(r.outcomes).toEqual({ [s.expect]: 8 });
    });
  }

  it('the cost scenarios really map on every worker and flush every hart', () => {
    for (const s of [lib.vmallocStress, lib.forkStorm]) {
      const r = simulate(
        { strategy: fenceEverything, scenario: s, machine: PROFILES.emulator!, harts: 4 },
        1,
      );
      expect(r.outcome).toBe('ok');
      expect(r.metrics.mappings).toBeGreaterThanOrEqual(4);
      // Remote fences reached the other harts (by SBI RFENCE on this CLINT-only profile).
      expect(r.metrics.sfenceIpi + r.metrics.sfenceFirmware).toBeGreaterThan(0);
      expect(r.metrics.refillMisses, s.id).toBeGreaterThan(0);
    }
  });
});

describe('scenarios that catch what they are about, on the emulator', () => {
  it('vfree-reuse reports stale-access when vfree has no flush_tlb_kernel_range', () => {
    const noFlush = defineStrategy({
      name: 'no-flush',
      meta: { title: 'no slots', description: 'tests', source: {} },
      setup: () => ({}),
    });
    const r = runCell(
      { strategy: noFlush, scenario: lib.vfreeReuse, machine: PROFILES.emulator!, harts: 2 },
      { base: 0, count: 8 },
    );
    expect(r.outcomes).toEqual({ 'stale-access': 8 });
    expect(r.firstFailure!.failure!.message).toMatch(/use after free/);
  });

  it('sv32-new-pgd fails without vmalloc_fault even where nothing is cached: the process roots lack the entry', () => {
    const r = runCell(
      {
        strategy: v65rc1Baseline,
        scenario: lib.sv32NewPgd,
        machine: PROFILES.emulator!,
        mode: 'sv32',
        harts: 2,
      },
      { base: 0, count: 8 },
    );
    expect(r.outcomes).toEqual({ 'panic:spurious-fault': 8 });
    expect(r.firstFailure!.failure!.stval).toBe('0xa0000000');
  });

  it('the protection fault is an oops and the nofault write survives under the baseline on the emulator', () => {
    for (const target of ['rodata', 'vmalloc-ro'] as const) {
      const oops = runCell(
        {
          strategy: v65rc1Baseline,
          scenario: lib.kernelProtectionFault,
          machine: PROFILES.emulator!,
          harts: 2,
          params: { target },
        },
        { base: 0, count: 8 },
      );
      expect(oops.outcomes, target).toEqual({ oops: 8 });
      const ok = runCell(
        {
          strategy: v65rc1Baseline,
          scenario: lib.kernelNofaultWrite,
          machine: PROFILES.emulator!,
          harts: 2,
          params: { target },
        },
        { base: 0, count: 8 },
      );
      expect(ok.outcomes, target).toEqual({ ok: 8 });
    }
  });

  it('kernel-protection-fault on a vmalloc table catches a set_memory_ro without its flush (the write goes through)', () => {
    const noFlush = defineStrategy({
      name: 'no-flush',
      meta: { title: 'no slots', description: 'tests', source: {} },
      setup: () => ({}),
    });
    const r = runCell(
      {
        strategy: noFlush,
        scenario: lib.kernelProtectionFault,
        machine: PROFILES.emulator!,
        harts: 1,
        params: { target: 'vmalloc-ro' },
        // Before 311cd2f6e253 (v6.4/v6.5) __set_memory's flush is the strategy's flush_tlb_kernel_range.
        kernel: { setMemoryFlush: 'kernel-range' },
      },
      { base: 0, count: 4 },
    );
    expect(r.outcomes).toEqual({ ok: 4 });
    expect(r.verdict).toBe('incorrect');
  });
});
