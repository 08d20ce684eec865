/**
 * The plugin contracts: strategies (kernel policies), scenarios (kernel programs) and the config
 * file. Built-in strategies and scenarios use exactly this public API.
 *
 * A strategy fills some of the kernel's *slots*. Each slot is documented here with its timing
 * (when exactly the core calls it, on which hart), what it may call, what it must return, and what
 * its calls cost. Slots run synchronously inside one simulation step; anything that must wait for
 * other harts (`onEachCpu`, `flushTlbAll`, `flushTlbRange`, `sbiRemoteFence`, `call`) is *queued*:
 * it runs, step by step, after the slot returns and before the caller (the mapping, the unmap or
 * the trap) continues — exactly as the kernel code that follows the call would wait for it.
 */
import type { z } from 'zod';
import type { Layout, Mode, VpnRange } from './addr.js';
import type { KernelConfig } from './kernel-config.js';
import type { MachineConfig } from './profiles.js';

/** Kinds of access an instruction makes (scause 13 load, 15 store/AMO, 12 instruction page fault). */
export type AccessType = 'read' | 'write' | 'execute';

/**
 * The four SFENCE.VMA operand forms (privileged spec, "Supervisor Memory-Management Fence
 * Instruction"):
 * - `all` = `sfence.vma x0, x0`: every level, every address space, global entries included;
 * - `asid` = `sfence.vma x0, asid`: every level of that ASID; global entries untouched;
 * - `va` = `sfence.vma va, x0`: *leaf* entries for that VA in every address space (globals too);
 * - `va-asid` = `sfence.vma va, asid`: leaf entries for that VA in that ASID; globals untouched.
 * Only the `x0` forms (`all`, `asid`) order and invalidate non-leaf entries. Local hart only.
 */
export type FenceForm = 'all' | 'asid' | 'va' | 'va-asid';

/** Where a fence was executed from, for the metrics. */
export type FenceOrigin = 'local' | 'ipi' | 'firmware';

/** The page-fault causes (scause). */
export type TrapCause = 'load-page-fault' | 'store-page-fault' | 'instruction-page-fault';

/** A page fault as `handle_exception` sees it. */
export interface Trap {
  readonly cause: TrapCause;
  readonly access: AccessType;
  /** `stval` as a VPN (the faulting VA >> 12). */
  readonly vpn: number;
  /** `stval` as text (`0xffffffc600001000`), for messages. */
  readonly stval: string;
  /** The trap was taken from kernel mode (`SPP` = 1). Always true in this model's kernel programs,
   *  except accesses to user addresses made on behalf of the user (`user: true` in the DSL). */
  readonly fromKernel: boolean;
  /** Nesting depth: 1 for a trap taken by a program access, 2 for a trap taken inside that trap's
   *  path (storing the frame, the tracer, a handler), ... */
  readonly depth: number;
}

/** A kernel virtual range passed to the flush slots. */
export interface KernelRange extends VpnRange {
  /** What created it: the kernel path that called the slot. */
  readonly kind: 'vmalloc' | 'vmap' | 'ioremap' | 'module' | 'stack' | 'ftrace' | 'set-memory';
  /** Number of pages (end - start). */
  readonly pages: number;
}

/** The result of walking init_mm (the master kernel table) for a VA, reading memory directly. */
export interface InitMmWalk {
  /** A valid leaf was found. */
  readonly present: boolean;
  /** Level where the walk stopped (leaf level, or the level of the first non-present entry). */
  readonly level: number;
  /** The leaf's permissions when present. */
  readonly r: boolean;
  readonly w: boolean;
  readonly x: boolean;
  readonly global: boolean;
}

/** Which harts a cross-hart call targets. */
export type HartMask = 'all' | 'others' | readonly number[];

/** Transport for remote fences: IPIs handled by the kernel, or the SBI remote-fence call. Left out,
 *  the platform decides as Linux does: IPIs where it has S-mode IPIs (`platform.sModeIpi`), else SBI. */
export type FenceTransport = 'ipi' | 'sbi';

/** What an IPI callback may do: it runs on the target hart, in its interrupt handler. */
export interface IpiContext {
  readonly hart: number;
  /** `sfence.vma` on this hart (charged `sfenceAll`/`sfenceAsid`/`sfenceVa`; counted as origin `ipi`). */
  localSfence(form: FenceForm, vpn?: number, asid?: number): void;
}

/**
 * The narrow view of the machine a slot gets. Synchronous calls take effect (and are charged to the
 * current hart) at once; queued calls run after the slot returns, before the kernel path continues.
 */
export interface KernelContext {
  /** The hart executing the slot. */
  readonly hart: number;
  /** Number of online harts. */
  readonly harts: number;
  readonly mode: Mode;
  readonly layout: Layout;
  readonly kernel: Readonly<KernelConfig>;
  /** The machine implements Svvptc (the kernel patches the early `sfence.vma` to a `nop`). */
  readonly svvptc: boolean;
  /** Simulation step (for strategies that keep generations; a count, not time: see the hart clocks). */
  readonly step: number;
  /** Synchronous: `sfence.vma` on this hart. */
  localSfence(form: FenceForm, vpn?: number, asid?: number): void;
  /** Synchronous: walk init_mm for `vpn` by explicit loads (newest PTEs; no TLB involved). Charged one
   *  `walkLevelMemory` per level read. */
  walkInitMm(vpn: number): InitMmWalk;
  /** Synchronous: copy init_mm's top-level entry covering `vpn` into the root this hart runs on
   *  (`satp`), as `vmalloc_fault` does. Returns false when init_mm has no such entry. One store. */
  copyPgdEntry(vpn: number): boolean;
  /** Queued: `flush_tlb_all()`: a full `sfence.vma` on every hart, by IPI (`on_each_cpu(..., wait=1)`)
   *  or by SBI remote fence; by default as the platform does. */
  flushTlbAll(opts?: { transport?: FenceTransport }): void;
  /** Queued: v6.7's ranged `flush_tlb_kernel_range()` (5e22bfd520ea): by IPI every hart fences each
   *  page with `sfence.vma va` when the range has at most `threshold` pages, else one full local fence;
   *  by SBI the range goes to firmware, which fences page by page only up to the platform's
   *  `tlbRangeFlushLimit` bytes (OpenSBI), else fully. Transport by default as the platform does. */
  flushTlbRange(range: VpnRange, opts: { threshold: number; transport?: FenceTransport }): void;
  /** Queued: `on_each_cpu_mask(mask, fn, wait=1)`: queue `fn` on every target's call-function queue,
   *  raise IPIs, run `fn` here if in the mask, wait until every target ran it (a target runs it from
   *  its IPI handler once the IPI arrived and its interrupts are enabled). */
  onEachCpu(mask: HartMask, fn: (t: IpiContext) => void): void;
  /** Queued: `sbi_remote_sfence_vma()`: trap to firmware, which fences each target with `form`
   *  whatever its S-mode interrupt state (a range above the platform's `tlbRangeFlushLimit` bytes
   *  becomes a full flush); returns when all are done. */
  sbiRemoteFence(mask: HartMask, form: FenceForm, range?: VpnRange): void;
  /** Queued: call a traceable kernel function: on entry the function tracer runs unless `fnName`
   *  is `notrace` (it may fault and nest), then `body` runs. */
  call(fnName: string, body: (ctx: KernelContext) => void): void;
}

/** Context of the `trapEntry` slot: the first instructions of `handle_exception`, before any
 *  stack access. Only what that code can do: local fences and bitmap operations. */
export type TrapEntryContext = Pick<
  KernelContext,
  'hart' | 'harts' | 'mode' | 'layout' | 'kernel' | 'svvptc' | 'step' | 'localSfence'
>;

/** A per-hart bitmap in kernel data (not per-CPU data, which lives in vmalloc; 503638e0babf). */
export interface HartBitmap {
  readonly name: string;
  /** Set every hart's bit (one word store per 64 harts, charged to the current hart). */
  setAll(): void;
  /** This hart's bit. */
  test(hart: number): boolean;
  /** Atomically clear this hart's bit and return whether it was set (`amoxor`, one word store). */
  testAndClear(hart: number): boolean;
}

/** State kept per hart for a strategy; created at setup. */
export interface PerHart<T> {
  get(hart: number): T;
  set(hart: number, value: T): void;
}

/** What `setup` receives: the frozen machine, for creating state. */
export interface StrategySetup {
  readonly harts: number;
  readonly mode: Mode;
  readonly layout: Layout;
  readonly kernel: Readonly<KernelConfig>;
  readonly machine: Readonly<MachineConfig>;
  /** A global bitmap with one bit per hart (u64 words). */
  hartBitmap(name: string): HartBitmap;
  perHart<T>(init: (hart: number) => T): PerHart<T>;
}

/**
 * The slots. All optional; a strategy set composes slot by slot, later strategies overriding
 * earlier ones, every override reported.
 */
export interface StrategySlots {
  /**
   * `trapEntry` — **when**: first stage of every page fault (load/store/instruction page fault)
   * taken from kernel mode, as the first instructions of `handle_exception`, *before the stack is
   * touched*, on the faulting hart. Nested faults call it again. **May call**: `localSfence` and bitmap
   * operations only (nothing that can fault). **Returns** `'replay'` to `sret` and re-execute the
   * faulting instruction at once (charged `trapReturn`), or `'continue'` to go on with the normal
   * trap path. **Costs**: `trapEntry` is charged by the core before the slot.
   */
  trapEntry?(ctx: TrapEntryContext, trap: Trap): 'replay' | 'continue';
  /**
   * `kernelFault` — **when**: inside `handle_page_fault`, after the trap frame is stored and the
   * traceable `do_page_fault`/`handle_page_fault` have run, for a fault on a kernel address (>=
   * TASK_SIZE), on the faulting hart. If `functions.kernelFault` names a kernel function that is not
   * `notrace`, the tracer runs on entry first. **May call**: everything in `KernelContext`.
   * **Returns** `'handled'` to return from the trap and replay the access, or `'unhandled'` to fall
   * through to `no_context` (fixup or oops). **Costs**: `kernelFunction` plus whatever it calls.
   */
  kernelFault?(ctx: KernelContext, trap: Trap): 'handled' | 'unhandled';
  /**
   * `flushCacheVmap` — **when**: `flush_cache_vmap(start, end)`, at the end of every kernel mapping
   * path (vmalloc, vmap, vmap stacks, module allocation, ioremap, the tracer's buffers), after all
   * PTEs are stored, on the mapping hart; the mapping call returns after it (and its queued calls).
   * Generic kernels: a no-op. **May call**: everything. **Returns** nothing.
   */
  flushCacheVmap?(ctx: KernelContext, range: KernelRange): void;
  /**
   * `flushTlbKernelRange` — **when**: `flush_tlb_kernel_range(start, end)` after kernel PTEs are
   * cleared or downgraded (vfree's lazy purge, `set_memory_ro`), on the unmapping hart; the removal is
   * *published* (the VA may be reused) when it and its queued calls finish. **May call**: everything.
   * **Returns** nothing.
   */
  flushTlbKernelRange?(ctx: KernelContext, range: KernelRange): void;
}

export type SlotName = keyof StrategySlots;
export const SLOT_NAMES: readonly SlotName[] = [
  'trapEntry',
  'kernelFault',
  'flushCacheVmap',
  'flushTlbKernelRange',
];

/** Static description of a strategy (ESLint-style `meta`, apart from behaviour). */
export interface StrategyMeta {
  readonly title: string;
  readonly description: string;
  /** The kernel change it models. */
  readonly source: {
    readonly commit?: string;
    readonly kernel?: string;
    readonly url?: string;
    readonly note?: string;
  };
  /** Which slots it fills (for reports; checked against what setup returns). */
  readonly slots?: readonly SlotName[];
  /**
   * The released kernel this strategy is when it runs as its own set (the CLI's single-name
   * convention: the strategy on the baseline), and in which modes. Absent: a what-if.
   */
  readonly kernel?: KernelRelease;
}

/**
 * A released kernel configuration a strategy set reproduces, and the translation modes in which
 * it is that kernel. In any other mode the set is a what-if: e.g. `flush_cache_vmap()` and the
 * early sfence.vma check exist only on 64-bit, and every Sv32 kernel keeps `vmalloc_fault()`
 * (arch/riscv/mm/fault.c, `!CONFIG_64BIT` since 7d3332be011e), so a set without it is no Sv32
 * kernel. Reports group real configurations apart from what-ifs by this.
 */
export interface KernelRelease {
  /** The release, as the kernel tags it (`v6.12`). */
  readonly release: string;
  readonly modes: readonly Mode[];
}

/** A strategy instance: what a factory such as `earlySfence(options)` returns. */
export interface Strategy<Options = unknown> {
  /** Equals the package suffix (`early-sfence` for `@tlblab/strategy-early-sfence`); appears in every error. */
  readonly name: string;
  readonly meta: StrategyMeta;
  /** Resolved options (after the schema's defaults). */
  readonly options?: Options;
  /** Kernel functions this strategy marks `notrace` (e.g. `vmalloc_fault`, `handle_page_fault`). */
  readonly notrace?: readonly string[];
  /** Kernel function names of slots that are real (non-inlined) functions and so traceable. */
  readonly functions?: { readonly kernelFault?: string };
  /** Kernel settings this strategy implies (e.g. `linux-6.4` runs without PGD pre-allocation). */
  readonly kernelConfig?: Partial<KernelConfig>;
  /** Runs once per machine, after the config is frozen; returns the slots it fills. */
  setup(setup: StrategySetup): StrategySlots;
}

/**
 * Identity helper for typing a strategy (Vite's `defineConfig` convention). Use inside a factory:
 * `export default (opts) => defineStrategy({ name, meta, setup })`.
 */
export function defineStrategy<Options = undefined>(strategy: Strategy<Options>): Strategy<Options> {
  return strategy;
}

/**
 * Validate plugin options with a zod schema; on failure throws `PluginOptionError` naming the
 * plugin, the option and the value. Returns the parsed options with defaults applied.
 */
export type OptionsSchema<T> = z.ZodType<T>;

// ---------------------------------------------------------------------------------------------
// Scenarios

/** Where an access goes: a page of a named area created by an earlier op, or a fixed region. */
export type Target =
  | { readonly area: string; readonly page?: number; readonly offset?: number }
  | {
      readonly region: 'direct-map' | 'kernel-rodata' | 'kernel-data' | 'user';
      readonly page?: number;
      readonly offset?: number;
    };

/** One operation of a hart's program (the scenario DSL; see `ops` in scenario.ts for builders). */
export type Op =
  | {
      readonly op: 'access';
      readonly type: AccessType;
      readonly target: Target;
      readonly nofault?: boolean;
      readonly program?: true;
    }
  | {
      readonly op: 'stream';
      readonly type: 'read' | 'write';
      readonly area: string;
      readonly fromPage?: number;
      readonly pages?: number;
    }
  | {
      readonly op: 'map';
      readonly kind: 'vmalloc' | 'vmap' | 'ioremap' | 'module';
      readonly area: string;
      readonly pages: number;
      readonly exec?: boolean;
      /** Alignment of the area's start in pages (a power of two; `__vmalloc_node(size, align)`). */
      readonly align?: number;
    }
  | { readonly op: 'vfree'; readonly area: string }
  | { readonly op: 'set-memory-ro'; readonly area: string }
  | {
      /** `set_memory_<prot>(addr, pages)` on an area (arch/riscv/mm/pageattr.c __set_memory). */
      readonly op: 'set-memory';
      readonly area: string;
      readonly prot: 'ro' | 'rox' | 'nx' | 'rw' | 'x';
      readonly fromPage?: number;
      readonly pages?: number;
      /** set_vm_flush_reset_perms() first (bpf_prog_lock_ro): vfree will reset the direct map. */
      readonly resetPerms?: boolean;
    }
  | {
      /** The end of load_module() for a module area: flush_module_icache() (flush_icache_all, a
       *  remote fence.i), then complete_formation()'s CONFIG_STRICT_MODULE_RWX pass
       *  (set_memory_rox on the first `textPages` pages, set_memory_nx on the rest). */
      readonly op: 'module-finalize';
      readonly area: string;
      readonly textPages?: number;
      /** The module's data allocation (set_memory_nx in the same pass). */
      readonly data?: string;
    }
  | { readonly op: 'spawn'; readonly task: string }
  | { readonly op: 'switch-to'; readonly task: string }
  | {
      /** do_exit() of the running task, then the final switch to `next` (finish_task_switch()
       *  releases the dead task's stack on this hart: the per-CPU stack cache, else vfree). */
      readonly op: 'exit';
      readonly next: string;
    }
  | {
      /** switch_mm() to the process address space `mm` (created with its own root on first use). */
      readonly op: 'switch-mm';
      readonly mm: string;
    }
  | { readonly op: 'irq'; readonly enable: boolean }
  | { readonly op: 'signal'; readonly flag: string }
  | { readonly op: 'wait'; readonly flag: string }
  | { readonly op: 'compute'; readonly cycles: number }
  | { readonly op: 'tracing'; readonly enable: boolean }
  | {
      /** Attach a BPF program (its JIT image `image`, its map `map`) to kernel function `fn` with
       *  fentry; `detach: true` removes it. */
      readonly op: 'fentry';
      readonly fn: string;
      readonly image?: string;
      readonly map?: string;
      readonly detach?: boolean;
    }
  | { readonly op: 'repeat'; readonly times: number; readonly body: readonly Op[] };

/** What a scenario's `build` returns: one program per hart (shorter lists leave harts idle). */
export interface ScenarioPrograms {
  readonly programs: readonly (readonly Op[])[];
  /** User pages mapped in each hart's process before the run (the background working set). */
  readonly userPages?: number;
  /** Kernel settings the scenario needs (e.g. tracing on from boot). */
  readonly kernelConfig?: Partial<KernelConfig>;
}

export interface ScenarioMeta {
  readonly title: string;
  /** One paragraph: the story and its source (report, commit, kernel file). */
  readonly story: string;
  readonly source: string;
}

export interface Scenario<Params extends Record<string, unknown> = Record<string, unknown>> {
  readonly id: string;
  readonly meta: ScenarioMeta;
  /** Minimum number of harts. */
  readonly minHarts: number;
  /** Modes it applies to. */
  readonly modes: readonly Mode[];
  /** Expected outcome: `ok` (the kernel survives) or `oops` (a genuine bad access is reported). */
  readonly expect: 'ok' | 'oops';
  /** `ok (cost)` scenarios are about cost curves rather than survival. */
  readonly purpose?: 'survival' | 'cost';
  /** Parameter schema (zod) with defaults. */
  readonly params: z.ZodType<Params>;
  /**
   * How an instance shrinks, for `explore`'s operations bound (explore/operations.ts): the
   * integer parameters that count kernel operations (rounds, devices, probes, background passes),
   * each with its smallest meaningful value. The explorer deepens from every one at its smallest
   * up to the cell's value, so a counterexample comes from the smallest instance that fails.
   */
  readonly explore?: { readonly sizes: Readonly<Partial<Record<keyof Params & string, number>>> };
  /** Build the per-hart programs for `harts` harts. Must not depend on the strategy. */
  build(
    params: Params,
    env: { readonly harts: number; readonly mode: Mode; readonly layout: Layout },
  ): ScenarioPrograms;
}

/** Identity helper for typing a scenario. */
export function defineScenario<Params extends Record<string, unknown>>(
  scenario: Scenario<Params>,
): Scenario<Params> {
  return scenario;
}

/** A named strategy set (e.g. `linux-6.12`): members applied in order. */
export interface StrategySet {
  readonly id: string;
  readonly title?: string;
  readonly members: readonly Strategy[];
  /** The released kernel this set is (and in which modes); absent: a what-if configuration. */
  readonly kernel?: KernelRelease;
  /** Kernel settings of the kernel version the set stands for (after its members'). */
  readonly kernelConfig?: Partial<KernelConfig>;
}

/** The project config file (`tlblab.config.ts`). */
export interface TlblabConfig {
  readonly strategies?: readonly (Strategy | StrategySet)[];
  readonly scenarios?: readonly Scenario<never>[] | readonly Scenario[];
  readonly machines?: readonly MachineConfig[];
  readonly sweep?: {
    readonly strategies?: readonly string[];
    readonly scenarios?: readonly string[];
    readonly machines?: readonly string[];
    readonly harts?: readonly number[];
    readonly seeds?: number;
    readonly mode?: Mode;
  };
  /** Kernel settings for every cell (`--kernel key=value` overrides them). */
  readonly kernel?: Partial<KernelConfig>;
}

/** Identity helper for `tlblab.config.ts`. */
export function defineConfig(config: TlblabConfig): TlblabConfig {
  return config;
}
