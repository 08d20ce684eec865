/**
 * The imported workload: the classified kernel events of one capture plus what the importer
 * counted — per kind, per phase, what the model can replay today and what it cannot express yet.
 * Plain JSON (what `tlblab import-trace --out` writes); `scenarioFromWorkload` replays it.
 */
import { classify, type KernelEvent } from './events.js';
import { type ParsedTrace, parseTrace } from './parse.js';

export const WORKLOAD_FORMAT = 'tlblab-kernel-workload';
/** 2: set-memory events carry their target area; purges are observed; stack-cache hits context. */
export const WORKLOAD_VERSION = 2;

/**
 * What the model does with an event:
 * - `op`: replayed as a scenario DSL op: a mapping, a vmap stack (`spawn`), a vfree, a
 *   `set_memory_*` call on a replayed area (`set-memory`; the text pass's set_memory_x as
 *   `module-finalize`, which carries flush_module_icache's flush_icache_all);
 * - `implied`: kernel work the model's replay of another op does itself: the
 *   `set_direct_map_{invalid,default}_noflush` pass of a vfree of a VM_FLUSH_RESET_PERMS area
 *   (mm/vmalloc.c vm_reset_perms(), which the model's vfree runs for module areas and areas a
 *   bpf_prog_lock_ro marked);
 * - `pending:<path>`: a kernel input the model cannot express: `set-memory` on the kernel image
 *   (mark_rodata_ro, free_initmem: core has no op for set_memory on a fixed region) or on an area
 *   the replay does not have, and `map-without-size` (vm_map_ram, pci_remap_iospace);
 * - `observed`: what the captured kernel's own policy decided: its flushes, and its lazy purges
 *   (the model's vfree purges by its own lazy_max_pages(), mm/vmalloc.c, never on the log's
 *   word); strategies make their own, so these are reported next to the model's, never replayed;
 * - `context`: scheduling and bookkeeping that shapes the replay (forks, exec, migrations, IPIs,
 *   markers, module loads, execmem) without being an op itself. A fork that took a stack from the
 *   vmap stack cache (kernel/fork.c alloc_thread_stack_node(), cached_stacks[]) maps nothing, so
 *   the replay maps nothing for it;
 * - `unknown`: an event the importer does not know (counted and reported).
 */
export type ModelStatus = 'op' | 'implied' | `pending:${PendingPath}` | 'observed' | 'context' | 'unknown';

/** Kernel inputs core has no op for. */
export type PendingPath = 'set-memory' | 'map-without-size';

export function modelStatus(ev: KernelEvent): ModelStatus {
  switch (ev.kind) {
    case 'map':
      return ev.pages === null ? 'pending:map-without-size' : 'op';
    case 'free':
      return ev.area === null ? 'observed' : 'op';
    case 'purge':
      return 'observed';
    case 'set-memory':
      if (ev.op === 'direct-map-invalid' || ev.op === 'direct-map-default')
        return ev.cause === 'vfree' ? 'implied' : 'pending:set-memory';
      return ev.target === null || ev.op === 'rw_nx' ? 'pending:set-memory' : 'op';
    case 'icache-flush':
      // flush_icache_all() called directly: the captured kernel's own flush, like its TLB flushes.
      return 'observed';
    case 'flush':
    case 'vm-unmap-aliases':
      return 'observed';
    case 'unknown':
      return 'unknown';
    default:
      return 'context';
  }
}

export interface Phase {
  readonly name: string;
  readonly beginNs: number;
  readonly endNs: number;
}

/** Counts over one span of the log (the whole log or a phase). */
export interface Counts {
  readonly durationNs: number;
  /** vmap_pages_range / vmap_page_range calls, by kind. */
  readonly newMappings: number;
  readonly mappingsByKind: Readonly<Record<string, number>>;
  readonly frees: number;
  readonly purges: number;
  /** flush_tlb_kernel_range + flush_tlb_all calls. */
  readonly flushes: number;
  /** `scope <-cause`: `kernel-range <-__purge_vmap_area_lazy`, `all <-__set_memory`. */
  readonly flushesByCause: Readonly<Record<string, number>>;
  readonly forks: number;
  readonly forksWithNewStack: number;
  readonly stackCacheHits: number;
  readonly moduleLoads: number;
  readonly moduleFrees: number;
  readonly setMemory: number;
  readonly icacheFlushes: number;
  readonly ipis: number;
}

export interface ImportedWorkload {
  readonly format: typeof WORKLOAD_FORMAT;
  readonly version: typeof WORKLOAD_VERSION;
  readonly source: {
    readonly file: string;
    readonly records: number;
    readonly lostEvents: number;
  };
  /** CPUs of the captured machine (the header's `#P:`, or the highest CPU seen + 1). */
  readonly harts: number;
  readonly startNs: number;
  readonly endNs: number;
  /** From `tlblab-phase: <name> begin|end` markers; `boot` runs from 0 to `boot end`. */
  readonly phases: readonly Phase[];
  readonly counts: Counts;
  readonly phaseCounts: Readonly<Record<string, Counts>>;
  /** Events the model replays as ops, per kind of event. */
  readonly replayed: Readonly<Record<string, number>>;
  /** Kernel work the replay of another op reproduces (vm_reset_perms' direct-map pass), by kind. */
  readonly implied: Readonly<Record<string, number>>;
  /** Kernel inputs the model cannot express, by path (never dropped: they stay in `events`). */
  readonly pending: Readonly<Record<string, number>>;
  /** The captured kernel's own flushes, purges and frees of unseen areas, by kind. */
  readonly observed: Readonly<Record<string, number>>;
  /** Events the importer does not know, by name. */
  readonly unknown: Readonly<Record<string, number>>;
  readonly events: readonly KernelEvent[];
}

function bump(r: Record<string, number>, k: string, n = 1): void {
  r[k] = (r[k] ?? 0) + n;
}

export function countEvents(events: readonly KernelEvent[], durationNs: number): Counts {
  const mappingsByKind: Record<string, number> = {};
  const flushesByCause: Record<string, number> = {};
  let newMappings = 0;
  let frees = 0;
  let purges = 0;
  let flushes = 0;
  let forks = 0;
  let forksWithNewStack = 0;
  let moduleLoads = 0;
  let moduleFrees = 0;
  let setMemory = 0;
  let icacheFlushes = 0;
  let ipis = 0;
  for (const ev of events) {
    switch (ev.kind) {
      case 'map':
        newMappings++;
        bump(mappingsByKind, ev.map);
        break;
      case 'free':
        frees++;
        break;
      case 'purge':
        purges++;
        break;
      case 'flush':
        flushes++;
        bump(flushesByCause, `${ev.scope} <-${ev.cause}`);
        break;
      case 'fork':
        forks++;
        if (ev.stack === 'new') forksWithNewStack++;
        break;
      case 'module-load':
        moduleLoads++;
        break;
      case 'module-free':
        moduleFrees++;
        break;
      case 'set-memory':
        setMemory++;
        break;
      case 'icache-flush':
        icacheFlushes++;
        break;
      case 'ipi':
        if (ev.ipi.startsWith('ipi_send')) ipis++;
        break;
      default:
        break;
    }
  }
  return {
    durationNs,
    newMappings,
    mappingsByKind,
    frees,
    purges,
    flushes,
    flushesByCause,
    forks,
    forksWithNewStack,
    stackCacheHits: forks - forksWithNewStack,
    moduleLoads,
    moduleFrees,
    setMemory,
    icacheFlushes,
    ipis,
  };
}

function phasesOf(events: readonly KernelEvent[], endNs: number): Phase[] {
  const phases: Phase[] = [];
  const open = new Map<string, number>();
  for (const ev of events) {
    if (ev.kind !== 'marker') continue;
    const m = /^tlblab-phase: (\S+) (begin|end)$/.exec(ev.text);
    if (!m) continue;
    if (m[1] === 'boot' && m[2] === 'end') phases.push({ name: 'boot', beginNs: 0, endNs: ev.ns });
    else if (m[2] === 'begin') open.set(m[1]!, ev.ns);
    else {
      phases.push({ name: m[1]!, beginNs: open.get(m[1]!) ?? 0, endNs: ev.ns });
      open.delete(m[1]!);
    }
  }
  // A phase still open when tracing stopped runs to the last record.
  for (const [name, beginNs] of open) phases.push({ name, beginNs, endNs });
  return phases;
}

/** The `replayed` key of an event the model replays (buildReplay's `emitted` uses the same keys). */
function replayKey(ev: KernelEvent): string {
  if (ev.kind === 'map') return `map:${ev.map}`;
  if (ev.kind === 'set-memory')
    return ev.op === 'x' && ev.cause === 'module_enable_text_rox' ? 'module-finalize' : 'set-memory';
  return ev.kind;
}

/** Classify a parsed trace into an imported workload. */
export function importParsed(trace: ParsedTrace): ImportedWorkload {
  const events = classify(trace);
  const startNs = trace.records[0]?.ns ?? 0;
  const endNs = trace.records.at(-1)?.ns ?? 0;
  const maxCpu = trace.records.reduce((m, r) => Math.max(m, r.cpu), -1);
  const phases = phasesOf(events, endNs);
  const phaseCounts: Record<string, Counts> = {};
  for (const p of phases)
    phaseCounts[p.name] = countEvents(
      events.filter((e) => e.ns >= p.beginNs && e.ns <= p.endNs),
      p.endNs - p.beginNs,
    );
  const replayed: Record<string, number> = {};
  const pending: Record<string, number> = {};
  const implied: Record<string, number> = {};
  const observed: Record<string, number> = {};
  const unknown: Record<string, number> = {};
  for (const ev of events) {
    const s = modelStatus(ev);
    if (s === 'op') bump(replayed, replayKey(ev));
    else if (s === 'implied') bump(implied, ev.kind === 'set-memory' ? `set-memory:${ev.op}` : ev.kind);
    else if (s.startsWith('pending:')) bump(pending, s.slice(8));
    else if (s === 'observed') bump(observed, ev.kind === 'flush' ? `flush:${ev.scope}` : ev.kind);
    else if (s === 'unknown' && ev.kind === 'unknown') bump(unknown, ev.name);
  }
  return {
    format: WORKLOAD_FORMAT,
    version: WORKLOAD_VERSION,
    source: { file: trace.file, records: trace.records.length, lostEvents: trace.lostEvents },
    harts: Math.max(trace.cpus, maxCpu + 1, 1),
    startNs,
    endNs,
    phases,
    counts: countEvents(events, endNs - startNs),
    phaseCounts,
    replayed,
    implied,
    pending,
    observed,
    unknown,
    events,
  };
}

/** Parse and classify an ftrace text log. */
export function importTrace(text: string, file = '<trace>'): ImportedWorkload {
  return importParsed(parseTrace(text, file));
}
