/**
 * The data island of the HTML page: cost rows for the sortable table and the charts, and every
 * failing cell's trace, each deflated on its own (`node:zlib`) and base64-encoded so the page
 * decodes a trace (`DecompressionStream('deflate')`) only when the reader opens it. Traces are
 * columnar (delta-coded steps and cycles, kinds and texts as indexes into tables) because that is
 * what deflate compresses best; identical traces (an inert strategy repeats the baseline's) are
 * stored once.
 */
import { deflateSync } from 'node:zlib';
import { TRACE_KINDS, type TraceEvent, type Verdict } from '@tlblab/core';
import type { ReportModel } from './model.js';

/** Column order of `costs` rows after the five index columns. */
export const COST_FIELDS = [
  'ipisPerMapping',
  'sfenceAll',
  'sfenceAsid',
  'sfenceVa',
  'sfenceVaAsid',
  'refillMisses',
  'spuriousFaults',
  'mappingLatencyP50',
  'mappingLatencyP99',
  'cycles',
] as const;

/** A cost row's verdict in the page data (1/0 as before `inconclusive` existed). */
const VERDICT_CODE: Readonly<Record<Verdict, number>> = { correct: 1, incorrect: 0, inconclusive: 2 };

export interface PageData {
  readonly machines: readonly string[];
  readonly modes: readonly string[];
  readonly strategies: readonly string[];
  readonly scenarios: readonly string[];
  readonly harts: readonly number[];
  /** `frequencyMHz` per machine (null when the config has none). */
  readonly frequencyMHz: readonly (number | null)[];
  readonly costFields: readonly string[];
  /** [machine, mode, scenario, harts, strategy, verdict (1 correct, 0 incorrect, 2 inconclusive),
   *  ...COST_FIELDS, basis]; indexes into the tables. */
  readonly costs: readonly (readonly (number | null)[])[];
  /** How each cost row's verdict was reached: its basis mark and `describeBasis` (`* explored, ...`). */
  readonly bases: readonly string[];
  readonly kinds: readonly string[];
  /** [cellId, machine, mode, scenario, harts, strategy, outcome, seed, events, blob]. */
  readonly traces: readonly (readonly (string | number)[])[];
  /** base64 of deflated JSON `{ step, hart, cycle, kind, text, texts }` (steps and cycles delta-coded). */
  readonly blobs: readonly string[];
}

function encodeTrace(events: readonly TraceEvent[]): string {
  const texts: string[] = [];
  const textIndex = new Map<string, number>();
  const step: number[] = [];
  const hart: number[] = [];
  const cycle: number[] = [];
  const kind: number[] = [];
  const text: number[] = [];
  let lastStep = 0;
  let lastCycle = 0;
  for (const e of events) {
    step.push(e.step - lastStep);
    lastStep = e.step;
    cycle.push(e.cycle - lastCycle);
    lastCycle = e.cycle;
    hart.push(e.hart);
    kind.push(TRACE_KINDS.indexOf(e.kind));
    let t = textIndex.get(e.text);
    if (t === undefined) {
      t = texts.length;
      texts.push(e.text);
      textIndex.set(e.text, t);
    }
    text.push(t);
  }
  const json = JSON.stringify({ step, hart, cycle, kind, text, texts });
  return deflateSync(Buffer.from(json, 'utf8'), { level: 9 }).toString('base64');
}

export function pageData(model: ReportModel): PageData {
  const s = model.summary;
  const machines = s.machines.map((m) => m.name);
  for (const m of s.matrices) if (!machines.includes(m.machine)) machines.push(m.machine);
  const modes = [...new Set(s.matrices.map((m) => m.mode))];
  const strategies = [...new Set(s.matrices.flatMap((m) => m.strategies))];
  const scenarios = [...new Set(s.matrices.flatMap((m) => m.scenarios))];
  const harts = [
    ...new Set(s.costs.flatMap((c) => c.hartCounts).concat(model.timelines.map((t) => t.harts))),
  ].sort((a, b) => a - b);
  for (const h of s.plan.harts) if (!harts.includes(h)) harts.push(h);
  harts.sort((a, b) => a - b);
  const idx = <T>(list: T[], v: T) => {
    let i = list.indexOf(v);
    if (i < 0) {
      i = list.length;
      list.push(v);
    }
    return i;
  };
  const costs: (number | null)[][] = [];
  const bases: string[] = [];
  for (const c of s.costs) {
    for (const r of c.rows) {
      costs.push([
        idx(machines, c.machine),
        idx(modes, c.mode),
        idx(scenarios, c.scenario),
        r.harts,
        idx(strategies, r.strategy),
        VERDICT_CODE[r.verdict],
        r.ipisPerMapping,
        r.sfence.all,
        r.sfence.asid,
        r.sfence.va,
        r.sfence.vaAsid,
        r.refillMisses,
        r.spuriousFaults,
        r.mappingLatencyP50,
        r.mappingLatencyP99,
        r.cycles,
        idx(bases, `${r.basisMark ? `${r.basisMark} ` : ''}${r.basis}`),
      ]);
    }
  }
  const blobs: string[] = [];
  const blobIndex = new Map<string, number>();
  const traces = model.timelines.map((t) => {
    const z = encodeTrace(t.events);
    let b = blobIndex.get(z);
    if (b === undefined) {
      b = blobs.length;
      blobs.push(z);
      blobIndex.set(z, b);
    }
    return [
      t.cellId,
      idx(machines, t.machine),
      idx(modes, t.mode),
      idx(scenarios, t.scenario),
      t.harts,
      idx(strategies, t.strategy),
      t.outcome,
      t.seed,
      t.events.length,
      b,
    ];
  });
  const frequencyMHz = machines.map((m) => s.machines.find((x) => x.name === m)?.frequencyMHz ?? null);
  return {
    machines,
    modes,
    strategies,
    scenarios,
    harts,
    frequencyMHz,
    costFields: COST_FIELDS,
    costs,
    bases,
    kinds: TRACE_KINDS,
    traces,
    blobs,
  };
}

/**
 * JSON for a `<script type="application/json">` island: `<` escaped so no string can close the
 * element, and U+2028/U+2029 escaped for old parsers.
 */
export function islandJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
