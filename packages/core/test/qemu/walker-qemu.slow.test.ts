/**
 * The walker against QEMU as an independent oracle: random Sv39/Sv48/Sv57 tables and accesses,
 * run on `qemu-system-riscv64 -machine virt -bios none` by a bare-metal guest built here from
 * `guest/` (and Sv32 on `qemu-system-riscv32` with the same guest built for RV32), compared access by access (trap cause, tval, physical address reached) and PTE by PTE
 * (QEMU 7.2 sets A/D in hardware, so the model runs with `adUpdate: 'svadu'`).
 *
 * Replay another table set: TLBLAB_QEMU_SEED=7 npx vitest run --project core:slow walker-qemu
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineMachine } from '../../src/profiles.js';
import type { GenCase } from './generate.js';
import {
  buildGuest,
  type Comparison,
  combine,
  compareWithModel,
  generateCases,
  QEMU_MACHINE,
  type QemuRun,
  runQemu,
  writeImage,
  type Xlen,
} from './oracle.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SEED = Number(process.env.TLBLAB_QEMU_SEED ?? 1);
const PER_MODE = 1800;

let dir = '';
/** One QEMU run per register width: RV64 for Sv39/Sv48/Sv57, RV32 for Sv32. */
const RUNS: { xlen: Xlen; modes: readonly ('sv32' | 'sv39' | 'sv48' | 'sv57')[] }[] = [
  { xlen: 64, modes: ['sv39', 'sv48', 'sv57'] },
  { xlen: 32, modes: ['sv32'] },
];
const runs: { cases: GenCase[]; run: QemuRun }[] = [];

function compareAll(opts: Parameters<typeof compareWithModel>[2] = {}): Comparison {
  return combine(runs.map((r) => compareWithModel(r.cases, r.run, opts)));
}

beforeAll(() => {
  // Debian packages, installed as root when missing (tools/apt-ensure.sh says what it did).
  execFileSync(
    'bash',
    [
      'tools/apt-ensure.sh',
      'qemu-system-misc',
      'gcc-riscv64-unknown-elf',
      'binutils-riscv64-unknown-elf',
      'picolibc-riscv64-unknown-elf',
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  dir = mkdtempSync(join(tmpdir(), 'tlblab-qemu-'));
  for (const { xlen, modes } of RUNS) {
    const elf = buildGuest(dir, xlen);
    const cases = generateCases(SEED, PER_MODE, modes);
    const image = join(dir, `image${xlen}.bin`);
    writeImage(cases, image);
    runs.push({ cases, run: runQemu(dir, elf, image, xlen) });
  }
}, 600_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function summary(c: Comparison): string {
  const modes = Object.entries(c.perMode)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  return `qemu-walker: ${c.accesses} accesses compared, ${c.disagreements.length} disagreements (seed ${SEED}; ${modes}; ${c.completed} completed, ${c.faults} faulted: ${JSON.stringify(c.kinds)}; ${c.ptesCompared} PTEs compared after ${c.adUpdated} A/D updates, ${c.pteDisagreements.length} differ)`;
}

describe('the walker agrees with QEMU 7.2 (privileged spec, "Virtual Address Translation Process")', () => {
  it('on every access and every PTE of random Sv32/Sv39/Sv48/Sv57 tables', () => {
    const c = compareAll();
    console.log(summary(c));
    expect(c.disagreements.slice(0, 10)).toEqual([]);
    expect(c.pteDisagreements.slice(0, 10)).toEqual([]);
    expect(c.accesses).toBeGreaterThanOrEqual(5000);
    expect(Object.keys(c.perMode)).toEqual(['sv39', 'sv48', 'sv57', 'sv32']);
    // The mix is not degenerate: accesses complete, and every kind of page fault is exercised.
    expect(c.completed).toBeGreaterThan(500);
    for (const kind of ['walk', 'protection', 'reserved', 'misaligned', 'non-canonical'])
      expect(c.kinds[kind] ?? 0, kind).toBeGreaterThan(10);
    expect(c.adUpdated).toBeGreaterThan(10);
  });

  it('catches a deliberately broken walker that ignores MXR', () => {
    const c = compareAll({ brokenWalker: 'ignore-mxr' });
    console.log(`broken walker (ignores MXR): ${summary(c)}`);
    expect(c.disagreements.length).toBeGreaterThan(0);
    // Every disagreement is a load with MXR set that QEMU completed.
    for (const d of c.disagreements) {
      expect(d.access).toMatch(/^load .* MXR$/);
      expect(d.qemu).toMatch(/^ok /);
    }
  });

  it('is not a Svade machine: QEMU sets A/D where Svade would fault', () => {
    const svade = defineMachine({ ...QEMU_MACHINE, name: 'qemu-as-svade', adUpdate: 'svade' });
    const c = compareAll({ machine: svade });
    expect(c.disagreements.length).toBeGreaterThan(0);
    expect(c.kinds['accessed-dirty'] ?? 0).toBeGreaterThan(0);
  });
});
