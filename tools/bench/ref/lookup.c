/*
 * The C bare-lookup reference of the bench's step-loop figure (issue 13): the same stream and
 * loop as bareLoop in refs.ts (per hart 48 user pages and 16 kernel buffer pages above 2^32, harts
 * round robin, a set-associative LRU lookup-and-fill of 64-bit VPN tags), compiled by the bench
 * with `cc -O2`. Usage: lookup HARTS ACCESSES ENTRIES WAYS. Prints one JSON line with the CPU
 * seconds of the loop (CLOCK_PROCESS_CPUTIME_ID), its wall seconds and the hit count.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define USER_PAGES 48
#define BUF_PAGES 16
#define PER_HART (USER_PAGES + BUF_PAGES)

static double secs(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: lookup HARTS ACCESSES ENTRIES WAYS\n");
    return 2;
  }
  long harts = atol(argv[1]);
  long accesses = atol(argv[2]);
  long entries = atol(argv[3]);
  long ways = atol(argv[4]);
  uint64_t set_mask = (uint64_t)(entries / ways - 1);
  uint64_t *stream = malloc(sizeof(uint64_t) * harts * PER_HART);
  uint64_t *tag = malloc(sizeof(uint64_t) * harts * entries);
  uint64_t *stamp = calloc((size_t)(harts * entries), sizeof(uint64_t));
  int32_t *pos = calloc((size_t)harts, sizeof(int32_t));
  if (!stream || !tag || !stamp || !pos) return 1;
  for (long h = 0; h < harts; h++) {
    for (long i = 0; i < USER_PAGES; i++) stream[h * PER_HART + i] = 0x400 + i;
    for (long i = 0; i < BUF_PAGES; i++)
      stream[h * PER_HART + USER_PAGES + i] =
          ((uint64_t)0xfffff << 32) | (uint32_t)(0xfc600000u + 0x40 + h * BUF_PAGES + i);
  }
  for (long e = 0; e < harts * entries; e++) tag[e] = ~(uint64_t)0;
  double c0 = secs(CLOCK_PROCESS_CPUTIME_ID);
  double w0 = secs(CLOCK_MONOTONIC);
  uint64_t clock = 0, hits = 0;
  long h = 0;
  for (long n = 0; n < accesses; n++) {
    int32_t p = pos[h];
    uint64_t vpn = stream[h * PER_HART + p];
    pos[h] = p + 1 == PER_HART ? 0 : p + 1;
    long base = h * entries + (long)(vpn & set_mask) * ways;
    long hit = -1;
    for (long w = 0; w < ways; w++)
      if (tag[base + w] == vpn) hit = base + w;
    if (hit >= 0) {
      hits++;
      stamp[hit] = ++clock;
    } else {
      long victim = base;
      for (long w = 1; w < ways; w++)
        if (stamp[base + w] < stamp[victim]) victim = base + w;
      tag[victim] = vpn;
      stamp[victim] = ++clock;
    }
    h = h + 1 == harts ? 0 : h + 1;
  }
  double cpu = secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
  double wall = secs(CLOCK_MONOTONIC) - w0;
  printf("{\"accesses\":%ld,\"cpuSeconds\":%.9f,\"wallSeconds\":%.9f,\"checksum\":%llu}\n", accesses, cpu,
         wall, (unsigned long long)hits);
  return 0;
}
