/**
 * A simulator built from a boot image is, field for field, the simulator a full boot builds — right
 * after construction and again after the same run. The comparison walks the whole object graph
 * (every component, allocator, area, task, hart and TLB), reading the page tables through their
 * accessors (every slot's versions), so a restore that forgets any state fails here even where no
 * record would show it (a data-page PPN, a tick no later step compares against).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layoutFor, type Mode } from '../addr.js';
import { SeededChooser } from '../choice.js';
import { defineScenario, defineStrategy, type Strategy } from '../contracts.js';
import { PageTableMemory } from '../hw/page-tables.js';
import type { KernelConfig } from '../kernel-config.js';
import { type MachineConfig, PROFILES } from '../profiles.js';
import { area, ops, region } from '../scenario.js';
import { newCounters } from '../sim/metrics.js';
import { type Cell, prepareCell, runCell, runPrepared } from '../simulate.js';
import { captureBoot } from './boot-image.js';
import { Simulator } from './simulator.js';
import type { ComposedStrategy } from './types.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/** Mappings, a fork and switch, a new mm, vfree, user and kernel accesses on every hart. */
const busy = defineScenario({
  id: 'test-boot-busy',
  meta: { title: 'boot image', story: 'a bit of everything after boot', source: 'boot-image.test.ts' },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  params: z.object({ freeBootStack: z.boolean().default(false) }),
  build: (p, { harts }) => ({
    programs: Array.from({ length: harts }, (_, i) => [
      ops.read(region('user', 1)),
      ops.vmalloc(`buf${i}`, 3),
      ops.write(area(`buf${i}`, 2)),
      ops.spawn(`child${i}`),
      ops.switchTo(`child${i}`),
      ops.switchMm(`proc${i}`),
      ops.read(region('user', 0)),
      ops.read(region('kernel-data', 1)),
      ops.vfree(`buf${i}`),
      ops.read(region('direct-map', 3)),
      // Stores over PTEs boot wrote (their history was part of the image).
      ...(p.freeBootStack ? [ops.vfree(`stack:swapper/${i}`)] : []),
    ]),
    userPages: 2,
  }),
});

const NO_STRATEGY: ComposedStrategy = { slots: {}, slotOwner: {}, notrace: new Set(), kernelFaultFn: null };

function build(cell: Cell, boot: ReturnType<typeof captureBoot>): Simulator {
  const prepared = prepareCell(cell);
  return new Simulator({
    machine: cell.machine,
    kernel: prepared.kernel,
    layout: layoutFor(prepared.mode),
    harts: cell.harts,
    programs: prepared.programs.programs,
    userPages: prepared.programs.userPages ?? 0,
    strategy: NO_STRATEGY,
    chooser: new SeededChooser(5),
    counters: newCounters(),
    trace: true,
    boot,
  });
}

/** Every slot's versions, through the accessors (not the arrays a snapshot copies). */
function tables(mem: PageTableMemory): string {
  const out: string[] = [`tables ${mem.tableCount}`];
  for (let slot = 0; slot < mem.tableCount * mem.entries; slot++) {
    const n = mem.versions(slot);
    if (mem.flags[slot] === 0 && n === 1) {
      out.push(`${slot}: 0 since ${mem.since(slot)}`);
      continue;
    }
    let line = `${slot}: ${mem.flags[slot]}/${mem.ppn[slot]} since ${mem.since(slot)};`;
    for (let k = 1; k < n; k++)
      line += ` ${mem.versionFlags(slot, k)}/${mem.versionPpn(slot, k)}@${mem.versionSince(slot, k)}w${mem.versionWriter(slot, k)}`;
    out.push(line);
  }
  return out.join('\n');
}

/**
 * Left out: the TLBs and page-walk caches. Boot never fills them (every hart starts empty), and a
 * pooled one (`Hardware`'s per-hart pool) keeps the dead tags of its last run behind its valid
 * bits, so they differ from a new one's zeros without differing in any lookup.
 */
const TRANSLATION_CACHES = new Set(['tlb', 'itlb', 'pwc']);

/** The object graph as path = value lines (functions left out, shared objects named once). */
function dump(root: unknown): string[] {
  const lines: string[] = [];
  const seen = new Map<object, string>();
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'function') return;
    if (v === null || typeof v !== 'object') {
      lines.push(`${path} = ${typeof v === 'number' && Object.is(v, -0) ? '-0' : String(v)}`);
      return;
    }
    const again = seen.get(v);
    if (again !== undefined) {
      lines.push(`${path} -> ${again}`);
      return;
    }
    seen.set(v, path);
    if (v instanceof PageTableMemory) {
      lines.push(`${path} = ${tables(v)}`);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      lines.push(`${path} = [${Array.from(v as unknown as ArrayLike<number>).join(',')}]`);
      return;
    }
    if (v instanceof Map || v instanceof Set) {
      let i = 0;
      for (const e of v instanceof Map ? v.entries() : v.values()) walk(e, `${path}{${i++}}`);
      lines.push(`${path}.size = ${v.size}`);
      return;
    }
    for (const k of Object.keys(v))
      if (!TRANSLATION_CACHES.has(k)) walk((v as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(root, 'sim');
  return lines;
}

function expectSame(a: string[], b: string[]): void {
  const i = a.findIndex((line, k) => line !== b[k]);
  if (i >= 0) expect(b[i]?.slice(0, 400)).toBe(a[i]!.slice(0, 400));
  expect(b.length).toBe(a.length);
}

const CASES: {
  mode: Mode;
  harts: number;
  machine: MachineConfig;
  kernel?: Partial<KernelConfig>;
  params?: { freeBootStack: boolean };
}[] = [
  { mode: 'sv39', harts: 1, machine: PROFILES['caches-invalid'], params: { freeBootStack: true } },
  { mode: 'sv39', harts: 8, machine: PROFILES['reorder-window'], kernel: { tracing: true } },
  { mode: 'sv57', harts: 3, machine: PROFILES.svvptc, params: { freeBootStack: true } },
  { mode: 'sv48', harts: 2, machine: PROFILES['caches-invalid'], kernel: { pgdPrealloc: false } },
  { mode: 'sv32', harts: 8, machine: PROFILES['caches-invalid'] },
  { mode: 'sv39', harts: 4, machine: PROFILES.emulator, kernel: { vmapStack: false, asidAllocator: false } },
];

describe('a boot image', () => {
  for (const c of CASES) {
    const name = `${c.mode}, ${c.harts} hart(s), ${c.machine.name}${c.kernel ? ` ${JSON.stringify(c.kernel)}` : ''}`;
    it(`restores the booted machine field for field, before and after a run (${name})`, () => {
      const cell: Cell = { strategy: none, scenario: busy, ...c };
      const booted = build(cell, null);
      // An unused chooser's log (the format version and nothing else): boot drew no choice.
      const image = captureBoot(booted, new SeededChooser(5), new SeededChooser(5).encoded());
      expect(image).not.toBeNull();
      const restored = build(cell, image);
      const restored0 = dump(restored);
      expectSame(dump(booted), restored0);
      const a = booted.run();
      const b = restored.run();
      expect(b).toEqual(a);
      expect(booted.hw.step).toBeGreaterThan(c.harts * 10);
      const afterRun = dump(restored);
      expectSame(dump(booted), afterRun);
      // Restored again over memories the runs left behind (the pool hands them back, last in first
      // out): the one restored from this image before (only the tables the run wrote are copied
      // back), then the one that booted (copied whole).
      booted.hw.release();
      restored.hw.release();
      const agains: Simulator[] = [];
      for (const previous of [restored, booted]) {
        const again = build(cell, image);
        expect(again.hw.mem === previous.hw.mem).toBe(true);
        expectSame(restored0, dump(again));
        expect(again.run()).toEqual(b);
        expectSame(afterRun, dump(again));
        agains.push(again);
      }
      for (const again of agains) again.hw.release();
    });
  }

  it('shares only frozen read-only parts between runs (the layout, the hart ids)', () => {
    // What each run's strategy setup is given as the layout.
    const seen: object[] = [];
    const looking: Strategy = defineStrategy({
      name: 'test-layout',
      meta: { title: 'records its layout', description: 'test', source: {} },
      setup: (s) => {
        seen.push(s.layout);
        return {};
      },
    });
    const cell: Cell = { strategy: looking, scenario: busy, machine: PROFILES['caches-invalid'], harts: 3 };
    const prepared = prepareCell(cell);
    seen.length = 0;
    runPrepared(cell, prepared, new SeededChooser(1));
    runPrepared(cell, prepared, new SeededChooser(2));
    expect(seen.length).toBe(2);
    expect(seen[1]).toBe(seen[0]);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(seen[0]).toEqual(layoutFor('sv39'));
    const sims = [build(cell, null), build(cell, null)] as const;
    expect(sims[0].allHarts).toEqual([0, 1, 2]);
    expect(sims[1].allHarts).toBe(sims[0].allHarts);
    expect(() => (sims[0].allHarts as number[]).push(3)).toThrow(TypeError);
    for (const sim of sims) sim.hw.release();
  });

  it('is taken by the first run of a prepared cell and used by the next ones (same results)', () => {
    const cell: Cell = { strategy: none, scenario: busy, machine: PROFILES['caches-invalid'], harts: 4 };
    const prepared = prepareCell(cell);
    const first = JSON.stringify(runPrepared(cell, prepared, new SeededChooser(1), { trace: true }));
    expect(JSON.stringify(runPrepared(cell, prepared, new SeededChooser(1), { trace: true }))).toBe(first);
    expect(JSON.stringify(runCell(cell, { base: 0, count: 3 }))).toBe(
      JSON.stringify(runCell(cell, { base: 0, count: 3 })),
    );
  });
});
