import {
  layoutFor,
  PluginOptionError,
  PROFILES,
  prepareCell,
  replay,
  runCell,
  simulate,
  vpnOf,
} from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { bpfJit } from '../examples/bpf-jit.js';
import { fenceEverything, v65rc1Baseline } from '../test/kernels.js';

describe('the bpf-jit example of docs/authoring-a-scenario.md', () => {
  it('survives every seed under a kernel that fences every hart after each mapping', () => {
    for (const harts of [2, 3, 6]) {
      const r = runCell(
        { strategy: fenceEverything, scenario: bpfJit, machine: PROFILES.emulator!, harts },
        { base: 0, count: 16 },
      );
      expect(r.verdict, `${harts} harts`).toBe('correct');
      expect(r.outcomes).toEqual({ ok: 16 });
    }
  });

  it('fails on caches-invalid without mapping-side handling, and the failure replays', () => {
    const cell = {
      strategy: v65rc1Baseline,
      scenario: bpfJit,
      machine: PROFILES['caches-invalid']!,
      harts: 2,
    };
    const r = runCell(cell, { base: 0, count: 16 });
    expect(r.verdict).toBe('incorrect');
    expect(r.firstFailure!.outcome).toBe('panic:spurious-fault');
    expect(replay(cell, r.firstFailure!.choices).failure).toEqual(r.firstFailure!.failure);
    // The fault is on a JIT image (the modules/BPF area), on the hart that runs the filter.
    const modules = layoutFor('sv39').modules;
    const onImage = [...Array(16).keys()]
      .map((seed) => simulate(cell, seed))
      .filter((run) => {
        const vpn = run.failure?.stval === undefined ? -1 : vpnOf(run.failure.stval);
        return run.outcome === 'panic:spurious-fault' && vpn >= modules.start && vpn < modules.end;
      });
    expect(onImage.length).toBeGreaterThan(0);
  });

  it('survives the baseline on the emulator, where nothing is cached or stale', () => {
    const r = runCell(
      { strategy: v65rc1Baseline, scenario: bpfJit, machine: PROFILES.emulator!, harts: 2 },
      { base: 0, count: 16 },
    );
    expect(r.outcomes).toEqual({ ok: 16 });
  });

  it('validates its parameters by name', () => {
    const cell = {
      strategy: fenceEverything,
      scenario: bpfJit,
      machine: PROFILES.emulator!,
      harts: 2,
      params: { imagePages: 0 },
    };
    expect(() => prepareCell(cell)).toThrow(PluginOptionError);
    expect(() => prepareCell(cell)).toThrow(/imagePages/);
    expect(prepareCell({ ...cell, params: {} }).params).toEqual({
      programs: 3,
      imagePages: 1,
      packets: 2,
      userPages: 4,
    });
  });
});
