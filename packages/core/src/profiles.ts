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
 * - `window`: the newest, unless it is younger than `d` steps, then any allowed version (a choice);
 * - `svvptc`: V 0->1 changes become visible within `bound` steps; other changes as `window` with `d`;
 * - `adversarial`: any allowed version (for exploration).
 * `levels`: `leaf` = only leaf-level PTE reads may be stale (non-leaf reads see the newest); `all`.
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
  /** Svvptc (ratified 2024): cached V=0 entries are dropped within `invalidEvictBound` steps. 0 = never. */
  readonly invalidEvictBound: number;
  /** The core implements Svvptc (the kernel then patches its early `sfence.vma` to a `nop`). */
  readonly svvptc: boolean;
  readonly staleness: Staleness;
  /**
   * The walker sees this hart's own PTE stores from the next operation on, so the staleness
   * window applies to other harts' stores. The spec does not promise it ("SFENCE.VMA orders
   * stores made by this hart ... before subsequent implicit references"); real store buffers drain
   * within tens of cycles, far less than one modelled operation. `false` lets a hart's walker miss
   * its own recent stores too (for exploration).
   */
  readonly ownStoresVisible: boolean;
  /** Versions kept per PTE for the staleness rule (bounded history). */
  readonly historyDepth: number;
  /** `null`: no speculative walks at all. */
  readonly speculation: SpeculationConfig | null;
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

/** Input accepted by `defineMachine`: everything optional but the name; costs may be partial. */
export type MachineInput = Partial<Omit<MachineConfig, 'costs' | 'name'>> & {
  readonly name: string;
  readonly costs?: Partial<CostTable>;
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

function preset(
  m: Omit<MachineConfig, 'costs' | 'historyDepth' | 'tlb' | 'pwc' | 'ownStoresVisible'> &
    Partial<MachineConfig>,
): MachineConfig {
  return validateMachine({
    tlb: TLB,
    pwc: { entries: 8 },
    historyDepth: 4,
    ownStoresVisible: true,
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
      'QEMU/TCG, Spike and Sail make PTE stores visible at once and never walk speculatively: why emulator-based CI never reproduced the 2023 faults.',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'newest' },
    speculation: null,
  }),
  'no-invalid-caching': preset({
    name: 'no-invalid-caching',
    description: 'Speculative walks fill the TLB with valid entries only; the walker sees the newest PTE.',
    evidence: 'Cores said not to cache V=0 entries (T-HEAD C910, a Rivos core; vendor claims, unverified).',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'newest' },
    speculation: SPECULATIVE,
  }),
  'reorder-window': preset({
    name: 'reorder-window',
    description: 'No V=0 caching, but a leaf PTE store may stay invisible to the walker for up to d steps.',
    evidence:
      'The 2023 thread\'s "small window where we could take a trap on a newly created vmalloc mapping" even without V=0 caching; the spec\'s staleness rule allows it.',
    cachesInvalid: 'none',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: 8, levels: 'leaf' },
    speculation: SPECULATIVE,
  }),
  'caches-invalid': preset({
    name: 'caches-invalid',
    description:
      'Speculative walks cache V=0 leaf entries in the TLB; leaf PTE stores visible within d steps.',
    evidence:
      'The out-of-order reports: the 2023 thread (speculation brought V=0 kernel entries into the TLB), the Andes rv64 vmap-stack hang, SiFive P550 first-access faults.',
    cachesInvalid: 'leaf',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: 8, levels: 'leaf' },
    speculation: SPECULATIVE,
  }),
  'caches-invalid-walk': preset({
    name: 'caches-invalid-walk',
    description:
      'As caches-invalid, and V=0 non-leaf entries are cached in the page-walk cache; staleness at every level.',
    evidence:
      '"This specification permits the caching of PTEs whose V (Valid) bit is clear" (privileged spec, SFENCE.VMA); no core named.',
    cachesInvalid: 'all',
    invalidNonLeafIn: 'pwc',
    invalidEvictBound: 0,
    svvptc: false,
    staleness: { kind: 'window', d: 8, levels: 'all' },
    speculation: SPECULATIVE,
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
    staleness: { kind: 'window', d: 8, levels: 'all' },
    speculation: SPECULATIVE,
  }),
  svvptc: preset({
    name: 'svvptc',
    description:
      'Svvptc: V 0->1 stores become visible within a bound; cached V=0 entries are evicted within it.',
    evidence:
      'Svvptc extension (ratified 2024); Linux a6efe33cc594 / 7a21b2e370da patch the early sfence.vma to a nop.',
    cachesInvalid: 'all',
    invalidNonLeafIn: 'pwc',
    // The bound is in scheduler steps. Linux's Svvptc path (7a21b2e370da) replays the faulting
    // access once without a fence, so it relies on the bound being shorter than a trap round
    // trip (two steps here); raise it to see what a slower implementation does to that path.
    invalidEvictBound: 2,
    svvptc: true,
    staleness: { kind: 'svvptc', bound: 2, d: 8, levels: 'all' },
    speculation: SPECULATIVE,
  }),
});

function isMachineConfig(v: unknown): v is MachineConfig {
  return typeof v === 'object' && v !== null && 'tlb' in v && 'costs' in v && 'staleness' in v;
}

/**
 * Define a machine (core profile): plain data, validated. With `extends`, starts from a preset and
 * overrides only the fields given (costs are merged key by key).
 */
export function defineMachine(input: MachineInput | MachineConfig): MachineConfig {
  if (isMachineConfig(input) && !('extends' in input)) return validateMachine(input);
  const { extends: base, costs, ...rest } = input as MachineInput;
  const from =
    base === undefined ? PROFILES['caches-invalid']! : typeof base === 'string' ? PROFILES[base] : base;
  if (!from)
    throw new ConfigError(`machine '${input.name}': extends = "${String(base)}": unknown profile`, {
      field: 'extends',
      value: base,
    });
  return validateMachine({ ...from, ...rest, costs: { ...from.costs, ...(costs ?? {}) } });
}
