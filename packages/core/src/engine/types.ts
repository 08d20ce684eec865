/**
 * What the components of the machine share: a hart's execution state, the frame protocol that
 * kernel paths run as, and how a run ends. The components (kernel trap path, cross-calls, SBI
 * firmware, mm paths, speculation) each own one kind of frame; the engine runs them.
 *
 * Execution model: each hart has a cycle clock and a stack of *frames* (an access, a trap, a
 * mapping, a cross-call ...). One engine step runs one stage of the top frame of the hart whose next
 * event is earliest, and charges that hart's clock what the stage costs. Slots run synchronously
 * inside a stage; their queued calls become frames pushed on top, so the kernel path that called
 * the slot continues only when they are done — as the C code after the call would.
 */
import type { IpiContext, KernelRange, Op, StrategySlots } from '../contracts.js';
import type { FwRequest } from '../firmware/sbi.js';
import type { KernelContextImpl } from '../kernel/context.js';
import type { IpiRequest } from '../kernel/cross-call/cross-call.js';
import type { Outcome, RunFailure } from '../results.js';
import type { HartHw } from '../sim/hardware.js';
import type { Simulator } from './simulator.js';

export const PAGE = 4096;

/** A composed strategy set as the simulator consumes it. */
export interface ComposedStrategy {
  readonly slots: StrategySlots;
  /** Which member provided each slot (for `strategy-error` messages). */
  readonly slotOwner: Partial<Record<keyof StrategySlots, string>>;
  readonly notrace: ReadonlySet<string>;
  /** Kernel function name of the kernelFault slot if it is a real (traceable) function. */
  readonly kernelFaultFn: string | null;
}

/** A run ended (thrown through the step loop; caught by `run`). */
export class RunEnd {
  constructor(
    readonly outcome: Outcome,
    readonly failure: RunFailure | null,
  ) {}
}

/** A scenario or strategy used the API wrongly (not a machine outcome). */
export class SimulationError extends Error {
  override name = 'SimulationError';
}

/** A kernel virtual area (vmalloc, vmap stack, module, ftrace buffer ...). */
export interface Area {
  readonly name: string;
  readonly kind: KernelRange['kind'] | 'vfree';
  readonly region: 'vmalloc' | 'modules';
  start: number;
  pages: number;
  /** Reserved (alloc_vmap_area done), PTEs not yet all stored. */
  mapped: boolean;
  freed: boolean;
  /** Tick of the PTE clears (for stale-access once published). */
  clearTick: number;
  /** Alignment of the start, in pages. */
  align?: number;
  /** VM_FLUSH_RESET_PERMS (mm/vmalloc.c vm_reset_perms): vfree resets the direct-map alias of every
   *  page and flushes with _vm_unmap_aliases(). Set by module/execmem allocations and by
   *  set_vm_flush_reset_perms() (bpf_prog_lock_ro). */
  resetPerms?: boolean;
  /** Physical frames of the area's pages (first, count), for their direct-map alias. */
  ppn?: number;
}

export interface Task {
  readonly name: string;
  stack: Area | null;
  stackBase: number;
  stackPages: number;
  /** Stack pointer as a byte offset above `stackBase` (top = stackPages * PAGE). */
  sp: number;
}

/** Per-hart execution state. */
export interface HartExec {
  readonly hw: HartHw;
  readonly program: readonly Op[];
  /**
   * The program compiled for the hot path (kernel/program.ts `compile`): per op, the row of its
   * compiled access, 0 = not a compiled access. Ops that are one object share a row, so a program
   * built from a repeated body costs 4 bytes per op (the compile runs inside every boot).
   */
  code: Int32Array;
  /** Per row (from 1): the target as an interned area id (-1 = a fixed region) and a page (within
   *  the area, or an absolute VPN), and bits: access type (0 read, 1 write, 2 execute) | nofault
   *  << 2 | whether the access reaches its page's end (a run-ahead source) << 3. */
  rowArea: Int32Array;
  rowPage: Float64Array;
  rowBits: Uint8Array;
  pc: number;
  readonly frames: Frame[];
  irqEnabled: boolean;
  /** Traps in their first stages (before do_page_fault re-enables interrupts). */
  irqOffDepth: number;
  readonly ipiInbox: IpiRequest[];
  readonly fwInbox: FwRequest[];
  task: Task;
  trapDepth: number;
  waitingFlag: string | null;
  /** Last page of a sequential stream whose end was reached (run-ahead source), or -1. */
  nearEndVpn: number;
  /** Page index within the current `stream` op. */
  streamPos: number;
  /** First VPN of the tracer's ring-buffer pages of this hart (linear map), or -1 before the
   *  buffers are allocated. */
  traceBuffer: number;
  traceEntries: number;
  /** A fentry BPF program runs on this hart (its per-CPU `prog->active` recursion guard). */
  bpfActive: boolean;
  ctx: KernelContextImpl;
  ipiCtx: IpiContext;
}

/** One kernel path in progress on a hart. */
export interface Frame {
  /** Run one stage. */
  run(sim: Simulator, h: HartExec): void;
  /** True while it cannot make progress (waiting on other harts). */
  blocked(sim: Simulator, h: HartExec): boolean;
  /** Once unblocked: the cycle it was released at (the hart's wait ends then; absent = at once). */
  readyAt?(): number;
}
