/**
 * Per-hart structures come from a pool of earlier runs' (`Hardware.release`): a reused hart must
 * be, field for field, a new one — whatever fences its last run recorded, at whatever hart count,
 * and never a hart of another TLB shape or geometry.
 */
import { describe, expect, it } from 'vitest';
import { layoutFor, type Mode } from '../addr.js';
import { SeededChooser } from '../choice.js';
import { type MachineConfig, PROFILES } from '../profiles.js';
import { Hardware, type HartHw } from './hardware.js';
import { newCounters } from './metrics.js';

function hardware(machine: MachineConfig, mode: Mode, harts: number): Hardware {
  return new Hardware(machine, layoutFor(mode), harts, new SeededChooser(1), newCounters());
}

/** A hart's fields but its TLBs and page-walk cache (a reused one keeps dead tags behind its
 *  valid bits, as engine/boot-image.test.ts says) as text. */
function fields(h: HartHw): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (k === 'tlb' || k === 'itlb' || k === 'pwc') continue;
    out.push(
      `${k} = ${ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>).join(',') : String(v)}`,
    );
  }
  return out.join('\n');
}

/** Fences of every form on every hart: va fences on VPNs whose records collide (same slot, other
 *  tag) and on kernel VPNs above 2^32, ASID fences, a full fence; clocks moved. */
function fenceAround(hw: Hardware, mode: Mode): void {
  const kernelVpn = mode === 'sv32' ? 0xc0000 : 0x7fff_fff_000;
  hw.harts.forEach((h, i) => {
    hw.currentHart = i;
    for (let k = 0; k < 40; k++) hw.fence(h, 'va', kernelVpn + k * 257 + i, 0, 'local');
    for (let k = 0; k < 10; k++) hw.fence(h, 'va-asid', 0x400 + k * 256, 3 + i, 'ipi');
    hw.fence(h, 'asid', 0, 5, 'firmware');
    if (i % 2 === 0) hw.fence(h, 'all', 0, 0, 'local');
    h.clock += 100 + i;
  });
}

describe('the per-hart pool', () => {
  const cases: [MachineConfig, Mode][] = [
    [PROFILES['caches-invalid'], 'sv39'],
    [PROFILES['reorder-window'], 'sv32'],
    [PROFILES.svvptc, 'sv57'],
  ];
  for (const [machine, mode] of cases) {
    it(`hands back harts equal to new ones after any fences, at any hart count (${machine.name}, ${mode})`, () => {
      const fresh = hardware(machine, mode, 8).harts.map(fields);
      for (const [used, next] of [
        [4, 2],
        [2, 8],
        [8, 8],
        [1, 3],
      ] as const) {
        const first = hardware(machine, mode, used);
        fenceAround(first, mode);
        // What a run leaves is not what a new hart has (else the comparison below shows nothing).
        expect(fields(first.harts[0]!)).not.toBe(fresh[0]);
        first.release();
        const again = hardware(machine, mode, next);
        // At least the harts the first machine released are reused.
        expect(again.harts.filter((h) => first.harts.includes(h)).length).toBe(Math.min(used, next));
        again.harts.forEach((h, i) => {
          expect(fields(h)).toBe(fresh[i]);
        });
        // The same fences on reused harts record what they record on new ones.
        const reference = hardware(machine, mode, next);
        fenceAround(again, mode);
        fenceAround(reference, mode);
        again.harts.forEach((h, i) => {
          expect(fields(h)).toBe(fields(reference.harts[i]!));
        });
        again.release();
        reference.release();
      }
    });
  }

  it('never hands a hart to a machine of another TLB shape or geometry', () => {
    const a = hardware(PROFILES['caches-invalid'], 'sv39', 4);
    a.release();
    const otherMode = hardware(PROFILES['caches-invalid'], 'sv48', 4);
    expect(otherMode.harts.some((h) => a.harts.includes(h))).toBe(false);
    const shapes = Object.values(PROFILES).filter(
      (m) =>
        m.tlb.entries !== PROFILES['caches-invalid'].tlb.entries ||
        m.tlb.split !== PROFILES['caches-invalid'].tlb.split,
    );
    for (const m of shapes) {
      const other = hardware(m, 'sv39', 4);
      expect(other.harts.some((h) => a.harts.includes(h))).toBe(false);
    }
    otherMode.release();
  });
});
