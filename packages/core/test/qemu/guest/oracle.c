/*
 * The QEMU side of the walker's differential test (packages/core/test/qemu/), built for RV64
 * (Sv39/Sv48/Sv57) and RV32 (Sv32) from this one source: runs the access list
 * of the image the generator wrote, one satp section at a time, and writes one record per access
 * (trap cause, tval, the physical address reached) plus the page tables as the hardware left them
 * (QEMU 7.2 sets A/D in hardware) to files through semihosting.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "oracle.h"

/* XLEN-wide registers: the access routine and the trap handler fill `oracle_rec` with them. */
typedef unsigned long xword;
struct oracle_raw {
	xword cause, tval, value, a0;
};

extern void oracle_access(xword va, xword kind, xword mstatus_bits, xword token);
extern void oracle_trap(void);
extern struct oracle_raw oracle_rec;

/* The C compiler targets rv64imac (picolibc's multilib); CSR and fence.i instructions need the
 * Zicsr/Zifencei extensions named to the assembler. */
#define ZICSR(insns) ".option push\n.option arch, +zicsr, +zifencei\n" insns "\n.option pop"

#define MSTATUS_MPP_S 0x800UL
#define MSTATUS_MPRV 0x20000UL
#define MSTATUS_SUM 0x40000UL
#define MSTATUS_MXR 0x80000UL

static void csr_setup(void)
{
	/* Every trap to M-mode lands in oracle_trap (direct mode). */
	__asm__ volatile(ZICSR("csrw mtvec, %0") ::"r"((xword)(uintptr_t)oracle_trap));
	__asm__ volatile(ZICSR("csrw medeleg, zero; csrw mideleg, zero; csrw mie, zero"));
	/* One NAPOT PMP entry over all memory with RWX: S/U accesses (and their page-table reads)
	 * fail when PMP is implemented and no entry matches. */
	__asm__ volatile(ZICSR("csrw pmpaddr0, %0") ::"r"(sizeof(xword) == 4 ? ~0UL : ~0UL >> 10));
	__asm__ volatile(ZICSR("csrw pmpcfg0, %0") ::"r"(0x1fUL));
}

static void fill_data(const struct oracle_header *h)
{
	for (uint64_t pa = h->data_base; pa < h->data_base + h->data_bytes; pa += 4096) {
		volatile uint32_t *code = (volatile uint32_t *)(uintptr_t)pa;
		code[0] = (uint32_t)((pa >> 12) << 12) | (10u << 7) | 0x37u; /* lui a0, pa >> 12 */
		code[1] = 0x00000073u;                                     /* ecall */
		for (uint64_t off = 8; off < 4096; off += sizeof(xword)) *(volatile xword *)(uintptr_t)(pa + off) = (xword)(pa + off);
	}
	__asm__ volatile(ZICSR("fence.i") ::: "memory");
}

static int write_file(const char *name, const void *p, uint64_t bytes)
{
	FILE *f = fopen(name, "wb");
	if (!f) return -1;
	size_t n = fwrite(p, 1, bytes, f);
	fclose(f);
	return n == bytes ? 0 : -1;
}

int main(void)
{
	const struct oracle_header *h = (const struct oracle_header *)(uintptr_t)ORACLE_IMAGE;
	if (h->magic != ORACLE_MAGIC) {
		printf("oracle: no image at %lx\n", ORACLE_IMAGE);
		return 2;
	}
	csr_setup();
	fill_data(h);
	const struct oracle_access *acc = (const struct oracle_access *)(uintptr_t)h->accesses;
	struct oracle_record *out = (struct oracle_record *)(uintptr_t)ORACLE_RESULTS;
	for (uint64_t s = 0; s < h->section_count; s++) {
		const struct oracle_section *sec = &h->section[s];
		xword satp = (xword)sec->satp, back;
		__asm__ volatile(ZICSR("csrw satp, %1; sfence.vma; csrr %0, satp") : "=r"(back) : "r"(satp) : "memory");
		for (uint64_t i = sec->first; i < sec->first + sec->count; i++) {
			const struct oracle_access *a = &acc[i];
			if (back != satp) {
				out[i].cause = CAUSE_MODE_UNSUPPORTED;
				continue;
			}
			xword bits = (a->priv ? MSTATUS_MPP_S : 0) | (a->sum ? MSTATUS_SUM : 0) | (a->mxr ? MSTATUS_MXR : 0);
			if (a->kind != KIND_FETCH) bits |= MSTATUS_MPRV;
			__asm__ volatile(ZICSR("csrc mstatus, %0") ::"r"(0x1800UL | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR));
			oracle_access((xword)a->va, a->kind, bits, (xword)a->token);
			__asm__ volatile(ZICSR("csrc mstatus, %0") ::"r"(MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR));
			out[i].cause = oracle_rec.cause;
			out[i].tval = oracle_rec.tval;
			out[i].value = oracle_rec.value;
			out[i].a0 = oracle_rec.a0;
			/* A store overwrote one tag word: put the tag back so later loads read addresses. */
			if (a->kind == KIND_STORE && oracle_rec.cause == CAUSE_NONE) {
				xword pa = oracle_rec.value ^ 8;
				if (pa >= h->data_base + 8 && pa < h->data_base + h->data_bytes) *(volatile xword *)pa = pa;
			}
		}
		__asm__ volatile(ZICSR("csrw satp, zero; sfence.vma") ::: "memory");
	}
	if (write_file("results.bin", out, h->access_count * sizeof(struct oracle_record)) ||
	    write_file("tables.bin", (const void *)(uintptr_t)h->tables_base, h->tables_bytes)) {
		printf("oracle: semihosting write failed\n");
		return 3;
	}
	printf("oracle: %lu accesses\n", (unsigned long)h->access_count);
	return 0;
}
