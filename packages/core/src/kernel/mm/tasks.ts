/**
 * Tasks and their kernel stacks (kernel/fork.c, arch/riscv/kernel/process.c): with VMAP_STACK
 * (64-bit) a new task's stack is a vmalloc area and copy_thread() writes the child's pt_regs at its
 * top; without it the stack comes from the direct map. switch_to() restores from the new stack.
 */
import type { Op } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Area, type HartExec, PAGE, SimulationError, type Task } from '../../engine/types.js';
import { PAGE_KERNEL } from '../../hw/pte.js';
import { AccessFrame } from '../access.js';
import { MapFrame } from './vmap.js';

type SpawnOp = Extract<Op, { op: 'spawn' }>;
type SwitchOp = Extract<Op, { op: 'switch-to' }>;

export class Tasks {
  private readonly byName = new Map<string, Task>();
  constructor(private readonly sim: Simulator) {}

  get(name: string): Task | undefined {
    return this.byName.get(name);
  }

  /** An idle task's stack, set up at boot on init_mm. */
  bootTask(name: string): Task {
    const sim = this.sim;
    const pages = sim.kernel.stackPages;
    if (sim.kernel.vmapStack && sim.layout.geometry.is64) {
      const area = sim.vmap.bootArea(`stack:${name}`, pages, 'stack');
      return { name, stack: area, stackBase: area.start, stackPages: pages, sp: pages * PAGE - 512 };
    }
    const base = sim.mm.allocDirectMapPages(pages);
    return { name, stack: null, stackBase: base, stackPages: pages, sp: pages * PAGE - 512 };
  }

  /** fork(): the child's stack (a vmap stack is a mapping path of its own), then copy_thread(). */
  spawn(h: HartExec, op: SpawnOp): void {
    const sim = this.sim;
    if (this.byName.has(op.task)) throw new SimulationError(`task '${op.task}' spawned twice`);
    const pages = sim.kernel.stackPages;
    if (sim.kernel.vmapStack && sim.layout.geometry.is64) {
      const area: Area = {
        name: `stack:${op.task}`,
        kind: 'stack',
        region: 'vmalloc',
        start: -1,
        pages,
        mapped: false,
        freed: false,
        clearTick: 0,
      };
      const task: Task = {
        name: op.task,
        stack: area,
        stackBase: -1,
        stackPages: pages,
        sp: pages * PAGE - sim.kernel.trapFrameBytes,
      };
      this.byName.set(op.task, task);
      // copy_thread(): the child's pt_regs are written at the top of its new stack.
      h.frames.push(
        new MapFrame(area, PAGE_KERNEL, (_sim, hh) => {
          task.stackBase = area.start;
          hh.frames.push(
            new AccessFrame(area.start + pages - 1, 'write', true, false, `copy_thread(${op.task})`),
          );
        }),
      );
    } else {
      const base = sim.mm.allocDirectMapPages(pages);
      this.byName.set(op.task, {
        name: op.task,
        stack: null,
        stackBase: base,
        stackPages: pages,
        sp: pages * PAGE - sim.kernel.trapFrameBytes,
      });
      h.hw.clock += sim.machine.costs.vmallocBase;
    }
  }

  /** switch_to(): the new task's stack becomes current; its saved registers are read back. */
  switchTo(h: HartExec, op: SwitchOp): void {
    const sim = this.sim;
    const task = this.byName.get(op.task);
    if (!task || task.stackBase < 0)
      throw new SimulationError(`switch-to '${op.task}': no such task (spawn it first)`);
    h.hw.clock += sim.machine.costs.contextSwitch;
    h.task = task;
    sim.trace(h, 'op', `switch_to(${op.task}): sp in ${sim.va(task.stackBase + Math.floor(task.sp / PAGE))}`);
    // ret_from_fork / __switch_to return path restores registers from the new stack.
    sim.program.programAccess(
      h,
      task.stackBase + Math.floor(task.sp / PAGE),
      0,
      false,
      `restore from ${op.task}'s stack`,
    );
  }
}
