/**
 * One test per rule of the RISC-V privileged spec that the model implements, named as the fact and
 * quoting the spec where it says it.
 */
import { describe, expect, it } from 'vitest';
import { formatVa, layoutFor, type Mode, vpnOf } from '../addr.js';
import { SeededChooser } from '../choice.js';
import { resolveKernelConfig } from '../kernel-config.js';
import { defineMachine, type MachineConfig, PROFILES } from '../profiles.js';
import { FAULT_INVALID, FAULT_PROTECTION, Hardware, OK } from '../sim/hardware.js';
import { KernelMm } from '../sim/kernel-mm.js';
import { M, newCounters } from '../sim/metrics.js';
import {
  PAGE_KERNEL,
  PAGE_KERNEL_READ,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
} from './pte.js';
import { NEGATIVE, VALID } from './tlb.js';
import { PAGE_FAULT_CAUSE, PRV_S, PRV_U } from './walker.js';

function machine(profile: string, mode: Mode = 'sv39', harts = 2, seed = 1) {
  const m = PROFILES[profile]!;
  const counters = newCounters();
  const hw = new Hardware(m, layoutFor(mode), harts, new SeededChooser(seed), counters);
  const mm = new KernelMm(hw, resolveKernelConfig({ mode }));
  for (const h of hw.harts) {
    h.rootTable = mm.newProcessRoot();
    h.asid = h.id + 1;
  }
  hw.step = 1;
  return { hw, mm, counters, layout: layoutFor(mode) };
}

/** Let `cycles` pass on every hart (windows are cycles of the walking hart's clock; stores made
 *  outside any hart happen at the latest hart clock). */
function elapse(hw: Hardware, cycles: number): void {
  for (const h of hw.harts) h.clock += cycles;
}

function windowOf(profile: string): { d: number; bound: number } {
  const st = PROFILES[profile]!.staleness;
  return { d: 'd' in st ? st.d : 0, bound: st.kind === 'svvptc' ? st.bound : 0 };
}

/** Map one 4 KiB kernel page at `vpn` in init_mm. */
function mapKernel(mm: KernelMm, vpn: number, flags = PAGE_KERNEL): number {
  return mm.setLeaf(mm.initMm, vpn, 0, flags, mm.allocPage());
}

const VMALLOC = layoutFor('sv39').vmalloc.start;

describe('SFENCE.VMA operand forms (privileged spec, "Supervisor Memory-Management Fence Instruction")', () => {
  it('x0, x0 invalidates every entry, global ones included', () => {
    const { hw, mm } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    expect(h.tlb.peek(VMALLOC, h.asid)).toBeGreaterThanOrEqual(0);
    hw.fence(h, 'all', 0, 0, 'local');
    expect(h.tlb.peek(VMALLOC, h.asid)).toBe(-1);
  });

  it('x0, asid leaves global entries untouched ("accesses to global mappings are not ordered")', () => {
    const { hw, mm } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC); // kernel pages are global (PAGE_KERNEL has _PAGE_GLOBAL)
    mm.mapUserPages(h.rootTable, 1); // user pages are not
    hw.access(h, VMALLOC, 'read');
    hw.access(h, 0x400, 'read');
    hw.fence(h, 'asid', 0, h.asid, 'local');
    expect(h.tlb.peek(VMALLOC, h.asid)).toBeGreaterThanOrEqual(0);
    expect(h.tlb.peek(0x400, h.asid)).toBe(-1);
  });

  it('va, x0 removes the leaf for that VA in every address space, globals included', () => {
    const { hw, mm } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    mapKernel(mm, VMALLOC + 1);
    hw.access(h, VMALLOC, 'read');
    hw.access(h, VMALLOC + 1, 'read');
    hw.fence(h, 'va', VMALLOC, 0, 'local');
    expect(h.tlb.peek(VMALLOC, h.asid)).toBe(-1);
    expect(h.tlb.peek(VMALLOC + 1, h.asid)).toBeGreaterThanOrEqual(0);
  });

  it('va, asid leaves global leaves for that VA untouched', () => {
    const { hw, mm } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    hw.access(h, VMALLOC, 'read');
    hw.fence(h, 'va-asid', VMALLOC, h.asid, 'local');
    expect(h.tlb.peek(VMALLOC, h.asid)).toBeGreaterThanOrEqual(0);
  });

  it('a va form leaves non-leaf entries in the page-walk cache ("changing a non-leaf entry needs rs1 = x0")', () => {
    const { hw, mm } = machine('caches-invalid-walk');
    const h = hw.harts[0]!;
    // A speculative walk into a 2 MiB region with no PTE table caches the V=0 non-leaf entry.
    const fresh = VMALLOC + 512 * 7;
    hw.speculate(h, fresh);
    expect(h.pwc!.state.includes(NEGATIVE)).toBe(true);
    // vmalloc installs the table and the leaf; a per-page fence does not reach the PWC.
    mapKernel(mm, fresh);
    elapse(hw, 1000);
    hw.fence(h, 'va', fresh, 0, 'local');
    expect(hw.access(h, fresh, 'read')).toBe(FAULT_INVALID);
    // Only an x0 form does.
    hw.fence(h, 'all', 0, 0, 'local');
    expect(hw.access(h, fresh, 'read')).toBe(OK);
  });

  it('fences are local: another hart keeps its entries', () => {
    const { hw, mm } = machine('emulator');
    mapKernel(mm, VMALLOC);
    hw.access(hw.harts[0]!, VMALLOC, 'read');
    hw.access(hw.harts[1]!, VMALLOC, 'read');
    hw.fence(hw.harts[0]!, 'all', 0, 0, 'local');
    expect(hw.harts[1]!.tlb.peek(VMALLOC, hw.harts[1]!.asid)).toBeGreaterThanOrEqual(0);
  });
});

describe('the staleness rule', () => {
  it('"an implicit read ... may return any translation ... valid at any time since the most recent SFENCE.VMA": a new PTE can read as V=0 within the window', () => {
    let sawStale = false;
    for (let seed = 0; seed < 40 && !sawStale; seed++) {
      const { hw, mm } = machine('reorder-window', 'sv39', 1, seed);
      const h = hw.harts[0]!;
      mapKernel(mm, VMALLOC); // creates the PTE table; the leaf PTE has versions V=0 then V=1
      elapse(hw, 1);
      if (hw.access(h, VMALLOC, 'read') === FAULT_INVALID) sawStale = true;
    }
    expect(sawStale).toBe(true);
  });

  it('after a covering SFENCE.VMA the walker never returns the older version', () => {
    for (let seed = 0; seed < 40; seed++) {
      const { hw, mm } = machine('caches-invalid', 'sv39', 1, seed);
      const h = hw.harts[0]!;
      mapKernel(mm, VMALLOC);
      elapse(hw, 1);
      hw.fence(h, 'va', VMALLOC, 0, 'local');
      expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    }
  });

  it('outside the window the newest version is returned', () => {
    for (let seed = 0; seed < 40; seed++) {
      const { hw, mm } = machine('reorder-window', 'sv39', 1, seed);
      const h = hw.harts[0]!;
      mapKernel(mm, VMALLOC);
      elapse(hw, windowOf('reorder-window').d + 1);
      expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    }
  });

  it('the emulator profile always sees the newest PTE', () => {
    for (let seed = 0; seed < 20; seed++) {
      const { hw, mm } = machine('emulator', 'sv39', 1, seed);
      mapKernel(mm, VMALLOC);
      expect(hw.access(hw.harts[0]!, VMALLOC, 'read')).toBe(OK);
    }
  });

  it('Svvptc: a V 0->1 store is visible after the bound without any fence', () => {
    const { hw, mm } = machine('svvptc', 'sv39', 1, 3);
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    elapse(hw, windowOf('svvptc').bound + 1);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
  });
});

describe('invalid PTEs in the TLB ("This specification permits the caching of PTEs whose V (Valid) bit is clear")', () => {
  it('a negative entry faults on every access without a walk until a covering fence', () => {
    const { hw, mm, counters } = machine('caches-invalid');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC); // the PTE table exists
    elapse(hw, 1000);
    hw.speculate(h, VMALLOC + 1); // V=0 leaf next to it
    expect(h.tlb.state[h.tlb.peek(VMALLOC + 1, h.asid)]).toBe(NEGATIVE);
    mapKernel(mm, VMALLOC + 1);
    elapse(hw, 1000);
    const walks = counters[M.walksDemand]!;
    expect(hw.access(h, VMALLOC + 1, 'read')).toBe(FAULT_INVALID);
    expect(hw.faultKind).toBe('negative');
    expect(counters[M.walksDemand]).toBe(walks);
    hw.fence(h, 'va', VMALLOC + 1, 0, 'local');
    expect(hw.access(h, VMALLOC + 1, 'read')).toBe(OK);
  });

  it('a core that does not cache V=0 walks again and succeeds', () => {
    const { hw, mm } = machine('no-invalid-caching');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    elapse(hw, 1000);
    hw.speculate(h, VMALLOC + 1);
    expect(h.tlb.peek(VMALLOC + 1, h.asid)).toBe(-1);
    mapKernel(mm, VMALLOC + 1);
    elapse(hw, 1000);
    expect(hw.access(h, VMALLOC + 1, 'read')).toBe(OK);
  });

  it('a hit on a valid entry without the permission is a protection fault, with no walk', () => {
    const { hw, mm, counters } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC, PAGE_KERNEL_READ);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    const walks = counters[M.walksDemand]!;
    expect(hw.access(h, VMALLOC, 'write')).toBe(FAULT_PROTECTION);
    expect(counters[M.walksDemand]).toBe(walks);
  });
});

describe('speculation ("exceptions are raised only for accesses made by instruction execution")', () => {
  it('a speculative walk of an unmapped kernel VA raises nothing and fills a negative entry where V=0 is cached', () => {
    const { hw, mm, counters } = machine('caches-invalid');
    mapKernel(mm, VMALLOC);
    elapse(hw, 1000);
    const h = hw.harts[0]!;
    hw.speculate(h, VMALLOC + 5);
    expect(counters[M.pageFaults]).toBe(0);
    expect(counters[M.walksSpeculative]).toBe(1);
    expect(h.tlb.state[h.tlb.peek(VMALLOC + 5, h.asid)]).toBe(NEGATIVE);
  });

  it('a walk never follows a V=0 non-leaf entry', () => {
    const { hw, counters } = machine('caches-invalid');
    const h = hw.harts[0]!;
    // Nothing mapped in this 2 MiB region: the walk stops at the V=0 PMD entry.
    hw.speculate(h, VMALLOC + 512 * 9);
    expect(hw.wLevel).toBe(1);
    expect(counters[M.walkLevels]).toBe(2);
  });
});

describe('page tables and layouts', () => {
  it('Sv32: a process root created before a vmalloc in a fresh 4 MiB region lacks the new top-level entry', () => {
    const { hw, mm, layout } = machine('emulator', 'sv32');
    const h = hw.harts[0]!;
    const va = layout.vmalloc.start + 1024 * 3;
    mapKernel(mm, va);
    expect(hw.access(h, va, 'read')).toBe(FAULT_INVALID);
    expect(hw.wLevel).toBe(1);
    expect(mm.copyPgdEntry(h.rootTable, va)).toBe(true);
    hw.fence(h, 'va', va, 0, 'local');
    expect(hw.access(h, va, 'read')).toBe(OK);
  });

  it('64-bit kernels pre-allocate the vmalloc PGD entries: a root born before a mapping sees it', () => {
    const { hw, mm } = machine('emulator', 'sv39');
    const va = VMALLOC + 2 ** 18 * 5; // a different 1 GiB region
    mapKernel(mm, va);
    expect(hw.access(hw.harts[0]!, va, 'read')).toBe(OK);
  });

  it('Sv57 addresses at the top of the kernel half translate exactly (no precision lost)', () => {
    const { hw, mm } = machine('emulator', 'sv57');
    const top = vpnOf('fffffffffffff000');
    expect(formatVa(top)).toBe('0xfffffffffffff000');
    mm.setLeaf(mm.initMm, top, 0, PAGE_KERNEL, 0xabcdef);
    const h = hw.harts[0]!;
    h.rootTable = mm.newProcessRoot();
    expect(hw.access(h, top, 'read')).toBe(OK);
    expect(hw.wPpn).toBe(0xabcdef);
    // Its neighbour one page down is a different PTE.
    expect(hw.access(h, top - 1, 'read')).toBe(FAULT_INVALID);
  });

  it('kernel leaves are global and user leaves are not', () => {
    const { hw, mm } = machine('emulator');
    const h = hw.harts[0]!;
    mapKernel(mm, VMALLOC);
    mm.mapUserPages(h.rootTable, 1);
    hw.access(h, VMALLOC, 'read');
    hw.access(h, 0x400, 'read');
    expect(h.tlb.flags[h.tlb.peek(VMALLOC, h.asid)]! & PTE_G).toBe(PTE_G);
    expect(h.tlb.flags[h.tlb.peek(0x400, h.asid)]! & PTE_G).toBe(0);
    expect(h.tlb.state[h.tlb.peek(0x400, h.asid)]).toBe(VALID);
    expect(PTE_V).toBe(1);
  });
});

describe('machine config validation', () => {
  it.each([
    [{ tlb: { entries: -4, ways: 4, replacement: 'lru' } }, 'tlb.entries'],
    [{ tlb: { entries: 64, ways: 5, replacement: 'lru' } }, 'tlb.ways'],
    [
      {
        speculation: {
          lookahead: { window: 4, p: 1.5 },
          runAhead: { p: 0.5, maxPages: 3, nearEndBytes: 512 },
          wild: { p: 0, spread: 0 },
        },
      },
      'speculation.lookahead.p',
    ],
    [{ cachesInvalid: 'sometimes' }, 'cachesInvalid'],
  ])('a bad value throws a ConfigError naming the field (%j)', (patch, field) => {
    expect(() =>
      defineMachine({ name: 'bad', extends: 'caches-invalid', ...(patch as object) }),
    ).toThrowError(expect.objectContaining({ name: 'ConfigError', field }));
  });

  it('an unknown mode is refused with the field named', () => {
    expect(() => resolveKernelConfig({ mode: 'sv64' as Mode })).toThrowError(/mode/);
  });
});

/** A machine from a config (not a preset name), one hart per `harts`, roots built like `machine`. */
function machineOf(m: MachineConfig, mode: Mode = 'sv39', harts = 1) {
  const hw = new Hardware(m, layoutFor(mode), harts, new SeededChooser(1), newCounters());
  const mm = new KernelMm(hw, resolveKernelConfig({ mode }));
  for (const h of hw.harts) {
    h.rootTable = mm.newProcessRoot();
    h.asid = h.id + 1;
  }
  hw.step = 1;
  return { hw, mm, h: hw.harts[0]! };
}

const USER = 0x400;
const svade = defineMachine({ name: 'svade', extends: 'emulator', adUpdate: 'svade' });
const svadu = defineMachine({ name: 'svadu', extends: 'emulator', adUpdate: 'svadu' });

describe('canonical addresses (privileged spec, "Sv39", "Sv48", "Sv57")', () => {
  it.each([
    ['sv39', 'ffffffc000000000'],
    ['sv48', 'ffff800000000000'],
    ['sv57', 'ff00000000000000'],
  ] as const)(
    '%s: "bits 63–N must all equal bit N-1, or else a page-fault exception will occur", before any TLB lookup',
    (mode, kernelVa) => {
      const { hw, mm, h } = machineOf(PROFILES.emulator!, mode);
      const vpn = vpnOf(kernelVa);
      mm.setLeaf(mm.initMm, vpn, 0, PAGE_KERNEL, 0x1234);
      h.rootTable = mm.newProcessRoot();
      expect(hw.access(h, vpn, 'read')).toBe(OK);
      // Clear one bit above the VA width: the low bits index the same PTE, but the VA is not canonical.
      const vaBits = layoutFor(mode).geometry.vaBits;
      const broken = vpn - 2 ** (vaBits - 12 + 3);
      const hits = hw.counters[M.tlbHits]!;
      for (const type of ['read', 'write', 'execute'] as const) {
        expect(hw.access(h, broken, type)).toBe(FAULT_INVALID);
        expect(hw.faultKind).toBe('non-canonical');
      }
      expect(hw.counters[M.tlbHits]).toBe(hits);
      expect(hw.walker.canonical(vpn)).toBe(true);
      expect(hw.walker.canonical(vpn % 2 ** (vaBits - 12))).toBe(false);
    },
  );
});

describe('the translation process (privileged spec, "Virtual Address Translation Process")', () => {
  it('step 3: "if pte.r = 0 and pte.w = 1, stop and raise a page-fault exception", at a leaf and at a non-leaf level', () => {
    const { hw, mm, h } = machineOf(PROFILES.emulator!);
    mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_W | PTE_A | PTE_D | PTE_G, 0x1000);
    expect(hw.access(h, VMALLOC, 'read')).toBe(FAULT_INVALID);
    expect([hw.faultKind, hw.wLevel]).toEqual(['reserved', 0]);
    const mid = VMALLOC + 512 * 3;
    mm.setLeaf(mm.initMm, mid, 1, PTE_V | PTE_W | PTE_X, 0x200);
    expect(hw.access(h, mid + 7, 'execute')).toBe(FAULT_INVALID);
    expect([hw.faultKind, hw.wLevel]).toEqual(['reserved', 1]);
  });

  it('step 4: a pointer (V=1, R=W=X=0) at the last level is a page fault ("if i < 0")', () => {
    const { hw, mm, h } = machineOf(PROFILES.emulator!);
    mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V, 0x80000);
    expect(hw.access(h, VMALLOC, 'read')).toBe(FAULT_INVALID);
    expect([hw.faultKind, hw.wLevel]).toEqual(['reserved', 0]);
  });

  it('step 6: "if i > 0 and pte.ppn[i-1:0] != 0, this is a misaligned superpage": a page fault; an aligned one maps the VPN\'s low bits through', () => {
    const { hw, mm, h } = machineOf(PROFILES.emulator!);
    const mega = VMALLOC + 512 * 5;
    mm.setLeaf(mm.initMm, mega, 1, PAGE_KERNEL, 0x40000 + 1);
    expect(hw.access(h, mega + 9, 'read')).toBe(FAULT_INVALID);
    expect(hw.faultKind).toBe('misaligned');
    const ok = VMALLOC + 512 * 6;
    mm.setLeaf(mm.initMm, ok, 1, PAGE_KERNEL, 0x40000);
    expect(hw.access(h, ok + 9, 'read')).toBe(OK);
    expect(hw.wPagePpn).toBe(0x40000 + 9);
  });

  it('fault causes: 12 instruction, 13 load, 15 store/AMO page fault ("Machine Cause Register"); stval is the faulting VA', () => {
    expect(PAGE_FAULT_CAUSE).toEqual([13, 15, 12]);
  });
});

describe('U, SUM and MXR (privileged spec, "Memory Privilege in mstatus Register"; translation step 5)', () => {
  const setup = (flags: number) => {
    const m = machineOf(PROFILES.emulator!);
    m.mm.setLeaf(m.h.rootTable, USER, 0, flags, 0x5000);
    return m;
  };

  it('U-mode may access only U=1 pages; S-mode may not touch U=1 pages unless SUM=1', () => {
    const { hw, h, mm } = setup(PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    mm.setLeaf(mm.initMm, VMALLOC, 0, PAGE_KERNEL, 0x6000);
    h.rootTable = mm.newProcessRoot();
    mm.setLeaf(h.rootTable, USER, 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D, 0x5000);
    h.priv = PRV_U;
    expect(hw.access(h, USER, 'write')).toBe(OK);
    expect(hw.access(h, VMALLOC, 'read')).toBe(FAULT_PROTECTION);
    h.priv = PRV_S;
    h.sum = false;
    expect(hw.access(h, USER, 'read')).toBe(FAULT_PROTECTION);
    h.sum = true;
    expect(hw.access(h, USER, 'read')).toBe(OK);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
  });

  it('S-mode never executes from a U=1 page, SUM or not', () => {
    const { hw, h } = setup(PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
    h.sum = true;
    expect(hw.access(h, USER, 'execute')).toBe(FAULT_PROTECTION);
    h.priv = PRV_U;
    expect(hw.access(h, USER, 'execute')).toBe(OK);
  });

  it('MXR=1 makes execute-only pages readable, not writable; MXR=0 does not', () => {
    const { hw, h } = setup(PTE_V | PTE_X | PTE_U | PTE_A | PTE_D);
    h.priv = PRV_U;
    expect(hw.access(h, USER, 'read')).toBe(FAULT_PROTECTION);
    h.mxr = true;
    expect(hw.access(h, USER, 'read')).toBe(OK);
    expect(hw.access(h, USER, 'write')).toBe(FAULT_PROTECTION);
  });

  it('a TLB hit is checked against the current privilege, SUM and MXR, without a walk', () => {
    const { hw, h } = setup(PTE_V | PTE_R | PTE_U | PTE_A);
    expect(hw.access(h, USER, 'read')).toBe(OK);
    const walks = hw.counters[M.walksDemand]!;
    h.sum = false;
    expect(hw.access(h, USER, 'read')).toBe(FAULT_PROTECTION);
    expect(hw.counters[M.walksDemand]).toBe(walks);
  });
});

describe('A and D bits (privileged spec, "Svade" and "Svadu"; translation step 7)', () => {
  it('Svade: a page fault when A=0, or D=0 on a store; a load with D=0 succeeds; the PTE is not changed', () => {
    const { hw, mm, h } = machineOf(svade);
    const slot = mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_R | PTE_W | PTE_G, 0x1000);
    expect(hw.access(h, VMALLOC, 'read')).toBe(FAULT_PROTECTION);
    expect(hw.faultKind).toBe('accessed-dirty');
    mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_R | PTE_W | PTE_G | PTE_A, 0x1000);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    expect(hw.access(h, VMALLOC, 'write')).toBe(FAULT_PROTECTION);
    expect(hw.faultKind).toBe('accessed-dirty');
    expect(hw.mem.flags[slot]).toBe(PTE_V | PTE_R | PTE_W | PTE_G | PTE_A);
  });

  it('Svade: a permission fault comes first (step 5 before step 7)', () => {
    const { hw, mm, h } = machineOf(svade);
    mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_R | PTE_G, 0x1000);
    expect(hw.access(h, VMALLOC, 'write')).toBe(FAULT_PROTECTION);
    expect(hw.faultKind).toBe('protection');
  });

  it('Svadu: the walker sets A on an access and D on a store, as a PTE store of this hart (a new version)', () => {
    const { hw, mm, h } = machineOf(svadu, 'sv39', 2);
    const slot = mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_R | PTE_W | PTE_G, 0x1000);
    const versions = hw.mem.versions(slot);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    expect(hw.mem.flags[slot]).toBe(PTE_V | PTE_R | PTE_W | PTE_G | PTE_A);
    expect(hw.mem.versions(slot)).toBe(versions + 1);
    expect(hw.mem.versionWriter(slot, 0)).toBe(h.id);
    // The cached entry lacks D: a store walks again to set it.
    const walks = hw.counters[M.walksDemand]!;
    expect(hw.access(h, VMALLOC, 'write')).toBe(OK);
    expect(hw.counters[M.walksDemand]).toBe(walks + 1);
    expect(hw.mem.flags[slot]).toBe(PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D);
  });

  it('Svadu: "the PTE update must be exact (i.e., not speculative)": a speculative walk or a denied access sets nothing', () => {
    const { hw, mm, h } = machineOf(
      defineMachine({ name: 'svadu-spec', extends: 'caches-invalid', adUpdate: 'svadu' }),
    );
    const slot = mm.setLeaf(mm.initMm, VMALLOC, 0, PTE_V | PTE_R | PTE_G, 0x1000);
    elapse(hw, 1000);
    hw.speculate(h, VMALLOC);
    expect(hw.mem.flags[slot]).toBe(PTE_V | PTE_R | PTE_G);
    hw.fence(h, 'all', 0, 0, 'local');
    expect(hw.access(h, VMALLOC, 'write')).toBe(FAULT_PROTECTION);
    expect(hw.mem.flags[slot]).toBe(PTE_V | PTE_R | PTE_G);
  });
});

describe('superpages and SFENCE.VMA va (privileged spec, "Supervisor Memory-Management Fence Instruction")', () => {
  it('a va fence on any page a superpage maps removes its leaf entry', () => {
    const { hw, mm, h } = machineOf(PROFILES.emulator!);
    const mega = VMALLOC + 512 * 4;
    mm.setLeaf(mm.initMm, mega, 1, PAGE_KERNEL, 0x40000);
    expect(hw.access(h, mega + 3, 'read')).toBe(OK);
    expect(h.tlb.peek(mega + 3, h.asid)).toBeGreaterThanOrEqual(0);
    hw.fence(h, 'va', mega + 300, 0, 'local');
    expect(h.tlb.peek(mega + 3, h.asid)).toBe(-1);
  });

  it('and it subsumes the superpage leaf for the staleness rule: the walker then never returns the older version', () => {
    const stale = (fencePage: number | null) => {
      let older = 0;
      for (let seed = 0; seed < 40; seed++) {
        const hw = new Hardware(
          PROFILES['reorder-window']!,
          layoutFor('sv39'),
          1,
          new SeededChooser(seed),
          newCounters(),
        );
        const mm = new KernelMm(hw, resolveKernelConfig({ mode: 'sv39' }));
        const h = hw.harts[0]!;
        h.rootTable = mm.initMm;
        hw.step = 1;
        const mega = VMALLOC + 512 * 4;
        mm.setLeaf(mm.initMm, mega, 1, PAGE_KERNEL, 0x40000);
        hw.step = 30;
        mm.setLeaf(mm.initMm, mega, 1, PAGE_KERNEL, 0x80000);
        hw.step = 31;
        if (fencePage !== null) hw.fence(h, 'va', mega + fencePage, 0, 'local');
        hw.step = 32;
        if (hw.access(h, mega + 3, 'read') === OK && hw.wPpn === 0x40000) older++;
      }
      return older;
    };
    expect(stale(null)).toBeGreaterThan(0);
    expect(stale(300)).toBe(0);
  });
});

describe('split instruction and data TLBs (machine choice `tlb.split`)', () => {
  it('fetches fill the instruction TLB, loads the data TLB; every SFENCE.VMA reaches both', () => {
    const { hw, mm, h } = machineOf(
      defineMachine({
        name: 'split',
        extends: 'emulator',
        tlb: { entries: 64, ways: 4, replacement: 'lru', split: true },
      }),
    );
    mm.setLeaf(mm.initMm, VMALLOC, 0, PAGE_KERNEL | PTE_X, 0x1000);
    expect(hw.access(h, VMALLOC, 'execute')).toBe(OK);
    expect(h.itlb!.peek(VMALLOC, h.asid)).toBeGreaterThanOrEqual(0);
    expect(h.tlb.peek(VMALLOC, h.asid)).toBe(-1);
    expect(hw.access(h, VMALLOC, 'read')).toBe(OK);
    expect(h.tlb.peek(VMALLOC, h.asid)).toBeGreaterThanOrEqual(0);
    hw.fence(h, 'va', VMALLOC, 0, 'local');
    expect(h.itlb!.peek(VMALLOC, h.asid)).toBe(-1);
    expect(h.tlb.peek(VMALLOC, h.asid)).toBe(-1);
  });
});

describe('where a terminating V=0 non-leaf entry is cached (machine choice `invalidNonLeafIn`)', () => {
  it('tlb: a level-L negative TLB entry, which sfence.vma va on any page of its range removes', () => {
    const { hw, mm, h } = machineOf(PROFILES['caches-invalid-walk-tlb']!);
    const fresh = VMALLOC + 512 * 7;
    hw.speculate(h, fresh + 2);
    const e = h.tlb.peek(fresh, h.asid);
    expect(h.tlb.state[e]).toBe(NEGATIVE);
    expect(h.tlb.level[e]).toBe(1);
    expect(h.pwc!.state.includes(NEGATIVE)).toBe(false);
    expect(hw.cachedAfterWalk(h, fresh + 2)).toBe('cached V=0 (negative level-1 TLB entry)');
    mapKernel(mm, fresh);
    elapse(hw, 1000);
    expect(hw.access(h, fresh, 'read')).toBe(FAULT_INVALID);
    expect(hw.faultKind).toBe('negative');
    hw.fence(h, 'va', fresh + 100, 0, 'local');
    expect(hw.access(h, fresh, 'read')).toBe(OK);
  });

  it('pwc: the page-walk cache, and the trace says so rather than "nothing cached"', () => {
    const { hw, h } = machineOf(PROFILES['caches-invalid-walk']!);
    const fresh = VMALLOC + 512 * 7;
    hw.speculate(h, fresh);
    expect(h.tlb.peek(fresh, h.asid)).toBe(-1);
    expect(hw.cachedAfterWalk(h, fresh)).toBe('cached V=0 non-leaf entry (level 1) in the page-walk cache');
  });
});
