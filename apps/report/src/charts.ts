/**
 * Cost charts, rendered to inline SVG at generation time with vega-lite -> vega (no script in the
 * page). The views get a loader that refuses every load: the data is inline, so any attempt to
 * fetch something is a bug, and it must not become a network request.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { CostRow, CostSection } from './model.js';

export function resetSVGDefIds(): void {
  vega.resetSVGDefIds();
}

export interface Chart {
  /** Stable id, also the `data-chart` attribute in the HTML. */
  readonly id: string;
  readonly title: string;
  readonly svg: string;
}

interface Point {
  readonly harts: number;
  readonly strategy: string;
  readonly value: number;
  readonly form?: string;
}

const noLoader: vega.Loader = {
  ...vega.loader(),
  load: (uri: string) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  sanitize: (uri: string) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  http: (uri: string) => Promise.reject(new Error(`report charts load nothing (asked for ${uri})`)),
  file: (path: string) => Promise.reject(new Error(`report charts load nothing (asked for ${path})`)),
};

const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 11 },
  legend: { labelLimit: 240, labelFontSize: 11, titleFontSize: 11 },
  view: { stroke: '#ccc' },
};

function lineSpec(values: readonly Point[], yTitle: string, facetByForm: boolean): vl.TopLevelSpec {
  // Legend in plan order (the order the rows of the cost table use), not alphabetical.
  const order = [...new Set(values.map((v) => v.strategy))];
  const series = { field: 'strategy', type: 'nominal', title: 'strategy set', sort: order };
  const encoding = {
    x: {
      field: 'harts',
      type: 'quantitative',
      title: 'harts',
      scale: { type: 'log', base: 2, nice: false },
      axis: { tickCount: 5, format: 'd' },
    },
    y: { field: 'value', type: 'quantitative', title: yTitle },
    color: series,
    shape: series,
    strokeDash: series,
  };
  const mark = { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 1.8 };
  if (facetByForm) {
    return {
      data: { values },
      facet: {
        column: {
          field: 'form',
          type: 'nominal',
          title: 'SFENCE.VMA form',
          sort: ['all', 'asid', 'va', 'va+asid'],
        },
      },
      spec: { width: 150, height: 150, mark, encoding },
      resolve: { scale: { y: 'shared' } },
      config: CONFIG,
    } as unknown as vl.TopLevelSpec;
  }
  return {
    data: { values },
    width: 360,
    height: 200,
    mark,
    encoding,
    config: CONFIG,
  } as unknown as vl.TopLevelSpec;
}

/** Render a vega-lite spec to an SVG string. */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none', loader: noLoader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Pick = (r: CostRow) => number | null;

const SERIES: readonly { id: string; title: string; y: string; pick: Pick }[] = [
  {
    id: 'ipis-per-mapping',
    title: 'IPIs per new mapping',
    y: 'IPIs / mapping',
    pick: (r) => r.ipisPerMapping,
  },
  {
    id: 'refill-misses',
    title: 'Refill misses after flushes',
    y: 'refill misses / run',
    pick: (r) => r.refillMisses,
  },
  {
    id: 'spurious-faults',
    title: 'Spurious faults taken',
    y: 'spurious faults / run',
    pick: (r) => r.spuriousFaults,
  },
  {
    id: 'mapping-latency-p50',
    title: 'Mapping latency, p50',
    y: 'cycles (p50)',
    pick: (r) => r.mappingLatencyP50,
  },
  {
    id: 'mapping-latency-p99',
    title: 'Mapping latency, p99',
    y: 'cycles (p99)',
    pick: (r) => r.mappingLatencyP99,
  },
];

const FORMS: readonly { form: string; pick: Pick }[] = [
  { form: 'all', pick: (r) => r.sfence.all },
  { form: 'asid', pick: (r) => r.sfence.asid },
  { form: 'va', pick: (r) => r.sfence.va },
  { form: 'va+asid', pick: (r) => r.sfence.vaAsid },
];

function points(rows: readonly CostRow[], pick: Pick): Point[] {
  return rows.flatMap((r) => {
    const v = pick(r);
    return v === null ? [] : [{ harts: r.harts, strategy: r.strategy, value: v }];
  });
}

/** The six cost charts of one cost section (one line per strategy set, against hart count). */
export async function costCharts(section: CostSection): Promise<Chart[]> {
  const prefix = `${section.machine}/${section.scenario}`;
  const specs: { id: string; title: string; spec: vl.TopLevelSpec }[] = [];
  const [ipi, ...rest] = SERIES;
  specs.push({
    id: `${prefix}/${ipi!.id}`,
    title: ipi!.title,
    spec: lineSpec(points(section.rows, ipi!.pick), ipi!.y, false),
  });
  const sfence = FORMS.flatMap(({ form, pick }) => points(section.rows, pick).map((p) => ({ ...p, form })));
  specs.push({
    id: `${prefix}/sfence-by-form`,
    title: 'SFENCE.VMA by form',
    spec: lineSpec(sfence, 'sfence.vma / run', true),
  });
  for (const s of rest)
    specs.push({
      id: `${prefix}/${s.id}`,
      title: s.title,
      spec: lineSpec(points(section.rows, s.pick), s.y, false),
    });
  const out: Chart[] = [];
  for (const s of specs) out.push({ id: s.id, title: s.title, svg: await renderSvg(s.spec) });
  return out;
}
