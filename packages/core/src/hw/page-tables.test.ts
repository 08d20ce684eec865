/**
 * The sparse snapshot of page-table memory: a memory restored from a snapshot, whatever it held
 * before (fresh, the same snapshot with a run's stores over it, another snapshot, a reset), reads
 * through every accessor exactly as the memory the snapshot was taken from.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageTableMemory } from './page-tables.js';

/** Every slot of every table allocated, with all its versions (what a walker may read). */
function contents(mem: PageTableMemory): string {
  const out: string[] = [`tables ${mem.tableCount}`];
  for (let slot = 0; slot < mem.tableCount * mem.entries; slot++) {
    const n = mem.versions(slot);
    let line = `${slot}: ${mem.flags[slot]}/${mem.ppn[slot]} since ${mem.since(slot)} n${n};`;
    for (let k = 1; k < n; k++)
      line += ` ${mem.versionFlags(slot, k)}/${mem.versionPpn(slot, k)}@${mem.versionSince(slot, k)}w${mem.versionWriter(slot, k)}`;
    out.push(line);
  }
  return out.join('\n');
}

type Step = {
  readonly alloc: boolean;
  readonly table: number;
  readonly index: number;
  readonly flags: number;
};

const steps = fc.array(
  fc.record({
    alloc: fc.boolean(),
    table: fc.nat(40),
    index: fc.nat(15),
    flags: fc.nat(0x3ff),
  }),
  { maxLength: 120 },
);

/** Apply stores (a table allocated now and then; ticks and writers from the step number). */
function apply(mem: PageTableMemory, program: readonly Step[], tick0: number): void {
  if (mem.tableCount === 0) mem.allocTable(tick0);
  program.forEach((s, i) => {
    if (s.alloc) mem.allocTable(tick0 + i);
    const t = s.table % mem.tableCount;
    mem.write(t * mem.entries + s.index, s.flags, s.flags * 7 + i, tick0 + i, (i % 3) - 1);
  });
}

// 16 entries per table, 3 versions: small enough for the history ring to wrap, and 4 initial
// tables / 1024 history entries grow during longer programs.
const E = 16;
const D = 3;

describe('page-table memory snapshot', () => {
  it('restores exactly over any earlier contents', () => {
    fc.assert(
      fc.property(steps, steps, steps, (boot, run, other) => {
        const booted = new PageTableMemory(E, D, 4);
        apply(booted, boot, 1);
        const image = booted.snapshot();
        const want = contents(booted);

        const mem = new PageTableMemory(E, D, 4);
        mem.restore(image);
        expect(contents(mem)).toBe(want);
        // A run's stores over it, then the same image again (only what the run changed is undone).
        apply(mem, run, 1000);
        const afterRun = contents(mem);
        mem.restore(image);
        expect(contents(mem)).toBe(want);
        // The run again from the restored memory: the same memory as the first time.
        apply(mem, run, 1000);
        expect(contents(mem)).toBe(afterRun);
        // Another image in between (the whole memory replaced), then this one.
        const elsewhere = new PageTableMemory(E, D, 4);
        apply(elsewhere, other, 5);
        const otherImage = elsewhere.snapshot();
        mem.restore(otherImage);
        expect(contents(mem)).toBe(contents(elsewhere));
        apply(mem, run, 2000);
        mem.restore(image);
        expect(contents(mem)).toBe(want);
        // The image of a restored memory is the same memory again.
        const again = new PageTableMemory(E, D, 4);
        again.restore(mem.snapshot());
        expect(contents(again)).toBe(want);
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  it('is cleared to a new memory when reused without an image', () => {
    fc.assert(
      fc.property(steps, steps, (boot, run) => {
        const first = PageTableMemory.acquire(E, D);
        apply(first, boot, 1);
        first.release();
        const reused = PageTableMemory.acquire(E, D);
        expect(reused).toBe(first);
        expect(contents(reused)).toBe(contents(new PageTableMemory(E, D)));
        apply(reused, run, 7);
        const fresh = new PageTableMemory(E, D);
        apply(fresh, run, 7);
        expect(contents(reused)).toBe(contents(fresh));
      }),
      { numRuns: 100, seed: 13 },
    );
  });

  it('holds only what was stored: a few pre-allocated tables cost nothing', () => {
    const mem = new PageTableMemory(512, 4);
    for (let t = 0; t < 70; t++) mem.allocTable(t);
    mem.write(3, 1, 0x80001, 100);
    const s = mem.snapshot();
    expect(s.tableCount).toBe(70);
    expect(s.histCount).toBe(1);
    expect(s.hSlot.length + s.hFlags.length).toBe(1 + 4);
  });
});
