/**
 * @tlblab/hw-wasm: a WebAssembly prototype of the machine model's hardware hot path (issue 13,
 * item 3): TLBs, page-walk caches and the walker in AssemblyScript (../assembly/hw.ts), the
 * staleness rule, fences' records, choices, faults and every strategy slot in JS.
 */
export {
  type HardwareLike,
  type HartLike,
  type MemoryLike,
  type TypeCode,
  WasmMachine,
  type WasmMachineOptions,
} from './bridge.js';
export {
  FENCE_FORM,
  type HwExports,
  type HwImports,
  hwModule,
  type PwcViews,
  TICKS_PER_CYCLE,
  type TlbViews,
  WASM_COUNTERS,
  WasmHardware,
  type WasmHardwareOptions,
  type WasmMemory,
  type WasmModule,
} from './wasm.js';
