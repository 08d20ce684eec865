/*
 * Layout shared by the guest program and the TypeScript generator (test/qemu/image.ts): physical
 * addresses on QEMU's `virt` machine, whose RAM starts at 0x80000000.
 */
#ifndef ORACLE_H
#define ORACLE_H

#define ORACLE_IMAGE 0x80100000UL /* header + access list, loaded with -device loader */
#define ORACLE_MAGIC 0x31454c43524f4c54UL /* "TLORCLE1" */
#define ORACLE_RESULTS 0x86000000UL /* result records, written out by semihosting */

/* Access kinds. */
#define KIND_LOAD 0
#define KIND_STORE 1
#define KIND_FETCH 2

/* A record's cause when the access completed without a trap (loads and stores). */
#define CAUSE_NONE 0xffffUL
/* All accesses of a section whose satp mode the hart refused (WARL read-back differs). */
#define CAUSE_MODE_UNSUPPORTED 0xfffeUL

#ifndef __ASSEMBLER__
#include <stdint.h>

struct oracle_section {
	uint64_t satp;
	uint64_t first;
	uint64_t count;
	uint64_t pad;
};

struct oracle_header {
	uint64_t magic;
	uint64_t accesses; /* physical address of the access array */
	uint64_t access_count;
	uint64_t tables_base; /* page-table pages, loaded with the image */
	uint64_t tables_bytes;
	uint64_t data_base; /* data pages the guest fills: code stub + address tags */
	uint64_t data_bytes;
	uint64_t section_count;
	struct oracle_section section[4];
};

struct oracle_access {
	uint64_t va;
	uint8_t kind;
	uint8_t priv; /* 0 = U, 1 = S */
	uint8_t sum;
	uint8_t mxr;
	uint32_t pad;
	uint64_t token;
	uint64_t pad2;
};

struct oracle_record {
	uint64_t cause; /* mcause of the trap, or CAUSE_NONE */
	uint64_t tval;  /* mtval of the trap */
	uint64_t value; /* load: the tag read; store: the tag read at va ^ 8; fetch: a0 from the stub */
	uint64_t a0;
};
#endif
#endif
