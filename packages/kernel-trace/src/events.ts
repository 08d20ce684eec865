/**
 * From ftrace records to the kernel events of a mapping workload: new kernel mappings (with their
 * size, area and kernel path), lazy frees and purges, kernel-range and global flushes with their
 * cause, set_memory_* passes, module loads, execmem, icache flushes, forks (with or without a
 * vmap-stack-cache hit), and the scheduling context (exec, exit, migration, IPIs, markers).
 *
 * Every record becomes one event, except an alloc_vmap_area that a mapping function consumes (its
 * size and VA go into that `map` event); a record whose name the importer does not know becomes an
 * `unknown` event (counted, kept, never dropped). A known event whose fields do not parse is
 * bad input (`TraceParseError`, file:line).
 */
import { fieldsOf, type ParsedTrace, TraceParseError, type TraceRecord } from './parse.js';

export type MapKind = 'vmalloc' | 'vmap' | 'ioremap' | 'module' | 'stack';
export type Region = 'vmalloc' | 'modules' | 'fixed';
export type SetMemoryOp = 'ro' | 'rw' | 'x' | 'nx' | 'rw_nx' | 'direct-map-invalid' | 'direct-map-default';

interface At {
  /** Nanoseconds since boot. */
  readonly ns: number;
  readonly cpu: number;
  readonly pid: number;
  /** `comm-pid`, the task as ftrace names it. */
  readonly task: string;
  /** Line in the log. */
  readonly line: number;
}

export type KernelEvent = At &
  (
    | {
        /** A new kernel mapping: vmap_pages_range()/vmap_page_range() (mm/vmalloc.c), whose size comes
         *  from the alloc_vmap_area event the same task emitted just before (null when there was none:
         *  vm_map_ram() from a vmap block, pci_remap_iospace() at a fixed address). */
        readonly kind: 'map';
        readonly map: MapKind;
        /** Stable id of the area within this trace (`a17`). */
        readonly area: string;
        /** Start VA (hex) from alloc_vmap_area, or null. */
        readonly va: string | null;
        /** Mapped pages (the area's size less its guard page), or null when unknown. */
        readonly pages: number | null;
        readonly align: number | null;
        readonly region: Region;
        /** The mapping function and its caller (`vmap_pages_range <-__vmalloc_node_range_noprof`). */
        readonly via: string;
        /** For `stack`: the pid of the forked child whose vmap stack this is. */
        readonly child?: number;
        /** An execmem allocation (module sections, BPF JIT images). */
        readonly execmem?: boolean;
      }
    | {
        /** free_vmap_area_noflush: a vfree/vunmap put the area on the lazy-purge list. */
        readonly kind: 'free';
        readonly area: string | null;
        readonly va: string;
        readonly nrLazy: number;
        readonly nrLazyMax: number;
      }
    | {
        /** purge_vmap_area_lazy: the lazy areas in [start, end) were purged (one flush for all). */
        readonly kind: 'purge';
        readonly start: string;
        readonly end: string;
        /** Pages spanned by [start, end). */
        readonly span: number;
        readonly purged: number;
      }
    | { readonly kind: 'flush'; readonly scope: 'kernel-range' | 'all'; readonly cause: string }
    | {
        readonly kind: 'set-memory';
        readonly op: SetMemoryOp;
        readonly cause: string;
        /** The module-region areas this task mapped and has not freed (what a module_enable_* or
         *  bpf_prog_pack pass applies to; the function tracer gives no address). */
        readonly areas: readonly string[];
        /** The area the call applies to by `setMemoryTarget`'s rule, or null (the kernel image:
         *  mark_rodata_ro, free_initmem; or a direct-map alias from vm_reset_perms). */
        readonly target: string | null;
        /** bpf_prog_lock_ro() calls set_vm_flush_reset_perms() on the area before set_memory_ro. */
        readonly resetPerms?: boolean;
      }
    | { readonly kind: 'module-load'; readonly name: string }
    | { readonly kind: 'module-free'; readonly name: string }
    | { readonly kind: 'execmem-alloc' | 'execmem-free'; readonly cause: string }
    | { readonly kind: 'icache-flush'; readonly cause: string }
    | { readonly kind: 'vm-unmap-aliases' | 'vunmap-range' | 'ioremap'; readonly cause: string }
    | {
        /** sched_process_fork; `stack` says whether the child got a freshly mapped vmap stack
         *  (`new`) or one from the per-CPU cache of freed stacks (`cache-hit`, kernel/fork.c
         *  cached_stacks: no new mapping). */
        readonly kind: 'fork';
        readonly child: number;
        readonly childTask: string;
        readonly stack: 'new' | 'cache-hit';
        readonly area: string | null;
      }
    | { readonly kind: 'exec'; readonly filename: string }
    | { readonly kind: 'exit'; readonly exited: number }
    | { readonly kind: 'migrate'; readonly migrated: number; readonly from: number; readonly to: number }
    | { readonly kind: 'ipi'; readonly ipi: string; readonly detail: string }
    | { readonly kind: 'marker'; readonly text: string }
    | {
        /** alloc_vmap_area never followed by a mapping from the same task (a reservation). */
        readonly kind: 'reserve';
        readonly va: string;
        readonly size: number;
      }
    | { readonly kind: 'unknown'; readonly name: string; readonly text: string }
  );

export type KernelEventKind = KernelEvent['kind'];

/**
 * riscv64 THREAD_SIZE is 16 KiB and THREAD_ALIGN twice that under VMAP_STACK
 * (arch/riscv/include/asm/thread_info.h); alloc_vmap_area's size includes the guard page.
 */
const STACK_ALLOC_SIZE = 16384 + 4096;
const STACK_ALLOC_ALIGN = 32768;
const PAGE = 4096;

/** Functions of the capture's filter and what they are. */
const FUNCTION_KINDS: Record<string, 'map' | 'skip'> = {
  vmap_pages_range: 'map',
  vmap_page_range: 'map',
};

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function num(rec: TraceRecord, file: string, fields: Map<string, string>, key: string): bigint {
  const v = fields.get(key);
  if (v === undefined || !/^(0x[0-9a-fA-F]+|\d+)$/.test(v))
    throw new TraceParseError(
      file,
      rec.line,
      `event field '${key}' missing or not a number (got '${v ?? ''}')`,
    );
  return BigInt(v);
}

function small(rec: TraceRecord, file: string, fields: Map<string, string>, key: string): number {
  const v = num(rec, file, fields, key);
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new TraceParseError(file, rec.line, `event field '${key}' out of range`);
  return Number(v);
}

function str(rec: TraceRecord, file: string, fields: Map<string, string>, key: string): string {
  const v = fields.get(key);
  if (v === undefined) throw new TraceParseError(file, rec.line, `event field '${key}' missing`);
  return v;
}

/** The region of a vmalloc range by its bounds: the modules area lies in the top 2 GiB (MODULES_VADDR). */
function regionOf(vstart: bigint): Region {
  return vstart >= 0xffffffff00000000n ? 'modules' : 'vmalloc';
}

interface PendingAlloc {
  readonly va: bigint;
  readonly size: number;
  readonly align: number;
  readonly region: Region;
  readonly rec: TraceRecord;
}

/**
 * Classify every record. Two rules pair records of one task: a mapping function takes its size
 * from the task's latest unconsumed alloc_vmap_area (last in, first out, two deep: a vmalloc of
 * more than a page of page pointers allocates its `pages` array with a nested __vmalloc_node()
 * between the outer alloc_vmap_area and the outer vmap_pages_range, mm/vmalloc.c
 * __vmalloc_area_node(), so the inner mapping consumes the inner allocation and the outer mapping
 * the outer one; a third allocation turns the oldest into a reservation); a fork whose parent's latest mapping since its
 * previous fork has a vmap stack's size and alignment took that mapping as the child's stack
 * (otherwise the stack came from the cache of freed stacks).
 */
export function classify(trace: ParsedTrace): KernelEvent[] {
  const file = trace.file;
  const out: KernelEvent[] = [];
  const pendingAlloc = new Map<number, PendingAlloc[]>();
  /** Per pid: index in `out` of its latest stack-shaped mapping not yet claimed by a fork. */
  const stackCandidate = new Map<number, number>();
  const live = new Map<string, string>(); // va -> area id
  const liveModuleAreas = new Map<number, string[]>(); // pid -> module-region areas
  const areaOwner = new Map<string, number>();
  /** Per pid: its latest live vmalloc-region area (what bpf_prog_lock_ro applies to). */
  const lastVmalloc = new Map<number, string>();
  /** Per pid: set_memory calls per caller since its latest module-area mapping (setMemoryTarget). */
  const calls = new Map<number, Map<string, number>>();
  let areas = 0;
  /** Turn the task's oldest pending allocations into reservations until `keep` are left. */
  const flushUnconsumed = (pid: number, keep = 0) => {
    const list = pendingAlloc.get(pid);
    while (list && list.length > keep) {
      const a = list.shift()!;
      out.push({ ...at(a.rec), kind: 'reserve', va: hex(a.va), size: a.size });
    }
  };
  for (const rec of trace.records) {
    const base = at(rec);
    if (rec.type === 'marker') {
      out.push({ ...base, kind: 'marker', text: rec.text });
      continue;
    }
    if (rec.type === 'function') {
      const via = `${rec.name} <-${rec.caller}`;
      if (FUNCTION_KINDS[rec.name] === 'map') {
        const a = pendingAlloc.get(rec.pid)?.pop();
        const id = `a${areas++}`;
        let map: MapKind = 'vmalloc';
        if (rec.caller === 'vmap') map = 'vmap';
        else if (rec.caller === 'ioremap_page_range') map = 'ioremap';
        const region: Region = a ? a.region : 'fixed';
        if (region === 'modules') map = 'module';
        const pages = a ? Math.max(1, a.size / PAGE - 1) : null;
        const ev: KernelEvent = {
          ...base,
          kind: 'map',
          map,
          area: id,
          va: a ? hex(a.va) : null,
          pages,
          align: a ? Math.max(1, a.align / PAGE) : null,
          region,
          via,
          ...(region === 'modules' ? { execmem: true } : {}),
        };
        if (a) {
          live.set(hex(a.va), id);
          areaOwner.set(id, rec.pid);
          if (region === 'modules') {
            const list = liveModuleAreas.get(rec.pid) ?? [];
            list.push(id);
            liveModuleAreas.set(rec.pid, list);
            calls.delete(rec.pid);
          } else if (region === 'vmalloc') lastVmalloc.set(rec.pid, id);
        }
        if (a && a.size === STACK_ALLOC_SIZE && a.align === STACK_ALLOC_ALIGN && map === 'vmalloc')
          stackCandidate.set(rec.pid, out.length);
        else stackCandidate.delete(rec.pid);
        out.push(ev);
        continue;
      }
      switch (rec.name) {
        case 'flush_tlb_kernel_range':
          out.push({ ...base, kind: 'flush', scope: 'kernel-range', cause: rec.caller });
          continue;
        case 'flush_tlb_all':
          out.push({ ...base, kind: 'flush', scope: 'all', cause: rec.caller });
          continue;
        case 'set_memory_ro':
        case 'set_memory_rw':
        case 'set_memory_x':
        case 'set_memory_nx':
        case 'set_memory_rw_nx':
        case 'set_direct_map_invalid_noflush':
        case 'set_direct_map_default_noflush': {
          const op = SET_MEMORY_OPS[rec.name]!;
          const mine = /^(module_enable_|bpf_prog_pack)/.test(rec.caller)
            ? (liveModuleAreas.get(rec.pid) ?? [])
            : [];
          const perCaller = calls.get(rec.pid) ?? new Map<string, number>();
          calls.set(rec.pid, perCaller);
          const key = `${rec.caller}:${op}`;
          const nth = perCaller.get(key) ?? 0;
          perCaller.set(key, nth + 1);
          const vm = lastVmalloc.get(rec.pid) ?? null;
          const target = setMemoryTarget(rec.caller, nth, mine, vm);
          out.push({
            ...base,
            kind: 'set-memory',
            op,
            cause: rec.caller,
            areas: [...mine],
            target,
            ...(target !== null && BPF_LOCK_RO.test(rec.caller) ? { resetPerms: true } : {}),
          });
          continue;
        }
        case 'execmem_alloc':
          out.push({ ...base, kind: 'execmem-alloc', cause: rec.caller });
          continue;
        case 'execmem_free':
          out.push({ ...base, kind: 'execmem-free', cause: rec.caller });
          continue;
        case 'flush_icache_all':
          out.push({ ...base, kind: 'icache-flush', cause: rec.caller });
          continue;
        case 'vm_unmap_aliases':
          out.push({ ...base, kind: 'vm-unmap-aliases', cause: rec.caller });
          continue;
        case 'vunmap_range':
          out.push({ ...base, kind: 'vunmap-range', cause: rec.caller });
          continue;
        case 'ioremap_prot':
          out.push({ ...base, kind: 'ioremap', cause: rec.caller });
          continue;
        default:
          out.push({ ...base, kind: 'unknown', name: rec.name, text: `<-${rec.caller}` });
          continue;
      }
    }
    const f = fieldsOf(rec.text);
    switch (rec.name) {
      case 'alloc_vmap_area': {
        if (small(rec, file, f, 'failed') !== 0) {
          out.push({ ...base, kind: 'unknown', name: 'alloc_vmap_area(failed)', text: rec.text });
          continue;
        }
        flushUnconsumed(rec.pid, 1);
        num(rec, file, f, 'vend');
        const list = pendingAlloc.get(rec.pid) ?? [];
        pendingAlloc.set(rec.pid, list);
        list.push({
          va: num(rec, file, f, 'va_start'),
          size: small(rec, file, f, 'size'),
          align: small(rec, file, f, 'align'),
          region: regionOf(num(rec, file, f, 'vstart')),
          rec,
        });
        continue;
      }
      case 'free_vmap_area_noflush': {
        const va = hex(num(rec, file, f, 'va_start'));
        const area = live.get(va) ?? null;
        if (area !== null) {
          live.delete(va);
          for (const [pid, id] of lastVmalloc) if (id === area) lastVmalloc.delete(pid);
          const owner = areaOwner.get(area);
          if (owner !== undefined) {
            const list = liveModuleAreas.get(owner);
            if (list)
              liveModuleAreas.set(
                owner,
                list.filter((x) => x !== area),
              );
          }
        }
        out.push({
          ...base,
          kind: 'free',
          area,
          va,
          nrLazy: small(rec, file, f, 'nr_lazy'),
          nrLazyMax: small(rec, file, f, 'nr_lazy_max'),
        });
        continue;
      }
      case 'purge_vmap_area_lazy': {
        const start = num(rec, file, f, 'start');
        const end = num(rec, file, f, 'end');
        out.push({
          ...base,
          kind: 'purge',
          start: hex(start),
          end: hex(end),
          span: end > start ? Number((end - start) / 4096n) : 0,
          purged: small(rec, file, f, 'num_purged'),
        });
        continue;
      }
      case 'module_load':
      case 'module_free': {
        const name = rec.text.trim().split(/\s+/)[0];
        if (!name) throw new TraceParseError(file, rec.line, `${rec.name} without a module name`);
        out.push({ ...base, kind: rec.name === 'module_load' ? 'module-load' : 'module-free', name });
        continue;
      }
      case 'sched_process_fork': {
        str(rec, file, f, 'comm');
        const parent = small(rec, file, f, 'pid');
        const child = small(rec, file, f, 'child_pid');
        const childTask = `${str(rec, file, f, 'child_comm')}-${child}`;
        const cand = stackCandidate.get(parent);
        stackCandidate.delete(parent);
        let area: string | null = null;
        if (cand !== undefined) {
          const ev = out[cand]!;
          if (ev.kind === 'map') {
            out[cand] = { ...ev, map: 'stack', child };
            area = ev.area;
          }
        }
        out.push({ ...base, kind: 'fork', child, childTask, stack: area ? 'new' : 'cache-hit', area });
        continue;
      }
      case 'sched_process_exec':
        out.push({ ...base, kind: 'exec', filename: str(rec, file, f, 'filename') });
        small(rec, file, f, 'pid');
        continue;
      case 'sched_process_free':
        out.push({ ...base, kind: 'exit', exited: small(rec, file, f, 'pid') });
        continue;
      case 'sched_migrate_task':
        out.push({
          ...base,
          kind: 'migrate',
          migrated: small(rec, file, f, 'pid'),
          from: small(rec, file, f, 'orig_cpu'),
          to: small(rec, file, f, 'dest_cpu'),
        });
        continue;
      case 'ipi_send_cpu':
      case 'ipi_send_cpumask':
      case 'ipi_raise':
      case 'ipi_entry':
      case 'ipi_exit':
        out.push({ ...base, kind: 'ipi', ipi: rec.name, detail: rec.text.trim() });
        continue;
      default:
        out.push({ ...base, kind: 'unknown', name: rec.name, text: rec.text });
    }
  }
  for (const pid of [...pendingAlloc.keys()]) flushUnconsumed(pid);
  // Reservations are emitted when the task's next allocation shows they were never mapped: put
  // them back at their own line.
  return out.sort((a, b) => a.line - b.line);
}

/** bpf_prog_select_runtime() -> bpf_prog_lock_ro() (inlined; include/linux/filter.h). */
const BPF_LOCK_RO = /^(bpf_prog_select_runtime|bpf_prog_lock_ro)$/;

/**
 * The area a `set_memory_*` call applies to. The function tracer records no argument, so the
 * target follows from the caller and the task's live areas, by the kernel's own order:
 * - `module_enable_{rodata_ro,data_nx,text_rox}` (kernel/module/strict_rwx.c, v6.12; via
 *   module_set_memory() on each non-empty `mod->mem[type]`): move_module() allocates the module's
 *   memory in `enum mod_mem_type` order (MOD_TEXT, MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT, then
 *   the MOD_INIT_* types), one execmem area each, so the task's live module areas are that order.
 *   The n-th text_rox call pair (set_memory_rox = set_memory_ro + set_memory_x,
 *   arch/riscv/include/asm/set_memory.h) goes to area n (MOD_TEXT is area 0), the n-th data_nx
 *   call to area 1 + n (the data types follow MOD_TEXT), the n-th rodata_ro call to area 2 + n
 *   (MOD_RODATA follows MOD_DATA); each index is clamped to the last area. A module with an empty
 *   type shifts the kernel's real target by one area of the same load: same module region, same
 *   number of __set_memory() calls and flushes, possibly another area's size.
 * - `bpf_prog_pack_alloc` (kernel/bpf/core.c): set_memory_rox on the pack it just allocated from
 *   execmem: the task's latest module-region area.
 * - `bpf_prog_select_runtime` (bpf_prog_lock_ro(), include/linux/filter.h): the bpf_prog itself,
 *   __vmalloc'd by bpf_prog_alloc_no_stats(): the task's latest live vmalloc area, with
 *   set_vm_flush_reset_perms() first.
 * - anything else (mark_rodata_ro, free_initmem: the kernel image; set_direct_map_*_noflush from
 *   vm_reset_perms): null.
 */
export function setMemoryTarget(
  caller: string,
  nth: number,
  moduleAreas: readonly string[],
  lastVmalloc: string | null,
): string | null {
  const pick = (i: number) =>
    moduleAreas.length === 0 ? null : moduleAreas[Math.min(i, moduleAreas.length - 1)]!;
  switch (caller) {
    case 'module_enable_text_rox':
      return pick(nth);
    case 'module_enable_data_nx':
      return pick(1 + nth);
    case 'module_enable_rodata_ro':
      return pick(2 + nth);
    default:
      if (caller.startsWith('bpf_prog_pack')) return moduleAreas.at(-1) ?? null;
      if (BPF_LOCK_RO.test(caller)) return lastVmalloc;
      return null;
  }
}

const SET_MEMORY_OPS: Record<string, SetMemoryOp> = {
  set_memory_ro: 'ro',
  set_memory_rw: 'rw',
  set_memory_x: 'x',
  set_memory_nx: 'nx',
  set_memory_rw_nx: 'rw_nx',
  set_direct_map_invalid_noflush: 'direct-map-invalid',
  set_direct_map_default_noflush: 'direct-map-default',
};

function at(rec: TraceRecord): At {
  return { ns: rec.ns, cpu: rec.cpu, pid: rec.pid, task: `${rec.comm}-${rec.pid}`, line: rec.line };
}
