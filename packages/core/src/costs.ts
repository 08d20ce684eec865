/**
 * The cost table (machine-model section 9). Cycles charged per operation; every result records
 * the table it used and every entry is overridable per machine. Values are plausible round
 * numbers, not measurements of any core; where a public figure exists it is cited.
 *
 * Costs are charged where the hardware spends them, so that the price of a policy *emerges*: a full
 * `sfence.vma` is cheap to execute (`sfenceAll`) but empties the TLB, and the refill walks that
 * follow (`walkLevelMemory` per level) are where its cost really shows.
 */
export interface CostTable {
  /** A translation found in the TLB, and the access itself. */
  readonly tlbHit: number;
  /** One walk level answered by the page-walk cache. */
  readonly walkLevelPwc: number;
  /** One walk level read from memory (about one cache miss). */
  readonly walkLevelMemory: number;
  /** `sfence.vma x0, x0`. */
  readonly sfenceAll: number;
  /** `sfence.vma x0, asid`. */
  readonly sfenceAsid: number;
  /** `sfence.vma va, x0` or `sfence.vma va, asid` (x86 quotes ~100 ns per single-page flush; 64-page
   *  ranged flushes make this the cost that matters). */
  readonly sfenceVa: number;
  /** Trap entry: pipeline flush, CSR swaps up to the first instruction of `handle_exception`. */
  readonly trapEntry: number;
  /** `sret` and the register restore. */
  readonly trapReturn: number;
  /** One kernel C function's body on the fault path (do_page_fault, handle_page_fault, ...). */
  readonly kernelFunction: number;
  /** The function tracer's callback on entry to a traceable function (ring-buffer write). */
  readonly tracerCall: number;
  /** Posting one S-mode IPI (an IMSIC or ACLINT SSWI register write), per target. */
  readonly ipiSend: number;
  /** Delivery latency: from posting an IPI (S-mode or firmware's M-mode one) until the target can
   *  take it, if its interrupts are enabled. */
  readonly ipiLatency: number;
  /** Interrupt entry on the target, up to the call-function handler: paid once per interrupt, however
   *  many queued calls it drains (`__flush_smp_call_function_queue`). */
  readonly ipiHandlerEntry: number;
  /** Interrupt exit on the target (after the calls ran and were acknowledged). */
  readonly ipiHandlerExit: number;
  /** An SBI ecall on the sender: M-mode trap, dispatch and `mret` (OpenSBI measured SBI fences ~5%
   *  faster than IPIs that also trapped to M-mode). */
  readonly sbiCallBase: number;
  /** Firmware's per-target work on the sender (queue the request, write the target's MSIP). */
  readonly sbiPerHart: number;
  /** M-mode trap entry on a hart taking a firmware IPI (whatever its S-mode interrupt state). */
  readonly mTrapEntry: number;
  /** M-mode handler exit (`mret`) on that hart. */
  readonly mTrapExit: number;
  /** vmalloc()/vmap()/ioremap() bookkeeping: find a free area, insert into the tree. */
  readonly vmallocBase: number;
  /** Per page: allocate the page and store its PTE. */
  readonly vmallocPerPage: number;
  /** One word store to a shared bitmap (`new_vmalloc[]`), or an `amoxor` on it. */
  readonly bitmapWordStore: number;
  /** A hart leaving a spin on a flag once the flag is seen set. */
  readonly spin: number;
  /** A context switch (`__switch_to`). */
  readonly contextSwitch: number;
}

export const DEFAULT_COSTS: CostTable = Object.freeze({
  tlbHit: 1,
  walkLevelPwc: 3,
  walkLevelMemory: 40,
  sfenceAll: 20,
  sfenceAsid: 20,
  sfenceVa: 10,
  trapEntry: 50,
  trapReturn: 40,
  kernelFunction: 60,
  tracerCall: 30,
  ipiSend: 100,
  ipiLatency: 400,
  ipiHandlerEntry: 150,
  ipiHandlerExit: 100,
  sbiCallBase: 250,
  sbiPerHart: 200,
  mTrapEntry: 100,
  mTrapExit: 60,
  vmallocBase: 600,
  vmallocPerPage: 80,
  bitmapWordStore: 5,
  spin: 10,
  contextSwitch: 300,
});

export const COST_KEYS = Object.keys(DEFAULT_COSTS) as (keyof CostTable)[];
