/**
 * Function tracing on the kernel's paths (kernel/trace/ftrace.c, ring_buffer.c, kernel/bpf/
 * trampoline.c): every traceable kernel function runs, on entry, the callbacks attached to it.
 *
 * - The function tracer writes one entry to this hart's ring buffer. Its pages come from
 *   alloc_pages_node() (ring_buffer.c __rb_allocate_pages(), for every CPU when the buffer is
 *   allocated): the linear map, which every root maps, so the tracer's own writes never meet a new
 *   kernel mapping.
 * - A BPF program attached with fentry (a BPF trampoline, riscv64 since v6.3) runs its JIT image
 *   (the modules/BPF area) and touches its map (bpf_map_area_alloc(): vmalloc'd above
 *   PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER): vmalloc'd memory inside whatever path it is attached to.
 *   __bpf_prog_enter_recur()'s per-CPU `prog->active` guard skips the program when it is entered
 *   again on the same CPU (a fault inside it), counting a miss.
 * `notrace` (and `noinstr`) functions run neither.
 */
import type { Simulator } from '../engine/simulator.js';
import type { Area, Frame, HartExec } from '../engine/types.js';
import { AccessFrame } from './access.js';

/** A call to a traceable kernel function: its entry callbacks (unless notrace), then the body. */
export class CallFrame implements Frame {
  stage = 0;
  constructor(
    readonly fnName: string,
    readonly body: (h: HartExec) => void,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    if (this.stage === 0) {
      this.stage = 1;
      sim.ftrace.enterTraceable(h, this.fnName);
      return;
    }
    h.frames.pop();
    this.body(h);
  }
  blocked(): boolean {
    return false;
  }
}

/** The function tracer's callback: write one entry to this hart's ring buffer (linear map). */
export class TracerFrame implements Frame {
  stage = 0;
  constructor(readonly fnName: string) {}
  run(sim: Simulator, h: HartExec): void {
    sim.ftrace.stage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** A BPF program attached to a kernel function with fentry. */
export interface Fentry {
  readonly fn: string;
  /** The JIT image (with its trampoline), executed on entry. */
  readonly image: Area;
  /** The program's map, read and updated by the program; null = none. */
  readonly map: Area | null;
  misses: number;
}

/** The BPF trampoline running an fentry program on this hart. */
export class FentryFrame implements Frame {
  stage = 0;
  constructor(readonly att: Fentry) {}
  run(sim: Simulator, h: HartExec): void {
    sim.ftrace.fentryStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

export class Ftrace {
  /** The function tracer is enabled. */
  on: boolean;
  private readonly fentry = new Map<string, Fentry>();
  constructor(private readonly sim: Simulator) {
    this.on = sim.kernel.tracing;
  }

  /** Entering a traceable kernel function: its fentry program, then the function tracer. */
  enterTraceable(h: HartExec, fnName: string): void {
    if (this.sim.strategy.notrace.has(fnName)) return;
    const att = this.fentry.get(fnName);
    // Frames run last-pushed first: the tracer's entry, then the BPF trampoline.
    if (att !== undefined) h.frames.push(new FentryFrame(att));
    if (this.on) h.frames.push(new TracerFrame(fnName));
  }

  /** ring_buffer_alloc(): every hart's ring-buffer pages, from the linear map. */
  allocateBuffers(): void {
    const sim = this.sim;
    for (const t of sim.harts)
      if (t.traceBuffer < 0) t.traceBuffer = sim.mm.allocDirectMapPages(sim.kernel.traceBufferPages);
  }

  /** The `tracing` op: `echo function > current_tracer` (the buffers exist from then on). */
  setEnabled(h: HartExec, enable: boolean): void {
    this.on = enable;
    if (enable) {
      this.allocateBuffers();
      h.hw.clock += this.sim.machine.costs.vmallocBase;
    }
    this.sim.trace(h, 'op', enable ? 'function tracer on' : 'function tracer off');
  }

  /** bpf_trampoline_link_prog(): attach `image` (and its `map`) to `fn` with fentry. */
  attach(h: HartExec, fn: string, image: Area, map: Area | null): void {
    this.fentry.set(fn, { fn, image, map, misses: 0 });
    h.hw.clock += this.sim.machine.costs.kernelFunction;
    if (this.sim.tracing) this.sim.trace(h, 'op', `fentry/${fn}: BPF program ${image.name} attached`);
  }

  detach(h: HartExec, fn: string): void {
    this.fentry.delete(fn);
    if (this.sim.tracing) this.sim.trace(h, 'op', `fentry/${fn}: detached`);
  }

  stage(h: HartExec, f: TracerFrame): void {
    const sim = this.sim;
    if (f.stage === 0) {
      f.stage = 1;
      h.hw.clock += sim.machine.costs.tracerCall;
      const pages = sim.kernel.traceBufferPages;
      const page = Math.floor(h.traceEntries / sim.kernel.traceEntriesPerPage) % pages;
      h.traceEntries++;
      h.frames.push(
        new AccessFrame(h.traceBuffer + page, 'write', false, false, `ftrace(${f.fnName}) ring buffer`),
      );
      return;
    }
    h.frames.pop();
  }

  fentryStage(h: HartExec, f: FentryFrame): void {
    const sim = this.sim;
    const att = f.att;
    if (f.stage === 0) {
      if (h.bpfActive) {
        // __bpf_prog_enter_recur(): this_cpu_inc_return(*prog->active) != 1 -> skip, count a miss.
        att.misses++;
        h.frames.pop();
        if (sim.tracing)
          sim.trace(h, 'op', `fentry/${att.fn}: recursion, program skipped (miss ${att.misses})`);
        return;
      }
      f.stage = 1;
      h.bpfActive = true;
      h.hw.clock += sim.machine.costs.tracerCall;
      // The trampoline and program run from the image, then the program updates its map.
      // A shared counter in the map's first page (an array map's key 0).
      if (att.map !== null)
        h.frames.push(new AccessFrame(att.map.start, 'write', false, false, `bpf map ${att.map.name}`));
      h.frames.push(
        new AccessFrame(att.image.start, 'execute', false, false, `fentry/${att.fn} ${att.image.name}`),
      );
      return;
    }
    h.bpfActive = false;
    h.frames.pop();
  }
}
