/**
 * The kernel half of the machine and the scheduler (machine-model sections 1, 6, 7, 10, 11):
 * harts run programs of kernel operations; kernel primitives (vmalloc & co, vfree with lazy purge,
 * set_memory_ro, task stacks, the tracer's ring buffers) are modelled on Linux; page faults run the
 * trap path stage by stage with the strategy's slots plugged in; cross-hart calls go by IPI or SBI.
 *
 * Execution model: each hart has a stack of *frames* (an access, a trap, a mapping, a cross-call
 * ...). One scheduler step runs one stage of the top frame of one hart. Slots run synchronously
 * inside a stage; their queued calls become frames pushed on top, so the kernel path that called
 * the slot continues only when they are done — as the C code after the call would.
 */
import { formatVa, isKernelVpn, type Layout } from '../addr.js';
import type { Chooser } from '../choice.js';
import type {
  AccessType,
  FenceForm,
  HartMask,
  InitMmWalk,
  IpiContext,
  KernelContext,
  KernelRange,
  Op,
  StrategySlots,
  Target,
  Trap,
  TrapCause,
} from '../contracts.js';
import { PAGE_KERNEL, PAGE_KERNEL_EXEC, PAGE_KERNEL_READ, PTE_R, PTE_W, PTE_X } from '../hw/pte.js';
import type { KernelConfig } from '../kernel-config.js';
import type { MachineConfig } from '../profiles.js';
import type { Outcome, RunFailure, TraceEvent, TraceKind } from '../results.js';
import { FAULT_PROTECTION, Hardware, type HartHw, OK, permits } from './hardware.js';
import { type InitMmLeaf, KernelMm, USER_BASE_VPN } from './kernel-mm.js';
import { M } from './metrics.js';

export const PAGE = 4096;
const ACCESS_TYPES: readonly AccessType[] = ['read', 'write', 'execute'];

/** A composed strategy set as the simulator consumes it. */
export interface ComposedStrategy {
  readonly slots: StrategySlots;
  /** Which member provided each slot (for `strategy-error` messages). */
  readonly slotOwner: Partial<Record<keyof StrategySlots, string>>;
  readonly notrace: ReadonlySet<string>;
  /** Kernel function name of the kernelFault slot if it is a real (traceable) function. */
  readonly kernelFaultFn: string | null;
}

/** A run ended (thrown through the step loop; caught by `run`). */
class RunEnd {
  constructor(
    readonly outcome: Outcome,
    readonly failure: RunFailure | null,
  ) {}
}

/** A scenario or strategy used the API wrongly (not a machine outcome). */
export class SimulationError extends Error {
  override name = 'SimulationError';
}

interface Area {
  readonly name: string;
  readonly kind: KernelRange['kind'] | 'vfree';
  readonly region: 'vmalloc' | 'modules';
  start: number;
  pages: number;
  /** Reserved (alloc_vmap_area done), PTEs not yet all stored. */
  mapped: boolean;
  freed: boolean;
  /** Tick of the PTE clears (for stale-access once published). */
  clearTick: number;
  /** Alignment of the start, in pages. */
  align?: number;
}

interface Task {
  readonly name: string;
  stack: Area | null;
  stackBase: number;
  stackPages: number;
  /** Stack pointer as a byte offset above `stackBase` (top = stackPages * PAGE). */
  sp: number;
}

interface CrossCall {
  pending: number;
  doneCycle: number;
  readonly fn: (t: IpiContext) => void;
  readonly owner: string;
}

interface IpiRequest {
  readonly call: CrossCall;
  readonly sentAt: number;
}

interface FwRequest {
  readonly call: FwCall;
  readonly sentAt: number;
}

interface FwCall {
  pending: number;
  doneCycle: number;
  readonly form: FenceForm;
  readonly range: { start: number; end: number } | null;
  readonly threshold: number;
}

/** Per-hart execution state. */
interface HartExec {
  readonly hw: HartHw;
  readonly program: readonly Op[];
  /** The program compiled for the hot path: per op, 1 = access, 0 = anything else; the target as
   *  an interned area id (-1 = a fixed region) and a page (within the area, or an absolute VPN). */
  readonly code: Uint8Array;
  readonly tArea: Int32Array;
  readonly tPage: Float64Array;
  /** Access type (0 read, 1 write, 2 execute), nofault flag, and whether the access reaches its
   *  page's end (a run-ahead source). */
  readonly tType: Uint8Array;
  readonly tNofault: Uint8Array;
  readonly tNearEnd: Uint8Array;
  pc: number;
  readonly frames: Frame[];
  irqEnabled: boolean;
  /** Traps in their first stages (before do_page_fault re-enables interrupts). */
  irqOffDepth: number;
  readonly ipiInbox: IpiRequest[];
  readonly fwInbox: FwRequest[];
  task: Task;
  trapDepth: number;
  waitingFlag: string | null;
  /** Last page of a sequential stream whose end was reached (run-ahead source), or -1. */
  nearEndVpn: number;
  /** Page index within the current `stream` op. */
  streamPos: number;
  /** The tracer's ring buffer of this hart (vmalloc'd on first use). */
  traceBuffer: Area | null;
  traceBufferAllocating: boolean;
  traceEntries: number;
  ctx: KernelContextImpl;
  ipiCtx: IpiContext;
}

// -------------------------------------------------------------------------------------------
// Frames

interface Frame {
  /** Run one stage. */
  run(sim: Simulator, h: HartExec): void;
  /** True while it cannot make progress (waiting on other harts). */
  blocked(sim: Simulator, h: HartExec): boolean;
}

/** A memory access through the TLB. Program accesses reset the livelock counter on success. */
class AccessFrame implements Frame {
  faults = 0;
  fixedUp = false;
  constructor(
    readonly vpn: number,
    readonly type: AccessType,
    readonly program: boolean,
    readonly nofault: boolean,
    readonly what: string,
    readonly onDone: ((sim: Simulator, h: HartExec, ok: boolean) => void) | null = null,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    if (this.fixedUp) {
      h.frames.pop();
      sim.trace(
        h,
        'access',
        `${this.what}: ${this.type} ${sim.va(this.vpn)} -> -EFAULT (exception-table fixup)`,
      );
      this.onDone?.(sim, h, false);
      return;
    }
    const r = sim.hw.access(h.hw, this.vpn, this.type);
    if (r === OK) {
      sim.checkStale(h, this.vpn);
      if (this.program) sim.noteKernelVpn(this.vpn);
      h.frames.pop();
      if (sim.tracing) sim.trace(h, 'access', `${this.what}: ${this.type} ${sim.va(this.vpn)} ok`);
      this.onDone?.(sim, h, true);
      return;
    }
    this.faults++;
    sim.pageFault(h, this, r === FAULT_PROTECTION);
  }
  blocked(): boolean {
    return false;
  }
}

enum TrapStage {
  Entry,
  Save,
  DoPageFault,
  HandlePageFault,
  Dispatch,
  KernelFault,
  AfterKernelFault,
  NoContext,
}

/** The trap path of one page fault (machine-model section 7). */
class TrapFrame implements Frame {
  stage = TrapStage.Entry;
  readonly spAtEntry: number;
  handled = false;
  /** Interrupts are off from trap entry until do_page_fault re-enables them. */
  irqOff = true;
  constructor(
    readonly trap: Trap,
    readonly access: AccessFrame,
    h: HartExec,
  ) {
    this.spAtEntry = h.task.sp;
  }
  run(sim: Simulator, h: HartExec): void {
    sim.trapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** A kernel mapping path: alloc_vmap_area, vmap_pages_range (tables + PTEs), flush_cache_vmap. */
class MapFrame implements Frame {
  stage = 0;
  startClock = 0;
  constructor(
    readonly area: Area,
    readonly flags: number,
    readonly onDone: ((sim: Simulator, h: HartExec) => void) | null = null,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    sim.mapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** vfree / set_memory_ro: PTE changes, then flush_tlb_kernel_range, then publish. */
class UnmapFrame implements Frame {
  stage = 0;
  purge: Area[] = [];
  constructor(
    readonly area: Area,
    readonly kind: 'vfree' | 'set-memory-ro',
  ) {}
  run(sim: Simulator, h: HartExec): void {
    sim.unmapStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** on_each_cpu_mask(mask, fn, wait=1) on the sender. */
class CrossCallFrame implements Frame {
  sent = false;
  readonly call: CrossCall;
  constructor(
    readonly targets: readonly number[],
    fn: (t: IpiContext) => void,
    owner: string,
  ) {
    this.call = { pending: 0, doneCycle: 0, fn, owner };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.crossCallStage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
  }
}

/** sbi_remote_sfence_vma on the sender. */
class SbiFenceFrame implements Frame {
  sent = false;
  readonly call: FwCall;
  constructor(
    readonly targets: readonly number[],
    form: FenceForm,
    range: { start: number; end: number } | null,
    threshold: number,
  ) {
    this.call = { pending: 0, doneCycle: 0, form, range, threshold };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.sbiStage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
  }
}

/** A call to a traceable kernel function: the tracer on entry (unless notrace), then the body. */
class CallFrame implements Frame {
  stage = 0;
  constructor(
    readonly fnName: string,
    readonly body: (h: HartExec) => void,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    if (this.stage === 0) {
      this.stage = 1;
      sim.enterTraceable(h, this.fnName);
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
class TracerFrame implements Frame {
  stage = 0;
  constructor(readonly fnName: string) {}
  run(sim: Simulator, h: HartExec): void {
    sim.tracerStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

// -------------------------------------------------------------------------------------------

/** The `ctx` slots get: bound to one hart, created once per hart. */
class KernelContextImpl implements KernelContext {
  readonly hart: number;
  /** Actions queued by the slot running now (null outside a slot). */
  queue: Frame[] | null = null;
  private readonly leaf: InitMmLeaf = { present: false, level: 0, flags: 0 };
  constructor(
    private readonly sim: Simulator,
    private readonly h: HartExec,
  ) {
    this.hart = h.hw.id;
  }
  get harts() {
    return this.sim.harts.length;
  }
  get mode() {
    return this.sim.layout.mode;
  }
  get layout() {
    return this.sim.layout;
  }
  get kernel() {
    return this.sim.kernel;
  }
  get svvptc() {
    return this.sim.machine.svvptc;
  }
  get step() {
    return this.sim.hw.step;
  }
  localSfence(form: FenceForm, vpn?: number, asid = this.h.hw.asid): void {
    this.sim.fence(this.h, form, this.sim.checkFence(form, vpn, asid), asid, 'local');
  }
  walkInitMm(vpn: number): InitMmWalk {
    const read = this.sim.mm.walkNewest(this.sim.mm.initMm, vpn, this.leaf);
    this.h.hw.clock += read * this.sim.machine.costs.walkLevelMemory;
    const f = this.leaf.flags;
    return {
      present: this.leaf.present,
      level: this.leaf.level,
      r: (f & PTE_R) !== 0,
      w: (f & PTE_W) !== 0,
      x: (f & PTE_X) !== 0,
      global: (f & 0x20) !== 0,
    };
  }
  copyPgdEntry(vpn: number): boolean {
    this.h.hw.clock += this.sim.machine.costs.walkLevelMemory;
    return this.sim.mm.copyPgdEntry(this.h.hw.rootTable, vpn);
  }
  private enqueue(f: Frame): void {
    if (this.queue === null) throw new SimulationError('queued kernel calls are only allowed inside a slot');
    this.queue.push(f);
  }
  flushTlbAll(opts?: { transport?: 'ipi' | 'sbi' }): void {
    const all = this.sim.allHarts;
    if (opts?.transport === 'sbi') this.enqueue(new SbiFenceFrame(all, 'all', null, 0));
    else this.enqueue(new CrossCallFrame(all, (t) => t.localSfence('all'), 'flush_tlb_all'));
  }
  flushTlbRange(
    range: { start: number; end: number },
    opts: { threshold: number; transport?: 'ipi' | 'sbi' },
  ): void {
    const all = this.sim.allHarts;
    const pages = range.end - range.start;
    const threshold = opts.threshold;
    if (opts.transport === 'sbi') {
      this.enqueue(new SbiFenceFrame(all, pages > threshold ? 'all' : 'va', range, threshold));
      return;
    }
    // 5e22bfd520ea: local_flush_tlb_range_threshold_asid() on every target.
    const fn = (t: IpiContext) => {
      if (pages > threshold) t.localSfence('all');
      else for (let v = range.start; v < range.end; v++) t.localSfence('va', v);
    };
    if (all.length === 1) {
      fn(this);
      return;
    }
    this.enqueue(new CrossCallFrame(all, fn, 'flush_tlb_kernel_range'));
  }
  onEachCpu(mask: HartMask, fn: (t: IpiContext) => void): void {
    this.enqueue(new CrossCallFrame(this.sim.resolveMask(mask, this.hart), fn, 'on_each_cpu_mask'));
  }
  sbiRemoteFence(mask: HartMask, form: FenceForm, range?: { start: number; end: number }): void {
    this.enqueue(
      new SbiFenceFrame(this.sim.resolveMask(mask, this.hart), form, range ?? null, Number.POSITIVE_INFINITY),
    );
  }
  call(fnName: string, body: (ctx: KernelContext) => void): void {
    this.enqueue(
      new CallFrame(fnName, (h) => {
        this.sim.runSlotBody(h, `call(${fnName})`, () => body(h.ctx));
      }),
    );
  }
}

// -------------------------------------------------------------------------------------------

export interface SimulatorInput {
  readonly machine: MachineConfig;
  readonly kernel: KernelConfig;
  readonly layout: Layout;
  readonly harts: number;
  readonly programs: readonly (readonly Op[])[];
  readonly userPages: number;
  readonly strategy: ComposedStrategy;
  readonly chooser: Chooser;
  readonly counters: Float64Array;
  readonly trace: boolean;
}

export class Simulator {
  readonly hw: Hardware;
  readonly mm: KernelMm;
  readonly machine: MachineConfig;
  readonly kernel: KernelConfig;
  readonly layout: Layout;
  readonly harts: HartExec[] = [];
  readonly allHarts: readonly number[];
  readonly strategy: ComposedStrategy;
  readonly chooser: Chooser;
  readonly c: Float64Array;
  readonly tracing: boolean;
  readonly events: TraceEvent[] = [];
  readonly mappingLatencies: number[] = [];
  /** Areas by interned id (names are interned when programs are compiled or areas created). */
  private readonly areaIds = new Map<string, number>();
  private readonly areaList: (Area | null)[] = [];
  private readonly tasks = new Map<string, Task>();
  private readonly flags = new Set<string>();
  /** Lazily freed areas waiting for the purge flush. */
  private lazy: Area[] = [];
  private lazyPages = 0;
  /** VPN -> tick of a removal published by a finished unmap flush. */
  private readonly published = new Map<number, number>();
  /** Recently used kernel VPNs (source of mispredicted pointers). */
  private readonly recent = new Float64Array(32);
  private recentCount = 0;
  private recentHead = 0;
  private readonly runnable: Int32Array;
  private tracerOn: boolean;
  private readonly leaf: InitMmLeaf = { present: false, level: 0, flags: 0 };
  private readonly stepLimit: number;

  constructor(input: SimulatorInput) {
    this.machine = input.machine;
    this.kernel = input.kernel;
    this.layout = input.layout;
    this.strategy = input.strategy;
    this.chooser = input.chooser;
    this.c = input.counters;
    this.tracing = input.trace;
    this.stepLimit = input.kernel.stepLimit;
    this.taskSize = input.layout.taskSize;
    this.hw = new Hardware(input.machine, input.layout, input.harts, input.chooser, input.counters);
    this.mm = new KernelMm(this.hw, input.kernel);
    this.allHarts = Array.from({ length: input.harts }, (_, i) => i);
    this.runnable = new Int32Array(input.harts);
    this.tracerOn = input.kernel.tracing;
    const spec = input.machine.speculation;
    if (spec !== null) {
      this.speculative = true;
      this.pLookahead = spec.lookahead.p;
      // No pages to run ahead to: the source never fires.
      this.pRunAhead = spec.runAhead.maxPages > 0 ? spec.runAhead.p : 0;
      this.lookaheadWindow = spec.lookahead.window;
      this.runAheadPages = spec.runAhead.maxPages;
      this.wildSpread = spec.wild.spread;
      this.pWild = spec.wild.p;
    }
    // Boot: the idle tasks' stacks first (on init_mm), then one process per hart whose root copies
    // init_mm's kernel half as it is after boot (pgd_alloc), so without PGD pre-allocation every
    // root still has the entries covering the boot stacks.
    const bootTasks = Array.from({ length: input.harts }, (_, i) => this.bootTask(`swapper/${i}`));
    for (let i = 0; i < input.harts; i++) {
      const hw = this.hw.harts[i]!;
      hw.rootTable = this.mm.newProcessRoot();
      hw.asid = i + 1;
      this.mm.mapUserPages(hw.rootTable, input.userPages);
      const task = bootTasks[i]!;
      const program = flatten(input.programs[i] ?? []);
      const h: HartExec = {
        hw,
        program,
        code: new Uint8Array(program.length),
        tArea: new Int32Array(program.length),
        tPage: new Float64Array(program.length),
        tType: new Uint8Array(program.length),
        tNofault: new Uint8Array(program.length),
        tNearEnd: new Uint8Array(program.length),
        pc: 0,
        frames: [],
        irqEnabled: true,
        irqOffDepth: 0,
        ipiInbox: [],
        fwInbox: [],
        task,
        trapDepth: 0,
        waitingFlag: null,
        nearEndVpn: -1,
        streamPos: 0,
        traceBuffer: null,
        traceBufferAllocating: false,
        traceEntries: 0,
        ctx: undefined as unknown as KernelContextImpl,
        ipiCtx: undefined as unknown as IpiContext,
      };
      this.compile(h);
      h.ctx = new KernelContextImpl(this, h);
      h.ipiCtx = {
        hart: i,
        localSfence: (form, vpn, asid = hw.asid) =>
          this.fence(h, form, this.checkFence(form, vpn, asid), asid, this.ipiOrigin),
      };
      this.harts.push(h);
    }
    if (this.tracerOn)
      for (const h of this.harts)
        h.traceBuffer = this.bootArea(`ftrace/${h.hw.id}`, this.kernel.traceBufferPages, 'ftrace');
    // Boot is over: every hart starts with empty translation caches and a full fence behind every
    // boot-time PTE store (secondary harts run `local_flush_tlb_all()` as they come up).
    this.hw.step = 1;
    const bootTick = this.hw.nextTick();
    for (const hw of this.hw.harts) hw.lastFullFence = bootTick;
  }

  /** Fence origin for IPI callbacks: `local` when the sender runs its own callback. */
  private ipiOrigin: 'local' | 'ipi' = 'ipi';

  private bootArea(name: string, pages: number, kind: KernelRange['kind']): Area {
    const start = this.mm.allocVa('vmalloc', pages, this.kernel.guardPages);
    if (start < 0) throw new SimulationError('vmalloc space exhausted at boot');
    for (let i = 0; i < pages; i++)
      this.mm.setLeaf(this.mm.initMm, start + i, 0, PAGE_KERNEL, this.mm.allocPage(), true);
    const area: Area = {
      name,
      kind,
      region: 'vmalloc',
      start,
      pages,
      mapped: true,
      freed: false,
      clearTick: 0,
    };
    this.setArea(area);
    return area;
  }

  private bootTask(name: string): Task {
    const pages = this.kernel.stackPages;
    if (this.kernel.vmapStack && this.layout.geometry.is64) {
      const area = this.bootArea(`stack:${name}`, pages, 'stack');
      return { name, stack: area, stackBase: area.start, stackPages: pages, sp: pages * PAGE - 512 };
    }
    const base = this.mm.allocDirectMapPages(pages);
    return { name, stack: null, stackBase: base, stackPages: pages, sp: pages * PAGE - 512 };
  }

  va(vpn: number, offset = 0): string {
    return formatVa(vpn, offset, this.layout.mode);
  }

  // -----------------------------------------------------------------------------------------
  // The step loop

  run(): { outcome: Outcome; failure: RunFailure | null } {
    const hw = this.hw;
    const harts = this.harts;
    const runnable = this.runnable;
    const chooser = this.chooser;
    const limit = this.stepLimit;
    try {
      for (;;) {
        if (hw.step > limit) {
          throw new RunEnd('step-limit', {
            hart: -1,
            step: hw.step,
            message: `the run exceeded its budget of ${limit} steps`,
          });
        }
        if (this.dirty) {
          // Recompute who can run only after a step that could have changed it (a plain
          // successful access cannot): keeps the common step O(1) in the hart count.
          let n = 0;
          for (let i = 0; i < harts.length; i++) if (this.canRun(harts[i]!)) runnable[n++] = i;
          this.runnableCount = n;
          this.dirty = false;
        }
        const n = this.runnableCount;
        if (n === 0) {
          let live = 0;
          for (const h of harts) if (h.frames.length > 0 || h.pc < h.program.length) live++;
          if (live === 0) return { outcome: 'ok', failure: null };
          throw new RunEnd('deadlock', {
            hart: -1,
            step: hw.step,
            message: `every live hart waits on another (${harts
              .filter((h) => h.frames.length > 0 || h.pc < h.program.length)
              .map((h) => `hart ${h.hw.id}: ${this.waitReason(h)}`)
              .join('; ')})`,
          });
        }
        this.stepHart(harts[n === 1 ? runnable[0]! : runnable[chooser.choose('schedule', n)]!]!);
        hw.step++;
      }
    } catch (e) {
      if (e instanceof RunEnd) {
        if (this.tracing)
          this.traceRaw(e.failure?.hart ?? -1, 'outcome', `${e.outcome}: ${e.failure?.message ?? ''}`);
        return { outcome: e.outcome, failure: e.failure };
      }
      throw e;
    }
  }

  private waitReason(h: HartExec): string {
    if (h.waitingFlag !== null) return `waits for flag '${h.waitingFlag}'`;
    const top = h.frames[h.frames.length - 1];
    if (top instanceof CrossCallFrame)
      return `waits for ${top.call.pending} IPI acknowledgement(s)${h.irqEnabled ? '' : ' with interrupts off'}`;
    if (top instanceof SbiFenceFrame) return `waits in firmware for ${top.call.pending} remote fence(s)`;
    return h.irqEnabled ? 'blocked' : 'blocked with interrupts off';
  }

  private deliverable(h: HartExec): boolean {
    return h.ipiInbox.length > 0 && h.irqEnabled && h.irqOffDepth === 0;
  }

  private canRun(h: HartExec): boolean {
    if (h.fwInbox.length > 0 || this.deliverable(h)) return true;
    const top = h.frames[h.frames.length - 1];
    if (top !== undefined) return !top.blocked(this, h);
    if (h.pc >= h.program.length) return false;
    if (h.waitingFlag !== null) return this.flags.has(h.waitingFlag);
    return true;
  }

  private readonly taskSize: number;

  /** The hart running the current step (bitmap operations charge it). */
  currentHart = 0;

  /** Set by the one step kind that changes no hart's runnability: a program access that completed. */
  private quiet = false;
  private dirty = true;
  private runnableCount = 0;

  private stepHart(h: HartExec): void {
    const id = h.hw.id;
    this.currentHart = id;
    this.hw.currentHart = id;
    this.quiet = false;
    if (h.fwInbox.length > 0) {
      this.firmwareFence(h);
    } else if (h.ipiInbox.length > 0 && h.irqEnabled && h.irqOffDepth === 0) {
      this.handleIpi(h);
    } else {
      const frames = h.frames;
      if (frames.length > 0) frames[frames.length - 1]!.run(this, h);
      else this.runOp(h);
    }
    if (!this.quiet || h.pc >= h.program.length) this.dirty = true;
    if (this.speculative) this.speculate(h);
  }

  // -----------------------------------------------------------------------------------------
  // Program operations

  private runOp(h: HartExec): void {
    if (h.waitingFlag !== null) {
      // The flag is set (canRun checked it).
      h.waitingFlag = null;
      h.pc++;
      h.hw.clock += this.machine.costs.spin;
      return;
    }
    const pc = h.pc;
    const op = h.program[pc]!;
    if (h.code[pc] === 1) {
      // The hot path: a compiled access.
      const vpn = this.opVpn(h, pc);
      if (vpn < 0)
        throw new SimulationError(
          `access to ${JSON.stringify((op as { target: Target }).target)} before its area exists`,
        );
      h.pc = pc + 1;
      h.nearEndVpn = h.tNearEnd[pc] === 1 ? vpn : -1;
      this.programAccess(h, vpn, h.tType[pc]!, h.tNofault[pc] === 1, 'access');
      return;
    }
    const costs = this.machine.costs;
    switch (op.op) {
      case 'access':
        return;
      case 'stream': {
        const area = this.area(op.area);
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
        const region = op.kind === 'module' && this.layout.geometry.is64 ? 'modules' : 'vmalloc';
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
        const flags = op.kind === 'module' && op.exec ? PAGE_KERNEL_EXEC : PAGE_KERNEL;
        h.frames.push(new MapFrame(area, flags));
        return;
      }
      case 'vfree': {
        h.pc++;
        h.frames.push(new UnmapFrame(this.area(op.area), 'vfree'));
        return;
      }
      case 'set-memory-ro': {
        h.pc++;
        h.frames.push(new UnmapFrame(this.area(op.area), 'set-memory-ro'));
        return;
      }
      case 'spawn': {
        h.pc++;
        if (this.tasks.has(op.task)) throw new SimulationError(`task '${op.task}' spawned twice`);
        const pages = this.kernel.stackPages;
        if (this.kernel.vmapStack && this.layout.geometry.is64) {
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
            sp: pages * PAGE - this.kernel.trapFrameBytes,
          };
          this.tasks.set(op.task, task);
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
          const base = this.mm.allocDirectMapPages(pages);
          this.tasks.set(op.task, {
            name: op.task,
            stack: null,
            stackBase: base,
            stackPages: pages,
            sp: pages * PAGE - this.kernel.trapFrameBytes,
          });
          h.hw.clock += costs.vmallocBase;
        }
        return;
      }
      case 'switch-to': {
        h.pc++;
        const task = this.tasks.get(op.task);
        if (!task || task.stackBase < 0)
          throw new SimulationError(`switch-to '${op.task}': no such task (spawn it first)`);
        h.hw.clock += costs.contextSwitch;
        h.task = task;
        this.trace(
          h,
          'op',
          `switch_to(${op.task}): sp in ${this.va(task.stackBase + Math.floor(task.sp / PAGE))}`,
        );
        // ret_from_fork / __switch_to return path restores registers from the new stack.
        this.programAccess(
          h,
          task.stackBase + Math.floor(task.sp / PAGE),
          0,
          false,
          `restore from ${op.task}'s stack`,
        );
        return;
      }
      case 'irq':
        h.pc++;
        h.irqEnabled = op.enable;
        this.trace(h, 'op', op.enable ? 'local_irq_enable()' : 'local_irq_disable()');
        return;
      case 'signal':
        h.pc++;
        this.flags.add(op.flag);
        h.hw.clock += costs.bitmapWordStore;
        this.trace(h, 'op', `signal '${op.flag}'`);
        return;
      case 'wait':
        if (this.flags.has(op.flag)) {
          h.pc++;
          h.hw.clock += costs.spin;
        } else {
          h.waitingFlag = op.flag;
          this.trace(h, 'op', `wait for '${op.flag}'`);
        }
        return;
      case 'compute':
        h.pc++;
        h.hw.clock += op.cycles;
        return;
      case 'tracing': {
        h.pc++;
        if (!op.enable) {
          this.tracerOn = false;
          return;
        }
        // Enabling the tracer allocates every hart's ring buffer from this hart (ring_buffer_alloc).
        this.tracerOn = true;
        // Frames run last-pushed first: push in reverse so the buffers are allocated in ascending
        // hart order, as ring_buffer_alloc() walks the CPUs.
        for (let k = this.harts.length - 1; k >= 0; k--) {
          const t = this.harts[k]!;
          if (t.traceBuffer !== null) continue;
          const area = this.newArea(`ftrace/${t.hw.id}`, 'ftrace', this.kernel.traceBufferPages);
          t.traceBufferAllocating = true;
          h.frames.push(
            new MapFrame(area, PAGE_KERNEL, () => {
              t.traceBuffer = area;
              t.traceBufferAllocating = false;
            }),
          );
        }
        return;
      }
      case 'repeat':
        throw new SimulationError('repeat must be flattened');
    }
  }

  /**
   * A program access, run in this step. The common case (it completes) allocates nothing; only a
   * fault creates the frame that the trap returns to and replays.
   */
  private programAccess(h: HartExec, vpn: number, typeCode: number, nofault: boolean, what: string): void {
    const r = this.hw.accessCode(h.hw, vpn, typeCode);
    if (r === OK) {
      if (this.published.size !== 0) this.checkStale(h, vpn);
      if (vpn >= this.taskSize) this.noteKernelVpn(vpn);
      if (this.tracing) this.trace(h, 'access', `${what}: ${ACCESS_TYPES[typeCode]} ${this.va(vpn)} ok`);
      this.quiet = true;
      return;
    }
    const frame = new AccessFrame(vpn, ACCESS_TYPES[typeCode]!, true, nofault, what);
    frame.faults = 1;
    h.frames.push(frame);
    this.pageFault(h, frame, r === FAULT_PROTECTION);
  }

  private newArea(name: string, kind: KernelRange['kind'], pages: number): Area {
    return { name, kind, region: 'vmalloc', start: -1, pages, mapped: false, freed: false, clearTick: 0 };
  }

  private areaId(name: string): number {
    let id = this.areaIds.get(name);
    if (id === undefined) {
      id = this.areaList.length;
      this.areaIds.set(name, id);
      this.areaList.push(null);
    }
    return id;
  }

  private getArea(name: string): Area | null {
    const id = this.areaIds.get(name);
    return id === undefined ? null : this.areaList[id]!;
  }

  private setArea(a: Area): void {
    this.areaList[this.areaId(a.name)] = a;
  }

  private area(name: string): Area {
    const a = this.getArea(name);
    if (!a) throw new SimulationError(`no area named '${name}' (map it before using it)`);
    return a;
  }

  /** Compile a hart's access ops for the hot path (targets resolved to area ids / VPNs). */
  private compile(h: HartExec): void {
    const p = h.program;
    for (let i = 0; i < p.length; i++) {
      const op = p[i]!;
      if (op.op !== 'access') continue;
      h.code[i] = 1;
      h.tType[i] = op.type === 'read' ? 0 : op.type === 'write' ? 1 : 2;
      h.tNofault[i] = op.nofault === true ? 1 : 0;
      const spec = this.machine.speculation;
      h.tNearEnd[i] =
        spec !== null && (op.target.offset ?? 0) % PAGE >= PAGE - spec.runAhead.nearEndBytes ? 1 : 0;
      const t = op.target;
      const page = (t.page ?? 0) + Math.floor((t.offset ?? 0) / PAGE);
      if ('area' in t) {
        h.tArea[i] = this.areaId(t.area);
        h.tPage[i] = page;
      } else {
        h.tArea[i] = -1;
        h.tPage[i] = this.regionVpn(t.region) + page;
      }
    }
  }

  private regionVpn(r: 'direct-map' | 'kernel-rodata' | 'kernel-data' | 'user'): number {
    switch (r) {
      case 'direct-map':
        return this.layout.directMap.start;
      case 'kernel-rodata':
        return this.mm.rodata.start;
      case 'kernel-data':
        return this.mm.data.start;
      case 'user':
        return USER_BASE_VPN;
    }
  }

  /** VPN of program op `i`'s access target, or -1 if its area is not reserved yet. */
  private opVpn(h: HartExec, i: number): number {
    const id = h.tArea[i]!;
    if (id < 0) return h.tPage[i]!;
    const a = this.areaList[id];
    return a && a.start >= 0 ? a.start + h.tPage[i]! : -1;
  }

  noteKernelVpn(vpn: number): void {
    if (vpn < this.layout.taskSize) return;
    this.recent[this.recentHead] = vpn;
    this.recentHead = (this.recentHead + 1) % this.recent.length;
    if (this.recentCount < this.recent.length) this.recentCount++;
  }

  // -----------------------------------------------------------------------------------------
  // Speculation (machine-model section 5). Each decision is a choice.

  private speculate(h: HartExec): void {
    const ch = this.chooser;
    const pc = h.pc;
    const len = h.program.length;
    // Which of the three speculation sources fire this step: one choice.
    const fire = ch.events(
      'speculate',
      pc < len ? this.pLookahead : 0,
      h.nearEndVpn >= 0 ? this.pRunAhead : 0,
      this.recentCount > 0 ? this.pWild : 0,
    );
    if (fire === 0) return;
    if ((fire & 1) !== 0) {
      // Run-ahead execution reaches one of the next `window` ops; if it is an access whose VA is
      // already known (its area reserved), the walk happens.
      const span = Math.min(len - pc, this.lookaheadWindow + 1);
      const vpn = this.upcomingVpn(h, pc + ch.choose('speculate', span));
      if (vpn >= 0) this.specWalk(h, vpn, 'look-ahead');
    }
    if ((fire & 2) !== 0) {
      const d = 1 + ch.choose('speculate', this.runAheadPages);
      this.specWalk(h, h.nearEndVpn + d, 'run-ahead');
    }
    if ((fire & 4) !== 0) {
      const base = this.recent[ch.choose('speculate', this.recentCount)]!;
      const off = ch.choose('speculate', 2 * this.wildSpread + 1) - this.wildSpread;
      this.specWalk(h, base + off, 'wild pointer');
    }
  }

  /** The profile walks speculatively at all. */
  private readonly speculative: boolean = false;
  private readonly pLookahead: number = 0;
  private readonly pRunAhead: number = 0;
  private readonly pWild: number = 0;
  private readonly lookaheadWindow: number = 0;
  private readonly runAheadPages: number = 0;
  private readonly wildSpread: number = 0;

  private upcomingVpn(h: HartExec, i: number): number {
    if (h.code[i] === 1) return this.opVpn(h, i);
    const op = h.program[i]!;
    if (op.op === 'switch-to') {
      const t = this.tasks.get(op.task);
      if (!t || t.stack === null || t.stack.start < 0) return -1;
      return t.stack.start + Math.floor(t.sp / PAGE);
    }
    return -1;
  }

  private specWalk(h: HartExec, vpn: number, why: string): void {
    if (vpn < 0) return;
    if (this.hw.speculate(h.hw, vpn) && this.tracing) {
      const what = this.hw.cachedAfterWalk(h.hw, vpn);
      this.trace(h, 'speculate', `speculative walk (${why}) of ${this.va(vpn)}: ${what}`);
    }
  }

  // -----------------------------------------------------------------------------------------
  // Faults and the trap path

  /** An access faulted: classify, check livelock, start the trap. */
  pageFault(h: HartExec, access: AccessFrame, protection: boolean): void {
    const c = this.c;
    c[M.pageFaults]++;
    const vpn = access.vpn;
    const mapped = this.mappedFor(h, vpn, access.type);
    if (mapped) c[M.spuriousFaults]++;
    else c[M.genuineFaults]++;
    const cause: TrapCause =
      access.type === 'read'
        ? 'load-page-fault'
        : access.type === 'write'
          ? 'store-page-fault'
          : 'instruction-page-fault';
    if (this.tracing) {
      const top = this.layout.geometry.levels - 1;
      const why =
        this.hw.faultText() ??
        (protection
          ? 'protection'
          : this.hw.faultKind === 'negative'
            ? this.hw.wLevel === 0
              ? 'negative TLB entry'
              : `negative level-${this.hw.wLevel} TLB entry`
            : this.hw.wLevel === top && isKernelVpn(this.layout, vpn) && mapped
              ? "walk found V=0 in this root's top-level entry, which init_mm has"
              : `walk found V=0 at level ${this.hw.wLevel}`);
      this.trace(
        h,
        'fault',
        `${cause} at ${this.va(vpn)} during ${access.what} (${why}; ${mapped ? 'mapped in init_mm' : 'not mapped'})`,
      );
    }
    if (access.faults > this.kernel.livelockK) {
      throw new RunEnd('livelock', {
        hart: h.hw.id,
        step: this.hw.step,
        stval: this.va(vpn),
        cause,
        message: `hart ${h.hw.id} faulted ${access.faults} times on ${this.va(vpn)} (${cause}) with no successful access in between: the handler returns without fixing the cause`,
      });
    }
    h.trapDepth++;
    if (h.trapDepth > c[M.maxTrapDepth]!) c[M.maxTrapDepth] = h.trapDepth;
    const trap: Trap = {
      cause,
      access: access.type,
      vpn,
      stval: this.va(vpn),
      fromKernel: true,
      depth: h.trapDepth,
    };
    h.irqOffDepth++;
    h.frames.push(new TrapFrame(trap, access, h));
  }

  /** VA mapped (in init_mm for kernel addresses, the process root for user ones) with the permission asked. */
  mappedFor(h: HartExec, vpn: number, type: AccessType): boolean {
    const root = isKernelVpn(this.layout, vpn) ? this.mm.initMm : h.hw.rootTable;
    this.mm.walkNewest(root, vpn, this.leaf);
    return this.leaf.present && permits(this.leaf.flags, type);
  }

  trapStage(h: HartExec, f: TrapFrame): void {
    const costs = this.machine.costs;
    const s = this.strategy;
    switch (f.stage) {
      case TrapStage.Entry: {
        h.hw.clock += costs.trapEntry;
        this.trace(
          h,
          'trap',
          `handle_exception: ${f.trap.cause}, stval ${f.trap.stval}, depth ${f.trap.depth}`,
        );
        if (s.slots.trapEntry) {
          const r = this.callSlot(h, 'trapEntry', () => s.slots.trapEntry!(h.ctx, f.trap));
          if (r === 'replay') {
            this.trace(h, 'slot', `trapEntry -> replay`);
            this.returnFromTrap(h, f);
            return;
          }
          if (r !== 'continue') this.badReturn(h, 'trapEntry', r, "'replay' or 'continue'");
        }
        f.stage = TrapStage.Save;
        return;
      }
      case TrapStage.Save: {
        // VMAP_STACK overflow check, then the register spill below sp (through the TLB).
        const sp = h.task.sp - this.kernel.trapFrameBytes;
        if (sp < 0) {
          throw new RunEnd('panic:stack-overflow', {
            hart: h.hw.id,
            step: this.hw.step,
            stval: f.trap.stval,
            cause: f.trap.cause,
            message: `Kernel stack overflow on hart ${h.hw.id}: ${h.trapDepth} nested traps ran off ${h.task.name}'s stack (the first fault was at ${this.firstTrapVa(h)})`,
          });
        }
        h.task.sp = sp;
        f.stage = TrapStage.DoPageFault;
        h.frames.push(
          new AccessFrame(h.task.stackBase + Math.floor(sp / PAGE), 'write', false, false, 'save trap frame'),
        );
        return;
      }
      case TrapStage.DoPageFault:
        // do_page_fault re-enables interrupts if they were on (regs->status & SR_PIE).
        f.irqOff = false;
        h.irqOffDepth--;
        h.hw.clock += costs.kernelFunction;
        f.stage = TrapStage.HandlePageFault;
        this.enterTraceable(h, 'do_page_fault');
        return;
      case TrapStage.HandlePageFault:
        h.hw.clock += costs.kernelFunction;
        f.stage = TrapStage.Dispatch;
        this.enterTraceable(h, 'handle_page_fault');
        return;
      case TrapStage.Dispatch: {
        if (!isKernelVpn(this.layout, f.trap.vpn)) {
          // The user fault path (counted, not modelled further): handle_mm_fault finds the page
          // present and update_mmu_cache() fences the page locally; the access is replayed.
          h.hw.clock += costs.kernelFunction;
          if (this.mappedFor(h, f.trap.vpn, f.trap.access)) {
            this.fence(h, 'va', f.trap.vpn, h.hw.asid, 'local');
            this.returnFromTrap(h, f);
          } else f.stage = TrapStage.NoContext;
          return;
        }
        f.stage = TrapStage.KernelFault;
        if (s.slots.kernelFault && s.kernelFaultFn !== null) this.enterTraceable(h, s.kernelFaultFn);
        return;
      }
      case TrapStage.KernelFault: {
        if (!s.slots.kernelFault) {
          f.stage = TrapStage.NoContext;
          return;
        }
        h.hw.clock += costs.kernelFunction;
        const r = this.callSlot(h, 'kernelFault', () => s.slots.kernelFault!(h.ctx, f.trap));
        if (r !== 'handled' && r !== 'unhandled')
          this.badReturn(h, 'kernelFault', r, "'handled' or 'unhandled'");
        this.trace(h, 'slot', `kernelFault(${f.trap.stval}) -> ${r}`);
        f.handled = r === 'handled';
        f.stage = TrapStage.AfterKernelFault;
        return;
      }
      case TrapStage.AfterKernelFault:
        if (f.handled) this.returnFromTrap(h, f);
        else f.stage = TrapStage.NoContext;
        return;
      case TrapStage.NoContext: {
        if (f.access.nofault) {
          // Exception-table fixup: the access returns -EFAULT.
          f.access.fixedUp = true;
          this.returnFromTrap(h, f, false);
          return;
        }
        const mapped = this.mappedFor(h, f.trap.vpn, f.trap.access);
        throw new RunEnd(mapped ? 'panic:spurious-fault' : 'oops', {
          hart: h.hw.id,
          step: this.hw.step,
          stval: f.trap.stval,
          cause: f.trap.cause,
          message: mapped
            ? `Unable to handle kernel paging request at ${f.trap.stval} (${f.trap.cause} during ${f.access.what}) although init_mm maps it: a spurious fault nothing handled`
            : `Unable to handle kernel paging request at ${f.trap.stval} (${f.trap.cause} during ${f.access.what})`,
        });
      }
    }
  }

  private firstTrapVa(h: HartExec): string {
    for (const f of h.frames) if (f instanceof TrapFrame) return f.trap.stval;
    return '?';
  }

  private returnFromTrap(h: HartExec, f: TrapFrame, replay = true): void {
    const top = h.frames.pop();
    if (top !== f) throw new SimulationError('trap frame is not on top at return');
    if (f.irqOff) h.irqOffDepth--;
    h.task.sp = f.spAtEntry;
    h.trapDepth--;
    h.hw.clock += this.machine.costs.trapReturn;
    if (replay) this.c[M.replays]++;
    this.trace(h, 'trap', `sret (${replay ? 'replay the access' : 'fixup'})`);
  }

  /** Entering a traceable kernel function: the tracer runs unless it is notrace (or tracing is off). */
  enterTraceable(h: HartExec, fnName: string): void {
    if (!this.tracerOn || this.strategy.notrace.has(fnName)) return;
    h.frames.push(new TracerFrame(fnName));
  }

  tracerStage(h: HartExec, f: TracerFrame): void {
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
        const area = this.newArea(`ftrace/${h.hw.id}`, 'ftrace', this.kernel.traceBufferPages);
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
      h.hw.clock += this.machine.costs.tracerCall;
      const page = Math.floor(h.traceEntries / this.kernel.traceEntriesPerPage) % buf.pages;
      h.traceEntries++;
      h.frames.push(
        new AccessFrame(buf.start + page, 'write', false, false, `ftrace(${f.fnName}) ring buffer`),
      );
      return;
    }
    h.frames.pop();
  }

  // -----------------------------------------------------------------------------------------
  // Slots

  /** Run a slot with the hart's ctx collecting queued calls; errors become `strategy-error`. */
  private callSlot<R>(h: HartExec, slot: keyof StrategySlots, fn: () => R): R {
    const ctx = h.ctx;
    const outer = ctx.queue;
    const queue: Frame[] = [];
    ctx.queue = queue;
    let r: R;
    try {
      r = fn();
    } catch (e) {
      if (e instanceof RunEnd) throw e;
      const owner = this.strategy.slotOwner[slot] ?? '?';
      throw new RunEnd('strategy-error', {
        hart: h.hw.id,
        step: this.hw.step,
        message: `strategy '${owner}' slot ${slot} threw: ${e instanceof Error ? e.message : String(e)}`,
      });
    } finally {
      ctx.queue = outer;
    }
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
      throw new RunEnd('strategy-error', {
        hart: h.hw.id,
        step: this.hw.step,
        message: `strategy '${this.strategy.slotOwner[slot] ?? '?'}' slot ${slot} returned a Promise: slots run synchronously inside one step (queue cross-hart work with ctx instead)`,
      });
    }
    for (let i = queue.length - 1; i >= 0; i--) h.frames.push(queue[i]!);
    return r;
  }

  /** For `ctx.call` bodies: same isolation as a slot. */
  runSlotBody(h: HartExec, what: string, fn: () => void): void {
    this.callSlot(h, what as keyof StrategySlots, fn);
  }

  private badReturn(h: HartExec, slot: keyof StrategySlots, value: unknown, expected: string): never {
    throw new RunEnd('strategy-error', {
      hart: h.hw.id,
      step: this.hw.step,
      message: `strategy '${this.strategy.slotOwner[slot] ?? '?'}' slot ${slot} returned ${JSON.stringify(value) ?? String(value)}; expected ${expected}`,
    });
  }

  // -----------------------------------------------------------------------------------------
  // Mapping and unmapping

  mapStage(h: HartExec, f: MapFrame): void {
    const costs = this.machine.costs;
    const a = f.area;
    switch (f.stage) {
      case 0: {
        // alloc_vmap_area(): the VA is reserved; nothing is mapped yet.
        f.startClock = h.hw.clock;
        h.hw.clock += costs.vmallocBase;
        const prev = this.getArea(a.name);
        if (prev && !prev.freed) throw new SimulationError(`area '${a.name}' mapped twice`);
        const start = this.mm.allocVa(a.region, a.pages, this.kernel.guardPages, a.align ?? 1);
        if (start < 0) throw new SimulationError(`vmalloc space exhausted allocating '${a.name}'`);
        a.start = start;
        this.setArea(a);
        f.stage = 1;
        this.trace(
          h,
          'map',
          `${a.kind} '${a.name}': reserved ${this.va(a.start)}..${this.va(a.start + a.pages)} (${a.pages} pages)`,
        );
        return;
      }
      case 1: {
        // vmap_pages_range(): lower-level tables on demand, then the leaf PTEs.
        for (let i = 0; i < a.pages; i++) {
          this.mm.setLeaf(this.mm.initMm, a.start + i, 0, f.flags, this.mm.allocPage());
        }
        h.hw.clock += costs.vmallocPerPage * a.pages;
        a.mapped = true;
        f.stage = 2;
        this.trace(h, 'map', `'${a.name}': ${a.pages} PTEs stored`);
        return;
      }
      case 2: {
        f.stage = 3;
        const slot = this.strategy.slots.flushCacheVmap;
        if (slot) {
          const range: KernelRange = {
            start: a.start,
            end: a.start + a.pages,
            pages: a.pages,
            kind: a.kind as KernelRange['kind'],
          };
          this.callSlot(h, 'flushCacheVmap', () => slot(h.ctx, range));
          this.trace(h, 'slot', `flush_cache_vmap(${this.va(range.start)}, ${this.va(range.end)})`);
        }
        return;
      }
      default: {
        h.frames.pop();
        this.c[M.mappings]++;
        this.mappingLatencies.push(h.hw.clock - f.startClock);
        this.trace(h, 'map', `'${a.name}' mapped in ${h.hw.clock - f.startClock} cycles`);
        f.onDone?.(this, h);
      }
    }
  }

  unmapStage(h: HartExec, f: UnmapFrame): void {
    const a = f.area;
    const costs = this.machine.costs;
    switch (f.stage) {
      case 0: {
        if (f.kind === 'set-memory-ro') {
          for (let i = 0; i < a.pages; i++) this.mm.protectLeaf(a.start + i, PAGE_KERNEL_READ);
          h.hw.clock += costs.vmallocPerPage * a.pages;
          f.purge = [a];
          f.stage = 1;
          this.trace(h, 'unmap', `set_memory_ro('${a.name}')`);
          return;
        }
        if (a.freed) throw new SimulationError(`vfree('${a.name}') twice`);
        // vunmap_range(): clear the PTEs; the flush is deferred to the lazy purge.
        for (let i = 0; i < a.pages; i++) this.mm.clearLeaf(a.start + i);
        a.clearTick = this.hw.tick;
        a.freed = true;
        a.mapped = false;
        h.hw.clock += costs.vmallocPerPage * a.pages;
        this.lazy.push(a);
        this.lazyPages += a.pages;
        this.trace(
          h,
          'unmap',
          `vfree('${a.name}'): ${a.pages} PTEs cleared; ${this.lazyPages} lazily freed pages pending`,
        );
        if (this.lazyPages > this.kernel.lazyMaxPages) {
          f.purge = this.lazy;
          this.lazy = [];
          this.lazyPages = 0;
          f.stage = 1;
        } else h.frames.pop();
        return;
      }
      case 1: {
        f.stage = 2;
        let start = Number.POSITIVE_INFINITY;
        let end = 0;
        for (const p of f.purge) {
          if (p.start < start) start = p.start;
          if (p.start + p.pages > end) end = p.start + p.pages;
        }
        const slot = this.strategy.slots.flushTlbKernelRange;
        if (slot) {
          const range: KernelRange = {
            start,
            end,
            pages: end - start,
            kind: f.kind === 'vfree' ? 'vmalloc' : 'set-memory',
          };
          this.callSlot(h, 'flushTlbKernelRange', () => slot(h.ctx, range));
          this.trace(h, 'slot', `flush_tlb_kernel_range(${this.va(start)}, ${this.va(end)})`);
        }
        return;
      }
      default: {
        h.frames.pop();
        if (f.kind === 'vfree') {
          // __purge_vmap_area_lazy(): the flush is done; the VA may be reused.
          for (const p of f.purge) {
            for (let i = 0; i < p.pages; i++) this.published.set(p.start + i, p.clearTick);
            this.mm.freeVa(p.region, p.start, p.pages, this.kernel.guardPages);
          }
          this.trace(h, 'unmap', `purged ${f.purge.length} area(s): VA may be reused`);
        }
      }
    }
  }

  /** An access completed: if its translation predates a published removal, it is a stale access. */
  checkStale(h: HartExec, vpn: number): void {
    if (this.published.size === 0) return;
    const cleared = this.published.get(vpn);
    if (cleared !== undefined && this.hw.wSince < cleared) {
      throw new RunEnd('stale-access', {
        hart: h.hw.id,
        step: this.hw.step,
        stval: this.va(vpn),
        message: `hart ${h.hw.id} accessed ${this.va(vpn)} through a translation whose removal a finished flush_tlb_kernel_range had published (use after free)`,
      });
    }
  }

  // -----------------------------------------------------------------------------------------
  // Fences and cross-hart calls

  fence(h: HartExec, form: FenceForm, vpn: number, asid: number, origin: 'local' | 'ipi' | 'firmware'): void {
    this.hw.fence(h.hw, form, vpn, asid, origin);
    if (this.tracing) {
      const text =
        form === 'all'
          ? 'sfence.vma x0, x0'
          : form === 'asid'
            ? `sfence.vma x0, asid ${asid}`
            : form === 'va'
              ? `sfence.vma ${this.va(vpn)}, x0`
              : `sfence.vma ${this.va(vpn)}, asid ${asid}`;
      this.trace(h, 'fence', `${text} (${origin})`);
    }
  }

  /** Validate a strategy's fence operands (a bad form or a `va` form without a VA is a strategy bug). */
  checkFence(form: FenceForm, vpn: number | undefined, asid: number): number {
    if (form !== 'all' && form !== 'asid' && form !== 'va' && form !== 'va-asid') {
      throw new SimulationError(
        `sfence.vma: unknown form ${JSON.stringify(form)} (expected 'all', 'asid', 'va' or 'va-asid')`,
      );
    }
    if (
      (form === 'va' || form === 'va-asid') &&
      (typeof vpn !== 'number' || !Number.isInteger(vpn) || vpn < 0)
    ) {
      throw new SimulationError(`sfence.vma ${form}: needs the VPN to fence (got ${JSON.stringify(vpn)})`);
    }
    if ((form === 'asid' || form === 'va-asid') && (!Number.isInteger(asid) || asid < 0 || asid > 0xfffe)) {
      throw new SimulationError(`sfence.vma ${form}: bad ASID ${JSON.stringify(asid)}`);
    }
    return vpn ?? 0;
  }

  resolveMask(mask: HartMask, self: number): number[] {
    if (mask === 'all') return [...this.allHarts];
    if (mask === 'others') return this.allHarts.filter((x) => x !== self);
    for (const x of mask) {
      if (!Number.isInteger(x) || x < 0 || x >= this.harts.length)
        throw new SimulationError(`hart mask names hart ${x}, which does not exist`);
    }
    return [...new Set(mask)].sort((a, b) => a - b);
  }

  crossCallStage(h: HartExec, f: CrossCallFrame): void {
    const costs = this.machine.costs;
    const self = h.hw.id;
    if (!f.sent) {
      f.sent = true;
      let runLocal = false;
      for (const t of f.targets) {
        if (t === self) {
          runLocal = true;
          continue;
        }
        h.hw.clock += costs.ipiSend;
        this.c[M.ipisSent]++;
        f.call.pending++;
        this.harts[t]!.ipiInbox.push({ call: f.call, sentAt: h.hw.clock });
      }
      this.trace(h, 'ipi-send', `${f.call.owner}: IPI to ${f.call.pending} hart(s)`);
      if (runLocal) {
        this.ipiOrigin = 'local';
        try {
          this.runIpiFn(h, f.call);
        } finally {
          this.ipiOrigin = 'ipi';
        }
      }
      return;
    }
    // All acknowledged: the sender's clock catches up with the last target.
    h.frames.pop();
    if (f.call.doneCycle > h.hw.clock) {
      this.c[M.cyclesWaitingIpi] += f.call.doneCycle - h.hw.clock;
      h.hw.clock = f.call.doneCycle;
    }
  }

  private runIpiFn(h: HartExec, call: CrossCall): void {
    try {
      call.fn(h.ipiCtx);
    } catch (e) {
      if (e instanceof RunEnd) throw e;
      throw new RunEnd('strategy-error', {
        hart: h.hw.id,
        step: this.hw.step,
        message: `IPI callback of ${call.owner} threw on hart ${h.hw.id}: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }

  private handleIpi(h: HartExec): void {
    const req = h.ipiInbox.shift()!;
    const costs = this.machine.costs;
    const arrive = req.sentAt + costs.ipiLatency;
    if (arrive > h.hw.clock) h.hw.clock = arrive;
    const before = h.hw.clock;
    h.hw.clock += costs.ipiHandlerEntry;
    this.runIpiFn(h, req.call);
    h.hw.clock += costs.ipiHandlerExit;
    this.c[M.cyclesHandlingIpi] += h.hw.clock - before;
    this.c[M.ipisReceived]++;
    req.call.pending--;
    if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
    this.trace(h, 'ipi-handle', `IPI: ran ${req.call.owner} callback`);
  }

  sbiStage(h: HartExec, f: SbiFenceFrame): void {
    const costs = this.machine.costs;
    if (!f.sent) {
      f.sent = true;
      this.c[M.sbiCalls]++;
      h.hw.clock += costs.sbiCallBase;
      for (const t of f.targets) {
        h.hw.clock += costs.sbiPerHart;
        if (t === h.hw.id) {
          this.applyFirmwareFence(h, f.call);
          continue;
        }
        f.call.pending++;
        this.harts[t]!.fwInbox.push({ call: f.call, sentAt: h.hw.clock });
      }
      this.trace(h, 'sbi', `sbi_remote_sfence_vma(${f.call.form}) to ${f.targets.length} hart(s)`);
      return;
    }
    h.frames.pop();
    if (f.call.doneCycle > h.hw.clock) {
      this.c[M.cyclesWaitingIpi] += f.call.doneCycle - h.hw.clock;
      h.hw.clock = f.call.doneCycle;
    }
  }

  /** Firmware (M-mode) fences this hart whatever its S-mode interrupt state. */
  private firmwareFence(h: HartExec): void {
    const req = h.fwInbox.shift()!;
    const costs = this.machine.costs;
    const arrive = req.sentAt + costs.ipiLatency;
    if (arrive > h.hw.clock) h.hw.clock = arrive;
    const before = h.hw.clock;
    h.hw.clock += costs.sbiPerHart;
    this.applyFirmwareFence(h, req.call);
    this.c[M.cyclesHandlingIpi] += h.hw.clock - before;
    req.call.pending--;
    if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
  }

  private applyFirmwareFence(h: HartExec, call: FwCall): void {
    const r = call.range;
    if (r !== null && (call.form === 'va' || call.form === 'va-asid') && r.end - r.start <= call.threshold) {
      for (let v = r.start; v < r.end; v++) this.fence(h, call.form, v, h.hw.asid, 'firmware');
    } else if (r !== null && (call.form === 'va' || call.form === 'va-asid')) {
      this.fence(h, call.form === 'va' ? 'all' : 'asid', 0, h.hw.asid, 'firmware');
    } else {
      this.fence(h, call.form, 0, h.hw.asid, 'firmware');
    }
  }

  // -----------------------------------------------------------------------------------------
  // Trace

  trace(h: HartExec, kind: TraceKind, text: string): void {
    if (!this.tracing) return;
    this.events.push({ step: this.hw.step, hart: h.hw.id, cycle: h.hw.clock, kind, text });
  }

  private traceRaw(hart: number, kind: TraceKind, text: string): void {
    this.events.push({
      step: this.hw.step,
      hart,
      cycle: hart >= 0 ? this.hw.harts[hart]!.clock : 0,
      kind,
      text,
    });
  }

  /** Cycle totals per hart for the metrics. */
  finishCycles(): void {
    let max = 0;
    let sum = 0;
    for (const h of this.hw.harts) {
      if (h.clock > max) max = h.clock;
      sum += h.clock;
    }
    this.c[M.cycles] = max;
    this.c[M.cyclesBusy] = sum - this.c[M.cyclesWaitingIpi]! - this.c[M.cyclesHandlingIpi]!;
    const lat = this.mappingLatencies;
    this.c[M.mappingLatency] =
      lat.length === 0 ? 0 : Math.round((lat.reduce((a, b) => a + b, 0) / lat.length) * 1000) / 1000;
  }
}

/** Expand `repeat` ops. */
export function flatten(ops: readonly Op[]): Op[] {
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
