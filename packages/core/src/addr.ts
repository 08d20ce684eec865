/**
 * Virtual addresses, page numbers and the Linux/RISC-V layout per translation mode.
 *
 * Every address on the simulator's hot path is a virtual page number (VPN = VA >> 12) held in a
 * plain JS number. A 64-bit VA has a 52-bit VPN, below 2^53, so the number is exact for every
 * mode including Sv57's top of the kernel half; nothing on the hot path needs BigInt. Offsets
 * within a page are kept apart where they matter (stack pointer, run-ahead). BigInt is used only
 * here, to parse and print addresses.
 */

export type Mode = 'sv32' | 'sv39' | 'sv48' | 'sv57';
export const MODES: readonly Mode[] = ['sv32', 'sv39', 'sv48', 'sv57'];

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** Geometry of one translation mode (privileged spec, "Sv32/Sv39/Sv48/Sv57"). */
export interface ModeGeometry {
  readonly mode: Mode;
  /** Page-table levels; the root is level `levels - 1`, leaves of 4 KiB pages are level 0. */
  readonly levels: number;
  /** VPN bits consumed per level (10 for Sv32, 9 otherwise). */
  readonly bitsPerLevel: number;
  /** Entries per page-table page. */
  readonly entriesPerTable: number;
  /** Width of the virtual address in bits (32, 39, 48, 57). */
  readonly vaBits: number;
  /** True for the 64-bit modes (a 64-bit kernel). */
  readonly is64: boolean;
}

export const GEOMETRY: Readonly<Record<Mode, ModeGeometry>> = {
  sv32: { mode: 'sv32', levels: 2, bitsPerLevel: 10, entriesPerTable: 1024, vaBits: 32, is64: false },
  sv39: { mode: 'sv39', levels: 3, bitsPerLevel: 9, entriesPerTable: 512, vaBits: 39, is64: true },
  sv48: { mode: 'sv48', levels: 4, bitsPerLevel: 9, entriesPerTable: 512, vaBits: 48, is64: true },
  sv57: { mode: 'sv57', levels: 5, bitsPerLevel: 9, entriesPerTable: 512, vaBits: 57, is64: true },
};

/** Parse a VA written as hex (`ffffffc600000000`, `0x…`, `_` separators allowed) or a bigint. */
export function parseVa(va: string | bigint): bigint {
  if (typeof va === 'bigint') return va;
  const clean = va.trim().replace(/_/g, '').replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(clean)) throw new RangeError(`not a virtual address: '${va}'`);
  return BigInt(`0x${clean}`);
}

/** VA -> VPN (exact: at most 52 bits). */
export function vpnOf(va: string | bigint): number {
  return Number(parseVa(va) >> 12n);
}

/** VPN -> VA as a bigint. */
export function vaOfVpn(vpn: number, offset = 0): bigint {
  return (BigInt(vpn) << 12n) | BigInt(offset);
}

/** VPN (+ offset) -> `0xffffffc600000000` style text. */
export function formatVa(vpn: number, offset = 0, mode?: Mode): string {
  const width = mode === 'sv32' ? 8 : 16;
  return `0x${vaOfVpn(vpn, offset).toString(16).padStart(width, '0')}`;
}

/** A half-open range of pages [start, end) named by VPN. */
export interface VpnRange {
  readonly start: number;
  readonly end: number;
}

export function inRange(r: VpnRange, vpn: number): boolean {
  return vpn >= r.start && vpn < r.end;
}

/**
 * The Linux virtual memory layout of one mode (Documentation/arch/riscv/vm-layout.rst; Sv32 is not
 * documented upstream: PAGE_OFFSET 0xc0000000 with vmalloc just below it, as the domain doc models).
 * Every boundary is a VPN. `taskSize` is the first kernel VPN (addresses >= TASK_SIZE are kernel).
 */
export interface Layout {
  readonly mode: Mode;
  readonly geometry: ModeGeometry;
  /** First VPN at or above TASK_SIZE (user space is [0, taskSize)). */
  readonly taskSize: number;
  /** First VPN of the kernel half (sign bit set on 64-bit; PAGE_OFFSET-ish region on Sv32). */
  readonly kernelStart: number;
  readonly vmalloc: VpnRange;
  /** Modules/BPF area; on 64-bit it lies outside the vmalloc range. On Sv32 modules use vmalloc. */
  readonly modules: VpnRange;
  readonly directMap: VpnRange;
  /** The kernel image (text/rodata/data). */
  readonly kernelImage: VpnRange;
}

function range(start: string, endInclusive: string): VpnRange {
  return { start: vpnOf(start), end: vpnOf(endInclusive) + 1 };
}

const LAYOUTS: Readonly<Record<Mode, Omit<Layout, 'geometry' | 'mode'>>> = {
  sv32: {
    taskSize: vpnOf('9fc00000'),
    kernelStart: vpnOf('a0000000'),
    vmalloc: range('a0000000', 'bfffffff'),
    modules: range('a0000000', 'bfffffff'),
    directMap: range('c0000000', 'efffffff'),
    kernelImage: range('c0000000', 'c1ffffff'),
  },
  sv39: {
    taskSize: vpnOf('0000004000000000'),
    kernelStart: vpnOf('ffffffc000000000'),
    vmalloc: range('ffffffc600000000', 'ffffffd5ffffffff'),
    modules: range('ffffffff00000000', 'ffffffff7fffffff'),
    directMap: range('ffffffd600000000', 'fffffff5ffffffff'),
    kernelImage: range('ffffffff80000000', 'ffffffffffffffff'),
  },
  sv48: {
    taskSize: vpnOf('0000800000000000'),
    kernelStart: vpnOf('ffff800000000000'),
    vmalloc: range('ffff8f8000000000', 'ffffaf7fffffffff'),
    modules: range('ffffffff00000000', 'ffffffff7fffffff'),
    directMap: range('ffffaf8000000000', 'ffffef7fffffffff'),
    kernelImage: range('ffffffff80000000', 'ffffffffffffffff'),
  },
  sv57: {
    taskSize: vpnOf('0100000000000000'),
    kernelStart: vpnOf('ff00000000000000'),
    vmalloc: range('ff20000000000000', 'ff5fffffffffffff'),
    modules: range('ffffffff00000000', 'ffffffff7fffffff'),
    directMap: range('ff60000000000000', 'ffdeffffffffffff'),
    kernelImage: range('ffffffff80000000', 'ffffffffffffffff'),
  },
};

export function layoutFor(mode: Mode): Layout {
  return { mode, geometry: GEOMETRY[mode], ...LAYOUTS[mode] };
}

/** Kernel address test as `handle_exception`'s early check does it: sign bit set (64-bit), or >= TASK_SIZE. */
export function isKernelVpn(layout: Layout, vpn: number): boolean {
  return vpn >= layout.taskSize;
}

/** POW2[k] = 2^k for k = 0..63, exact doubles: shifts of VPNs above 2^32 without `2 **` per call. */
const POW2: Float64Array = (() => {
  const t = new Float64Array(64);
  let p = 1;
  for (let k = 0; k < 64; k++, p *= 2) t[k] = p;
  return t;
})();

/**
 * Index into the page table of `level` for `vpn` (level 0 = leaf table). Dividing by a power of
 * two is exact on doubles below 2^53, and `& mask` applies ToInt32 (truncation, then modulo 2^32)
 * before masking, so `(vpn / 2^(level * bits)) & (2^bits - 1)` is exactly
 * floor(vpn / 2^(level * bits)) mod 2^bits for every 52-bit VPN: no float `%`, no BigInt, no
 * allocation.
 */
export function levelIndex(vpn: number, level: number, bitsPerLevel: number): number {
  return (vpn / POW2[level * bitsPerLevel]!) & ((1 << bitsPerLevel) - 1);
}
