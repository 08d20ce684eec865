/**
 * Builders for the scenario DSL (machine-model section 6): plain `Op` objects, so programs are
 * data that a scenario builds once per cell and the simulator interprets.
 */
import type { AccessType, Op, Target } from './contracts.js';

/*
 * Equal targets and accesses are one shared, frozen object (issue 13, memory). Programs repeat
 * a few accesses over and over: fork-storm at 64 harts builds 1.1 M access ops, which as fresh
 * objects (op + target) took ~126 bytes each, 139 MB before the run started; shared, an op costs
 * its array slot. Programs are data that nothing changes once built (the simulator compiles them
 * into its own typed arrays), so sharing changes no result; freezing makes a write to a shared op
 * fail loudly instead of changing every other use of it. The table is bounded: past
 * `INTERN_LIMIT` distinct targets it starts over (later equal targets are new objects, still correct).
 */
const TARGETS = new Map<string, Target>();
const INTERN_LIMIT = 1 << 16;
/** The access ops of a target object, by access type. */
const ACCESSES = new WeakMap<Target, { read?: Op; write?: Op; execute?: Op }>();

function target(kind: 'a' | 'r', name: string, page: number, offset: number, make: () => Target): Target {
  // Only well-typed values share (plain JS callers may pass a string page: `3` and `'3'` differ).
  if (typeof name !== 'string' || typeof page !== 'number' || typeof offset !== 'number') return make();
  const key = `${kind}${page},${offset},${name}`;
  let t = TARGETS.get(key);
  if (t === undefined) {
    if (TARGETS.size >= INTERN_LIMIT) TARGETS.clear();
    t = Object.freeze(make());
    TARGETS.set(key, t);
  }
  return t;
}

function access(type: 'read' | 'write' | 'execute', t: Target): Op {
  let byType = ACCESSES.get(t);
  if (byType === undefined) {
    byType = {};
    ACCESSES.set(t, byType);
  }
  let op = byType[type];
  if (op === undefined) {
    op = Object.freeze({ op: 'access', type, target: t });
    byType[type] = op;
  }
  return op;
}

/** A page of a named area (`area('buf', 3)`), optionally at a byte offset within the page. */
export function area(name: string, page = 0, offset = 0): Target {
  return target('a', name, page, offset, () => ({ area: name, page, offset }));
}

/** A page of a fixed kernel region. */
export function region(
  name: 'direct-map' | 'kernel-rodata' | 'kernel-data' | 'user',
  page = 0,
  offset = 0,
): Target {
  return target('r', name, page, offset, () => ({ region: name, page, offset }));
}

export const ops = {
  /** A kernel load. */
  read: (target: Target): Op => access('read', target),
  /** A kernel store. */
  write: (target: Target): Op => access('write', target),
  /** An instruction fetch (e.g. calling into a module). */
  exec: (target: Target): Op => access('execute', target),
  /** An access with an exception-table fixup (`copy_to_kernel_nofault()` & co): a fault returns -EFAULT. */
  nofault: (type: AccessType, target: Target): Op => ({ op: 'access', type, target, nofault: true }),
  /** Read or write a whole area (or `pages` of it from `fromPage`) sequentially, one page per step. */
  stream: (areaName: string, type: 'read' | 'write' = 'read', fromPage?: number, pages?: number): Op => ({
    op: 'stream',
    type,
    area: areaName,
    ...(fromPage === undefined ? {} : { fromPage }),
    ...(pages === undefined ? {} : { pages }),
  }),
  /** vmalloc(pages * PAGE_SIZE), bound to `name`; `align` in pages (a power of two). */
  vmalloc: (name: string, pages: number, opts: { align?: number } = {}): Op =>
    opts.align === undefined
      ? { op: 'map', kind: 'vmalloc', area: name, pages }
      : { op: 'map', kind: 'vmalloc', area: name, pages, align: opts.align },
  /** vmap() of existing pages. */
  vmap: (name: string, pages: number): Op => ({ op: 'map', kind: 'vmap', area: name, pages }),
  /** ioremap() of MMIO. */
  ioremap: (name: string, pages: number): Op => ({ op: 'map', kind: 'ioremap', area: name, pages }),
  /** A module allocation (execmem) in the modules area; `exec` maps it executable. */
  moduleAlloc: (name: string, pages: number, exec = true): Op => ({
    op: 'map',
    kind: 'module',
    area: name,
    pages,
    exec,
  }),
  vfree: (name: string): Op => ({ op: 'vfree', area: name }),
  /** set_memory_ro() on an area. */
  setMemoryRo: (name: string): Op => ({ op: 'set-memory-ro', area: name }),
  /** set_memory_<prot>() on an area (or `pages` of it from `fromPage`); `resetPerms` first calls
   *  set_vm_flush_reset_perms() (as bpf_prog_lock_ro does) so vfree resets the direct map. */
  setMemory: (
    name: string,
    prot: 'ro' | 'rox' | 'nx' | 'rw' | 'x',
    opts: { fromPage?: number; pages?: number; resetPerms?: boolean } = {},
  ): Op => ({ op: 'set-memory', area: name, prot, ...opts }),
  /** The end of load_module(): flush_module_icache() and, with CONFIG_STRICT_MODULE_RWX, the
   *  set_memory_rox pass over the first `textPages` pages (default: all) before init runs. */
  moduleFinalize: (name: string, opts: { textPages?: number; data?: string } = {}): Op => ({
    op: 'module-finalize',
    area: name,
    ...opts,
  }),
  /** Create a task (a vmap stack under VMAP_STACK; copy_thread writes its top). */
  spawn: (task: string): Op => ({ op: 'spawn', task }),
  /** Run `task` on this hart (migration = switch-to on another hart). */
  switchTo: (task: string): Op => ({ op: 'switch-to', task }),
  /** The running task exits; this hart switches to `next` and releases the dead task's stack. */
  exit: (next: string): Op => ({ op: 'exit', next }),
  /** switch_mm() to process address space `mm` (its own root and user pages; an ASID if the
   *  kernel uses the ASID allocator, else satp write + local full flush). */
  switchMm: (mm: string): Op => ({ op: 'switch-mm', mm }),
  irqOff: (): Op => ({ op: 'irq', enable: false }),
  irqOn: (): Op => ({ op: 'irq', enable: true }),
  signal: (flag: string): Op => ({ op: 'signal', flag }),
  wait: (flag: string): Op => ({ op: 'wait', flag }),
  compute: (cycles: number): Op => ({ op: 'compute', cycles }),
  /** Switch the function tracer on (allocating every hart's ring buffer) or off. */
  tracing: (enable: boolean): Op => ({ op: 'tracing', enable }),
  /** Attach a BPF program (JIT image area `image`, map area `map`) to `fn` with fentry. */
  fentry: (fn: string, image: string, map?: string): Op =>
    map === undefined ? { op: 'fentry', fn, image } : { op: 'fentry', fn, image, map },
  /** Detach the fentry program from `fn`. */
  fentryDetach: (fn: string): Op => ({ op: 'fentry', fn, detach: true }),
  repeat: (times: number, body: readonly Op[]): Op => ({ op: 'repeat', times, body }),
};
