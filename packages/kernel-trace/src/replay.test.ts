import { defineStrategySet, type Op, PROFILES, runCell, type Strategy, simulate } from '@tlblab/core';
import baseline from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import flushCacheVmap from '@tlblab/strategy-flush-cache-vmap';
import rangedFlush from '@tlblab/strategy-ranged-flush';
import sv32VmallocFault from '@tlblab/strategy-sv32-vmalloc-fault';
import { describe, expect, it } from 'vitest';
import { fixtureWorkload, realScenarios } from './fixtures.js';
import { buildReplay, type ReplayOptions } from './replay.js';
import { realWorkloadParams } from './scenario.js';

const defaults = realWorkloadParams.parse({});
const opts = (o: Partial<ReplayOptions>): ReplayOptions => ({ ...defaults, harts: 2, ...o });

function opsOf(programs: readonly (readonly Op[])[], op: Op['op']): number {
  return programs.flat().filter((o) => o.op === op).length;
}

function flagsWaitedFor(prog: readonly Op[]): string[] {
  return prog.flatMap((o) => (o.op === 'wait' ? [o.flag] : []));
}

describe('buildReplay', () => {
  const w = fixtureWorkload('fork');

  it('replays exactly the events the import counted as ops, one map op per mapping', () => {
    const r = buildReplay(w, opts({}));
    expect(r.emitted['map:vmalloc']).toBe(w.replayed['map:vmalloc']);
    expect(r.emitted['map:ioremap']).toBe(w.replayed['map:ioremap']);
    expect(r.emitted.spawn).toBe(w.replayed['map:stack']);
    expect(opsOf(r.programs, 'map') + opsOf(r.programs, 'spawn')).toBe(
      w.counts.newMappings - (w.pending['map-without-size'] ?? 0),
    );
    expect(r.emitted.vfree).toBe(w.replayed.free);
  });

  it('is plain data: the same inputs build deep-equal programs', () => {
    expect(buildReplay(w, opts({ harts: 4 }))).toEqual(buildReplay(w, opts({ harts: 4 })));
  });

  it('places every op on the hart of the CPU that emitted it, and turns log time into cycles', () => {
    const r = buildReplay(w, opts({ accessRule: 'maker-only', backgroundRounds: 0 }));
    const spawnsPerHart = r.programs.map((p) => p.filter((o) => o.op === 'spawn').length);
    const stacksPerCpu = [0, 1].map(
      (c) => w.events.filter((e) => e.kind === 'map' && e.map === 'stack' && e.cpu === c).length,
    );
    expect(spawnsPerHart).toEqual(stacksPerCpu);
    const cycles = (f: number) =>
      buildReplay(w, opts({ frequencyMHz: f, backgroundRounds: 0, maxGapCycles: 1e15 }))
        .programs.flat()
        .reduce((s, o) => s + (o.op === 'compute' ? o.cycles : 0), 0);
    // Twice the clock, twice the cycles between the same events (up to rounding per gap).
    expect(Math.abs(cycles(2000) - 2 * cycles(1000))).toBeLessThan(w.events.length);
    expect(cycles(1000)).toBeGreaterThan(1e9);
    // Gaps are cut at maxGapCycles; what was cut is accounted for.
    const cut = buildReplay(w, opts({ backgroundRounds: 0 }));
    const uncut = buildReplay(w, opts({ backgroundRounds: 0, maxGapCycles: 1e15 }));
    expect(cut.programs.flat().every((o) => o.op !== 'compute' || o.cycles <= defaults.maxGapCycles)).toBe(
      true,
    );
    expect(cut.gapCycles + cut.elidedCycles).toBe(uncut.gapCycles);
  });

  it('the access rule decides who touches a new mapping', () => {
    const maker = buildReplay(w, opts({ accessRule: 'maker-only' }));
    const sched = buildReplay(w, opts({ accessRule: 'scheduling' }));
    const all = buildReplay(w, opts({ accessRule: 'all-harts' }));
    expect(maker.emitted['cross-hart-read'] ?? 0).toBe(0);
    expect(maker.emitted['stack-read'] ?? 0).toBe(0);
    const mapped =
      w.replayed['map:vmalloc']! +
      w.replayed['map:vmap']! +
      w.replayed['map:ioremap']! +
      w.replayed['map:stack']!;
    expect((all.emitted['cross-hart-read'] ?? 0) + (all.emitted['stack-read'] ?? 0)).toBe(mapped);
    const s = (sched.emitted['cross-hart-read'] ?? 0) + (sched.emitted['stack-read'] ?? 0);
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(2 * mapped);
  });

  it('beyond the captured harts, mirrors each captured hart (or idles), and folds below', () => {
    const eight = buildReplay(w, opts({ harts: 8 }));
    expect(eight.programs).toHaveLength(8);
    for (let h = 2; h < 8; h++) {
      expect(opsOf([eight.programs[h]!], 'map')).toBe(0);
      expect(eight.programs[h]!.filter((o) => o.op === 'access').length).toBeGreaterThan(10);
    }
    expect(eight.emitted['mirrored-read']).toBeGreaterThan(0);
    const idle = buildReplay(w, opts({ harts: 8, extraHarts: 'idle' }));
    expect(idle.programs[5]!.every((o) => o.op === 'access')).toBe(true);
    const one = buildReplay(w, opts({ harts: 1 }));
    expect(one.programs).toHaveLength(1);
    expect(opsOf(one.programs, 'spawn')).toBe(w.replayed['map:stack']);
  });

  it('every free waits for the mapping and every access placed before it', () => {
    const r = buildReplay(w, opts({ harts: 4 }));
    const signalled = new Set(r.programs.flat().flatMap((o) => (o.op === 'signal' ? [o.flag] : [])));
    for (const p of r.programs) for (const f of flagsWaitedFor(p)) expect(signalled.has(f)).toBe(true);
    const freeIdx = r.programs[0]!.findIndex((o) => o.op === 'vfree');
    expect(r.programs[0]![freeIdx - 1]).toMatchObject({ op: 'wait' });
  });

  it('replays one phase alone', () => {
    const loop = buildReplay(w, opts({ phase: 'fork-loop' }));
    expect(loop.emitted.spawn).toBe(w.phaseCounts['fork-loop']!.forksWithNewStack);
    expect(() => buildReplay(w, opts({ phase: 'nope' }))).toThrow(
      /no phase 'nope'.*boot, fork-loop, fork-burst/,
    );
  });
});

describe('the real-workload scenarios on the model', () => {
  const base = baseline();
  const vf = sv32VmallocFault();
  const linux65 = defineStrategySet('linux-6.5', [base, vf, flushCacheVmap()] as Strategy[]);
  const linux612 = defineStrategySet('linux-6.12', [base, vf, rangedFlush(), earlySfence()] as Strategy[]);
  const fork = realScenarios.find((s) => s.id === 'real-fork')!;

  it('real-fork survives on linux-6.5 and linux-6.12 at 4 harts (beyond the 2 captured), and maps what the log mapped', () => {
    const w = fixtureWorkload('fork');
    for (const strategy of [linux65, linux612]) {
      const r = runCell(
        { strategy, scenario: fork, machine: PROFILES['caches-invalid']!, harts: 4 },
        { base: 0, count: 2 },
      );
      expect(r.outcomes, strategy.id).toEqual({ ok: 2 });
    }
    const one = simulate(
      { strategy: linux65, scenario: fork, machine: PROFILES['caches-invalid']!, harts: 4 },
      0,
    );
    expect(one.metrics.mappings).toBe(w.counts.newMappings - (w.pending['map-without-size'] ?? 0));
    // flush_cache_vmap flushes every hart on every new mapping: the remote flushes follow the log's
    // mappings (SBI RFENCE calls on this CLINT-only platform, IPIs where it has S-mode IPIs).
    expect(PROFILES['caches-invalid']!.platform.sModeIpi).toBe('none');
    expect(one.metrics.sbiCalls).toBeGreaterThanOrEqual(
      w.counts.newMappings - (w.pending['map-without-size'] ?? 0),
    );
  });
});
