/** The tutorial's strategy (docs/authoring-a-strategy.md), tested with the kit as the tutorial says. */
import { PROFILES, simulate } from '@tlblab/core';
import { onBaseline } from '@tlblab/strategy-baseline';
import { describe, expect, it } from 'vitest';
import { arm64Spurious } from '../examples/arm64-spurious.js';
import { runStrategyConformance } from './conformance.js';
import * as probes from './probes.js';

runStrategyConformance(arm64Spurious(), {
  factory: arm64Spurious,
  invalidOptions: [{ retries: 2 }],
  valid: [
    { scenario: probes.crossHartVmalloc },
    { scenario: probes.moduleLoadExec },
    { scenario: probes.ioremapIrq },
    { scenario: probes.kernelProtectionFault },
    { scenario: probes.kernelNofaultWrite },
    { scenario: probes.vmallocGuardPage },
    { scenario: probes.vfreeReuse },
  ],
  invalid: [
    // Like every kernelFault-slot fix, it runs after the trap frame is stored on the stack.
    { scenario: probes.vmapStackMigrate, outcome: 'panic:stack-overflow' },
  ],
});

describe('arm64-spurious (tutorial)', () => {
  it('oopses on a store to rodata where notrace-fault livelocks: it checks the permission', () => {
    const r = simulate(
      {
        strategy: onBaseline(arm64Spurious()),
        scenario: probes.kernelProtectionFault,
        machine: PROFILES['caches-invalid']!,
        harts: 1,
      },
      1,
    );
    expect(r.outcome).toBe('oops');
    expect(r.metrics.replays).toBe(0);
  });
});
