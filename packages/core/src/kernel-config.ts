import { z } from 'zod';
import { MODES, type Mode } from './addr.js';
import type { Op } from './contracts.js';
import { ConfigError } from './errors.js';
import { issuePath } from './profiles.js';

/**
 * Kernel build and boot settings of one simulated machine (machine-model sections 2, 6, 7).
 */
export interface KernelConfig {
  readonly mode: Mode;
  /** Pre-allocated kernel PGD entries for vmalloc/modules (7d3332be011e, 64-bit kernels since v6.5).
   *  `null` = the default for the mode (true on 64-bit, false on Sv32, which never got it). */
  readonly pgdPrealloc: boolean | null;
  /** CONFIG_VMAP_STACK (64-bit only on riscv): task stacks are vmalloc'd. */
  readonly vmapStack: boolean;
  /** Kernel stack size in pages (THREAD_SIZE: 16 KiB on rv64). */
  readonly stackPages: number;
  /** Size of the trap frame `handle_exception` stores (PT_SIZE_ON_STACK: 36 registers = 288 bytes). */
  readonly trapFrameBytes: number;
  /** The function tracer is on from boot (scenarios may switch it on later with a `tracing` op). */
  readonly tracing: boolean;
  /** Pages of each hart's tracer ring buffer (vmalloc'd on first use). */
  readonly traceBufferPages: number;
  /** Tracer entries per ring-buffer page before it moves to the next page. */
  readonly traceEntriesPerPage: number;
  /** vfree's lazy purge (mm/vmalloc.c free_vmap_area_noflush): freed areas are flushed, with one
   *  flush_tlb_kernel_range over their union, and their VA reused once more than this many pages
   *  are pending. `null` = the kernel's `lazy_max_pages()` = fls(num_online_cpus()) * (32 MiB /
   *  PAGE_SIZE); 0 = purge at every vfree (the model before issue 12). */
  readonly lazyMaxPages: number | null;
  /** Freed vmap stacks kept per CPU for reuse (kernel/fork.c NR_CACHED_STACKS = 2, ac496bf48d97,
   *  v4.9; cached only from finish_task_switch() since e540bf3162e8, v5.17). 0 = no cache. */
  readonly stackCache: number;
  /** CONFIG_STRICT_MODULE_RWX (default y on riscv): modules are allocated PAGE_KERNEL (RW, no X) and
   *  the loader's set_memory_ro/nx/rox pass makes text RX before init runs (kernel/module/strict_rwx.c),
   *  each call ending in a flush_tlb_all (arch/riscv/mm/pageattr.c __set_memory). */
  readonly strictModuleRwx: boolean;
  /** arch/riscv/mm/context.c `use_asid_allocator`: the core has enough ASID bits (num_asids >
   *  2 * num_possible_cpus()). Without it every switch_mm writes satp and does a local full flush. */
  readonly asidAllocator: boolean;
  /** How arch/riscv/mm/pageattr.c __set_memory() ends: `all` = flush_tlb_all(), and
   *  set_direct_map_{invalid,default}_noflush() go through it too (311cd2f6e253, v6.7: "we may have
   *  split a hugepage"); `kernel-range` = flush_tlb_kernel_range(start, end) (the strategy's slot) and
   *  the set_direct_map_*_noflush() walks do not flush (v6.4, v6.5). */
  readonly setMemoryFlush: 'all' | 'kernel-range';
  /** Guard pages after every vmalloc area (VM_NO_GUARD is not modelled). */
  readonly guardPages: number;
  /** A hart faulting on the same VA and cause more than K times with no successful program access
   *  in between is reported as `livelock`. */
  readonly livelockK: number;
  /** Step budget of one run (outcome `step-limit`, verdict `inconclusive`). `null` = scaled to the
   *  cell's work (`stepBudget`); a number is the budget as given, whatever the cell. */
  readonly stepLimit: number | null;
}

export const DEFAULT_KERNEL: KernelConfig = Object.freeze({
  mode: 'sv39',
  pgdPrealloc: null,
  vmapStack: true,
  stackPages: 4,
  trapFrameBytes: 288,
  tracing: false,
  traceBufferPages: 2,
  traceEntriesPerPage: 64,
  lazyMaxPages: null,
  stackCache: 2,
  strictModuleRwx: true,
  asidAllocator: true,
  setMemoryFlush: 'all',
  guardPages: 1,
  livelockK: 16,
  stepLimit: null,
});

export const kernelConfigSchema = z
  .object({
    mode: z.enum(MODES as [Mode, ...Mode[]]),
    pgdPrealloc: z.boolean().nullable(),
    vmapStack: z.boolean(),
    stackPages: z.number().int().min(1).max(64),
    trapFrameBytes: z.number().int().min(8).max(4096),
    tracing: z.boolean(),
    traceBufferPages: z.number().int().min(1).max(64),
    traceEntriesPerPage: z.number().int().min(1),
    lazyMaxPages: z.number().int().nonnegative().nullable(),
    stackCache: z.number().int().min(0).max(16),
    strictModuleRwx: z.boolean(),
    asidAllocator: z.boolean(),
    setMemoryFlush: z.enum(['all', 'kernel-range']),
    guardPages: z.number().int().nonnegative(),
    livelockK: z.number().int().min(1),
    stepLimit: z.number().int().min(1).nullable(),
  })
  .strict();

export function resolveKernelConfig(...layers: (Partial<KernelConfig> | undefined)[]): KernelConfig {
  const merged = Object.assign({}, DEFAULT_KERNEL, ...layers.filter(Boolean));
  const parsed = kernelConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issuePath(issue.path);
    const value = (merged as Record<string, unknown>)[String(issue.path[0])];
    throw new ConfigError(`kernel: ${field} = ${JSON.stringify(value)}: ${issue.message}`, { field, value });
  }
  return Object.freeze(parsed.data);
}

/** PGD pre-allocation as configured, or the mode's default. */
export function pgdPreallocOf(k: KernelConfig): boolean {
  return k.pgdPrealloc ?? k.mode !== 'sv32';
}

/** mm/vmalloc.c lazy_max_pages(): fls(num_online_cpus()) * (32 MiB / PAGE_SIZE), or the override. */
export function lazyMaxPagesOf(k: KernelConfig, harts: number): number {
  if (k.lazyMaxPages !== null) return k.lazyMaxPages;
  // fls(n): the 1-based index of the highest set bit (fls(1) = 1, fls(4) = 3).
  const fls = 32 - Math.clz32(harts);
  return fls * ((32 * 1024 * 1024) / 4096);
}

/** The smallest scaled step budget: the fixed budget every run had before issue 13. */
export const STEP_BUDGET_FLOOR = 200_000;
/** Scaled step budget per operation (and per hart) of the cell's flattened programs. */
export const STEP_BUDGET_PER_OP = 16;

/**
 * The step budget of one run of a cell: `kernel.stepLimit` when set, else
 * `max(STEP_BUDGET_FLOOR, STEP_BUDGET_PER_OP * (operations + harts))`, where `operations` counts
 * every hart's program after `repeat` is expanded.
 *
 * Why this shape (issue 13; measured on main 57d33d9, caches-invalid, Sv39, one seed, `linux-6.12`
 * and `flush-cache-vmap`, harts 1..256, every built-in scenario): a run's steps grow linearly with
 * the operations its programs hold — which grow with harts and scenario size — and with nothing
 * else. Steps per operation fall from at most 5.3 (module-load-unload at 2 harts: 222 steps for 42
 * operations, mostly boot and the final fences) to a constant at scale, never above 3.0:
 * vmalloc-stress 1.62 (1 hart, 288 steps) .. 1.99 (256 harts, 119163 steps) under linux-6.12, 2.52
 * at 128 harts under flush-cache-vmap, 3.0 at 256 harts with `lazyMaxPages=0` (every vfree purges
 * and fences: 179423 steps for 59904 operations); fork-storm 1.25, tracing-in-fault-path 1.75,
 * module-load-unload 2.52, bpf-prog-lifecycle 2.26 at 256 harts; vmalloc-stress at 512 harts under
 * early-sfence takes 249771 steps, over the old fixed 200000 (`thread-2023` scale.slow.test.ts).
 * No hart-count term beyond one step per hart shows up: remote fences and IPIs cost each receiving
 * hart a step, but the kernel's lazy purge and batching keep their number per operation flat. 16 per operation is over 5x the
 * worst measured, so a correct run never meets it, while a run that stops making progress in a
 * way no detector catches (livelock, deadlock, stack overflow all have their own outcomes) still
 * ends within a small multiple of a normal run's time. The floor keeps small cells exactly as they
 * were before the budget scaled (no small cell comes near 200000 steps).
 */
export function stepBudget(k: KernelConfig, harts: number, programs: readonly (readonly Op[])[]): number {
  if (k.stepLimit !== null) return k.stepLimit;
  let ops = 0;
  for (const p of programs) ops += flatLength(p);
  return Math.max(STEP_BUDGET_FLOOR, STEP_BUDGET_PER_OP * (ops + harts));
}

/** Length of a program with `repeat` expanded (`flatten` without building it). */
function flatLength(list: readonly Op[]): number {
  let n = 0;
  for (const op of list) n += op.op === 'repeat' ? op.times * flatLength(op.body) : 1;
  return n;
}

/** The settings `--kernel key=value` and a config's `kernel` section may set. */
export const KERNEL_KEYS = Object.keys(DEFAULT_KERNEL) as (keyof KernelConfig)[];

/**
 * Parse one `key=value` kernel setting from the command line into a typed override: numbers,
 * booleans, `null` and the enums as the schema wants them. An unknown key or a value the schema
 * rejects is a ConfigError naming it and listing the valid keys (or values).
 */
export function parseKernelSetting(text: string): Partial<KernelConfig> {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  const raw = eq < 0 ? '' : text.slice(eq + 1);
  if (!(KERNEL_KEYS as string[]).includes(key)) {
    throw new ConfigError(`kernel: unknown setting '${key}' (valid: ${KERNEL_KEYS.join(', ')})`, {
      field: `kernel.${key}`,
      value: raw,
    });
  }
  if (eq < 0)
    throw new ConfigError(`kernel: '${key}' needs a value (--kernel ${key}=VALUE)`, {
      field: `kernel.${key}`,
      value: raw,
    });
  let value: unknown = raw;
  if (raw === 'true') value = true;
  else if (raw === 'false') value = false;
  else if (raw === 'null') value = null;
  else if (raw !== '' && Number.isFinite(Number(raw))) value = Number(raw);
  const field = (kernelConfigSchema.shape as Record<string, z.ZodType>)[key]!;
  const r = field.safeParse(value);
  if (!r.success) {
    const def = DEFAULT_KERNEL[key as keyof KernelConfig];
    throw new ConfigError(
      `kernel: ${key} = ${JSON.stringify(raw)}: ${r.error.issues[0]!.message} (default ${JSON.stringify(def)})`,
      { field: `kernel.${key}`, value: raw },
    );
  }
  return { [key]: r.data } as Partial<KernelConfig>;
}
