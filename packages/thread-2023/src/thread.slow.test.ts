/**
 * The 2023 thread, reproduced (issue 5): the catalog's verdict table cell by cell, its
 * cross-profile claims, and the cost relations the thread argued about — all measured by the
 * model. Where the faithful model disagrees with the catalog's prediction, the model wins: the
 * cell is listed in MODEL_DIFFERS with the mechanism, and the test checks what the model does.
 */
import {
  type Cell,
  type CellRecord,
  defineMachine,
  defineStrategySet,
  type MachineConfig,
  type Mode,
  type Outcome,
  PROFILES,
  replay,
  runCell,
  type Scenario,
  type StrategySet,
  simulate,
} from '@tlblab/core';
import { scenarioById } from '@tlblab/scenarios';
import baseline, { onBaseline } from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import rangedFlush from '@tlblab/strategy-ranged-flush';
import sv32VmallocFault from '@tlblab/strategy-sv32-vmalloc-fault';
import { describe, expect, it } from 'vitest';
import { threadStrategies } from './index.js';

const SEEDS = { base: 0, count: 48 };
const STRATEGIES = threadStrategies();
const strategy = (id: string): StrategySet => STRATEGIES.find((s) => s.id === id)!;
const scenario = (id: string): Scenario => scenarioById(id)!;

function cell(
  s: string,
  sc: string,
  machine: string | MachineConfig = 'caches-invalid',
  harts = 2,
  mode: Mode = 'sv39',
): Cell {
  const m = typeof machine === 'string' ? PROFILES[machine]! : machine;
  return { strategy: strategy(s), scenario: scenario(sc), machine: m, harts, mode };
}

/** A shipped profile on a platform with S-mode IPIs (IMSIC): Linux sends remote fences as kernel IPIs.
 *  The shipped 2023-era profiles have a CLINT only, where Linux uses SBI RFENCE. */
const withImsic = (profile: string): MachineConfig =>
  defineMachine({ name: `${profile}+imsic`, extends: profile, platform: { sModeIpi: 'imsic' } });

type Expectation = 'correct' | 'fails' | Outcome;

/** The catalog's table ("What the 2023 thread predicts"): caches-invalid, Sv39, VMAP_STACK on. */
const CATALOG: Record<string, Record<string, Expectation>> = {
  'cross-hart-vmalloc': {
    baseline: 'panic:spurious-fault',
    'sv32-vmalloc-fault': 'panic:spurious-fault',
    'notrace-fault': 'correct',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'vmap-stack-migrate': {
    baseline: 'panic:stack-overflow',
    'sv32-vmalloc-fault': 'panic:stack-overflow',
    'notrace-fault': 'panic:stack-overflow',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'module-load-exec': {
    baseline: 'panic:spurious-fault',
    'sv32-vmalloc-fault': 'panic:spurious-fault',
    'notrace-fault': 'correct',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'tracing-in-fault-path': {
    baseline: 'fails',
    'sv32-vmalloc-fault': 'fails',
    'notrace-fault': 'panic:stack-overflow',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'kernel-protection-fault': {
    baseline: 'correct',
    'sv32-vmalloc-fault': 'correct',
    'notrace-fault': 'livelock',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'kernel-nofault-write': {
    baseline: 'correct',
    'sv32-vmalloc-fault': 'correct',
    'notrace-fault': 'livelock',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'vmalloc-guard-page': {
    baseline: 'correct',
    'sv32-vmalloc-fault': 'correct',
    'notrace-fault': 'correct',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'ioremap-irq': {
    baseline: 'fails',
    'sv32-vmalloc-fault': 'fails',
    'notrace-fault': 'correct',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
  'vfree-reuse': {
    baseline: 'correct',
    'sv32-vmalloc-fault': 'correct',
    'notrace-fault': 'correct',
    'flush-cache-vmap': 'correct',
    'ranged-flush': 'correct',
    'early-sfence': 'correct',
  },
};

/**
 * Cells where the model, built to the spec and the kernel facts, disagrees with the prediction.
 * Each `why` names the mechanism the replayable trace of the first failing seed shows.
 */
const MODEL_DIFFERS: Record<string, Record<string, { model: Expectation; why: string }>> = {
  'vmap-stack-migrate': {
    baseline: {
      model: 'panic:spurious-fault',
      why: 'On a core that caches invalid *leaf* PTEs, speculation left V=0 for one page of the new stack (the one its restore reads). The nested trap-frame stores walk down that page (~13 frames of 288 bytes) and then reach the next stack page, which translates: the innermost trap saves its frame and dies in no_context on a mapped VA. The stack overflows only when every page below is also invalid in the TLB (e.g. a V=0 non-leaf entry cached for a fresh page-table page: core test "a fault while storing the trap frame nests and overflows the vmap stack").',
    },
    'sv32-vmalloc-fault': { model: 'panic:spurious-fault', why: 'Inert on 64-bit: the baseline cell.' },
    'notrace-fault': {
      model: 'correct',
      why: 'Same geometry: once a nested trap saves its frame on a good stack page, vmalloc_fault() runs for the faulting stack address, finds it present in init_mm, fences it locally and replays; the chain unwinds. Its handler needs the stack, but only one frame of it.',
    },
  },
  'tracing-in-fault-path': {
    'notrace-fault': {
      model: 'correct',
      why: "The ftrace ring buffer's pages come from alloc_pages_node() (the linear map, kernel/trace/ring_buffer.c), not vmalloc, so the tracer in the fault path touches no fresh kernel mapping. What is vmalloc'd and touched there is a BPF map written by an fentry program attached to handle_page_fault; the program's prog->active recursion guard (__bpf_prog_enter_recur, kernel/bpf/trampoline.c) skips it when a fault nests inside it, so notrace vmalloc_fault() fixes the map page and the chain unwinds instead of recursing off the stack (issue 12's rebuilt scenario).",
    },
  },
  'vfree-reuse': {
    baseline: {
      model: 'panic:spurious-fault',
      why: 'The unmap side is safe (no stale-access on any seed), but every buffer the scenario hands to the other hart is a new kernel mapping, and the baseline kernel makes new mappings visible to nobody: the reader takes the same spurious fault as in cross-hart-vmalloc.',
    },
    'sv32-vmalloc-fault': { model: 'panic:spurious-fault', why: 'Inert on 64-bit: the baseline cell.' },
  },
};

function expectation(sc: string, s: string): Expectation {
  return MODEL_DIFFERS[sc]?.[s]?.model ?? CATALOG[sc]![s]!;
}

function check(rec: CellRecord, want: Expectation, c: Cell): void {
  if (want === 'correct') {
    expect(rec.verdict, JSON.stringify(rec.outcomes)).toBe('correct');
    return;
  }
  expect(rec.verdict).toBe('incorrect');
  if (want !== 'fails') expect(rec.outcomes[want] ?? 0, JSON.stringify(rec.outcomes)).toBeGreaterThan(0);
  // The first failing seed replays, choice for choice, to the same outcome and failure.
  const ff = rec.firstFailure!;
  const again = replay(c, ff.choices);
  expect(again.outcome).toBe(ff.outcome);
  expect(again.failure).toEqual(ff.failure);
}

describe('the verdict table on caches-invalid / Sv39 (catalog, "What the 2023 thread predicts")', () => {
  for (const sc of Object.keys(CATALOG)) {
    for (const s of Object.keys(CATALOG[sc]!)) {
      const want = expectation(sc, s);
      const differs = MODEL_DIFFERS[sc]?.[s];
      const name = differs
        ? `${sc} x ${s}: ${want} (the catalog predicts ${CATALOG[sc]![s]}; the model differs: ${differs.why.slice(0, 60)}...)`
        : `${sc} x ${s}: ${want}`;
      it(name, () => {
        const c = cell(s, sc);
        check(runCell(c, SEEDS), want, c);
      });
    }
  }

  it('the vfree-reuse unmap side is safe under every strategy: no stale-access on any seed', () => {
    for (const s of STRATEGIES) {
      const rec = runCell(cell(s.id, 'vfree-reuse'), SEEDS);
      expect(rec.outcomes['stale-access'] ?? 0).toBe(0);
    }
  });
});

const MAPPING_SCENARIOS = [
  'cross-hart-vmalloc',
  'vmap-stack-migrate',
  'module-load-exec',
  'tracing-in-fault-path',
  'ioremap-irq',
];

describe('the cross-profile claims', () => {
  for (const machine of ['emulator', 'no-invalid-caching']) {
    it(`the baseline survives every mapping scenario on ${machine} (why such cores "don't need it")`, () => {
      for (const sc of MAPPING_SCENARIOS)
        expect(runCell(cell('baseline', sc, machine), SEEDS).verdict, sc).toBe('correct');
    });
  }

  it('the baseline fails the mapping scenarios again on reorder-window (the "small window"), where the kernel itself fences nothing', () => {
    // Fails: a new mapping read by another hart within the 200-cycle window of its PTE stores.
    for (const sc of ['cross-hart-vmalloc', 'ioremap-irq']) {
      const c = cell('baseline', sc, 'reorder-window');
      check(runCell(c, SEEDS), 'panic:spurious-fault', c);
    }
    // Survive, by kernel paths the thread did not discuss (issue 12):
    // - module-load-exec: hart B first executes the text more than the window after its PTE
    //   stores (the loader copies the sections and broadcasts flush_icache_all's fence.i first,
    //   then the RWX pass); it survives with STRICT_MODULE_RWX off too;
    // - tracing-in-fault-path: the ring buffer is in the linear map (no fresh mapping in the path);
    // - vmap-stack-migrate: the migrated task's stack was mapped at fork, far more than the window
    //   before another hart first stores to it.
    for (const sc of ['module-load-exec', 'tracing-in-fault-path', 'vmap-stack-migrate'])
      expect(runCell(cell('baseline', sc, 'reorder-window'), SEEDS).verdict, sc).toBe('correct');
    const noRwx: Cell = {
      ...cell('baseline', 'module-load-exec', 'reorder-window'),
      kernel: { strictModuleRwx: false },
    };
    expect(runCell(noRwx, SEEDS).verdict).toBe('correct');
  });

  it("notrace-fault's livelocks appear on every profile", () => {
    for (const machine of Object.keys(PROFILES)) {
      for (const sc of ['kernel-protection-fault', 'kernel-nofault-write']) {
        const rec = runCell(cell('notrace-fault', sc, machine), { base: 0, count: 8 });
        expect(rec.outcomes.livelock, `${sc} on ${machine}`).toBe(8);
      }
    }
  });

  it('on Sv32 only the vmalloc_fault strategies survive sv32-new-pgd', () => {
    for (const machine of ['emulator', 'caches-invalid']) {
      for (const s of STRATEGIES) {
        const rec = runCell(cell(s.id, 'sv32-new-pgd', machine, 2, 'sv32'), { base: 0, count: 16 });
        const survives = s.id === 'sv32-vmalloc-fault' || s.id === 'notrace-fault';
        expect(rec.verdict, `${s.id} on ${machine}`).toBe(survives ? 'correct' : 'incorrect');
      }
    }
  });

  it('beyond the thread: caches-invalid-walk findings are labelled by placement below', () => {
    expect(PROFILES['caches-invalid-walk']!.invalidNonLeafIn).toBe('pwc');
    expect(PROFILES['caches-invalid-walk-tlb']!.invalidNonLeafIn).toBe('tlb');
  });
});

/**
 * Where a core caches a walk that ended on a V=0 *non-leaf* entry — both legal (privileged spec,
 * SFENCE.VMA: rs1 != x0 invalidates only "entries that contain leaf page table entries" for the
 * VA, and orders only stores to the leaf PTE): in the page-walk cache, which no `sfence.vma va`
 * touches (`caches-invalid-walk`), or as a negative TLB entry of that level, which `sfence.vma va`
 * on any page of its range removes (`caches-invalid-walk-tlb`). Every finding below is labelled
 * with the placement it holds under.
 */
const PLACEMENTS = [
  { machine: 'caches-invalid-walk', label: '[V=0 non-leaf in the page-walk cache]' },
  { machine: 'caches-invalid-walk-tlb', label: '[V=0 non-leaf as a level-L negative TLB entry]' },
] as const;

/** A placement's profile whose walker may return stale PTEs at the leaf level only: what is left
 *  when the staleness of non-leaf reads (which `sfence.vma va` does not order) is taken away. The
 *  window stays the profile's own (cycles). */
const leafStaleOnly = (machine: string, d?: number): MachineConfig => {
  const base = PROFILES[machine]!;
  const window = d ?? (base.staleness.kind === 'window' ? base.staleness.d : 0);
  return defineMachine({
    name: `${machine}-leaf-stale${d === undefined ? '' : `-${d}`}`,
    extends: machine,
    staleness: { kind: 'window', d: window, levels: 'leaf' },
  });
};

/**
 * A placement's profile with a slow walker: Hart B reaches the module 1000-2000 cycles after the
 * first module allocation's PTE-table store (the flush's round trip, A's copy of the sections). A
 * walker that sees non-leaf stores within the shipped window never reads the old entry; one that
 * needs 2000 cycles can (then caches it where the placement says).
 */
const lateWalker = (
  machine: string,
  platform: 'imsic' | 'none' = 'imsic',
  tlbRangeFlushLimit = 4096,
  levels: 'all' | 'leaf' = 'all',
): MachineConfig =>
  defineMachine({
    name: `${machine}+late-${platform}-${tlbRangeFlushLimit}-${levels}`,
    extends: machine,
    staleness: { kind: 'window', d: 2000, levels },
    platform: { sModeIpi: platform, tlbRangeFlushLimit },
  });

describe('beyond the thread: a cached V=0 non-leaf entry after the first module allocation (module-load-exec)', () => {
  // The first module allocation installs a new PTE table in the modules area (a non-leaf V 0->1
  // store). Full sfence.vma (flush-cache-vmap, early-sfence, the CIP-1200 preset of ranged-flush)
  // cures it under both placements. The findings need a walker slower than the shipped window
  // (`lateWalker`): with the shipped 200 cycles every strategy survives (tested below).
  const walk = (machine: string | MachineConfig, s: string | StrategySet) => {
    const c: Cell = {
      ...cell('baseline', 'module-load-exec'),
      machine: typeof machine === 'string' ? PROFILES[machine]! : machine,
      strategy: typeof s === 'string' ? strategy(s) : s,
    };
    return { c, rec: runCell(c, SEEDS) };
  };
  for (const { machine, label } of PLACEMENTS) {
    it(`${label} full fences cure it: flush-cache-vmap, early-sfence, ranged-flush's CIP-1200 preset`, () => {
      for (const s of ['flush-cache-vmap', 'early-sfence'])
        expect(walk(lateWalker(machine), s).rec.verdict, s).toBe('correct');
      expect(walk(lateWalker(machine), onBaseline(rangedFlush({ threshold: 0 }))).rec.verdict).toBe(
        'correct',
      );
    });
  }

  it(`${PLACEMENTS[0].label} only x0-form fences remove it: ranged-flush's per-page sfence.vma va faults, notrace-fault's local_flush_tlb_page() replay livelocks`, () => {
    const ranged = walk(lateWalker(PLACEMENTS[0].machine), 'ranged-flush');
    check(ranged.rec, 'panic:spurious-fault', ranged.c);
    // notrace-fault (the v6.5-rc1 baseline) is cured by the kernel's own RWX pass: set_memory_rox
    // ends in flush_tlb_kernel_range(), flush_tlb_all() before 5e22bfd520ea, an x0 fence on every
    // hart before the module's init runs. Without STRICT_MODULE_RWX its local_flush_tlb_page()
    // replay livelocks on the cached V=0 entry.
    expect(walk(lateWalker(PLACEMENTS[0].machine), 'notrace-fault').rec.verdict).toBe('correct');
    const noRwx: Cell = {
      ...walk(lateWalker(PLACEMENTS[0].machine), 'notrace-fault').c,
      kernel: { strictModuleRwx: false },
    };
    check(runCell(noRwx, SEEDS), 'livelock', noRwx);
    // Without S-mode IPIs the ranged flush goes to OpenSBI, which upgrades any range above
    // tlb_range_flush_limit (default one page) to a full flush: the two-page module range is cured,
    // unless the platform raises the limit.
    expect(walk(lateWalker(PLACEMENTS[0].machine, 'none'), 'ranged-flush').rec.verdict).toBe('correct');
    const perPage = walk(lateWalker(PLACEMENTS[0].machine, 'none', 1 << 20), 'ranged-flush');
    check(perPage.rec, 'panic:spurious-fault', perPage.c);
  });

  it(`${PLACEMENTS[1].label} sfence.vma va removes it: notrace-fault's replay no longer livelocks; ranged-flush's remaining faults are stale non-leaf reads, gone when only leaf reads may be stale`, () => {
    expect(walk(lateWalker(PLACEMENTS[1].machine), 'notrace-fault').rec.verdict).toBe('correct');
    // sfence.vma va orders only the leaf PTE: the walker may still read the new PTE table's
    // pointer as V=0 and cache it again (the spec allows it), so ranged-flush is not cured by the
    // placement alone ...
    const ranged = walk(lateWalker(PLACEMENTS[1].machine), 'ranged-flush');
    const rangedPwc = walk(lateWalker(PLACEMENTS[0].machine), 'ranged-flush');
    expect(ranged.rec.outcomes['panic:spurious-fault'] ?? 0).toBeLessThanOrEqual(
      rangedPwc.rec.outcomes['panic:spurious-fault'] ?? 0,
    );
    // ... but it is once non-leaf reads see the newest PTE.
    expect(walk(lateWalker(PLACEMENTS[1].machine, 'imsic', 4096, 'leaf'), 'ranged-flush').rec.verdict).toBe(
      'correct',
    );
  });

  it('with the shipped windows (200 cycles) every strategy survives under both placements: the walker sees the table store before hart B arrives', () => {
    for (const { machine } of PLACEMENTS)
      for (const s of ['ranged-flush', 'notrace-fault'])
        expect(walk(machine, s).rec.verdict, `${s} on ${machine}`).toBe('correct');
  });
});

describe("beyond the thread: Sv32's vmalloc_fault on a core that caches V=0 non-leaf entries", () => {
  // arch/riscv/mm/fault.c vmalloc_fault(): set_pgd(pgd, *pgd_k); ... local_flush_tlb_page(addr).
  for (const harts of [2, 4]) {
    it(`${PLACEMENTS[0].label} livelocks at ${harts} harts: the copied top-level entry is a non-leaf change, and local_flush_tlb_page() (sfence.vma va) does not reach the cached V=0`, () => {
      const c: Cell = { ...cell('sv32-vmalloc-fault', 'sv32-new-pgd', PLACEMENTS[0].machine, harts, 'sv32') };
      check(runCell(c, { base: 0, count: 16 }), 'livelock', c);
    });
    it(`${PLACEMENTS[1].label} survives at ${harts} harts: local_flush_tlb_page() removes the level-1 negative entry`, () => {
      const c: Cell = { ...cell('sv32-vmalloc-fault', 'sv32-new-pgd', PLACEMENTS[1].machine, harts, 'sv32') };
      expect(runCell(c, { base: 0, count: 16 }).verdict).toBe('correct');
    });
  }
  it('where non-leaf V=0 entries are not cached at all, the same kernel survives', () => {
    expect(
      runCell(cell('sv32-vmalloc-fault', 'sv32-new-pgd', 'caches-invalid', 2, 'sv32'), { base: 0, count: 16 })
        .verdict,
    ).toBe('correct');
  });
});

describe('beyond the thread: where the new area lands (cross-hart-vmalloc nextLands), at several hart counts', () => {
  const HARTS = [2, 3, 4, 6];
  const land = (
    s: string,
    machine: string | MachineConfig,
    harts: number,
    nextLands: string,
    mode: Mode = 'sv39',
  ) => {
    const c: Cell = {
      ...cell(s, 'cross-hart-vmalloc', 'caches-invalid', harts, mode),
      machine: typeof machine === 'string' ? PROFILES[machine]! : machine,
      params: { nextLands },
    };
    return { c, rec: runCell(c, { base: 0, count: 16 }) };
  };

  it("the issue's layout coincidence is gone with THREAD_ALIGN boot stacks: with the default placement and the issue's sizes no hart count 2..8 opens a fresh PTE table, so ranged-flush survives; nextLands chooses the case instead", () => {
    // The issue's run failed only at 4 harts, where the areas happened to reach a 2 MiB boundary.
    // Boot stacks at THREAD_ALIGN (2 x THREAD_SIZE, issue 12) move every area, and with these
    // sizes none reaches one; the tests below place Q on purpose.
    const params = { bufferPages: 31, nextPages: 59, rounds: 6 };
    for (const harts of [2, 3, 4, 5, 6, 7, 8]) {
      const rec = runCell(
        { ...cell('ranged-flush', 'cross-hart-vmalloc', PLACEMENTS[0].machine, harts), params },
        { base: 0, count: 16 },
      );
      expect(rec.verdict, `${harts} harts`).toBe('correct');
    }
  });

  for (const harts of HARTS) {
    it(`inside an existing PTE table: ranged-flush is correct under both placements (${harts} harts)`, () => {
      for (const { machine } of PLACEMENTS)
        expect(land('ranged-flush', machine, harts, 'inside-pte-table').rec.verdict, machine).toBe('correct');
    });

    for (const [lands, mode] of [
      ['fresh-pte-table', 'sv39'],
      ['fresh-pmd-table', 'sv48'],
    ] as const) {
      it(`${PLACEMENTS[0].label} a ${lands} (${mode}): ranged-flush takes spurious faults, even when only leaf reads may be stale (${harts} harts)`, () => {
        const r = land('ranged-flush', PLACEMENTS[0].machine, harts, lands, mode);
        check(r.rec, 'panic:spurious-fault', r.c);
        const leaf = land('ranged-flush', leafStaleOnly(PLACEMENTS[0].machine), harts, lands, mode);
        check(leaf.rec, 'panic:spurious-fault', leaf.c);
      });

      it(`${PLACEMENTS[1].label} a ${lands} (${mode}): ranged-flush is cured by its sfence.vma va once non-leaf reads see the newest PTE (${harts} harts)`, () => {
        expect(
          land('ranged-flush', leafStaleOnly(PLACEMENTS[1].machine), harts, lands, mode).rec.verdict,
        ).toBe('correct');
      });

      it(`a ${lands} (${mode}): flush-cache-vmap's full fences are correct under both placements (${harts} harts)`, () => {
        for (const { machine } of PLACEMENTS)
          expect(land('flush-cache-vmap', machine, harts, lands, mode).rec.verdict, machine).toBe('correct');
      });
    }
  }
});

describe('beyond the thread: Svvptc', () => {
  // v6.12 as merged: baseline, vmalloc_fault (Sv32 only), the ranged flush and the early sfence.vma.
  const linux612 = defineStrategySet('linux-6.12', [
    baseline(),
    sv32VmallocFault(),
    rangedFlush(),
    earlySfence(),
  ]);
  const withBound = (bound: number) =>
    defineMachine({
      name: `svvptc-${bound}`,
      extends: 'svvptc',
      invalidEvictBound: bound,
      staleness: { kind: 'svvptc', bound, d: 200, levels: 'all' },
    });
  const at = (s: StrategySet, machine: MachineConfig) =>
    runCell(
      { strategy: s, scenario: scenario('cross-hart-vmalloc'), machine, harts: 2, mode: 'sv39' },
      SEEDS,
    );
  // The early path's round trip: handle_exception's first instructions, then sret.
  const roundTrip = PROFILES.svvptc!.costs.trapEntry + PROFILES.svvptc!.costs.trapReturn;

  it('Svvptc allows "an occasional gratuitous additional page fault": with a bound between the reader\'s delay and a trap round trip the baseline kernel takes it and dies, v6.12 replays it without a fence and survives', () => {
    // Svvptc (ratified 2024): V 0->1 stores "eventually become visible within a bounded timeframe";
    // a6efe33cc594 / 7a21b2e370da patch the early sfence.vma to a nop on such cores.
    const shipped = PROFILES.svvptc!;
    expect(shipped.staleness.kind === 'svvptc' && shipped.staleness.bound).toBeLessThan(roundTrip);
    const base = at(strategy('baseline'), shipped);
    check(base, 'panic:spurious-fault', { ...cell('baseline', 'cross-hart-vmalloc', shipped) });
    const v612 = at(linux612, shipped);
    expect(v612.verdict, JSON.stringify(v612.outcomes)).toBe('correct');
    expect(v612.metrics.replays!.max).toBeGreaterThan(0);
  });

  it('with a bound shorter than one access nothing faults, baseline included', () => {
    const instant = withBound(1);
    for (const s of [strategy('baseline'), linux612]) {
      const rec = at(s, instant);
      expect(rec.verdict, s.id).toBe('correct');
      expect(rec.metrics.pageFaults!.max, s.id).toBe(0);
    }
  });

  it("v6.12's unfenced replay under Svvptc works only while the visibility bound is shorter than the early trap round trip", () => {
    // With a longer bound the replay still meets V=0, and the second fault finds this hart's
    // new_vmalloc bit already clear: the normal path, and no vmalloc_fault on 64-bit.
    const slow = withBound(2 * roundTrip);
    const rec = at(linux612, slow);
    expect(rec.outcomes['panic:spurious-fault'] ?? 0).toBeGreaterThan(0);
    // The failing run did take the early path (a replay) before the fault that killed it.
    expect(rec.firstFailure!.trace!.some((e) => e.text.includes('trapEntry -> replay'))).toBe(true);
    const c: Cell = {
      strategy: linux612,
      scenario: scenario('cross-hart-vmalloc'),
      machine: slow,
      harts: 2,
      mode: 'sv39',
    };
    const again = replay(c, rec.firstFailure!.choices);
    expect(again.outcome).toBe(rec.firstFailure!.outcome);
  });
});

describe('the costs the thread argued about, as relations measured by the model', () => {
  const run = (s: string, sc: string, harts: number, seed = 1) =>
    simulate(cell(s, sc, 'caches-invalid', harts), seed);

  it('IPIs per new mapping: harts-1 for flush-cache-vmap and ranged-flush, 0 for early-sfence (a platform with S-mode IPIs)', () => {
    const imsic = withImsic('caches-invalid');
    for (const harts of [2, 4, 8]) {
      for (const s of ['flush-cache-vmap', 'ranged-flush']) {
        const r = simulate(cell(s, 'cross-hart-vmalloc', imsic, harts), 1);
        expect(r.outcome).toBe('ok');
        expect(r.metrics.ipisSent / r.metrics.mappings).toBe(harts - 1);
      }
      const e = simulate(cell('early-sfence', 'cross-hart-vmalloc', imsic, harts), 1);
      expect(e.metrics.ipisSent).toBe(0);
      expect(e.metrics.mappings).toBeGreaterThan(0);
    }
  });

  it('without S-mode IPIs (the shipped profile) every flush of a new mapping is one SBI remote fence, no IPI', () => {
    for (const harts of [2, 4, 8]) {
      for (const s of ['flush-cache-vmap', 'ranged-flush']) {
        const r = run(s, 'cross-hart-vmalloc', harts);
        expect(r.outcome).toBe('ok');
        expect(r.metrics.ipisSent).toBe(0);
        expect(r.metrics.sbiCalls).toBeGreaterThanOrEqual(r.metrics.mappings);
      }
    }
  });

  it('ranged-flush fences each page with sfence.vma va up to the threshold and uses one full fence above it (kernel IPIs)', () => {
    const harts = 4;
    const imsic = withImsic('caches-invalid');
    // Default threshold 64: the scenario's areas are small, so every hart fences page by page.
    const small = simulate(cell('ranged-flush', 'cross-hart-vmalloc', imsic, harts), 1);
    expect(small.metrics.sfenceAll).toBe(0);
    expect(small.metrics.sfenceVa % harts).toBe(0);
    expect(small.metrics.sfenceVa / harts).toBeGreaterThanOrEqual(small.metrics.mappings);
    // Threshold 0 (CIP-1200): every range is "above" it, so each hart does one full fence per flush.
    const full = simulate(
      {
        ...cell('ranged-flush', 'cross-hart-vmalloc', imsic, harts),
        strategy: onBaseline(rangedFlush({ threshold: 0 })),
      },
      1,
    );
    expect(full.metrics.sfenceVa).toBe(0);
    expect(full.metrics.sfenceAll).toBe(harts * full.metrics.mappings);
  });

  it("refill misses after mappings: flush-cache-vmap >> ranged-flush with kernel IPIs; through OpenSBI's one-page limit the saving shrinks or vanishes", () => {
    const imsic = withImsic('caches-invalid');
    for (const sc of ['vmalloc-stress', 'fork-storm']) {
      // The mean over 16 seeds: one seed's count is a tail value often enough that a single-seed
      // comparison tests the random stream rather than the policy (seed 1 gave 10 vs 4 on fork-storm
      // after the speculation draws became gaps, where the 40-seed means are 12.7 vs 1.8).
      const refill = (s: string, m: MachineConfig) => {
        let sum = 0;
        for (let seed = 0; seed < 16; seed++) sum += simulate(cell(s, sc, m, 8), seed).metrics.refillMisses;
        return sum / 16;
      };
      expect(refill('flush-cache-vmap', imsic), sc).toBeGreaterThan(refill('ranged-flush', imsic) * 4);
      // The shipped profile: every multi-page range becomes a full flush in firmware.
      const clint = PROFILES['caches-invalid']!;
      expect(refill('ranged-flush', clint), sc).toBeGreaterThan(refill('ranged-flush', imsic) * 4);
      expect(refill('flush-cache-vmap', clint), sc).toBeLessThan(refill('ranged-flush', clint) * 4);
    }
  });

  it('early-sfence replays at most once per hart per mapping generation', () => {
    for (const sc of ['cross-hart-vmalloc', 'vmalloc-stress', 'fork-storm']) {
      for (let seed = 0; seed < 16; seed++) {
        const r = run('early-sfence', sc, 4, seed);
        expect(r.outcome).toBe('ok');
        expect(r.metrics.replays).toBeLessThanOrEqual(r.metrics.mappings * 4);
      }
    }
  });

  it('mapping latency grows with the hart count for the flush strategies and stays flat for early-sfence', () => {
    const p50 = (s: string, harts: number) => {
      const lat = [...run(s, 'cross-hart-vmalloc', harts).mappingLatencies].sort((a, b) => a - b);
      return lat[Math.floor(lat.length / 2)]!;
    };
    for (const s of ['flush-cache-vmap', 'ranged-flush']) {
      expect(p50(s, 4)).toBeGreaterThan(p50(s, 2));
      expect(p50(s, 8)).toBeGreaterThan(p50(s, 4));
    }
    expect(p50('early-sfence', 8)).toBe(p50('early-sfence', 2));
  });
});
