import { PROFILES, simulate } from '@tlblab/core';
import { onBaseline } from '@tlblab/strategy-baseline';
import { probes, runStrategyConformance } from '@tlblab/strategy-tester';
import { describe, expect, it } from 'vitest';
import { notraceFault } from './index.js';

runStrategyConformance(notraceFault(), {
  packageName: '@tlblab/strategy-notrace-fault',
  factory: notraceFault,
  invalidOptions: [{ notrace: false }],
  valid: [
    { scenario: probes.crossHartVmalloc },
    { scenario: probes.moduleLoadExec },
    { scenario: probes.ioremapIrq },
    { scenario: probes.vmallocGuardPage },
    { scenario: probes.vfreeReuse },
    { scenario: probes.sv32NewPgd, mode: 'sv32' },
    // The catalog predicts panic:stack-overflow here ("traced code before the notrace handler
    // re-faults"). As the kernel has it the traced code in the fault path is a fentry program on
    // handle_page_fault (do_page_fault is noinstr, the ring buffer is in the linear map): its
    // nested entry skips the program (prog->active), and the notrace vmalloc_fault fixes the map.
    { scenario: probes.tracingInFaultPath },
  ],
  invalid: [
    // vmalloc_fault checks presence, never permissions: a local fence "fixes" nothing, forever.
    { scenario: probes.kernelProtectionFault, outcome: 'livelock', always: true },
    { scenario: probes.kernelNofaultWrite, outcome: 'livelock', always: true },
    // Its handler needs the stack, and the traced do_page_fault runs before it.
    { scenario: probes.vmapStackMigrate, outcome: 'panic:stack-overflow' },
  ],
});

describe('notrace-fault', () => {
  for (const machine of [
    'emulator',
    'no-invalid-caching',
    'reorder-window',
    'caches-invalid',
    'caches-invalid-walk',
    'svvptc',
  ]) {
    it(`livelocks on a write to kernel rodata on ${machine}`, () => {
      const r = simulate(
        {
          strategy: onBaseline(notraceFault()),
          scenario: probes.kernelProtectionFault,
          machine: PROFILES[machine]!,
          harts: 1,
        },
        1,
      );
      expect(r.outcome).toBe('livelock');
      expect(r.failure?.stval).toMatch(/^0xffffffff8/);
    });
  }

  it('marks vmalloc_fault notrace and names it as the kernelFault function', () => {
    const s = notraceFault();
    expect(s.functions).toEqual({ kernelFault: 'vmalloc_fault' });
    expect(s.notrace).toEqual(['vmalloc_fault']);
  });
});
