/**
 * The machine: harts with their hardware (sim/hardware.ts) and the kernel's components — the
 * program runner, the trap path, cross-calls, SBI firmware, the mm paths, the tracer — wired
 * together, plus the scheduler that steps them (machine-model sections 1, 6, 7, 10, 11).
 *
 * See engine/types.ts for the execution model (frames, stages, slots).
 */
import { formatVa, type Layout } from '../addr.js';
import type { Chooser } from '../choice.js';
import type { FenceForm, IpiContext, Op } from '../contracts.js';
import { SbiFenceFrame, SbiFirmware } from '../firmware/sbi.js';
import { Speculation } from '../hw/speculation.js';
import { KernelContextImpl } from '../kernel/context.js';
import { CrossCallFrame, CrossCalls } from '../kernel/cross-call/cross-call.js';
import { Ftrace } from '../kernel/ftrace.js';
import { AddressSpaces } from '../kernel/mm/address-spaces.js';
import { AreaTable } from '../kernel/mm/areas.js';
import { Tasks } from '../kernel/mm/tasks.js';
import { Vmap } from '../kernel/mm/vmap.js';
import { flatten, ProgramRunner } from '../kernel/program.js';
import { TrapPath } from '../kernel/trap-path/trap-path.js';
import type { KernelConfig } from '../kernel-config.js';
import type { MachineConfig } from '../profiles.js';
import type { Outcome, RunFailure, TraceEvent, TraceKind } from '../results.js';
import { Hardware } from '../sim/hardware.js';
import { KernelMm } from '../sim/kernel-mm.js';
import { M } from '../sim/metrics.js';
import { type ComposedStrategy, type HartExec, RunEnd, SimulationError } from './types.js';

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

  // The components.
  readonly areas = new AreaTable();
  readonly vmap: Vmap;
  readonly tasks: Tasks;
  readonly addressSpaces: AddressSpaces;
  readonly program: ProgramRunner;
  readonly trapPath: TrapPath;
  readonly ftrace: Ftrace;
  readonly crossCalls: CrossCalls;
  readonly sbi: SbiFirmware;
  readonly speculation: Speculation;

  private readonly runnable: Int32Array;
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
    this.hw = new Hardware(input.machine, input.layout, input.harts, input.chooser, input.counters);
    this.mm = new KernelMm(this.hw, input.kernel);
    this.allHarts = Array.from({ length: input.harts }, (_, i) => i);
    this.runnable = new Int32Array(input.harts);
    this.vmap = new Vmap(this);
    this.tasks = new Tasks(this);
    this.addressSpaces = new AddressSpaces(this, input.userPages);
    this.program = new ProgramRunner(this);
    this.trapPath = new TrapPath(this);
    this.ftrace = new Ftrace(this);
    this.crossCalls = new CrossCalls(this);
    this.sbi = new SbiFirmware(this);
    this.speculation = new Speculation(this);
    // Boot: the idle tasks' stacks first (on init_mm), then one process per hart whose root copies
    // init_mm's kernel half as it is after boot (pgd_alloc), so without PGD pre-allocation every
    // root still has the entries covering the boot stacks.
    const bootTasks = Array.from({ length: input.harts }, (_, i) => this.tasks.bootTask(`swapper/${i}`));
    for (let i = 0; i < input.harts; i++) {
      const hw = this.hw.harts[i]!;
      hw.rootTable = this.mm.newProcessRoot();
      hw.asid = this.addressSpaces.bootMm(i, hw.rootTable);
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
        traceBuffer: -1,
        traceEntries: 0,
        bpfActive: false,
        ctx: undefined as unknown as KernelContextImpl,
        ipiCtx: undefined as unknown as IpiContext,
      };
      this.program.compile(h);
      h.ctx = new KernelContextImpl(this, h);
      h.ipiCtx = {
        hart: i,
        localSfence: (form, vpn, asid = hw.asid) =>
          this.fence(h, form, this.checkFence(form, vpn, asid), asid, this.crossCalls.ipiOrigin),
      };
      this.harts.push(h);
    }
    if (this.ftrace.on) this.ftrace.allocateBuffers();
    // Boot is over: every hart starts with empty translation caches and a full fence behind every
    // boot-time PTE store (secondary harts run `local_flush_tlb_all()` as they come up).
    this.hw.step = 1;
    const bootTick = this.hw.nextTick();
    for (const hw of this.hw.harts) hw.lastFullFence = bootTick;
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
    if (h.waitingFlag !== null) return this.program.flags.has(h.waitingFlag);
    return true;
  }

  /** The hart running the current step (bitmap operations charge it). */
  currentHart = 0;

  /** Set by the one step kind that changes no hart's runnability: a program access that completed. */
  quiet = false;
  private dirty = true;
  private runnableCount = 0;

  private stepHart(h: HartExec): void {
    const id = h.hw.id;
    this.currentHart = id;
    this.hw.currentHart = id;
    this.quiet = false;
    if (h.fwInbox.length > 0) {
      this.sbi.handle(h);
    } else if (h.ipiInbox.length > 0 && h.irqEnabled && h.irqOffDepth === 0) {
      this.crossCalls.handle(h);
    } else {
      const frames = h.frames;
      if (frames.length > 0) frames[frames.length - 1]!.run(this, h);
      else this.program.runOp(h);
    }
    if (!this.quiet || h.pc >= h.program.length) this.dirty = true;
    if (this.speculation.enabled) this.speculation.speculate(h);
  }

  // -----------------------------------------------------------------------------------------
  // Fences

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

export { type ComposedStrategy, SimulationError } from './types.js';
