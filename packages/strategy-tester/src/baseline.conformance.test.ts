/**
 * The baseline's conformance suite lives here, not in @tlblab/strategy-baseline: the kit depends on
 * the baseline (every case runs on it), so a baseline test that used the kit would make the two
 * packages a dependency cycle (issue 15).
 */
import { baseline } from '@tlblab/strategy-baseline';
import { probes, runStrategyConformance } from './index.js';

runStrategyConformance(baseline(), {
  packageName: '@tlblab/strategy-baseline',
  factory: baseline,
  invalidOptions: [{ transport: 'mmio' }, { threshold: 64 }],
  valid: [
    { scenario: probes.kernelProtectionFault },
    { scenario: probes.kernelNofaultWrite },
    { scenario: probes.vmallocGuardPage },
    { scenario: probes.vfreeReuse },
    // "Such cores don't need it": no V=0 caching and PTE stores visible at once.
    { scenario: probes.crossHartVmalloc, machine: 'emulator' },
    { scenario: probes.crossHartVmalloc, machine: 'no-invalid-caching' },
    { scenario: probes.vmapStackMigrate, machine: 'no-invalid-caching' },
  ],
  invalid: [
    { scenario: probes.crossHartVmalloc, outcome: 'panic:spurious-fault' },
    { scenario: probes.moduleLoadExec, outcome: 'panic:spurious-fault' },
    { scenario: probes.ioremapIrq, outcome: 'panic:spurious-fault' },
    { scenario: probes.vmapStackMigrate, outcome: 'panic:stack-overflow' },
    // The "small window": no V=0 caching, but a new PTE may be invisible to the walker for d steps.
    {
      scenario: probes.crossHartVmalloc,
      machine: 'reorder-window',
      outcome: 'panic:spurious-fault',
      seeds: 40,
    },
    // Sv32 never got PGD pre-allocation: without vmalloc_fault an older root never sees the new entry.
    {
      scenario: probes.sv32NewPgd,
      mode: 'sv32',
      machine: 'emulator',
      outcome: 'panic:spurious-fault',
      always: true,
    },
  ],
});
