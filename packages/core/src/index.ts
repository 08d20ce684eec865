/**
 * @tlblab/core — the machine model, the kernel model, the plugin contracts and `simulate()`.
 * See the package README for every public type.
 */
export * from './addr.js';
export * from './choice.js';
export * from './contracts.js';
export * from './costs.js';
/** Internal: `useBootImages(false)` builds every run's machine from scratch (the byte-identity
 *  tests' reference path; results are the same either way, only slower). */
export { useBootImages } from './engine/boot-image.js';
export { SimulationError } from './engine/simulator.js';
export * from './errors.js';
export * from './explore/index.js';
export { type FaultKind, leafPermits, PAGE_FAULT_CAUSE, PRV_S, PRV_U } from './hw/walker.js';
export { vmallocFault } from './kernel/vmalloc-fault.js';
export * from './kernel-config.js';
export * from './profiles.js';
export * from './results.js';
export * from './scenario.js';
export * from './simulate.js';
