/**
 * The QEMU differential oracle for the walker: builds the bare-metal guest (`guest/`) with
 * Debian's riscv64-unknown-elf GCC and picolibc, writes the generated tables and access list into
 * an image QEMU loads, runs `qemu-system-riscv64 -machine virt -bios none`, and compares each
 * access's trap cause, tval and physical address — and the page tables QEMU left behind after its
 * hardware A/D updates — with the model's walker on the same tables.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layoutFor, MODES, type Mode, vaOfVpn } from '../../src/addr.js';
import { SeededChooser } from '../../src/choice.js';
import { PageTableMemory } from '../../src/hw/page-tables.js';
import { PAGE_FAULT_CAUSE } from '../../src/hw/walker.js';
import { defineMachine, type MachineConfig } from '../../src/profiles.js';
import { Hardware, OK } from '../../src/sim/hardware.js';
import { newCounters } from '../../src/sim/metrics.js';
import { DATA_BASE, DATA_BYTES, type GenCase, generateCase } from './generate.js';

const GUEST = fileURLToPath(new URL('./guest/', import.meta.url));
const IMAGE = 0x80100000;
const ACCESSES_OFFSET = 0x1000;
const TABLES_OFFSET = 0x100000;
const MAGIC = 0x31454c43524f4c54n;
const CAUSE_NONE = 0xffffn;
const CAUSE_MODE_UNSUPPORTED = 0xfffen;
/** First page-table page: 0x80200000, above the guest and the image header (`guest/oracle.h`). */
export const FIRST_TABLE = 0x200;
/** satp: MODE in bits 63:60 (RV64) or bit 31 (RV32), the root's PPN at the bottom, ASID 0. */
function satpOf(mode: Mode, rootPpn: number): bigint {
  const field = { sv32: 1n << 31n, sv39: 8n << 60n, sv48: 9n << 60n, sv57: 10n << 60n }[mode];
  return field | BigInt(rootPpn);
}
/** Bytes per PTE: 4 on Sv32, 8 otherwise. */
const pteBytes = (mode: Mode) => (mode === 'sv32' ? 4 : 8);

/** QEMU 7.2's softmmu as a machine: no V=0 caching, the newest PTE, A/D set in hardware. */
export const QEMU_MACHINE: MachineConfig = defineMachine({
  name: 'qemu-7.2',
  extends: 'emulator',
  description:
    'QEMU 7.2 TCG: walks see the newest PTE, nothing invalid is cached, A/D are set by the walker.',
  evidence: 'QEMU target/riscv/cpu_helper.c get_physical_address (7.2): cmpxchg of PTE_A/PTE_D on the leaf.',
  adUpdate: 'svadu',
});

/** The guest's register width: RV32 for Sv32, RV64 for the others. */
export type Xlen = 32 | 64;
export const xlenOf = (mode: Mode): Xlen => (mode === 'sv32' ? 32 : 64);

/** Compile the guest for `xlen` into `dir` (returns the ELF's path). */
export function buildGuest(dir: string, xlen: Xlen = 64): string {
  const elf = join(dir, `oracle${xlen}.elf`);
  execFileSync(
    'riscv64-unknown-elf-gcc',
    [
      '-specs=picolibc.specs',
      '--oslib=semihost',
      '--crt0=semihost',
      xlen === 64 ? '-march=rv64imac' : '-march=rv32imac',
      xlen === 64 ? '-mabi=lp64' : '-mabi=ilp32',
      '-mcmodel=medany',
      '-O2',
      '-Wall',
      '-Werror',
      '-Wl,--defsym=__flash=0x80000000',
      '-Wl,--defsym=__flash_size=0x100000',
      '-Wl,--defsym=__ram=0x87000000',
      '-Wl,--defsym=__ram_size=0x100000',
      '-T',
      'picolibc.ld',
      '-o',
      elf,
      join(GUEST, 'oracle.c'),
      join(GUEST, 'access.S'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return elf;
}

/** Generate cases of `perMode` accesses for `modes` (one XLEN), tables laid out one after another. */
export function generateCases(seed: number, perMode: number, modes: readonly Mode[]): GenCase[] {
  const cases: GenCase[] = [];
  let first = FIRST_TABLE;
  for (const mode of modes) {
    const c = generateCase(mode, seed * 7 + MODES.indexOf(mode), first, perMode);
    cases.push(c);
    first += c.tableCount;
  }
  return cases;
}

function tablesEnd(cases: readonly GenCase[]): number {
  return Math.max(...cases.map((c) => c.firstTable + c.tableCount));
}

/** The image loaded at 0x80100000: header, access list, page-table pages. */
export function writeImage(cases: readonly GenCase[], file: string): void {
  const end = tablesEnd(cases);
  const tablesBytes = (end - FIRST_TABLE) * 4096;
  const buf = Buffer.alloc(TABLES_OFFSET + tablesBytes);
  const total = cases.reduce((n, c) => n + c.accesses.length, 0);
  if (ACCESSES_OFFSET + total * 32 > TABLES_OFFSET) throw new RangeError(`too many accesses (${total})`);
  let o = 0;
  const u64 = (v: bigint) => {
    buf.writeBigUInt64LE(v, o);
    o += 8;
  };
  u64(MAGIC);
  u64(BigInt(IMAGE + ACCESSES_OFFSET));
  u64(BigInt(total));
  u64(BigInt(IMAGE + TABLES_OFFSET));
  u64(BigInt(tablesBytes));
  u64(BigInt(DATA_BASE));
  u64(BigInt(DATA_BYTES));
  u64(BigInt(cases.length));
  let first = 0;
  for (const c of cases) {
    u64(satpOf(c.mode, PageTableMemory.ppnOfTable(c.root)));
    u64(BigInt(first));
    u64(BigInt(c.accesses.length));
    u64(0n);
    first += c.accesses.length;
  }
  o = ACCESSES_OFFSET;
  let token = 0;
  for (const c of cases) {
    for (const a of c.accesses) {
      buf.writeBigUInt64LE(vaOfVpn(a.vpn, a.offset), o);
      buf.writeUInt8(a.kind, o + 8);
      buf.writeUInt8(a.priv, o + 9);
      buf.writeUInt8(a.sum ? 1 : 0, o + 10);
      buf.writeUInt8(a.mxr ? 1 : 0, o + 11);
      buf.writeBigUInt64LE(0x70cc000000000000n + BigInt(token++), o + 16);
      o += 32;
    }
    for (const p of c.ptes) {
      const at = TABLES_OFFSET + (p.table - FIRST_TABLE) * 4096 + p.index * pteBytes(c.mode);
      if (pteBytes(c.mode) === 4) buf.writeUInt32LE(p.ppn * 1024 + p.flags, at);
      else buf.writeBigUInt64LE((BigInt(p.ppn) << 10n) | BigInt(p.flags), at);
    }
  }
  writeFileSync(file, buf);
}

export interface QemuRun {
  readonly results: Buffer;
  readonly tables: Buffer;
  readonly stdout: string;
}

/** Run the guest on QEMU in `dir` (image.bin there); semihosting writes results.bin and tables.bin. */
export function runQemu(dir: string, elf: string, image: string, xlen: Xlen = 64): QemuRun {
  const stdout = execFileSync(
    xlen === 64 ? 'qemu-system-riscv64' : 'qemu-system-riscv32',
    [
      '-machine',
      'virt',
      '-bios',
      'none',
      '-smp',
      '1',
      '-m',
      '128M',
      '-nographic',
      '-monitor',
      'none',
      '-serial',
      'none',
      '-semihosting-config',
      'enable=on,target=native',
      '-kernel',
      elf,
      '-device',
      `loader,file=${image},addr=0x${IMAGE.toString(16)},force-raw=on`,
    ],
    { cwd: dir, timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
  ).toString();
  return {
    results: readFileSync(join(dir, 'results.bin')),
    tables: readFileSync(join(dir, 'tables.bin')),
    stdout,
  };
}

/** One access's outcome as text, the same wording for QEMU and the model. */
function okText(pa: bigint, fetchCause: bigint | null): string {
  return `ok pa=0x${pa.toString(16)}${fetchCause === null ? '' : ` ecall=${fetchCause}`}`;
}
function trapText(cause: bigint, tval: bigint): string {
  return `trap cause=${cause} tval=0x${tval.toString(16)}`;
}

function qemuText(kind: number, rec: Buffer, at: number): string {
  const cause = rec.readBigUInt64LE(at);
  const tval = rec.readBigUInt64LE(at + 8);
  const value = rec.readBigUInt64LE(at + 16);
  const a0 = rec.readBigUInt64LE(at + 24);
  if (cause === CAUSE_MODE_UNSUPPORTED) return 'satp mode not supported by this QEMU';
  if (kind !== 2 && cause === CAUSE_NONE) return okText(kind === 0 ? value : value ^ 8n, null);
  if (kind === 2 && (cause === 8n || cause === 9n)) return okText(a0 & 0xfffff000n, cause);
  return trapText(cause, tval);
}

export interface Disagreement {
  readonly mode: Mode;
  readonly index: number;
  readonly access: string;
  readonly qemu: string;
  readonly model: string;
}

export interface Comparison {
  readonly accesses: number;
  readonly perMode: Record<string, number>;
  readonly disagreements: Disagreement[];
  readonly ptesCompared: number;
  readonly pteDisagreements: string[];
  /** Accesses the model faulted / completed (to show the mix is not degenerate). */
  readonly faults: number;
  readonly completed: number;
  /** Model fault kinds seen (coverage of the spec's steps). */
  readonly kinds: Record<string, number>;
  /** PTEs whose A/D bits the walkers set during the run (the model's count). */
  readonly adUpdated: number;
}

/**
 * Run the model's walker over the same cases (one hart per mode, its TLB and page-walk cache in
 * play, `QEMU_MACHINE` or a variant) and compare with QEMU's records and final tables.
 */
export function compareWithModel(
  cases: readonly GenCase[],
  run: QemuRun,
  opts: { machine?: MachineConfig; brokenWalker?: 'ignore-mxr' } = {},
): Comparison {
  const machine = opts.machine ?? QEMU_MACHINE;
  const disagreements: Disagreement[] = [];
  const pteDisagreements: string[] = [];
  const perMode: Record<string, number> = {};
  let index = 0;
  let ptesCompared = 0;
  let faults = 0;
  let completed = 0;
  const kinds: Record<string, number> = {};
  let adUpdated = 0;
  for (const c of cases) {
    const hw = new Hardware(machine, layoutFor(c.mode), 1, new SeededChooser(1), newCounters());
    hw.walker.brokenForTest(opts.brokenWalker ?? null);
    const mem = hw.mem;
    const entries = mem.entries;
    while (mem.tableCount < c.firstTable + c.tableCount) mem.allocTable(0);
    const initial = new Map<number, number>();
    for (const p of c.ptes) {
      mem.write(p.table * entries + p.index, p.flags, p.ppn, 0);
      initial.set(p.table * entries + p.index, p.flags);
    }
    const h = hw.harts[0]!;
    h.rootTable = c.root;
    h.asid = 0;
    hw.step = 1;
    for (const a of c.accesses) {
      h.priv = a.priv;
      h.sum = a.sum;
      h.mxr = a.mxr;
      const r = hw.accessCode(h, a.vpn, a.kind);
      const va = vaOfVpn(a.vpn, a.offset);
      let model: string;
      if (r === OK) {
        completed++;
        model = okText(
          BigInt(hw.wPagePpn) * 4096n + BigInt(a.offset),
          a.kind === 2 ? (a.priv === 1 ? 9n : 8n) : null,
        );
      } else {
        faults++;
        kinds[hw.faultKind] = (kinds[hw.faultKind] ?? 0) + 1;
        model = trapText(BigInt(PAGE_FAULT_CAUSE[a.kind]!), va);
      }
      const qemu = qemuText(a.kind, run.results, index * 32);
      if (qemu !== model) {
        disagreements.push({
          mode: c.mode,
          index,
          access: `${['load', 'store', 'fetch'][a.kind]} 0x${va.toString(16)} ${a.priv ? 'S' : 'U'}${a.sum ? ' SUM' : ''}${a.mxr ? ' MXR' : ''}`,
          qemu,
          model,
        });
      }
      index++;
    }
    perMode[c.mode] = c.accesses.length;
    // The tables as QEMU's walker left them (A/D set in hardware) against the model's memory.
    for (let t = c.firstTable; t < c.firstTable + c.tableCount; t++) {
      for (let i = 0; i < entries; i++) {
        const slot = t * entries + i;
        const want = (BigInt(mem.ppn[slot]!) << 10n) | BigInt(mem.flags[slot]!);
        const at = (t - FIRST_TABLE) * 4096 + i * pteBytes(c.mode);
        const got =
          pteBytes(c.mode) === 4 ? BigInt(run.tables.readUInt32LE(at)) : run.tables.readBigUInt64LE(at);
        ptesCompared++;
        if (initial.has(slot) && initial.get(slot) !== mem.flags[slot]) adUpdated++;
        if (got !== want)
          pteDisagreements.push(
            `${c.mode} table ${t} [${i}]: qemu 0x${got.toString(16)}, model 0x${want.toString(16)}`,
          );
      }
    }
    hw.release();
  }
  return {
    accesses: index,
    perMode,
    disagreements,
    ptesCompared,
    pteDisagreements,
    faults,
    completed,
    kinds,
    adUpdated,
  };
}

/** Several runs' comparisons as one (the RV64 run for Sv39/48/57, the RV32 run for Sv32). */
export function combine(parts: readonly Comparison[]): Comparison {
  const kinds: Record<string, number> = {};
  for (const p of parts) for (const [k, n] of Object.entries(p.kinds)) kinds[k] = (kinds[k] ?? 0) + n;
  const sum = (f: (c: Comparison) => number) => parts.reduce((n, c) => n + f(c), 0);
  return {
    accesses: sum((c) => c.accesses),
    perMode: Object.assign({}, ...parts.map((c) => c.perMode)),
    disagreements: parts.flatMap((c) => c.disagreements),
    ptesCompared: sum((c) => c.ptesCompared),
    pteDisagreements: parts.flatMap((c) => c.pteDisagreements),
    faults: sum((c) => c.faults),
    completed: sum((c) => c.completed),
    kinds,
    adUpdated: sum((c) => c.adUpdated),
  };
}
