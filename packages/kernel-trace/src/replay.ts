/**
 * From an imported workload to per-hart scenario programs (the trace-driven scenario).
 *
 * What is replayed (status `op`, workload.ts): every new kernel mapping of known size as the DSL op
 * of its path (vmalloc, vmap, ioremap, a module-area allocation, a vmap stack as `spawn`), each
 * followed by the maker's first store into it (the kernel fills what it maps; copy_thread writes a
 * new stack's top), every free of a mapped area as `vfree` (the model purges lazily by its own
 * lazy_max_pages(); the log's purges are not replayed), and every `set_memory_*` call on a
 * replayed area as `set-memory` (the module text pass's set_memory_x as `module-finalize`, see
 * setMemoryOp), on the hart whose CPU emitted it, in the log's order. Time between two ops of a hart becomes `compute` cycles at `frequencyMHz`,
 * each gap at most `maxGapCycles`: a long gap in the log is idle time or user work that an IPI
 * interrupts at once, while the model's `compute` runs to its end before the hart takes an
 * interrupt, so an uncut gap would charge its whole length to the flush waiting on that hart.
 * Per-second rates come from the log's own clock (workload.ts), never from replayed cycles.
 *
 * Accesses from other harts (`accessRule`):
 * - `scheduling` (default): an area is touched by every other hart on which the task that mapped
 *   it shows up in the log (any record of its pid on that CPU, or a migration to it) after the
 *   mapping and before the free, once per hart, at the first such time; a vmap stack is read at
 *   its top page (where `ret_from_fork` restores the child's registers) on every hart where its
 *   child shows up. The replay does not make the child the hart's current task (`switch-to`): the
 *   DSL has no way back to a hart's idle task before the stack is freed, so a trap taken while
 *   the child runs (vmap-stack-migrate's nested fault) is not part of a real-workload replay.
 * - `maker-only`: no cross-hart access (a lower bound on the cost of fault-driven strategies).
 * - `all-harts`: every other hart reads every new area as soon as it is mapped (an upper bound).
 * Every such access waits for the mapping and the maker's first store (`wait`), and the free
 * waits for those and for every access the rule placed before it, so the replay never touches a freed area whatever the interleaving.
 *
 * Harts: CPU c of the capture runs on hart c mod H when the machine has fewer harts than the
 * capture. With more (`extraHarts`): `mirror` (default) gives hart h >= C the accesses of hart
 * h mod C as reads, as if copies of the same tasks were scheduled there too (the mapping work
 * stays the capture's: more harts mean more TLBs that see each mapping); `idle` leaves them with
 * their background working set only. Every hart starts with `backgroundRounds` passes over its
 * working set (user pages, direct map, kernel data) so that a flush has a refill price.
 */
import { area, type Op, ops, region } from '@tlblab/core';
import type { KernelEvent } from './events.js';
import { type ImportedWorkload, modelStatus } from './workload.js';

export type AccessRule = 'scheduling' | 'maker-only' | 'all-harts';
export type ExtraHarts = 'mirror' | 'idle';

/**
 * Default clock when the machine profile gives none: 1 GHz, a round application-core clock. The
 * ENGINE issue adds `frequencyMHz` to machine profiles; pass it here when it lands.
 */
export const DEFAULT_FREQUENCY_MHZ = 1000;

/** 20 us at 1 GHz: tens of IPI round trips (costs.ts), far below the log's idle gaps. */
export const DEFAULT_MAX_GAP_CYCLES = 20_000;

export interface ReplayOptions {
  readonly harts: number;
  readonly frequencyMHz: number;
  /** Longest gap replayed as compute cycles (longer ones are shortened to it; see below). */
  readonly maxGapCycles: number;
  readonly accessRule: AccessRule;
  readonly extraHarts: ExtraHarts;
  /** Replay only the events of this phase (`all` for the whole log). */
  readonly phase: string;
  readonly userPages: number;
  readonly backgroundRounds: number;
}

export interface ReplayPrograms {
  readonly programs: Op[][];
  /** Ops emitted per kind, for reports and tests. */
  readonly emitted: Readonly<Record<string, number>>;
  /** Total ops over all harts (for the step budget). */
  readonly totalOps: number;
  /** Cycles of log time replayed as compute, and cycles cut by `maxGapCycles`, over all harts. */
  readonly gapCycles: number;
  readonly elidedCycles: number;
}

interface Item {
  readonly ns: number;
  readonly seq: number;
  readonly hart: number;
  readonly ops: Op[];
}

interface AreaInfo {
  readonly name: string;
  readonly map: 'vmalloc' | 'vmap' | 'ioremap' | 'module' | 'stack';
  readonly pages: number;
  readonly ns: number;
  readonly cpu: number;
  readonly pid: number;
  /** Pid whose appearances count for cross-hart access (the child for a stack). */
  readonly runner: number;
  freeNs: number;
  /** Flags the free must wait for. */
  readonly accessFlags: string[];
}

function mapOp(a: AreaInfo): Op {
  switch (a.map) {
    case 'vmalloc':
      return ops.vmalloc(a.name, a.pages);
    case 'vmap':
      return ops.vmap(a.name, a.pages);
    case 'ioremap':
      return ops.ioremap(a.name, a.pages);
    case 'module':
      // execmem maps module and BPF JIT memory PAGE_KERNEL; STRICT_MODULE_RWX makes text
      // executable later (set_memory_x, pending), so the replay never fetches from it.
      return ops.moduleAlloc(a.name, a.pages, false);
    case 'stack':
      throw new Error('a stack is spawned, not mapped');
  }
}

/**
 * The DSL op of a logged set_memory_* call on a replayed area (arch/riscv/mm/pageattr.c; each is
 * one __set_memory() with its flush: flush_tlb_all since 311cd2f6e253, v6.7, the strategy's
 * flush_tlb_kernel_range before). The text pass's set_memory_x (the second half of
 * set_memory_rox, kernel/module/strict_rwx.c module_enable_text_rox) becomes `module-finalize`
 * over the whole area: its rox pass is one __set_memory() with the same result on the RO pages the
 * logged set_memory_ro left, and it carries the flush_icache_all() of flush_module_icache()
 * (kernel/module/main.c; riscv's flush_icache_range is flush_icache_all(),
 * arch/riscv/include/asm/cacheflush.h), which the capture's function filter does not record. The
 * kernel calls flush_icache_range once per non-empty module memory type; the replay flushes once
 * per text area (fewer remote fence.i than the real kernel).
 */
function setMemoryOp(e: Extract<KernelEvent, { kind: 'set-memory' }>, info: AreaInfo): Op {
  if (e.op === 'x' && e.cause === 'module_enable_text_rox')
    return ops.moduleFinalize(info.name, { textPages: info.pages });
  const prot = e.op === 'ro' || e.op === 'x' || e.op === 'nx' || e.op === 'rw' ? e.op : null;
  if (prot === null) throw new Error(`set_memory ${e.op} is not an area op (line ${e.line})`);
  return ops.setMemory(info.name, prot, e.resetPerms === true ? { resetPerms: true } : {});
}

/** Working-set pages per hart in the direct map: the fourth 2 MiB leaf the core maps at boot. */
function workingSet(hart: number, userPages: number): Op[] {
  const pass: Op[] = [];
  for (let i = 0; i < userPages; i++)
    pass.push(i % 2 === 0 ? ops.write(region('user', i)) : ops.read(region('user', i)));
  pass.push(ops.read(region('direct-map', 3 * 512 + ((hart * 16) % 512))));
  pass.push(ops.read(region('kernel-data', 0)));
  return pass;
}

export function buildReplay(w: ImportedWorkload, o: ReplayOptions): ReplayPrograms {
  const H = o.harts;
  const C = w.harts;
  let events: readonly KernelEvent[] = w.events;
  if (o.phase !== 'all') {
    const p = w.phases.find((x) => x.name === o.phase);
    if (!p)
      throw new Error(
        `no phase '${o.phase}' in this capture (phases: ${w.phases.map((x) => x.name).join(', ')})`,
      );
    events = events.filter((e) => e.ns >= p.beginNs && e.ns <= p.endNs);
  }
  const hartOf = (cpu: number) => cpu % H;
  // Where each pid shows up: every record it emitted on a CPU, and every migration onto a CPU.
  const seen = new Map<number, { ns: number; cpu: number }[]>();
  const note = (pid: number, ns: number, cpu: number) => {
    const l = seen.get(pid);
    if (l) l.push({ ns, cpu });
    else seen.set(pid, [{ ns, cpu }]);
  };
  for (const e of events) {
    note(e.pid, e.ns, e.cpu);
    if (e.kind === 'migrate') note(e.migrated, e.ns, e.to);
  }
  const areas = new Map<string, AreaInfo>();
  const items: Item[] = [];
  const emitted: Record<string, number> = {};
  const count = (k: string) => {
    emitted[k] = (emitted[k] ?? 0) + 1;
  };
  let seq = 0;
  let accessIndex = 0;
  const push = (ns: number, hart: number, list: Op[]) => items.push({ ns, seq: seq++, hart, ops: list });

  for (const e of events) {
    if (e.kind === 'map' && e.pages !== null) {
      const stack = e.map === 'stack' && e.child !== undefined;
      // The area id keeps task names unique even if the log reuses a pid.
      const task = `task${e.child}.${e.area}`;
      const name = stack ? `stack:${task}` : e.area;
      const info: AreaInfo = {
        name,
        map: e.map,
        pages: e.pages,
        ns: e.ns,
        cpu: e.cpu,
        pid: e.pid,
        runner: stack ? e.child! : e.pid,
        freeNs: Number.POSITIVE_INFINITY,
        accessFlags: [],
      };
      areas.set(e.area, info);
      const h = hartOf(e.cpu);
      if (stack) {
        push(e.ns, h, [ops.spawn(task), ops.signal(`map:${name}`)]);
        count('spawn');
      } else {
        const touch = e.map === 'ioremap' ? ops.read(area(name, 0)) : ops.write(area(name, 0));
        push(e.ns, h, [mapOp(info), touch, ops.signal(`map:${name}`)]);
        count(`map:${e.map}`);
      }
    } else if (e.kind === 'free' && e.area !== null) {
      const info = areas.get(e.area);
      if (info) info.freeNs = e.ns;
    } else if (e.kind === 'set-memory' && e.target !== null && modelStatus(e) === 'op') {
      const info = areas.get(e.target);
      if (!info || info.map === 'stack') continue;
      // On the hart of the caller, after the mapping (and the maker's store); the free waits for it.
      const flag = `setmem:${info.name}:${accessIndex++}`;
      info.accessFlags.push(flag);
      push(e.ns, hartOf(e.cpu), [ops.wait(`map:${info.name}`), setMemoryOp(e, info), ops.signal(flag)]);
      count(e.op === 'x' && e.cause === 'module_enable_text_rox' ? 'module-finalize' : 'set-memory');
    }
  }

  // Cross-hart accesses, then the frees (which wait for them).
  const accessOps = (info: AreaInfo, mirrored: boolean): Op[] => {
    const flag = `acc:${info.name}:${accessIndex++}`;
    info.accessFlags.push(flag);
    // A stack is read at its top page, where copy_thread() put the child's pt_regs and where
    // ret_from_fork restores them from.
    const body = ops.read(area(info.name, info.map === 'stack' ? info.pages - 1 : 0));
    count(mirrored ? 'mirrored-read' : info.map === 'stack' ? 'stack-read' : 'cross-hart-read');
    return [ops.wait(`map:${info.name}`), body, ops.signal(flag)];
  };
  for (const info of areas.values()) {
    const makerHart = hartOf(info.cpu);
    const targets: { ns: number; hart: number }[] = [];
    if (o.accessRule === 'scheduling') {
      const firstOn = new Map<number, number>();
      for (const s of seen.get(info.runner) ?? []) {
        if (s.ns < info.ns || s.ns >= info.freeNs) continue;
        const h = hartOf(s.cpu);
        // A stack's child runs wherever it shows up (its maker's hart too); an area's maker
        // already touched it on its own hart.
        if (info.map !== 'stack' && h === makerHart) continue;
        if (!firstOn.has(h)) firstOn.set(h, s.ns);
      }
      for (const [hart, ns] of firstOn) targets.push({ ns, hart });
    } else if (o.accessRule === 'all-harts') {
      for (let c = 0; c < Math.min(C, H); c++) if (c !== makerHart) targets.push({ ns: info.ns, hart: c });
    }
    for (const t of targets) push(t.ns, t.hart, accessOps(info, false));
    if (o.extraHarts === 'mirror' && H > C) {
      // Hart h >= C repeats what hart h mod C does with this area, as reads.
      const sources = [{ ns: info.ns, hart: makerHart }, ...targets];
      for (let h = C; h < H; h++)
        for (const s of sources) if (s.hart === h % C) push(s.ns, h, accessOps(info, true));
    }
  }
  for (const e of events) {
    if (e.kind !== 'free' || e.area === null) continue;
    const info = areas.get(e.area);
    if (!info) continue;
    // The free waits for the maker (a free may run on another hart) and for every access.
    const waits = [`map:${info.name}`, ...info.accessFlags].map((f) => ops.wait(f));
    push(e.ns, hartOf(e.cpu), [...waits, ops.vfree(info.name)]);
    count('vfree');
  }

  // Per hart, in log order; the time between two items becomes compute cycles.
  items.sort((a, b) => a.ns - b.ns || a.seq - b.seq);
  const programs: Op[][] = [];
  const lastNs: number[] = [];
  for (let h = 0; h < H; h++) {
    const prog: Op[] = [];
    for (let r = 0; r < o.backgroundRounds; r++) prog.push(...workingSet(h, o.userPages));
    programs.push(prog);
    lastNs.push(events[0]?.ns ?? 0);
  }
  let totalOps = 0;
  let gapCycles = 0;
  let elidedCycles = 0;
  for (const it of items) {
    const full = Math.round(((it.ns - lastNs[it.hart]!) * o.frequencyMHz) / 1000);
    const cycles = Math.min(full, o.maxGapCycles);
    gapCycles += cycles;
    elidedCycles += full - cycles;
    if (cycles > 0) programs[it.hart]!.push(ops.compute(cycles));
    lastNs[it.hart] = it.ns;
    programs[it.hart]!.push(...it.ops);
  }
  for (const p of programs) totalOps += p.length;
  return { programs, emitted, totalOps, gapCycles, elidedCycles };
}
