/**
 * The booted machine of a cell, taken once and restored for every run of it.
 *
 * Boot (the `Simulator` constructor before any hart runs: init_mm's page tables, the idle tasks'
 * vmap stacks, one process root and ASID per hart with its user pages, the ftrace buffers, the
 * full fence of `local_flush_tlb_all()` at hart bring-up) is a pure function of the cell's machine,
 * kernel settings, layout, hart count, programs and user pages. It draws no choice, calls no
 * strategy slot and records no trace event, so every seed of a cell (and every execution the
 * explorer runs of it) starts from the same machine. Building it is most of a short run's cost
 * (per table a history, per hart a root copying init_mm's kernel half), so it is built once per
 * prepared cell and each run copies it in: typed arrays with `TypedArray.prototype.set`, the rest
 * (areas, mms, tasks, allocator lists) as small fresh copies, since runs mutate them; the harts'
 * expanded and compiled programs, which no run changes, are shared.
 *
 * `captureBoot` refuses (returns null) when boot did something a restore would not reproduce —
 * drew a choice, traced, counted — so a future boot step that does is built per run again rather
 * than replayed wrong.
 */
import type { Chooser } from '../choice.js';
import type { Op } from '../contracts.js';
import type { PageTableSnapshot } from '../hw/page-tables.js';
import type { AddressSpacesSnapshot } from '../kernel/mm/address-spaces.js';
import type { AreaTableSnapshot } from '../kernel/mm/areas.js';
import type { MachineConfig } from '../profiles.js';
import type { KernelMmSnapshot } from '../sim/kernel-mm.js';
import type { Simulator } from './simulator.js';
import type { Area, HartExec, Task } from './types.js';

export interface BootImage {
  /** What it was booted for beyond the prepared cell (checked on every use). */
  readonly machine: MachineConfig;
  readonly harts: number;
  readonly tables: PageTableSnapshot;
  readonly mm: KernelMmSnapshot;
  readonly areas: AreaTableSnapshot;
  readonly addressSpaces: AddressSpacesSnapshot;
  /** The idle tasks (a stack is named by its area; the restored task gets the restored area). */
  readonly tasks: readonly Readonly<Task>[];
  /** Per hart: satp's root table and ASID, the ftrace buffer, the bring-up full fence's tick. */
  readonly rootTable: Int32Array;
  readonly asid: Int32Array;
  readonly traceBuffer: Float64Array;
  readonly lastFullFence: Float64Array;
  readonly step: number;
  readonly tick: number;
  /** Per hart: its program with `repeat`s expanded and compiled for the hot path (area ids are
   *  the image's), read-only and shared by every run. */
  readonly programs: readonly (readonly Op[])[];
  readonly compiled: readonly CompiledProgram[];
}

export type CompiledProgram = Pick<HartExec, 'code' | 'rowArea' | 'rowPage' | 'rowBits'>;

/** The image of `sim` right after its constructor booted it, or null when boot is not replayable. */
export function captureBoot(
  sim: Simulator,
  chooser: Chooser & { encoded(): string },
  chosenBefore: string,
): BootImage | null {
  if (sim.events.length > 0 || sim.c.some((x) => x !== 0) || chooser.encoded() !== chosenBefore) return null;
  const n = sim.harts.length;
  const image = {
    machine: sim.machine,
    harts: n,
    tables: sim.hw.mem.snapshot(),
    mm: sim.mm.snapshot(),
    areas: sim.areas.snapshot(),
    addressSpaces: sim.addressSpaces.snapshot(),
    tasks: sim.harts.map((h) => ({ ...h.task })),
    rootTable: new Int32Array(n),
    asid: new Int32Array(n),
    traceBuffer: new Float64Array(n),
    lastFullFence: new Float64Array(n),
    step: sim.hw.step,
    tick: sim.hw.tick,
    programs: sim.harts.map((h) => h.program),
    compiled: sim.harts.map(
      ({ code, rowArea, rowPage, rowBits }): CompiledProgram => ({ code, rowArea, rowPage, rowBits }),
    ),
  };
  for (let i = 0; i < n; i++) {
    const h = sim.harts[i]!;
    if (h.hw.clock !== 0 || h.frames.length > 0 || h.pc !== 0) return null;
    image.rootTable[i] = h.hw.rootTable;
    image.asid[i] = h.hw.asid;
    image.traceBuffer[i] = h.traceBuffer;
    image.lastFullFence[i] = h.hw.lastFullFence;
  }
  return image;
}

/**
 * Restore everything but the page tables (the memory is restored as `Hardware` takes it) and the
 * kernel allocators (`KernelMm`'s constructor) into a new simulator's components, before its harts'
 * programs are compiled (area ids must be the booted ones). Returns the idle tasks.
 */
export function restoreBoot(sim: Simulator, image: BootImage): Task[] {
  sim.areas.restore(image.areas);
  sim.addressSpaces.restore(image.addressSpaces);
  const hw = sim.hw;
  hw.step = image.step;
  hw.tick = image.tick;
  for (let i = 0; i < image.harts; i++) {
    const h = hw.harts[i]!;
    h.rootTable = image.rootTable[i]!;
    h.asid = image.asid[i]!;
    h.lastFullFence = image.lastFullFence[i]!;
  }
  return image.tasks.map((t) => {
    const stack: Area | null = t.stack === null ? null : sim.areas.area(t.stack.name);
    return { ...t, stack };
  });
}

/** Build every run's machine from scratch (the byte-identity test's reference path). */
let enabled = true;

/** Turn boot images off (or on again); returns the previous setting. */
export function useBootImages(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Images by prepared cell (the explorer runs thousands of executions of one). */
const IMAGES = new WeakMap<object, BootImage>();

/** The image booted for `prepared` on this machine and hart count, if any. */
export function bootImageOf(prepared: object, machine: MachineConfig, harts: number): BootImage | null {
  if (!enabled) return null;
  const image = IMAGES.get(prepared);
  return image !== undefined && image.machine === machine && image.harts === harts ? image : null;
}

export function rememberBootImage(prepared: object, image: BootImage): void {
  if (enabled) IMAGES.set(prepared, image);
}

export function bootImagesEnabled(): boolean {
  return enabled;
}
