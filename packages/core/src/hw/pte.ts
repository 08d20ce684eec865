/**
 * The RISC-V PTE format (privileged spec, "Sv32/Sv39 page table entry"): bits 0..7 are
 * V R W X U G A D; the PPN sits above the two RSW bits. The model keeps flags and PPN apart
 * (a Uint16Array and a Float64Array) so a PPN of any width stays exact.
 */
export const PTE_V = 1 << 0;
export const PTE_R = 1 << 1;
export const PTE_W = 1 << 2;
export const PTE_X = 1 << 3;
export const PTE_U = 1 << 4;
export const PTE_G = 1 << 5;
export const PTE_A = 1 << 6;
export const PTE_D = 1 << 7;

/** A PTE with V=1 and any of R/W/X is a leaf; V=1 with none is a pointer to the next level. */
export function isLeaf(flags: number): boolean {
  return (flags & (PTE_R | PTE_W | PTE_X)) !== 0;
}

/** Linux PAGE_KERNEL: valid, readable, writable, global, accessed, dirty. */
export const PAGE_KERNEL = PTE_V | PTE_R | PTE_W | PTE_G | PTE_A | PTE_D;
/** PAGE_KERNEL_READ (rodata, set_memory_ro). */
export const PAGE_KERNEL_READ = PTE_V | PTE_R | PTE_G | PTE_A;
/** PAGE_KERNEL_EXEC (module text). */
export const PAGE_KERNEL_EXEC = PAGE_KERNEL | PTE_X;
/** PAGE_KERNEL_READ_EXEC (kernel text). */
export const PAGE_KERNEL_READ_EXEC = PAGE_KERNEL_READ | PTE_X;
/** _PAGE_TABLE: a non-leaf pointer (Linux sets only V on page-table entries). */
export const PAGE_TABLE = PTE_V;
/** User data page. */
export const PAGE_USER = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;

export function formatFlags(flags: number): string {
  const names = 'VRWXUGAD';
  let s = '';
  for (let i = 0; i < 8; i++) s += flags & (1 << i) ? names[i] : '-';
  return s;
}
