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
import { type BootImage, restoreBoot } from './boot-image.js';
import { Runnable } from './runnable.js';
import { type ComposedStrategy, type HartExec, RunEnd, SimulationError, type Task } from './types.js';

/** `[0, 1, ..., n - 1]` per hart count, shared by every run (frozen: read-only by contract). An
 *  `Array.from` with a map function per run cost more than the rest of the constructor's
 *  fields together (CPU profile of the demo sweep, issue 13 session 6). */
const HART_IDS: (readonly number[])[] = [];
function hartIds(n: number): readonly number[] {
  let ids = HART_IDS[n];
  if (ids === undefined) {
    const a: number[] = [];
    for (let i = 0; i < n; i++) a.push(i);
    ids = Object.freeze(a);
    HART_IDS[n] = ids;
  }
  return ids;
}

/** Placeholders until `ProgramRunner.compile` sets a hart's compiled program. */
const NOT_COMPILED = new Int32Array(0);
const NO_ROWS_I32 = new Int32Array(0);
const NO_ROWS_F64 = new Float64Array(0);
const NO_ROWS_U8 = new Uint8Array(0);

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
  /** Start from this cell's booted machine instead of booting (see engine/boot-image.ts). */
  readonly boot?: BootImage | null;
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
  /** Cycles harts spent idle until an interrupt arrived (left out of `cyclesBusy`). */
  idleCycles = 0;

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

  /** Per hart: the cycle of its next event (infinity: none until another hart acts), kept so the
   *  step loop finds the earliest and the harts due then without a scan. */
  private readonly runnable: Runnable;
  /** Harts another hart's step touched (see `touch`), to recompute after the step. */
  private readonly touchedList: Int32Array;
  private readonly touchedMark: Uint8Array;
  private touchedCount = 0;
  /** Scratch: the harts due within the jitter of the earliest cycle, in hart order. */
  private readonly tied: Int32Array;
  private readonly stepLimit: number;
  private readonly jitter: number;
  /** The platform has S-mode IPIs (else kernel IPIs and remote fences go through SBI). */
  readonly sModeIpi: boolean;

  constructor(input: SimulatorInput) {
    this.machine = input.machine;
    this.kernel = input.kernel;
    this.layout = input.layout;
    this.strategy = input.strategy;
    this.chooser = input.chooser;
    this.c = input.counters;
    this.tracing = input.trace;
    // prepareCell resolves a null budget to the cell's (stepBudget); 200000 for direct callers.
    this.stepLimit = input.kernel.stepLimit ?? 200_000;
    const image = input.boot ?? null;
    this.hw = new Hardware(
      input.machine,
      input.layout,
      input.harts,
      input.chooser,
      input.counters,
      image === null ? null : image.tables,
    );
    this.mm = new KernelMm(this.hw, input.kernel, image === null ? null : image.mm);
    this.allHarts = hartIds(input.harts);
    this.tied = new Int32Array(input.harts);
    this.runnable = new Runnable(input.harts);
    this.touchedList = new Int32Array(input.harts);
    this.touchedMark = new Uint8Array(input.harts);
    this.jitter = input.machine.schedulingJitter;
    this.sModeIpi = input.machine.platform.sModeIpi !== 'none';
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
    // With a boot image all of it (and the bring-up fence below) is copied in instead.
    let bootTasks: Task[];
    if (image === null) {
      bootTasks = [];
      for (let i = 0; i < input.harts; i++) bootTasks.push(this.tasks.bootTask(`swapper/${i}`));
    } else bootTasks = restoreBoot(this, image);
    for (let i = 0; i < input.harts; i++) {
      const hw = this.hw.harts[i]!;
      if (image === null) {
        hw.rootTable = this.mm.newProcessRoot();
        hw.asid = this.addressSpaces.bootMm(i, hw.rootTable);
        this.mm.mapUserPages(hw.rootTable, input.userPages);
      }
      const task = bootTasks[i]!;
      const program = image === null ? flatten(input.programs[i] ?? []) : image.programs[i]!;
      // Compiled once per boot image: the arrays are read-only once compiled.
      const compiled = image === null ? null : image.compiled[i]!;
      const h: HartExec = {
        hw,
        program,
        code: compiled?.code ?? NOT_COMPILED,
        rowArea: compiled?.rowArea ?? NO_ROWS_I32,
        rowPage: compiled?.rowPage ?? NO_ROWS_F64,
        rowBits: compiled?.rowBits ?? NO_ROWS_U8,
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
        traceBuffer: image === null ? -1 : image.traceBuffer[i]!,
        traceEntries: 0,
        bpfActive: false,
        ctx: undefined as unknown as KernelContextImpl,
        ipiCtx: undefined as unknown as IpiContext,
      };
      if (compiled === null) this.program.compile(h);
      h.ctx = new KernelContextImpl(this, h);
      h.ipiCtx = {
        hart: i,
        localSfence: (form, vpn, asid = hw.asid) =>
          this.fence(h, form, this.checkFence(form, vpn, asid), asid, this.crossCalls.ipiOrigin),
      };
      this.harts.push(h);
    }
    if (image !== null) return;
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
  // The discrete-event engine

  /**
   * Run to the end. Each hart has a cycle clock; every step runs the hart whose next event is
   * earliest: its next operation at its clock, an interrupt at its arrival, or the end of a wait
   * (a flag set, every IPI acknowledged) at the moment it is released. Harts due at the same cycle
   * (or within `schedulingJitter` cycles of the earliest) are a choice, so every interleaving stays
   * replayable. A hart's clock only moves forward, by what its own work costs or to the moment a
   * wait ends; it never adopts another hart's clock.
   */
  run(): { outcome: Outcome; failure: RunFailure | null } {
    const hw = this.hw;
    const harts = this.harts;
    const n = harts.length;
    const runnable = this.runnable;
    const chooser = this.chooser;
    const limit = this.stepLimit;
    const jitter = this.jitter;
    const tied = this.tied;
    try {
      for (let i = 0; i < n; i++) runnable.set(i, this.wakeTime(harts[i]!));
      this.clearTouched();
      for (;;) {
        if (hw.step > limit) {
          throw new RunEnd('step-limit', {
            hart: -1,
            step: hw.step,
            message: `the run exceeded its budget of ${limit} steps`,
          });
        }
        const best = runnable.earliest();
        if (best === Number.POSITIVE_INFINITY) {
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
        let pick: number;
        if (jitter > 0) {
          // The harts due within the jitter of the earliest, in hart order (a scan: no shipped
          // profile has jitter).
          const horizon = best + jitter;
          let due = 0;
          for (let i = 0; i < n; i++) if (runnable.at(i) <= horizon) tied[due++] = i;
          pick = due > 1 ? tied[chooser.choose('jitter', due)]! : tied[0]!;
        } else {
          // The harts due at `best`, in hart order: a `tie` choice among them.
          const due = runnable.due();
          pick = runnable.nth(due > 1 ? chooser.choose('tie', due) : 0);
        }
        const h = harts[pick]!;
        this.stepHart(h, jitter > 0 ? runnable.at(pick) : best);
        hw.step++;
        if (this.quiet && h.pc < h.program.length) {
          // A program access that completed changes only its own hart's clock.
          runnable.set(pick, h.hw.clock);
          continue;
        }
        // Any other step: the next events of the stepping hart and of every hart it touched.
        runnable.set(pick, this.wakeTime(h));
        const touched = this.touchedList;
        for (let j = 0; j < this.touchedCount; j++) {
          const t = touched[j]!;
          runnable.set(t, this.wakeTime(harts[t]!));
        }
        this.clearTouched();
      }
    } catch (e) {
      if (e instanceof RunEnd) {
        if (this.tracing)
          this.traceRaw(e.failure?.hart ?? -1, 'outcome', `${e.outcome}: ${e.failure?.message ?? ''}`);
        return { outcome: e.outcome, failure: e.failure };
      }
      throw e;
    } finally {
      // However the run ended (an explorer's cut-off included), the gaps still running end here.
      if (this.speculation.enabled) this.speculation.finish();
    }
  }

  /**
   * Hart `i`'s next event may have changed by another hart's step: an IPI or firmware message
   * queued for it, an acknowledgement of its cross-call, a flag it waits on set, its clock
   * charged. The step loop recomputes the touched harts' next events after the step.
   */
  touch(i: number): void {
    if (this.touchedMark[i] === 1) return;
    this.touchedMark[i] = 1;
    this.touchedList[this.touchedCount++] = i;
  }

  private clearTouched(): void {
    for (let j = 0; j < this.touchedCount; j++) this.touchedMark[this.touchedList[j]!] = 0;
    this.touchedCount = 0;
  }

  private waitReason(h: HartExec): string {
    if (h.waitingFlag !== null) return `waits for flag '${h.waitingFlag}'`;
    const top = h.frames[h.frames.length - 1];
    if (top instanceof CrossCallFrame)
      return `waits for ${top.call.pending} IPI acknowledgement(s)${h.irqEnabled ? '' : ' with interrupts off'}`;
    if (top instanceof SbiFenceFrame) return `waits in firmware for ${top.call.pending} remote fence(s)`;
    return h.irqEnabled ? 'blocked' : 'blocked with interrupts off';
  }

  /**
   * When hart `h` next has something to do, in cycles (infinity: nothing until another hart acts).
   * Firmware (M-mode) IPIs are taken whatever the S-mode interrupt state; kernel IPIs only with
   * interrupts enabled and outside the first trap stages.
   */
  private wakeTime(h: HartExec): number {
    const clock = h.hw.clock;
    let t = Number.POSITIVE_INFINITY;
    if (h.fwInbox.length > 0) t = Math.max(clock, h.fwInbox[0]!.arriveAt);
    if (h.ipiInbox.length > 0 && h.irqEnabled && h.irqOffDepth === 0) {
      const a = Math.max(clock, h.ipiInbox[0]!.arriveAt);
      if (a < t) t = a;
    }
    if (t <= clock) return clock;
    const w = this.workTime(h, clock);
    return Math.min(w, t);
  }

  /** When the hart's own work (its top frame, or its program) can go on. */
  private workTime(h: HartExec, clock: number): number {
    const top = h.frames[h.frames.length - 1];
    if (top !== undefined) {
      if (top.blocked(this, h)) return Number.POSITIVE_INFINITY;
      const ready = top.readyAt === undefined ? clock : top.readyAt();
      return Math.max(ready, clock);
    }
    if (h.pc >= h.program.length) return Number.POSITIVE_INFINITY;
    if (h.waitingFlag !== null) {
      const set = this.program.flags.get(h.waitingFlag);
      if (set === undefined) return Number.POSITIVE_INFINITY;
      return Math.max(set, clock);
    }
    return clock;
  }

  /** The hart running the current step (bitmap operations charge it). */
  currentHart = 0;

  /** Set by the one step kind that changes no hart's runnability: a program access that completed. */
  quiet = false;

  /** One step of hart `h`, whose next event is at cycle `at`: an interrupt that has arrived by then
   *  is taken first (firmware's before the kernel's), else its own work goes on. */
  private stepHart(h: HartExec, at: number): void {
    const id = h.hw.id;
    this.currentHart = id;
    this.hw.currentHart = id;
    this.quiet = false;
    const fw = h.fwInbox;
    const ipi = h.ipiInbox;
    if (fw.length > 0 && fw[0]!.arriveAt <= at) {
      this.sbi.handle(h);
    } else if (ipi.length > 0 && h.irqEnabled && h.irqOffDepth === 0 && ipi[0]!.arriveAt <= at) {
      this.crossCalls.handle(h);
    } else {
      const frames = h.frames;
      if (frames.length > 0) frames[frames.length - 1]!.run(this, h);
      else this.program.runOp(h);
    }
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

  /** An event of the whole machine (hart -1: a deadlock, the step limit) is stamped with the latest
   *  hart clock, the moment the run ended. */
  private traceRaw(hart: number, kind: TraceKind, text: string): void {
    let cycle = 0;
    if (hart >= 0) cycle = this.hw.harts[hart]!.clock;
    else for (const h of this.hw.harts) if (h.clock > cycle) cycle = h.clock;
    this.events.push({ step: this.hw.step, hart, cycle, kind, text });
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
    this.c[M.cyclesBusy] = sum - this.idleCycles - this.c[M.cyclesWaitingIpi]! - this.c[M.cyclesHandlingIpi]!;
    const lat = this.mappingLatencies;
    this.c[M.mappingLatency] =
      lat.length === 0 ? 0 : Math.round((lat.reduce((a, b) => a + b, 0) / lat.length) * 1000) / 1000;
  }
}

export { type ComposedStrategy, SimulationError } from './types.js';
