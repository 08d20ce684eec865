/**
 * The address stream shared by the bench's references (tools/bench/ref/*) and mirrored by the
 * model workload (tools/bench/workloads.ts): per hart, 48 user pages and 16 pages of the hart's own
 * vmalloc buffer, read in a loop. Kernel VPNs lie above 2^32 (Sv39 sign-extended kernel VAs, e.g.
 * 0xffffffc6_00000000 >> 12), so each VPN is kept as two 32-bit halves (`hi`, `lo`): exact 64-bit
 * arithmetic with integer operations only, no float `%` and no BigInt.
 */
export const USER_PAGES = 48;
export const BUF_PAGES = 16;
export const PER_HART = USER_PAGES + BUF_PAGES;
/** VA 0xffffffc6_00000000 >> 12 = 0xf_ffff_fc60_0000: the halves of the first buffer page. */
export const KERNEL_HI = 0xfffff;
export const KERNEL_LO = 0xfc600000;

export interface Stream {
  readonly harts: number;
  /** hart h's i-th page: hi[h * PER_HART + i], lo[h * PER_HART + i]. */
  readonly hi: Int32Array;
  readonly lo: Int32Array;
  /** 1 for kernel (global) pages, 0 for user pages (ASID-tagged). */
  readonly global: Uint8Array;
}

export function makeStream(harts: number): Stream {
  const hi = new Int32Array(harts * PER_HART);
  const lo = new Int32Array(harts * PER_HART);
  const global = new Uint8Array(harts * PER_HART);
  for (let h = 0; h < harts; h++) {
    for (let i = 0; i < USER_PAGES; i++) lo[h * PER_HART + i] = 0x400 + i;
    for (let i = 0; i < BUF_PAGES; i++) {
      const k = h * PER_HART + USER_PAGES + i;
      hi[k] = KERNEL_HI;
      lo[k] = (KERNEL_LO + 0x40 + h * BUF_PAGES + i) | 0;
      global[k] = 1;
    }
  }
  return { harts, hi, lo, global };
}
