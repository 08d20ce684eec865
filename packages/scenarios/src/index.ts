/**
 * @tlblab/scenarios — the built-in scenario library: faithful miniatures of the Linux/RISC-V kernel
 * paths that make new kernel mappings and use them (catalog "Scenarios"), written with the same
 * public `defineScenario` API a user gets.
 */
import type { Scenario } from '@tlblab/core';
import { bpfProgLifecycle } from './bpf-prog-lifecycle.js';
import { crossHartVmalloc } from './cross-hart-vmalloc.js';
import { forkStorm } from './fork-storm.js';
import { ioremapIrq } from './ioremap-irq.js';
import { kernelNofaultWrite } from './kernel-nofault-write.js';
import { kernelProtectionFault } from './kernel-protection-fault.js';
import { moduleLoadExec } from './module-load-exec.js';
import { moduleLoadUnload } from './module-load-unload.js';
import { sv32NewPgd } from './sv32-new-pgd.js';
import { tracingInFaultPath } from './tracing-in-fault-path.js';
import { vfreeReuse } from './vfree-reuse.js';
import { vmallocGuardPage } from './vmalloc-guard-page.js';
import { vmallocStress } from './vmalloc-stress.js';
import { vmapStackMigrate } from './vmap-stack-migrate.js';

export { type BpfProgLifecycleParams, bpfProgLifecycle } from './bpf-prog-lifecycle.js';
export type { BackgroundParams } from './common.js';
export { backgroundParams, backgroundProgram, withBackground, workingSetPass } from './common.js';
export { type CrossHartVmallocParams, crossHartVmalloc } from './cross-hart-vmalloc.js';
export { type ForkStormParams, forkStorm } from './fork-storm.js';
export { type IoremapIrqParams, ioremapIrq } from './ioremap-irq.js';
export { type KernelNofaultWriteParams, kernelNofaultWrite } from './kernel-nofault-write.js';
export { type KernelProtectionFaultParams, kernelProtectionFault } from './kernel-protection-fault.js';
export { type ModuleLoadExecParams, moduleLoadExec } from './module-load-exec.js';
export { type ModuleLoadUnloadParams, moduleLoadUnload } from './module-load-unload.js';
export { type Sv32NewPgdParams, sv32NewPgd } from './sv32-new-pgd.js';
export { type TracingInFaultPathParams, tracingInFaultPath } from './tracing-in-fault-path.js';
export { type VfreeReuseParams, vfreeReuse } from './vfree-reuse.js';
export { type VmallocGuardPageParams, vmallocGuardPage } from './vmalloc-guard-page.js';
export {
  VMALLOC_TEST_CASES,
  type VmallocStressParams,
  type VmallocTestCase,
  vmallocStress,
} from './vmalloc-stress.js';
export { type VmapStackMigrateParams, vmapStackMigrate } from './vmap-stack-migrate.js';

/** Every built-in scenario, in the catalog's order. */
export const scenarios: readonly Scenario[] = [
  crossHartVmalloc,
  vmapStackMigrate,
  moduleLoadExec,
  tracingInFaultPath,
  kernelProtectionFault,
  kernelNofaultWrite,
  vmallocGuardPage,
  ioremapIrq,
  sv32NewPgd,
  vfreeReuse,
  vmallocStress,
  forkStorm,
  moduleLoadUnload,
  bpfProgLifecycle,
];

/** The built-in scenario with this id, or undefined. */
export function scenarioById(id: string): Scenario | undefined {
  return scenarios.find((s) => s.id === id);
}
