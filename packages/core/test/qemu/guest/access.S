/*
 * One translated access and the M-mode trap handler that ends it. Loads and stores run in M-mode
 * with mstatus.MPRV = 1 and MPP = S or U (privileged spec, "Memory Privilege in mstatus Register"),
 * so they are translated and checked as S/U accesses; nothing else touches memory while MPRV is
 * set. Fetches need the real thing: mret into S/U at the VA, where a data page's stub
 * (`lui a0, PA >> 12; ecall`) reports the physical page it was fetched from.
 */
#include "oracle.h"

#define MSTATUS_MPP 0x1800
#define MSTATUS_MPRV 0x20000

/* One guest source for RV64 (Sv39/48/57) and RV32 (Sv32): XLEN-wide loads, stores and records. */
#if __riscv_xlen == 32
#define LOADX lw
#define STOREX sw
#define XB 4
#else
#define LOADX ld
#define STOREX sd
#define XB 8
#endif

	/* picolibc's multilib is rv64imac: name the CSR extension for this file. */
	.option arch, +zicsr
	.section .text
	.globl oracle_access
	.globl oracle_trap
	.globl oracle_rec

/* a0 = va, a1 = kind, a2 = mstatus bits to set (MPRV, MPP, SUM, MXR), a3 = store token */
oracle_access:
	la t1, 9f
	la t2, resume_pc
	STOREX t1, 0(t2)
	li t0, KIND_FETCH
	beq a1, t0, 3f
	li t0, KIND_STORE
	beq a1, t0, 2f
	/* load */
	csrs mstatus, a2
	LOADX t3, 0(a0)
	csrc mstatus, a2
	j 8f
2:	/* store, then read the tag of the neighbouring word to learn the physical page */
	xori t4, a0, 8
	csrs mstatus, a2
	STOREX a3, 0(a0)
	LOADX t3, 0(t4)
	csrc mstatus, a2
	j 8f
3:	/* fetch: a real mret into S/U at the VA (MPRV stays clear) */
	csrw mepc, a0
	csrs mstatus, a2
	mret
8:	la t2, oracle_rec
	li t0, CAUSE_NONE
	STOREX t0, 0(t2)
	STOREX zero, XB(t2)
	STOREX t3, 2*XB(t2)
9:	ret

	.balign 4
oracle_trap:
	csrw mscratch, t0
	la t0, oracle_rec
	STOREX a0, 3*XB(t0)
	csrr a0, mcause
	STOREX a0, 0(t0)
	csrr a0, mtval
	STOREX a0, XB(t0)
	STOREX zero, 2*XB(t0)
	/* back to M-mode with translation off, at the access routine's return */
	li a0, MSTATUS_MPP
	csrs mstatus, a0
	li a0, MSTATUS_MPRV
	csrc mstatus, a0
	la a0, resume_pc
	LOADX a0, 0(a0)
	csrw mepc, a0
	csrr t0, mscratch
	mret

	.section .data
	.balign 8
resume_pc:
	.dword 0
oracle_rec:
	.dword 0, 0, 0, 0
