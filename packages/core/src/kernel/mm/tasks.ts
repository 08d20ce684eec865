/**
 * Tasks and their kernel stacks (kernel/fork.c, kernel/sched/core.c, arch/riscv/kernel/process.c).
 *
 * With VMAP_STACK (64-bit) a new task's stack is `THREAD_SIZE` vmalloc'd at `THREAD_ALIGN`, which
 * arch/riscv/include/asm/thread_info.h makes 2 * THREAD_SIZE so that the overflow check in
 * handle_exception can test one bit of sp (31da94c25aea, v5.10). alloc_thread_stack_node() first
 * takes one of this CPU's `NR_CACHED_STACKS` (2) cached stacks (ac496bf48d97, v4.9), clears it
 * (`memset(stack, 0, THREAD_SIZE)`) and maps nothing; only on a miss does it map a new area. A dead
 * task's stack is released in finish_task_switch() on the CPU it last ran on (e540bf3162e8, v5.17):
 * try_release_thread_stack_to_cache() puts it in a free slot of that CPU's cache, else it is vfree'd
 * (after an RCU grace period; the model frees it at once, the lazy purge defers the flush anyway).
 * Without VMAP_STACK the stack comes from the direct map. copy_thread() writes the child's pt_regs at
 * the top of its stack; the first stack access after a switch is a store (the return path's
 * function prologues, ret_from_fork -> schedule_tail()).
 */
import type { Op } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Area, type HartExec, PAGE, SimulationError, type Task } from '../../engine/types.js';
import { PAGE_KERNEL } from '../../hw/pte.js';
import { AccessFrame } from '../access.js';
import { MapFrame, UnmapFrame } from './vmap.js';

type SpawnOp = Extract<Op, { op: 'spawn' }>;
type SwitchOp = Extract<Op, { op: 'switch-to' }>;
type ExitOp = Extract<Op, { op: 'exit' }>;

/** Bytes a function prologue stores below sp on the first stack access after a switch. */
const PROLOGUE_BYTES = 16;

/** THREAD_ALIGN in pages: 2 * THREAD_SIZE (THREAD_SIZE rounded up to a power of two). */
export function threadAlignPages(stackPages: number): number {
  let p = 1;
  while (p < stackPages) p *= 2;
  return 2 * p;
}

export class Tasks {
  private readonly byName = new Map<string, Task>();
  /** Per hart: the cached_stacks[] of kernel/fork.c (freed vmap stacks kept for reuse). */
  private readonly cached: Area[][];
  /** Per hart: stacks reused from the cache (for tests and traces). */
  readonly cacheHits: Int32Array;
  private readonly dead = new Set<string>();
  constructor(private readonly sim: Simulator) {
    // A loop: `Array.from` with a map function per run was ~0.7% of the demo sweep (issue 13).
    this.cached = [];
    for (let i = 0; i < sim.allHarts.length; i++) this.cached.push([]);
    this.cacheHits = new Int32Array(sim.allHarts.length);
  }

  get(name: string): Task | undefined {
    return this.byName.get(name);
  }

  private vmapStacks(): boolean {
    return this.sim.kernel.vmapStack && this.sim.layout.geometry.is64;
  }

  /** An idle task's stack, set up at boot on init_mm. */
  bootTask(name: string): Task {
    const sim = this.sim;
    const pages = sim.kernel.stackPages;
    if (this.vmapStacks()) {
      const area = sim.vmap.bootArea(`stack:${name}`, pages, 'stack', threadAlignPages(pages));
      return { name, stack: area, stackBase: area.start, stackPages: pages, sp: pages * PAGE - 512 };
    }
    const base = sim.mm.allocDirectMapPages(pages);
    return { name, stack: null, stackBase: base, stackPages: pages, sp: pages * PAGE - 512 };
  }

  /** fork(): the child's stack (the per-CPU cache, else a vmap stack mapping), then copy_thread(). */
  spawn(h: HartExec, op: SpawnOp): void {
    const sim = this.sim;
    if (this.byName.has(op.task)) throw new SimulationError(`task '${op.task}' spawned twice`);
    const pages = sim.kernel.stackPages;
    const sp = pages * PAGE - sim.kernel.trapFrameBytes;
    if (!this.vmapStacks()) {
      const base = sim.mm.allocDirectMapPages(pages);
      this.byName.set(op.task, { name: op.task, stack: null, stackBase: base, stackPages: pages, sp });
      h.hw.clock += sim.machine.costs.vmallocBase;
      return;
    }
    const copyThread = (task: Task) =>
      new AccessFrame(task.stackBase + pages - 1, 'write', true, false, `copy_thread(${op.task})`);
    const cache = this.cached[h.hw.id]!;
    const reused = cache.shift();
    if (reused !== undefined) {
      // alloc_thread_stack_node(): this_cpu_xchg(cached_stacks[i], NULL) hit. No new mapping; the
      // stack is cleared ("Clear stale pointers from reused stack") and copy_thread() writes its top.
      this.cacheHits[h.hw.id]!++;
      const task: Task = { name: op.task, stack: reused, stackBase: reused.start, stackPages: pages, sp };
      this.byName.set(op.task, task);
      h.hw.clock += sim.machine.costs.kernelFunction;
      if (sim.tracing)
        sim.trace(h, 'map', `fork(${op.task}): reused cached stack ${sim.va(reused.start)} (no new mapping)`);
      // Frames run last-pushed first: the memset runs page by page from the bottom, then copy_thread.
      h.frames.push(copyThread(task));
      for (let i = pages - 1; i >= 0; i--)
        h.frames.push(new AccessFrame(reused.start + i, 'write', true, false, `memset(${op.task}'s stack)`));
      return;
    }
    const area: Area = {
      name: `stack:${op.task}`,
      kind: 'stack',
      region: 'vmalloc',
      start: -1,
      pages,
      mapped: false,
      freed: false,
      clearTick: 0,
      align: threadAlignPages(pages),
    };
    const task: Task = { name: op.task, stack: area, stackBase: -1, stackPages: pages, sp };
    this.byName.set(op.task, task);
    h.frames.push(
      new MapFrame(area, PAGE_KERNEL, (_sim, hh) => {
        task.stackBase = area.start;
        hh.frames.push(copyThread(task));
      }),
    );
  }

  /** switch_to(): the new task's stack becomes current; its return path stores below its sp. */
  switchTo(h: HartExec, op: SwitchOp): void {
    const sim = this.sim;
    const task = this.byName.get(op.task);
    if (!task || task.stackBase < 0)
      throw new SimulationError(`switch-to '${op.task}': no such task (spawn it first)`);
    if (this.dead.has(op.task)) throw new SimulationError(`switch-to '${op.task}': the task has exited`);
    h.hw.clock += sim.machine.costs.contextSwitch;
    h.task = task;
    const vpn = task.stackBase + Math.floor((task.sp - PROLOGUE_BYTES) / PAGE);
    if (sim.tracing) sim.trace(h, 'op', `switch_to(${op.task}): sp in ${sim.va(vpn)}`);
    // __switch_to restores the callee-saved registers from task_struct (thread.s[]), not the stack;
    // the first stack access is the next function's prologue storing ra (finish_task_switch(), or
    // schedule_tail() from ret_from_fork for a new task).
    sim.program.programAccess(h, vpn, 1, false, `${op.task}: first stack store after switch_to`);
  }

  /**
   * do_exit() of the task running on this hart, then the final switch to `op.next`:
   * finish_task_switch() -> put_task_stack() -> free_thread_stack() on this hart.
   */
  exit(h: HartExec, op: ExitOp): void {
    const sim = this.sim;
    const prev = h.task;
    if (prev.name.startsWith('swapper/'))
      throw new SimulationError(`exit: the idle task ${prev.name} cannot exit (switch to a task first)`);
    this.dead.add(prev.name);
    if (sim.tracing) sim.trace(h, 'op', `do_exit(${prev.name})`);
    // The switch runs first (the program continues on `next`); the stack is released after it.
    const stack = prev.stack;
    if (stack !== null) {
      const cache = this.cached[h.hw.id]!;
      if (cache.length < sim.kernel.stackCache) {
        // try_release_thread_stack_to_cache(): this_cpu_cmpxchg(cached_stacks[i], NULL, vm) won.
        cache.push(stack);
        if (sim.tracing)
          sim.trace(h, 'unmap', `put_task_stack(${prev.name}): stack cached on hart ${h.hw.id}`);
      } else {
        // thread_stack_delayed_free() -> vfree(): the PTEs go now, the flush at the lazy purge.
        h.frames.push(new UnmapFrame(stack));
      }
    }
    this.switchTo(h, { op: 'switch-to', task: op.next });
  }
}
