/**
 * `cross-hart-vmalloc`'s `nextLands`: each Q lands where the parameter says relative to page-table
 * boundaries, at every hart count (the boot-time vmap stacks, one per hart, move where P starts).
 * Checked on the areas the kernel model actually reserved (the run's trace), not on the program.
 */
import { layoutFor, type Mode, PROFILES, ScenarioError, simulate } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { fenceEverything } from '../test/kernels.js';
import { crossHartVmalloc } from './index.js';

interface Reserved {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

function reserved(mode: Mode, harts: number, params: Record<string, unknown>): Reserved[] {
  const r = simulate(
    {
      strategy: fenceEverything,
      scenario: crossHartVmalloc,
      machine: PROFILES.emulator!,
      harts,
      mode,
      params,
    },
    1,
    { trace: true },
  );
  expect(r.outcome).toBe('ok');
  const out: Reserved[] = [];
  for (const e of r.trace) {
    const m = /^vmalloc '([^']+)': reserved 0x([0-9a-f]+)\.\.0x([0-9a-f]+)/.exec(e.text);
    if (m)
      out.push({
        name: m[1]!,
        start: Number(BigInt(`0x${m[2]}`) >> 12n),
        end: Number(BigInt(`0x${m[3]}`) >> 12n),
      });
  }
  return out;
}

/** Index of the table region of `span` pages holding `vpn`. */
const region = (vpn: number, span: number) => Math.floor(vpn / span);
/** Does area `a` have a page in region `r` (of `span` pages)? */
const touches = (a: Reserved, r: number, span: number) =>
  region(a.start, span) <= r && r <= region(a.end - 1, span);

describe("cross-hart-vmalloc's nextLands", () => {
  const pte = (mode: Mode) => 2 ** layoutFor(mode).geometry.bitsPerLevel;

  for (const harts of [2, 3, 4, 6]) {
    it(`fresh-pte-table: every Q opens a 2 MiB region no earlier area reached (${harts} harts)`, () => {
      for (const mode of ['sv32', 'sv39'] as const) {
        const areas = reserved(mode, harts, { nextLands: 'fresh-pte-table', rounds: 3 });
        const qs = areas.filter((a) => a.name.startsWith('Q'));
        expect(qs).toHaveLength(3);
        for (const q of qs) {
          expect(q.start % pte(mode)).toBe(0);
          const earlier = areas.slice(0, areas.indexOf(q));
          expect(earlier.some((a) => region(a.end - 1, pte(mode)) === region(q.start, pte(mode)))).toBe(
            false,
          );
        }
      }
    });

    it(`fresh-pmd-table: every Q opens a 1 GiB region no earlier area reached (${harts} harts)`, () => {
      for (const mode of ['sv48', 'sv57'] as const) {
        const span = pte(mode) ** 2;
        const areas = reserved(mode, harts, { nextLands: 'fresh-pmd-table', rounds: 2 });
        const qs = areas.filter((a) => a.name.startsWith('Q'));
        for (const q of qs) {
          expect(q.start % span).toBe(0);
          const earlier = areas.slice(0, areas.indexOf(q));
          expect(earlier.some((a) => touches(a, region(q.start, span), span))).toBe(false);
        }
      }
    });

    it(`inside-pte-table: every Q starts in a PTE table an earlier area's mapping installed (${harts} harts)`, () => {
      for (const mode of ['sv32', 'sv39', 'sv48'] as const) {
        const areas = reserved(mode, harts, {
          nextLands: 'inside-pte-table',
          rounds: 3,
          bufferPages: 31,
          nextPages: 59,
        });
        const anchor = areas.find((a) => a.name === 'anchor')!;
        expect(anchor.start % pte(mode)).toBe(0);
        const qs = areas.filter((a) => a.name.startsWith('Q'));
        expect(qs).toHaveLength(3);
        for (const q of qs) {
          const earlier = areas.slice(0, areas.indexOf(q));
          expect(earlier.some((a) => touches(a, region(q.start, pte(mode)), pte(mode)))).toBe(true);
        }
      }
    });
  }

  it('after-guard (the default) keeps the allocator placement: Q at the lowest fit after P and its guard page', () => {
    // alloc_vmap_area() takes the lowest free fit: P0 may fill the hole a boot stack's THREAD_ALIGN
    // left below the next stack, and then Q0 goes past that stack; once the holes are used, Q lands
    // right after P's guard page.
    const areas = reserved('sv39', 2, { rounds: 3 });
    const at = (name: string) => areas.find((a) => a.name === name)!;
    expect(at('Q0').start).toBeGreaterThanOrEqual(at('P0').end + 1);
    for (const r of [1, 2]) expect(at(`Q${r}`).start, `round ${r}`).toBe(at(`P${r}`).end + 1);
  });

  it('refuses a placement the mode or the sizes cannot give', () => {
    const env = (mode: Mode) => ({ harts: 2, mode, layout: layoutFor(mode) });
    const p = (extra: Record<string, unknown>) => crossHartVmalloc.params.parse(extra);
    expect(() => crossHartVmalloc.build(p({ nextLands: 'fresh-pmd-table' }), env('sv39'))).toThrow(
      ScenarioError,
    );
    expect(() =>
      crossHartVmalloc.build(
        p({ nextLands: 'inside-pte-table', rounds: 6, bufferPages: 31, nextPages: 59 }),
        env('sv39'),
      ),
    ).toThrow(/do not fit one PTE table/);
  });
});
