import { z } from 'zod';
import { MODES, type Mode } from './addr.js';
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
  /** vfree's lazy purge: freed pages are flushed and their VA reused once more than this many are
   *  pending (lazy_max_pages). 0 = purge at every vfree. */
  readonly lazyMaxPages: number;
  /** Guard pages after every vmalloc area (VM_NO_GUARD is not modelled). */
  readonly guardPages: number;
  /** A hart faulting on the same VA and cause more than K times with no successful program access
   *  in between is reported as `livelock`. */
  readonly livelockK: number;
  /** Step budget of one run (`step-limit`). */
  readonly stepLimit: number;
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
  lazyMaxPages: 0,
  guardPages: 1,
  livelockK: 16,
  stepLimit: 200_000,
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
    lazyMaxPages: z.number().int().nonnegative(),
    guardPages: z.number().int().nonnegative(),
    livelockK: z.number().int().min(1),
    stepLimit: z.number().int().min(1),
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
