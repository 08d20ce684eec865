/**
 * Per-hart swimlane timelines of a failing run's recorded trace, drawn as inline SVG by hand (a
 * few hundred events do not need a chart library). Events of one kind on one hart share one
 * `<path>`, so a report with hundreds of failing cells stays small; faults, mappings and the
 * outcome get their own marks with a `<title>` tooltip because those are what a reader looks for.
 */
import { TRACE_KINDS, type TraceEvent, type TraceKind } from '@tlblab/core';
import { escapeHtml } from './escape.js';
import type { Timeline } from './model.js';

const WIDTH = 900;
const LEFT = 64;
const RIGHT = 12;
const TOP = 22;
const LANE = 24;

/** Colour per kind; the legend also names each kind, so colour is never the only cue. */
export const KIND_COLOURS: Readonly<Record<TraceKind, string>> = {
  op: '#9e9e9e',
  access: '#4c78a8',
  walk: '#72b7b2',
  speculate: '#b279a2',
  fault: '#d62728',
  trap: '#f58518',
  slot: '#54a24b',
  fence: '#c9a400',
  'ipi-send': '#9d755d',
  'ipi-handle': '#bab0ac',
  sbi: '#ff9da6',
  map: '#1f4e99',
  unmap: '#8c564b',
  outcome: '#000000',
};

/** Kinds drawn as their own marks with a tooltip. */
const MARKED: ReadonlySet<TraceKind> = new Set(['fault', 'map', 'unmap', 'outcome']);
const MAX_MARKED = 80;

function num(x: number): string {
  return String(Math.round(x * 10) / 10);
}

export function timelineSvg(t: Timeline): string {
  const events = t.events;
  const hartIds = [...new Set(events.map((e) => e.hart))].sort((a, b) => a - b);
  const lanes = new Map(hartIds.map((h, i) => [h, i]));
  const s0 = Math.min(...events.map((e) => e.step));
  const s1 = Math.max(...events.map((e) => e.step));
  const span = Math.max(1, s1 - s0);
  const plot = WIDTH - LEFT - RIGHT;
  const w = Math.max(2, Math.min(8, plot / (span + 1)));
  const x = (step: number) => LEFT + ((step - s0) / span) * (plot - w);
  const height = TOP + hartIds.length * LANE + 18;
  const paths = new Map<string, string[]>();
  const marks: string[] = [];
  let marked = 0;
  for (const e of events) {
    const lane = lanes.get(e.hart)!;
    const y = TOP + lane * LANE;
    const tall = e.kind === 'fault' || e.kind === 'outcome' || e.kind === 'map';
    const top = tall ? y + 2 : y + 7;
    const h = tall ? LANE - 4 : LANE - 14;
    if (MARKED.has(e.kind) && marked < MAX_MARKED) {
      marked++;
      const label = `step ${e.step}, hart ${e.hart}, cycle ${e.cycle}: ${e.kind}: ${e.text}`;
      if (e.kind === 'outcome') {
        const cx = x(e.step) + w / 2;
        const cy = y + LANE / 2;
        marks.push(
          `<path class="ev ev-outcome" d="M${num(cx)} ${num(cy - 8)}L${num(cx + 7)} ${num(cy)}L${num(cx)} ${num(cy + 8)}L${num(cx - 7)} ${num(cy)}Z" fill="#000"><title>${escapeHtml(label)}</title></path>`,
        );
      } else {
        marks.push(
          `<rect class="ev ev-${e.kind}" x="${num(x(e.step))}" y="${num(top)}" width="${num(w)}" height="${num(h)}" fill="${KIND_COLOURS[e.kind]}"><title>${escapeHtml(label)}</title></rect>`,
        );
      }
      continue;
    }
    const key = `${e.kind} ${lane}`;
    const list = paths.get(key) ?? [];
    paths.set(key, list);
    list.push(`M${num(x(e.step))} ${num(top)}h${num(w)}v${num(h)}h${num(-w)}Z`);
  }
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeHtml(`Trace of ${t.cellId}, seed ${t.seed}: ${t.outcome}`)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#fff"/>`,
  );
  for (const [h, i] of lanes) {
    const y = TOP + i * LANE;
    parts.push(
      `<rect x="${LEFT}" y="${y}" width="${plot}" height="${LANE}" fill="${i % 2 ? '#fafafa' : '#f0f0f0'}"/>`,
      `<text x="${LEFT - 6}" y="${y + LANE / 2 + 4}" text-anchor="end">hart ${h}</text>`,
    );
  }
  for (const [key, ds] of paths) {
    const kind = key.split(' ')[0] as TraceKind;
    parts.push(`<path class="ev ev-${kind}" d="${ds.join('')}" fill="${KIND_COLOURS[kind]}"/>`);
  }
  parts.push(...marks);
  const axisY = TOP + hartIds.length * LANE + 13;
  parts.push(
    `<text x="${LEFT}" y="${axisY}">step ${s0}</text>`,
    `<text x="${WIDTH - RIGHT}" y="${axisY}" text-anchor="end">step ${s1}</text>`,
    `<text x="${LEFT}" y="14">${escapeHtml(`${events.length} events, steps ${s0}-${s1}`)}</text>`,
    '</svg>',
  );
  return parts.join('');
}

/** The legend shared by every timeline: a swatch and the kind's name. */
export function timelineLegend(): string {
  return `<ul class="kinds">${TRACE_KINDS.map(
    (k) =>
      `<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${KIND_COLOURS[k]}"/></svg> ${k}${k === 'fault' || k === 'map' ? ' (full lane height)' : k === 'outcome' ? ' (diamond)' : ''}</li>`,
  ).join('')}</ul>`;
}

/** The last events as text, for reading and for readers without colour or SVG. */
export function eventList(events: readonly TraceEvent[], last = 40): string {
  const shown = events.slice(-last);
  const items = shown
    .map(
      (e) =>
        `<li value="${e.step}"><code>hart ${e.hart} ${escapeHtml(e.kind)}</code> ${escapeHtml(e.text)}</li>`,
    )
    .join('');
  return `<ol class="events">${items}</ol>${shown.length < events.length ? `<p class="note">The last ${shown.length} of ${events.length} recorded events; the replay command prints the whole run.</p>` : ''}`;
}
