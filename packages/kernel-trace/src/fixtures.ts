/**
 * The shipped real-kernel workloads: captures made with `pnpm capture` (tools/capture) of Debian's
 * riscv64 Linux 6.12 under QEMU with 2 harts, committed under fixtures/ with their provenance, so
 * tests and the demo need no QEMU.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Scenario } from '@tlblab/core';
import { type RealWorkloadParams, scenarioFromWorkload } from './scenario.js';
import { type ImportedWorkload, importTrace } from './workload.js';

export const FIXTURES = ['boot', 'fork', 'modules', 'bpf'] as const;
export type Fixture = (typeof FIXTURES)[number];

function fixtureUrl(name: Fixture, file: string): URL {
  return new URL(`../fixtures/${name}/${file}`, import.meta.url);
}

/** The ftrace text of a shipped capture. */
export function fixtureTrace(name: Fixture): string {
  return gunzipSync(readFileSync(fixtureUrl(name, 'trace.txt.gz'))).toString('utf8');
}

/** The provenance.json `pnpm capture` wrote for a shipped capture. */
export function fixtureProvenance(name: Fixture): Record<string, unknown> {
  return JSON.parse(readFileSync(fixtureUrl(name, 'provenance.json'), 'utf8')) as Record<string, unknown>;
}

const imported = new Map<Fixture, ImportedWorkload>();

/** The imported workload of a shipped capture (parsed once per process). */
export function fixtureWorkload(name: Fixture): ImportedWorkload {
  let w = imported.get(name);
  if (!w) {
    w = importTrace(fixtureTrace(name), fileURLToPath(fixtureUrl(name, 'trace.txt.gz')));
    imported.set(name, w);
  }
  return w;
}

const SOURCE =
  'captured with pnpm capture (tools/capture): Debian 13 linux-image-6.12.117+deb13-riscv64, busybox-static, QEMU 7.2 virt -smp 2 (Sv57, SBI IPIs and remote fences), fixtures/<name>/provenance.json';

const STORIES: Record<Fixture, { title: string; story: string }> = {
  boot: {
    title: 'a real Linux 6.12 riscv64 boot to /init (2 harts)',
    story:
      "Every new kernel mapping a real kernel makes while booting — vmap stacks of the kernel threads, vmalloc'd tables, ioremap of the UART, PCIe and virtio windows — on the CPU that made it and in its order, replayed on the model's harts: each area is touched by every hart its maker later runs on (the trace's scheduling).",
  },
  fork: {
    title: 'a real boot, then fork+exec in a loop and a concurrent burst (2 harts)',
    story:
      "Boot, then 200 fork+exec of /bin/busybox true from a shell and a burst of 32 concurrent children: every fork either maps a fresh 16 KiB vmap stack (flush_cache_vmap's case) or reuses one from the per-CPU cache of freed stacks; children run where the scheduler put them, which is where the replay reads their stacks.",
  },
  modules: {
    title: 'a real boot, then 10 shipped modules loaded and removed (2 harts)',
    story:
      'Boot, then modprobe of 10 shipped modules (crc*, nls_utf8, vfat, isofs, loop, dummy, brd) and their removal: each section is an execmem allocation in the modules area, then the STRICT_MODULE_RWX pass (set_memory_ro/nx/x, each a flush_tlb_all on riscv) and, on removal, a vfree whose lazy purge flushes the kernel range.',
  },
  bpf: {
    title: "a real boot, then 40 of the kernel's test_bpf tests with the JIT on (2 harts)",
    story:
      'Boot, then test_bpf (lib/test_bpf.c) tests 0-39 with /proc/sys/net/core/bpf_jit_enable=1: JIT images in execmem packs (bpf_prog_pack_alloc: set_memory_ro + set_memory_x), programs in vmalloc, and the direct-map resets of every VM_FLUSH_RESET_PERMS vfree (set_direct_map_*_noflush, each followed by flush_tlb_all from __set_memory in this capture).',
  },
};

/** `real-boot`, `real-fork`, `real-modules`, `real-bpf`. */
export const realScenarios: readonly Scenario<RealWorkloadParams>[] = FIXTURES.map((name) =>
  scenarioFromWorkload({ id: `real-${name}`, ...STORIES[name], source: SOURCE.replace('<name>', name) }, () =>
    fixtureWorkload(name),
  ),
);
