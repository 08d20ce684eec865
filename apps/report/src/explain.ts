/**
 * Failure explanations: one paragraph per failure class, built from what the run recorded (the
 * failure message and the tail of its trace) plus the mechanism each outcome stands for
 * (machine-model section 10). The recorded facts come first, because a kernel developer trusts
 * "hart 1 executed no sfence.vma between the mapping and the fault" more than a general story.
 */
import type { CellRecord, Outcome, TraceEvent } from '@tlblab/core';
import type { FailureKind } from './model.js';

/** What a failure class's example cell recorded, distilled for its paragraph. */
export interface FailureEvidence {
  readonly cellId: string;
  readonly scenario: string;
  readonly machine: string;
  readonly harts: number;
  readonly seed: number | null;
  /** The outcome of the recorded first failing seed (may differ from the class's kind). */
  readonly recordedOutcome: Outcome | null;
  /** Null when unknown: a cell whose worker never returned a run records hart -1 (apps/cli sweep.ts). */
  readonly hart: number | null;
  readonly step: number | null;
  /**
   * The recorded first failure has a choice sequence, so `tlblab replay` can re-run it. A cell whose
   * worker was stopped (`timeout`) or ended before returning a run records none.
   */
  readonly replayable: boolean;
  readonly stval: string | null;
  readonly cause: string | null;
  readonly message: string | null;
  /** The last `fault` event on the failing hart (or on any hart when the hart is unknown). */
  readonly lastFault: TraceEvent | null;
  /** `fault` events on the failing hart in the recorded trace (at the faulting VA when known). */
  readonly faultsOnHart: number;
  /** Distinct `slot` event texts on the failing hart, most recent last (at most three). */
  readonly slotCalls: readonly string[];
  /** The last `map` event before the failure, on any hart. */
  readonly lastMapping: TraceEvent | null;
  /** `fence` events on the failing hart after `lastMapping`; `null` without a mapping. */
  readonly fencesSinceMapping: number | null;
  readonly traceEvents: number;
}

/** Whether a `map` event's `0xstart-0xend` range contains `stval` (true when either is unknown). */
export function mappingCovers(text: string, stval: string | null): boolean {
  const range = /0x([0-9a-f]+)-0x([0-9a-f]+)/i.exec(text);
  if (!stval || !range || !/^0x[0-9a-f]+$/i.test(stval)) return true;
  // BigInt: Sv57 kernel addresses do not fit a double exactly.
  const va = BigInt(stval);
  return va >= BigInt(`0x${range[1]}`) && va < BigInt(`0x${range[2]}`);
}

export function gatherEvidence(cell: CellRecord): FailureEvidence {
  const ff = cell.firstFailure;
  const trace = ff?.trace ?? [];
  const f = ff?.failure ?? null;
  // A negative hart marks a failure no run reached (the host stopped or lost the worker).
  const located = f !== null && f.hart >= 0;
  const hart = located ? f.hart : null;
  const onHart = (e: TraceEvent) => hart === null || e.hart === hart;
  const faults = trace.filter((e) => e.kind === 'fault' && onHart(e));
  const stval = f?.stval ?? null;
  const atVa = stval ? faults.filter((e) => e.text.includes(stval)) : faults;
  const slots: string[] = [];
  for (const e of trace) {
    if (e.kind !== 'slot' || !onHart(e)) continue;
    const i = slots.indexOf(e.text);
    if (i >= 0) slots.splice(i, 1);
    slots.push(e.text);
  }
  let lastMapIndex = -1;
  for (let i = trace.length - 1; i >= 0; i--) {
    if (trace[i]!.kind === 'map') {
      lastMapIndex = i;
      break;
    }
  }
  const candidate = lastMapIndex >= 0 ? trace[lastMapIndex]! : null;
  // A mapping elsewhere says nothing about this fault (a livelock on rodata, say): keep it only
  // when it covers the faulting address, or when either side gives no address to compare.
  const lastMapping = candidate && mappingCovers(candidate.text, f?.stval ?? null) ? candidate : null;
  const fencesSinceMapping =
    lastMapping && hart !== null
      ? trace.slice(lastMapIndex + 1).filter((e) => e.kind === 'fence' && e.hart === hart).length
      : null;
  return {
    cellId: cell.id,
    scenario: cell.scenario,
    machine: cell.machine,
    harts: cell.harts,
    seed: ff?.seed ?? null,
    recordedOutcome: ff?.outcome ?? null,
    hart,
    step: located ? f.step : null,
    replayable: ff !== null && ff !== undefined && ff.choices !== '',
    stval,
    cause: f?.cause ?? null,
    message: f?.message ?? null,
    lastFault: faults[faults.length - 1] ?? null,
    faultsOnHart: atVa.length,
    slotCalls: slots.slice(-3),
    lastMapping,
    fencesSinceMapping,
    traceEvents: trace.length,
  };
}

/** Why each failure kind means the kernel did not recover, in the kernel's words. */
export const MECHANISMS: Readonly<Record<FailureKind, string>> = {
  'panic:spurious-fault':
    "The address was mapped in init_mm when the fault was taken: the hart still held a stale translation (a cached V=0 entry, or a walk that returned an older PTE) or its root lacked init_mm's top-level entry (no PGD pre-allocation), no slot repaired it and replayed the access, so the fault fell through to no_context and the kernel died on a valid address.",
  'panic:stack-overflow':
    "Nested traps ran off the bottom of the kernel stack: the trap path itself faulted again (the trap-frame store on a vmalloc'd stack, or a traced function entered before the fault handler) before anything repaired the translation.",
  livelock:
    'The hart kept faulting on the same address with the same cause and no successful access in between: the fault was declared handled and the access replayed, but nothing could make it succeed, as when a genuine fault is taken for a spurious one.',
  deadlock:
    'Every live hart was waiting on another: a cross-call waited for a hart that could not take its IPI (interrupts off, or itself waiting).',
  'stale-access':
    'An access completed through a translation whose removal a finished unmap flush had already published: the unmap-side flush did not reach every hart that cached the entry, a use-after-free window.',
  'strategy-error':
    'A strategy hook threw or returned something invalid, and the run stopped there; the message names the hook and what it was handling.',
  'step-limit':
    'The run used its whole step budget without finishing, so it says nothing about the strategy either way (the cell is inconclusive unless another run failed for a real reason): either the workload is larger than the budget, or the harts kept trapping, spinning or flushing without the progress that ends the program (a same-VA fault loop is livelock, harts waiting on each other deadlock, trap recursion stack-overflow: those have their own outcomes). Rerun with a larger --kernel stepLimit=N to tell them apart.',
  timeout:
    "No run of the cell finished before the host's wall-clock watchdog (--cell-timeout) stopped its worker, so nothing was learnt about the kernel: on a loaded machine a well-behaved cell can be slow, and a slot that never returns looks the same. No strategy is blamed; rerun the cell with a longer --cell-timeout, and if it still times out, a strategy slot or scenario build never returns (the step budget, step-limit, bounds the model itself).",
  oops: 'A kernel access was reported as a bad paging request although the scenario expects it to succeed: no slot repaired the translation before no_context.',
  'no-oops':
    'The scenario makes a genuinely bad kernel access and expects an oops, but the run finished: the strategy hid the bad access instead of reporting it.',
};

function quote(s: string): string {
  return `"${s}"`;
}

/** The paragraph for one failure class. */
export function explainFailure(
  ev: FailureEvidence,
  kind: FailureKind,
  kernel: Record<string, unknown>,
): string {
  const parts: string[] = [];
  if (
    ev.recordedOutcome !== null &&
    ev.recordedOutcome !== kind &&
    !(kind === 'no-oops' && ev.recordedOutcome === 'ok')
  ) {
    parts.push(
      `No cell of this class recorded a ${kind} seed first; the recorded seed below ended in ${ev.recordedOutcome}.`,
    );
  }
  if (ev.message) {
    const msg = ev.message.replace(/\s+$/, '');
    const at = [ev.hart !== null ? `hart ${ev.hart}` : null, ev.step !== null ? `step ${ev.step}` : null]
      .filter((x): x is string => x !== null)
      .join(', ');
    parts.push(`Seed ${ev.seed}${at ? `, ${at}` : ''}: ${/[.!?]$/.test(msg) ? msg : `${msg}.`}`);
    const detail = [ev.cause, ev.stval && !msg.includes(ev.stval) ? `stval ${ev.stval}` : null].filter(
      (x): x is string => !!x,
    );
    if (detail.length > 0) parts.push(`Trap: ${detail.join(', ')}.`);
  } else if (ev.seed !== null) {
    parts.push(`Seed ${ev.seed} failed without a recorded failure message.`);
  }
  if (ev.recordedOutcome === null) {
    parts.push('The cell recorded no failing seed.');
  }
  if (ev.lastFault) {
    parts.push(
      `Last fault in the trace: ${quote(ev.lastFault.text)} on hart ${ev.lastFault.hart} at step ${ev.lastFault.step}.`,
    );
    if (ev.faultsOnHart > 1) {
      parts.push(
        `Hart ${ev.lastFault.hart} took ${ev.faultsOnHart} faults${ev.stval ? ` at ${ev.stval}` : ''} in the last ${ev.traceEvents} events.`,
      );
    }
  }
  if (ev.traceEvents > 0 && ev.hart !== null) {
    if (ev.slotCalls.length > 0) {
      parts.push(`Strategy slots run on hart ${ev.hart}: ${ev.slotCalls.map(quote).join('; ')}.`);
    } else {
      parts.push(`No strategy slot ran on hart ${ev.hart} in the recorded trace.`);
    }
    if (ev.lastMapping && ev.fencesSinceMapping !== null) {
      const n = ev.fencesSinceMapping;
      parts.push(
        `After the mapping ${quote(ev.lastMapping.text)} (hart ${ev.lastMapping.hart}, step ${ev.lastMapping.step}), hart ${ev.hart} executed ${n === 0 ? 'no' : n} sfence.vma${n === 1 ? '' : ' instructions'} before failing.`,
      );
    }
  } else if (ev.recordedOutcome !== null && !ev.replayable) {
    parts.push('No run of this cell was recorded (its worker returned none), so there is nothing to replay.');
  } else if (ev.traceEvents === 0 && ev.recordedOutcome !== null) {
    parts.push('No trace was recorded for this seed; the replay command below prints one.');
  }
  parts.push(mechanismOf(kind, kernel));
  return parts.join(' ');
}

/** The mechanism sentence for a failure kind, with the kernel setting it depends on. */
export function mechanismOf(kind: FailureKind, kernel: Record<string, unknown>): string {
  const base = MECHANISMS[kind];
  if (kind === 'livelock' && typeof kernel.livelockK === 'number') {
    return `${base} (livelock = more than ${kernel.livelockK} such faults, kernel.livelockK.)`;
  }
  if (kind === 'step-limit' && typeof kernel.stepLimit === 'number') {
    return `${base} (budget: ${kernel.stepLimit} steps, kernel.stepLimit.)`;
  }
  if (kind === 'step-limit' && kernel.stepLimit === null) {
    return `${base} (budget: scaled to the cell, max(200000, 16 x (operations + harts)) steps; the failure message names it; kernel.stepLimit.)`;
  }
  return base;
}
