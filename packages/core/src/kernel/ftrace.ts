/**
 * The function tracer (kernel/trace/ftrace.c, ring_buffer.c as the 2023 thread met it): every
 * traceable kernel function runs the tracer's callback on entry, which writes one entry to this
 * hart's ring buffer — a vmalloc'd area, allocated on first use inside whatever path is being
 * traced. `notrace` functions skip it.
 */
import type { Simulator } from '../engine/simulator.js';
import type { Frame, HartExec } from '../engine/types.js';
import { PAGE_KERNEL } from '../hw/pte.js';
import { AccessFrame } from './access.js';
import { MapFrame } from './mm/vmap.js';

/** A call to a traceable kernel function: the tracer on entry (unless notrace), then the body. */
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

/** The function tracer's callback: write one entry to this hart's ring buffer (vmalloc'd). */
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

export class Ftrace {
  /** The tracer is enabled. */
  on: boolean;
  constructor(private readonly sim: Simulator) {
    this.on = sim.kernel.tracing;
  }

  /** Entering a traceable kernel function: the tracer runs unless it is notrace (or tracing is off). */
  enterTraceable(h: HartExec, fnName: string): void {
    if (!this.on || this.sim.strategy.notrace.has(fnName)) return;
    h.frames.push(new TracerFrame(fnName));
  }

  /** The `tracing` op: enabling the tracer allocates every hart's ring buffer from this hart. */
  setEnabled(h: HartExec, enable: boolean): void {
    if (!enable) {
      this.on = false;
      return;
    }
    // ring_buffer_alloc(): every hart's buffer, allocated by the hart that enables tracing.
    this.on = true;
    const sim = this.sim;
    // Frames run last-pushed first: push in reverse so the buffers are allocated in ascending
    // hart order, as ring_buffer_alloc() walks the CPUs.
    for (let k = sim.harts.length - 1; k >= 0; k--) {
      const t = sim.harts[k]!;
      if (t.traceBuffer !== null) continue;
      const area = sim.areas.newArea(`ftrace/${t.hw.id}`, 'ftrace', sim.kernel.traceBufferPages);
      t.traceBufferAllocating = true;
      h.frames.push(
        new MapFrame(area, PAGE_KERNEL, () => {
          t.traceBuffer = area;
          t.traceBufferAllocating = false;
        }),
      );
    }
  }

  stage(h: HartExec, f: TracerFrame): void {
    const sim = this.sim;
    if (f.stage === 0) {
      f.stage = 1;
      if (h.traceBuffer === null) {
        if (h.traceBufferAllocating) {
          // The buffer is being allocated (by this or another hart): nothing to write to yet.
          h.frames.pop();
          return;
        }
        // First use on this hart: vmalloc the ring buffer, inside whatever path is being traced.
        h.traceBufferAllocating = true;
        const area = sim.areas.newArea(`ftrace/${h.hw.id}`, 'ftrace', sim.kernel.traceBufferPages);
        h.frames.push(
          new MapFrame(area, PAGE_KERNEL, () => {
            h.traceBuffer = area;
            h.traceBufferAllocating = false;
          }),
        );
      }
      return;
    }
    if (f.stage === 1) {
      f.stage = 2;
      const buf = h.traceBuffer;
      if (buf === null) {
        h.frames.pop();
        return;
      }
      h.hw.clock += sim.machine.costs.tracerCall;
      const page = Math.floor(h.traceEntries / sim.kernel.traceEntriesPerPage) % buf.pages;
      h.traceEntries++;
      h.frames.push(
        new AccessFrame(buf.start + page, 'write', false, false, `ftrace(${f.fnName}) ring buffer`),
      );
      return;
    }
    h.frames.pop();
  }
}
