/**
 * The imported workload: the classified kernel events of one capture plus what the importer
 * counted — per kind, per phase, what the model can replay today and what it cannot express yet.
 * Plain JSON (what `tlblab import-trace --out` writes); `scenarioFromWorkload` replays it.
 */
import { classify, type KernelEvent } from './events.js';
import { type ParsedTrace, parseTrace } from './parse.js';

export const WORKLOAD_FORMAT = 'tlblab-kernel-workload';
export const WORKLOAD_VERSION = 1;

/**
 * What the model does with an event today:
 * - `op`: replayed as a scenario DSL op (a mapping, a vmap stack, a vfree);
 * - `pending:<path>`: a kernel input the model cannot express yet (lazy purge with lazy_max_pages,
 *   set_memory_* / STRICT_MODULE_RWX, flush_icache_all, the vmap stack cache, a mapping of unknown
 *   size) — kept in the workload and counted, so a later DSL op can replay it;
 * - `observed`: what the captured kernel's own policy did (its flushes): strategies make their own,
 *   so these are reported next to the model's, never replayed;
 * - `context`: scheduling and bookkeeping that shapes the replay (forks, exec, migrations, IPIs,
 *   markers, module loads, execmem) without being an op itself;
 * - `unknown`: an event the importer does not know (counted and reported).
 */
export type ModelStatus = 'op' | `pending:${PendingPath}` | 'observed' | 'context' | 'unknown';

/** Kernel paths the KERNEL issue adds to core; each maps onto one DSL op when it lands. */
export type PendingPath =
  | 'lazy-purge'
  | 'set-memory'
  | 'flush-icache-all'
  | 'stack-cache-hit'
  | 'map-without-size';

export function modelStatus(ev: KernelEvent): ModelStatus {
  switch (ev.kind) {
    case 'map':
      return ev.pages === null ? 'pending:map-without-size' : 'op';
    case 'free':
      return ev.area === null ? 'observed' : 'op';
    case 'purge':
      return 'pending:lazy-purge';
    case 'set-memory':
      return 'pending:set-memory';
    case 'icache-flush':
      return 'pending:flush-icache-all';
    case 'fork':
      return ev.stack === 'cache-hit' ? 'pending:stack-cache-hit' : 'context';
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
  /** Kernel inputs the model cannot express yet, by path (never dropped: they stay in `events`). */
  readonly pending: Readonly<Record<string, number>>;
  /** The captured kernel's own flushes and frees of unseen areas, by kind. */
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
  const observed: Record<string, number> = {};
  const unknown: Record<string, number> = {};
  for (const ev of events) {
    const s = modelStatus(ev);
    if (s === 'op') bump(replayed, ev.kind === 'map' ? `map:${ev.map}` : ev.kind);
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
