/**
 * A hart's program of kernel operations (the scenario DSL): compiled for the hot path (accesses
 * resolved to area ids and pages), then run one operation per step. Each operation either completes
 * in the step (an access that hits, a compute, a signal) or pushes the kernel path that implements
 * it (a mapping, a vfree, a fork) as frames.
 */
import type { AccessType, Op, Target } from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import { type Area, type HartExec, PAGE, SimulationError } from '../engine/types.js';
import { PAGE_KERNEL, PAGE_KERNEL_EXEC } from '../hw/pte.js';
import { FAULT_PROTECTION, OK } from '../sim/hardware.js';
import { USER_BASE_VPN } from '../sim/kernel-mm.js';
import { AccessFrame } from './access.js';
import { archFlushIcacheAll } from './mm/arch-flush.js';
import { SetMemoryFrame } from './mm/set-memory.js';
import { MapFrame, UnmapFrame } from './mm/vmap.js';

const ACCESS_TYPES: readonly AccessType[] = ['read', 'write', 'execute'];

/** Distinct access ops `compile` remembers while it looks for the period of a repeated body. */
const SEEN_MAX = 4096;

/** Expand `repeat` ops. A program without one is its own expansion and is returned as it is, not
 *  copied: an unrolled program of a million accesses would otherwise be held twice (issue 13,
 *  memory; programs are read-only once built). */
export function flatten(ops: readonly Op[]): readonly Op[] {
  // A plain loop: a `some` callback per op is ~10 ns on a 2 M-op program (inside the timed boot).
  let hasRepeat = false;
  for (let i = 0; i < ops.length; i++) {
    if (ops[i]!.op === 'repeat') {
      hasRepeat = true;
      break;
    }
  }
  if (!hasRepeat) return ops;
  const out: Op[] = [];
  const walk = (list: readonly Op[]) => {
    for (const op of list) {
      if (op.op === 'repeat') for (let i = 0; i < op.times; i++) walk(op.body);
      else out.push(op);
    }
  };
  walk(ops);
  return out;
}

export class ProgramRunner {
  /** Flags set by `signal` ops, with the cycle each became visible. */
  readonly flags = new Map<string, number>();
  private readonly taskSize: number;
  constructor(private readonly sim: Simulator) {
    this.taskSize = sim.layout.taskSize;
  }

  /**
   * Compile a hart's access ops for the hot path: each access op gets a row (target resolved to an
   * area id and page, type and flags as bits; see `HartExec.code`). Scenario builders repeat the
   * same op objects (a loop body pushed once per round): an op that is the same object as the op
   * `period` places back shares that op's row, since the same op compiles to the same values. The
   * period is learnt from the last index each fully compiled op was seen at. On the bench's 2 M-op
   * programs this keeps the compile (part of every boot) to one Int32Array write per op.
   */
  compile(h: HartExec): void {
    const sim = this.sim;
    const p = h.program;
    const spec = sim.machine.speculation;
    const nearEndFrom = spec === null ? Number.POSITIVE_INFINITY : PAGE - spec.runAhead.nearEndBytes;
    const code = new Int32Array(p.length);
    let cap = 16;
    let rowArea = new Int32Array(cap);
    let rowPage = new Float64Array(cap);
    let rowBits = new Uint8Array(cap);
    // Row 0 means "not a compiled access".
    let rows = 1;
    // Bounded: a program of distinct op objects stops learning (and paying for the map) early.
    let seen: Map<Op, number> | null = new Map<Op, number>();
    let period = 0;
    // The last area name resolved (programs touch one area many times in a row).
    let lastName: string | null = null;
    let lastId = -1;
    for (let i = 0; i < p.length; i++) {
      const op = p[i]!;
      if (op.op !== 'access') continue;
      const j = i - period;
      if (period > 0 && j >= 0 && p[j] === op) {
        code[i] = code[j]!;
        continue;
      }
      if (seen !== null) {
        const before = seen.get(op);
        seen.set(op, i);
        if (before !== undefined) {
          period = i - before;
          code[i] = code[before]!;
          continue;
        }
        if (seen.size >= SEEN_MAX) seen = null;
      }
      const t = op.target;
      const offset = t.offset ?? 0;
      const bits =
        (op.type === 'read' ? 0 : op.type === 'write' ? 1 : 2) |
        (op.nofault === true ? 4 : 0) |
        (offset % PAGE >= nearEndFrom ? 8 : 0);
      const page = (t.page ?? 0) + Math.floor(offset / PAGE);
      let area = -1;
      let at = page;
      if ('area' in t) {
        if (t.area !== lastName) {
          lastName = t.area;
          lastId = sim.areas.id(t.area);
        }
        area = lastId;
      } else at = this.regionVpn(t.region) + page;
      if (rows === cap) {
        cap *= 2;
        const a = new Int32Array(cap);
        a.set(rowArea);
        rowArea = a;
        const b = new Float64Array(cap);
        b.set(rowPage);
        rowPage = b;
        const c = new Uint8Array(cap);
        c.set(rowBits);
        rowBits = c;
      }
      rowArea[rows] = area;
      rowPage[rows] = at;
      rowBits[rows] = bits;
      code[i] = rows++;
    }
    h.code = code;
    h.rowArea = rowArea;
    h.rowPage = rowPage;
    h.rowBits = rowBits;
  }

  private regionVpn(r: 'direct-map' | 'kernel-rodata' | 'kernel-data' | 'user'): number {
    switch (r) {
      case 'direct-map':
        return this.sim.layout.directMap.start;
      case 'kernel-rodata':
        return this.sim.mm.rodata.start;
      case 'kernel-data':
        return this.sim.mm.data.start;
      case 'user':
        return USER_BASE_VPN;
    }
  }

  /** VPN of program op `i`'s access target, or -1 if its area is not reserved yet. */
  opVpn(h: HartExec, i: number): number {
    const row = h.code[i]!;
    const id = h.rowArea[row]!;
    if (id < 0) return h.rowPage[row]!;
    const a = this.sim.areas.list[id];
    return a && a.start >= 0 ? a.start + h.rowPage[row]! : -1;
  }

  /** Run the hart's next program operation (or finish its wait on a flag). */
  runOp(h: HartExec): void {
    // Small enough to inline into the step loop: the compiled access is the hot path.
    if (h.waitingFlag === null && h.code[h.pc]! > 0) this.runAccess(h);
    else this.runOther(h);
  }

  /** A compiled access op. */
  private runAccess(h: HartExec): void {
    const pc = h.pc;
    const vpn = this.opVpn(h, pc);
    if (vpn < 0)
      throw new SimulationError(
        `access to ${JSON.stringify((h.program[pc] as { target: Target }).target)} before its area exists`,
      );
    h.pc = pc + 1;
    const bits = h.rowBits[h.code[pc]!]!;
    h.nearEndVpn = (bits & 8) !== 0 ? vpn : -1;
    this.programAccess(h, vpn, bits & 3, (bits & 4) !== 0, 'access');
  }

  /** Every other op (and the end of a wait on a flag). */
  private runOther(h: HartExec): void {
    const sim = this.sim;
    if (h.waitingFlag !== null) {
      // The flag is set (the engine released this hart): the spin ended when it became visible.
      this.endSpin(h, this.flags.get(h.waitingFlag)!);
      h.waitingFlag = null;
      h.pc++;
      return;
    }
    const op = h.program[h.pc]!;
    const costs = sim.machine.costs;
    switch (op.op) {
      case 'access':
        return;
      case 'stream': {
        const area = sim.areas.area(op.area);
        const from = op.fromPage ?? 0;
        const pages = op.pages ?? area.pages - from;
        // A stream is one access per page per step, each running to the page's end.
        const i = h.streamPos;
        const vpn = area.start + from + i;
        h.nearEndVpn = vpn;
        if (i + 1 >= pages) {
          h.pc++;
          h.streamPos = 0;
        } else h.streamPos = i + 1;
        this.programAccess(h, vpn, op.type === 'read' ? 0 : 1, false, 'stream');
        return;
      }
      case 'map': {
        h.pc++;
        const region = op.kind === 'module' && sim.layout.geometry.is64 ? 'modules' : 'vmalloc';
        const area: Area = {
          name: op.area,
          kind: op.kind,
          region,
          start: -1,
          pages: op.pages,
          mapped: false,
          freed: false,
          clearTick: 0,
          align: op.align ?? 1,
        };
        const align = op.align ?? 1;
        if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
          throw new SimulationError(`map '${op.area}': align ${align} is not a power of two`);
        }
        // Module memory: riscv's module_alloc()/execmem pass VM_FLUSH_RESET_PERMS; with
        // CONFIG_STRICT_MODULE_RWX it is PAGE_KERNEL (no X) until complete_formation()'s rox pass.
        if (op.kind === 'module') area.resetPerms = true;
        const flags =
          op.kind === 'module' && op.exec && !sim.kernel.strictModuleRwx ? PAGE_KERNEL_EXEC : PAGE_KERNEL;
        h.frames.push(new MapFrame(area, flags));
        return;
      }
      case 'vfree': {
        h.pc++;
        h.frames.push(new UnmapFrame(sim.areas.area(op.area)));
        return;
      }
      case 'set-memory-ro': {
        h.pc++;
        const a = sim.areas.area(op.area);
        h.frames.push(new SetMemoryFrame(a, 'ro', 0, a.pages, 'set_memory_ro'));
        return;
      }
      case 'set-memory': {
        h.pc++;
        const a = sim.areas.area(op.area);
        const from = op.fromPage ?? 0;
        const pages = op.pages ?? a.pages - from;
        if (from < 0 || pages < 0 || from + pages > a.pages)
          throw new SimulationError(
            `set-memory '${op.area}': pages ${from}..${from + pages} outside the area`,
          );
        if (op.resetPerms) a.resetPerms = true;
        h.frames.push(new SetMemoryFrame(a, op.prot, from, pages, `set_memory_${op.prot}`));
        return;
      }
      case 'module-finalize': {
        h.pc++;
        const a = sim.areas.area(op.area);
        const text = Math.min(op.textPages ?? a.pages, a.pages);
        // Frames run last-pushed first: flush_module_icache() (post_relocation), then
        // complete_formation(): module_enable_data_nx(), module_enable_text_rox().
        if (sim.kernel.strictModuleRwx) {
          if (text > 0) h.frames.push(new SetMemoryFrame(a, 'rox', 0, text, 'module_enable_text_rox'));
          if (op.data !== undefined) {
            const d = sim.areas.area(op.data);
            h.frames.push(new SetMemoryFrame(d, 'nx', 0, d.pages, 'module_enable_data_nx'));
          }
          if (text < a.pages)
            h.frames.push(new SetMemoryFrame(a, 'nx', text, a.pages - text, 'module_enable_data_nx'));
        }
        archFlushIcacheAll(sim, h, `flush_module_icache(${a.name})`);
        return;
      }
      case 'exit': {
        h.pc++;
        sim.tasks.exit(h, op);
        return;
      }
      case 'switch-mm': {
        h.pc++;
        sim.addressSpaces.switchMm(h, op.mm);
        return;
      }
      case 'spawn': {
        h.pc++;
        sim.tasks.spawn(h, op);
        return;
      }
      case 'switch-to': {
        h.pc++;
        sim.tasks.switchTo(h, op);
        return;
      }
      case 'irq':
        h.pc++;
        h.irqEnabled = op.enable;
        sim.trace(h, 'op', op.enable ? 'local_irq_enable()' : 'local_irq_disable()');
        return;
      case 'signal':
        h.pc++;
        h.hw.clock += costs.bitmapWordStore;
        if (!this.flags.has(op.flag)) {
          this.flags.set(op.flag, h.hw.clock);
          // The harts spinning on it can go on.
          for (const w of sim.harts) if (w.waitingFlag === op.flag) sim.touch(w.hw.id);
        }
        if (sim.tracing) sim.trace(h, 'op', `signal '${op.flag}'`);
        return;
      case 'wait': {
        const set = this.flags.get(op.flag);
        if (set !== undefined) {
          h.pc++;
          this.endSpin(h, set);
        } else {
          h.waitingFlag = op.flag;
          if (sim.tracing) sim.trace(h, 'op', `wait for '${op.flag}'`);
        }
        return;
      }
      case 'compute':
        h.pc++;
        h.hw.clock += op.cycles;
        return;
      case 'tracing':
        h.pc++;
        sim.ftrace.setEnabled(h, op.enable);
        return;
      case 'fentry': {
        h.pc++;
        if (op.detach) sim.ftrace.detach(h, op.fn);
        else {
          if (op.image === undefined) throw new SimulationError(`fentry ${op.fn}: needs the program's image`);
          sim.ftrace.attach(
            h,
            op.fn,
            sim.areas.area(op.image),
            op.map === undefined ? null : sim.areas.area(op.map),
          );
        }
        return;
      }
      case 'repeat':
        throw new SimulationError('repeat must be flattened');
    }
  }

  /** A spin on a flag ends once the flag is visible (at cycle `set`) and the hart has seen it. */
  private endSpin(h: HartExec, set: number): void {
    if (set > h.hw.clock) h.hw.clock = set;
    h.hw.clock += this.sim.machine.costs.spin;
  }

  /**
   * A program access, run in this step. The common case (it completes) allocates nothing; only a
   * fault creates the frame that the trap returns to and replays.
   */
  programAccess(h: HartExec, vpn: number, typeCode: number, nofault: boolean, what: string): void {
    const sim = this.sim;
    const hw = sim.hw;
    hw.vpnReg[0] = vpn;
    const r = hw.accessReg(h.hw, typeCode);
    if (r === OK) {
      if (sim.vmap.published.size !== 0) sim.vmap.checkStale(h, vpn);
      if (vpn >= this.taskSize) sim.speculation.noteKernelVpn(vpn);
      if (sim.tracing) sim.trace(h, 'access', `${what}: ${ACCESS_TYPES[typeCode]} ${sim.va(vpn)} ok`);
      sim.quiet = true;
      return;
    }
    const frame = new AccessFrame(vpn, ACCESS_TYPES[typeCode]!, true, nofault, what);
    frame.faults = 1;
    h.frames.push(frame);
    sim.trapPath.pageFault(h, frame, r === FAULT_PROTECTION);
  }
}
