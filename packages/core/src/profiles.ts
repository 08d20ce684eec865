/**
 * Core profiles (machine-model section 8): plain data describing a core's translation-caching
 * behaviour. Profiles describe behaviour, not vendors; each cites its evidence. Users copy one,
 * change fields, and register it with `defineMachine`; sweeps may vary any field.
 */
import { z } from 'zod';
import { COST_KEYS, type CostTable, DEFAULT_COSTS } from './costs.js';
import { ConfigError } from './errors.js';

/**
 * Which PTE version the page-table walker returns when several are allowed by the spec's rule
 * ("may return any translation ... valid at any time since the most recent SFENCE.VMA that subsumes
 * that address"):
 * - `newest`: always the current PTE (emulators);
 * - `window`: the newest, unless it was stored less than `d` cycles before the walk, then any allowed
 *   version (a choice);
 * - `svvptc`: V 0->1 changes become visible within `bound` cycles; other changes as `window` with `d`;
 * - `adversarial`: any allowed version (for exploration).
 * `levels`: `leaf` = only leaf-level PTE reads may be stale (non-leaf reads see the newest); `all`.
 * Windows are physical time (cycles of the walking hart's clock), not counts of operations.
 */
export type Staleness =
  | { readonly kind: 'newest' }
  | { readonly kind: 'window'; readonly d: number; readonly levels: 'leaf' | 'all' }
  | { readonly kind: 'svvptc'; readonly bound: number; readonly d: number; readonly levels: 'leaf' | 'all' }
  | { readonly kind: 'adversarial'; readonly levels: 'leaf' | 'all' };

export interface SpeculationConfig {
  /** Run-ahead over the hart's own upcoming accesses: look `window` ops ahead, each step with probability `p`. */
  readonly lookahead: { readonly window: number; readonly p: number };
  /** Next-page run-ahead when a sequential stream nears the end of a page (within `nearEndBytes`),
   *  up to `maxPages` pages past it, with probability `p`. */
  readonly runAhead: { readonly p: number; readonly maxPages: number; readonly nearEndBytes: number };
  /** Mispredicted pointers: with probability `p` per step, walk a kernel VA within `spread` pages of
   *  a recently used kernel page. */
  readonly wild: { readonly p: number; readonly spread: number };
}

/**
 * The platform around the harts, as far as remote fences care (domain doc, "Remote fences").
 * - `sModeIpi`: how the kernel reaches another hart. `imsic` (AIA) and `aclint-sswi` are S-mode IPIs:
 *   Linux then sends remote fences as kernel IPIs (`riscv_use_ipi_for_rfence()`,
 *   arch/riscv/kernel/sbi-ipi.c / drivers/irqchip). `none`: only M-mode IPIs exist (a CLINT), so
 *   kernel IPIs go through SBI `send_ipi` and remote fences through SBI RFENCE
 *   (`riscv_use_sbi_for_rfence()`, arch/riscv/mm/tlbflush.c `__flush_tlb_range`).
 * - `tlbRangeFlushLimit`: OpenSBI's `tlb_range_flush_limit` in bytes (lib/sbi/sbi_tlb.c; default
 *   `SBI_PLATFORM_TLB_RANGE_FLUSH_LIMIT_DEFAULT` = `1UL << 12`): a remote sfence whose size exceeds it
 *   becomes a full flush on every target. Some platforms set 0 (always full), e.g. ESWIN EIC770x.
 */
export interface PlatformConfig {
  readonly sModeIpi: 'imsic' | 'aclint-sswi' | 'none';
  readonly tlbRangeFlushLimit: number;
}

export interface MachineConfig {
  readonly name: string;
  readonly description: string;
  /** Where the behaviour comes from (a report, a spec sentence, an emulator's source). */
  readonly evidence: string;
  readonly tlb: {
    readonly entries: number;
    readonly ways: number;
    readonly replacement: 'lru' | 'random';
    /** Separate instruction and data TLBs of this geometry each (fetches use the ITLB, loads,
     *  stores and speculative walks the DTLB; every SFENCE.VMA reaches both). Absent = unified. */
    readonly split?: boolean;
  };
  /** Page-walk cache of non-leaf PTEs; `entries: 0` = none. Fully associative, LRU. */
  readonly pwc: { readonly entries: number };
  /** Which PTEs with V=0 the core caches: `none`; `leaf` = negative leaf entries in the TLB;
   *  `all` = and V=0 non-leaf entries in the page-walk cache. */
  readonly cachesInvalid: 'none' | 'leaf' | 'all';
  /**
   * Where a walk that ends on a V=0 *non-leaf* entry leaves it, on cores that cache one
   * (`cachesInvalid: 'all'`): `pwc` (absent = this) in the page-walk cache, keyed by the PTE's
   * slot, which no `sfence.vma va` touches; `tlb` as a negative TLB entry of that level covering
   * the whole range, which `sfence.vma va` on any page of the range removes (privileged spec,
   * SFENCE.VMA: rs1 != x0 invalidates "entries that contain leaf page table entries"; both are
   * legal readings, and some findings hold under one only).
   */
  readonly invalidNonLeafIn?: 'pwc' | 'tlb';
  /**
   * How A/D bits are managed (privileged spec, "Svade"/"Svadu"): `svade` (absent = this) raises a
   * page fault when A=0, or D=0 on a store; `svadu` sets them in hardware, an atomic PTE store
   * subject to the same visibility rules as the kernel's (QEMU 7.2 behaves so).
   */
  readonly adUpdate?: 'svade' | 'svadu';
  /** Svvptc (ratified 2024): cached V=0 entries are dropped within `invalidEvictBound` cycles. 0 = never. */
  readonly invalidEvictBound: number;
  /** The core implements Svvptc (the kernel then patches its early `sfence.vma` to a `nop`). */
  readonly svvptc: boolean;
  readonly staleness: Staleness;
  /**
   * The walker sees this hart's own PTE stores from the next operation on, so the staleness
   * window applies to other harts' stores. The spec does not promise it ("SFENCE.VMA orders
   * stores made by this hart ... before subsequent implicit references"); real store buffers drain
   * within tens of cycles. `false` lets a hart's walker miss its own recent stores too (for
   * exploration).
   */
  readonly ownStoresVisible: boolean;
  /** Versions kept per PTE for the staleness rule (bounded history). */
  readonly historyDepth: number;
  /** `null`: no speculative walks at all. */
  readonly speculation: SpeculationConfig | null;
  /** Clock frequency: cycles are the model's unit of time; this converts them to ns/µs in reports. */
  readonly frequencyMHz: number;
  /**
   * Scheduling jitter in cycles: the engine runs the hart whose clock is earliest; any hart within
   * this many cycles of it may run first instead (a `jitter` choice; exact ties are `tie` choices).
   * Models timing noise below the cost table's resolution without changing what anything costs.
   */
  readonly schedulingJitter: number;
  readonly platform: PlatformConfig;
  readonly costs: CostTable;
}

const prob = z.number().min(0).max(1);
const count = z.number().int().nonnegative();
const levels = z.enum(['leaf', 'all']);

const stalenessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('newest') }),
  z.object({ kind: z.literal('window'), d: count, levels }),
  z.object({ kind: z.literal('svvptc'), bound: count, d: count, levels }),
  z.object({ kind: z.literal('adversarial'), levels }),
]);

const costsSchema = z.object(
  Object.fromEntries(COST_KEYS.map((k) => [k, z.number().nonnegative()])) as Record<
    keyof CostTable,
    z.ZodNumber
  >,
);

export const machineConfigSchema = z
  .object({
    name: z.string().min(1),
    description: z.string(),
    evidence: z.string(),
    tlb: z.object({
      entries: z.number().int().positive(),
      ways: z.number().int().positive(),
      replacement: z.enum(['lru', 'random']),
      split: z.boolean().optional(),
    }),
    pwc: z.object({ entries: count }),
    cachesInvalid: z.enum(['none', 'leaf', 'all']),
    invalidNonLeafIn: z.enum(['pwc', 'tlb']).optional(),
    adUpdate: z.enum(['svade', 'svadu']).optional(),
    invalidEvictBound: count,
    svvptc: z.boolean(),
    staleness: stalenessSchema,
    ownStoresVisible: z.boolean(),
    historyDepth: z.number().int().min(1).max(64),
    speculation: z
      .object({
        lookahead: z.object({ window: count, p: prob }),
        runAhead: z.object({ p: prob, maxPages: count, nearEndBytes: z.number().int().min(0).max(4096) }),
        wild: z.object({ p: prob, spread: count }),
      })
      .nullable(),
    frequencyMHz: z.number().positive(),
    schedulingJitter: count,
    platform: z
      .object({
        sModeIpi: z.enum(['imsic', 'aclint-sswi', 'none']),
        tlbRangeFlushLimit: count,
      })
      .strict(),
    costs: costsSchema,
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.tlb.entries % m.tlb.ways !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tlb', 'ways'],
        message: `ways (${m.tlb.ways}) must divide entries (${m.tlb.entries})`,
      });
    }
  });

/** Input accepted by `defineMachine`: everything optional but the name; costs and platform may be partial. */
export type MachineInput = Partial<Omit<MachineConfig, 'costs' | 'name' | 'platform'>> & {
  readonly name: string;
  readonly costs?: Partial<CostTable>;
  readonly platform?: Partial<PlatformConfig>;
  /** Start from this preset (by name or object) and override the given fields. */
  readonly extends?: string | MachineConfig;
};

/** Format a zod issue path as `tlb.ways`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Validate a full machine config; throws `ConfigError` naming the field and the value. */
export function validateMachine(config: unknown): MachineConfig {
  const parsed = machineConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issuePath(issue.path);
    throw new ConfigError(
      `machine${typeof (config as { name?: unknown })?.name === 'string' ? ` '${(config as { name: string }).name}'` : ''}: ${field || '(root)'} = ${JSON.stringify(valueAt(config, issue.path))}: ${issue.message}`,
      { field: field || '(root)', value: valueAt(config, issue.path) },
    );
  }
  return Object.freeze(parsed.data) as MachineConfig;
}

const SPECULATIVE: SpeculationConfig = {
  lookahead: { window: 4, p: 0.3 },
  runAhead: { p: 0.5, maxPages: 3, nearEndBytes: 512 },
  wild: { p: 0.02, spread: 4 },
};

const TLB = { entries: 64, ways: 4, replacement: 'lru' } as const;

/**
 * Time defaults shared by the presets. Placeholders, not measurements of any core:
 * - 1 GHz: a round figure (shipping 2023 boards ran 1.0-2.0 GHz); it only converts cycles to time.
 * - A leaf PTE store stays invisible to other harts' walkers for up to 200 cycles: about a store
 *   buffer drain plus a cache-line transfer to the walking core. The spec sets no bound.
 * - Svvptc's "bounded timeframe" is given no number by the extension. 50 cycles: longer than a
 *   reader needs to reach a page another hart just mapped (so the "occasional gratuitous additional
 *   page fault" the extension allows does happen, and a kernel must handle it), shorter than the
 *   early trap path's round trip (trapEntry + trapReturn = 90 cycles), which Linux's unfenced
 *   replay on Svvptc cores (7a21b2e370da) relies on. Raise it to see a slower implementation.
 * - No scheduling jitter: interleavings come from exact ties and the cost table alone.
 * - OpenSBI's default `tlb_range_flush_limit` (4096 bytes).
 */
const FREQUENCY_MHZ = 1000;
const STALE_WINDOW_CYCLES = 200;
const SVVPTC_BOUND_CYCLES = 50;
const SBI_TLB_RANGE_FLUSH_LIMIT_DEFAULT = 4096;

/** 2023 boards: a CLINT (M-mode software interrupts only), so Linux used SBI IPIs and SBI RFENCE. */
const CLINT_ONLY: PlatformConfig = {
  sModeIpi: 'none',
  tlbRangeFlushLimit: SBI_TLB_RANGE_FLUSH_LIMIT_DEFAULT,
};

function preset(
  m: Omit<
    MachineConfig,
    'costs' | 'historyDepth' | 'tlb' | 'pwc' | 'ownStoresVisible' | 'frequencyMHz' | 'schedulingJitter'
  > &
    Partial<MachineConfig>,
): MachineConfig {
  return validateMachine({
    tlb: TLB,
    pwc: { entries: 8 },
    historyDepth: 4,
    ownStoresVisible: true,
    frequencyMHz: FREQUENCY_MHZ,
    schedulingJitter: 0,
    costs: DEFAULT_COSTS,
    ...m,
  });
}

/** The built-in profiles: the six of machine-model section 8, and `caches-invalid-walk-tlb`, the
 *  other placement of a terminating V=0 non-leaf entry (issue 11). */
export const PROFILES: Readonly<Record<string, MachineConfig>> = Object.freeze({
  emulator: preset({
    name: 'emulator',
    description: 'No speculation, no V=0 caching, the walker always sees the newest PTE.',
    evidence:
      'QEMU/TCG, Spike and Sail make PTE stores visible at once and never walk speculatively: why emulator-based CI never reproduced the 2023 faults. Platform: QEMU virt without AIA or ACLINT, a CLINT only, so Linux uses SBI IPIs and SBI RFENCE.',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'newest' },
    speculation: null,
    // QEMU's virt machine without `aia=aplic-imsic` or `aclint=on` has only the CLINT's M-mode IPIs.
    platform: CLINT_ONLY,
  }),
  'no-invalid-caching': preset({
    name: 'no-invalid-caching',
    description: 'Speculative walks fill the TLB with valid entries only; the walker sees the newest PTE.',
    evidence:
      'Cores said not to cache V=0 entries (T-HEAD C910, a Rivos core; vendor claims, unverified). Platform: CLINT only (TH1520 boards), so SBI RFENCE.',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'newest' },
    speculation: SPECULATIVE,
    // The C910 boards (TH1520) have a CLINT and no S-mode IPIs.
    platform: CLINT_ONLY,
  }),
  'reorder-window': preset({
    name: 'reorder-window',
    description: 'No V=0 caching, but a leaf PTE store may stay invisible to the walker for up to d cycles.',
    evidence:
      'The 2023 thread\'s "small window where we could take a trap on a newly created vmalloc mapping" even without V=0 caching; the spec\'s staleness rule allows it. Window and platform (CLINT only, SBI RFENCE) are placeholders.',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: STALE_WINDOW_CYCLES, levels: 'leaf' },
    speculation: SPECULATIVE,
    platform: CLINT_ONLY,
  }),
  'caches-invalid': preset({
    name: 'caches-invalid',
    description:
      'Speculative walks cache V=0 leaf entries in the TLB; leaf PTE stores visible within d cycles.',
    evidence:
      'The out-of-order reports: the 2023 thread (speculation brought V=0 kernel entries into the TLB), the Andes rv64 vmap-stack hang, SiFive P550 first-access faults. Platform: the boards of those reports have a CLINT only, so SBI RFENCE; the 200-cycle window is a placeholder.',
    cachesInvalid: 'leaf',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: STALE_WINDOW_CYCLES, levels: 'leaf' },
    speculation: SPECULATIVE,
    // The boards of those reports (VisionFive 2, Unmatched, P550 EIC7700X) have a CLINT only.
    platform: CLINT_ONLY,
  }),
  'caches-invalid-walk': preset({
    name: 'caches-invalid-walk',
    description:
      'As caches-invalid, and V=0 non-leaf entries are cached in the page-walk cache; staleness at every level.',
    evidence:
      '"This specification permits the caching of PTEs whose V (Valid) bit is clear" (privileged spec, SFENCE.VMA); no core named. Platform (CLINT only) and window are placeholders.',
    cachesInvalid: 'all',
    invalidNonLeafIn: 'pwc',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: STALE_WINDOW_CYCLES, levels: 'all' },
    speculation: SPECULATIVE,
    // No core named: the platform of its time (placeholder).
    platform: CLINT_ONLY,
  }),
  'caches-invalid-walk-tlb': preset({
    name: 'caches-invalid-walk-tlb',
    description:
      'As caches-invalid-walk, but a walk that ends on a V=0 non-leaf entry caches it as a negative TLB entry of that level, which sfence.vma va removes.',
    evidence:
      'The other legal reading of SFENCE.VMA: rs1 != x0 invalidates "entries that contain leaf page table entries" for the VA; a core may keep a terminating V=0 entry with its leaf entries rather than in the page-walk cache. No core named.',
    cachesInvalid: 'all',
    invalidNonLeafIn: 'tlb',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: STALE_WINDOW_CYCLES, levels: 'all' },
    speculation: SPECULATIVE,
    // No core named: the platform of its time (placeholder).
    platform: CLINT_ONLY,
  }),
  svvptc: preset({
    name: 'svvptc',
    description:
      'Svvptc: V 0->1 stores become visible within a bound; cached V=0 entries are evicted within it.',
    evidence:
      'Svvptc extension (ratified 2024); Linux a6efe33cc594 / 7a21b2e370da patch the early sfence.vma to a nop. The 50-cycle bound and the platform (IMSIC, S-mode IPIs) are placeholders.',
    cachesInvalid: 'all',
    invalidNonLeafIn: 'pwc',
    // The bound is in cycles (placeholder, see SVVPTC_BOUND_CYCLES). Linux's Svvptc path
    // (7a21b2e370da) replays the faulting access without a fence; with a bound longer than the
    // early trap round trip the replay may fault again, with the new_vmalloc bit already clear.
    invalidEvictBound: SVVPTC_BOUND_CYCLES,
    svvptc: true,
    staleness: { kind: 'svvptc', bound: SVVPTC_BOUND_CYCLES, d: STALE_WINDOW_CYCLES, levels: 'all' },
    speculation: SPECULATIVE,
    // A core with Svvptc is an RVA23-era design, which ships the AIA (IMSIC): S-mode IPIs (placeholder).
    platform: { sModeIpi: 'imsic', tlbRangeFlushLimit: SBI_TLB_RANGE_FLUSH_LIMIT_DEFAULT },
  }),
});

function isMachineConfig(v: unknown): v is MachineConfig {
  return typeof v === 'object' && v !== null && 'tlb' in v && 'costs' in v && 'staleness' in v;
}

/**
 * Merge plain-data `patch` into `base` recursively: objects key by key, anything else (numbers,
 * strings, arrays) replaced whole. `{"extends":"caches-invalid","tlb":{"entries":128}}` keeps the
 * preset's `tlb.replacement` (issue 15: a shallow merge dropped it). Keys that would reach
 * `Object.prototype` are skipped.
 */
function deepMerge(base: unknown, patch: unknown): unknown {
  const isPlain = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isPlain(base) || !isPlain(patch)) return patch === undefined ? base : patch;
  // A tagged union (staleness) of another kind replaces the base's object whole.
  if ('kind' in patch && patch.kind !== base.kind) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    out[k] = deepMerge(base[k], v);
  }
  return out;
}

/**
 * Define a machine (core profile): plain data, validated. With `extends`, starts from a preset and
 * overrides only the fields given, merged deeply (`tlb.entries` alone keeps the preset's other
 * `tlb` fields; costs key by key).
 */
export function defineMachine(input: MachineInput | MachineConfig): MachineConfig {
  if (isMachineConfig(input) && !('extends' in input)) return validateMachine(input);
  const { extends: base, ...rest } = input as MachineInput;
  const from =
    base === undefined ? PROFILES['caches-invalid']! : typeof base === 'string' ? PROFILES[base] : base;
  if (!from)
    throw new ConfigError(`machine '${input.name}': extends = "${String(base)}": unknown profile`, {
      field: 'extends',
      value: base,
    });
  return validateMachine(
    // Nested fields (costs, platform, tlb, staleness ...) merge key by key over the base's.
    deepMerge(from, rest) as MachineConfig,
  );
}
