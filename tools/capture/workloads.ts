/**
 * The workloads: what `/init` runs inside the guest between the `boot` phase and the collection of
 * the trace. Each phase is bracketed by `tlblab-phase: <name> begin|end` lines written to
 * `trace_marker`, so the importer (and a human reading the log) can cut the log into phases.
 * Counts are small by default: QEMU is CPU-heavy and the machine is shared.
 */

export const WORKLOADS = ['boot', 'fork', 'modules', 'bpf'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface WorkloadParams {
  /** fork: fork+exec iterations of the sequential loop. */
  readonly forkLoops: number;
  /** fork: children of the concurrent burst (all alive at once). */
  readonly forkBurst: number;
  /** modules: shipped modules loaded (modprobe, dependencies first) then removed in reverse. */
  readonly modules: readonly string[];
  /** bpf: number of `test_bpf` tests run with the JIT on (`test_range=0,N-1`). */
  readonly bpfTests: number;
}

/**
 * Modules of the Debian 6.12 riscv64 kernel that load without hardware: small libraries,
 * filesystems and virtual devices. Each load is an execmem allocation in the modules area with
 * its STRICT_MODULE_RWX pass; each removal a vfree.
 */
export const DEFAULT_MODULES = [
  'crc7',
  'crc8',
  'crc-itu-t',
  'crc16',
  'nls_utf8',
  'vfat',
  'isofs',
  'loop',
  'dummy',
  'brd',
] as const;

export const DEFAULT_PARAMS: WorkloadParams = {
  forkLoops: 60,
  forkBurst: 16,
  modules: DEFAULT_MODULES,
  bpfTests: 40,
};

/** Modules the workload needs inside the guest (besides virtio_blk for the results disk). */
export function workloadModules(w: Workload, p: WorkloadParams): string[] {
  if (w === 'modules') return [...p.modules];
  if (w === 'bpf') return ['test_bpf'];
  return [];
}

function shellWord(s: string): string {
  if (!/^[A-Za-z0-9_.,=-]+$/.test(s)) throw new Error(`not a plain module name: ${s}`);
  return s;
}

/** The shell lines of one workload (run by busybox ash inside the guest). */
export function workloadScript(w: Workload, p: WorkloadParams): string {
  switch (w) {
    case 'boot':
      return 'phase idle begin\nsleep 1\nphase idle end\n';
    case 'fork':
      // `/bin/busybox true` has a slash, so ash fork()s and really execve()s it (an applet name
      // alone may run in-process). The burst keeps every child alive at once (sleep 1).
      return [
        'phase fork-loop begin',
        'i=0',
        `while [ $i -lt ${p.forkLoops} ]; do /bin/busybox true; i=$((i+1)); done`,
        'phase fork-loop end',
        'phase fork-burst begin',
        'i=0',
        `while [ $i -lt ${p.forkBurst} ]; do /bin/busybox sleep 1 & i=$((i+1)); done`,
        'wait',
        'phase fork-burst end',
        '',
      ].join('\n');
    case 'modules': {
      const names = p.modules.map(shellWord);
      return [
        'phase module-load begin',
        ...names.map((m) => `modprobe ${m} || echo "tlblab: modprobe ${m} failed"`),
        'phase module-load end',
        'phase module-remove begin',
        ...[...names].reverse().map((m) => `modprobe -r ${m} || echo "tlblab: modprobe -r ${m} failed"`),
        'phase module-remove end',
        '',
      ].join('\n');
    }
    case 'bpf':
      return [
        'echo 1 > /proc/sys/net/core/bpf_jit_enable',
        'phase test-bpf begin',
        `modprobe test_bpf test_range=0,${p.bpfTests - 1} || echo "tlblab: test_bpf reported failures"`,
        'modprobe -r test_bpf 2>/dev/null',
        'phase test-bpf end',
        '',
      ].join('\n');
  }
}

/**
 * `/init`: mount what the workload needs, mark `boot end`, run the workload, stop tracing, then
 * write the trace, the per-CPU ring-buffer stats (overruns = lost events), the phases' uptimes and
 * the kernel's own identity as a tar onto the raw virtio disk, and power off.
 */
export function initScript(w: Workload, p: WorkloadParams): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /out /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
T=/sys/kernel/tracing
[ -e $T/trace_marker ] || mount -t tracefs tracefs $T
phase() { echo "tlblab-phase: $*" > $T/trace_marker; echo "tlblab-phase: $*"; echo "$* $(cut -d' ' -f1 /proc/uptime)" >> /out/phases.txt; }
phase boot end
${workloadScript(w, p)}echo 0 > $T/tracing_on
cat /proc/version > /out/version.txt
cat /proc/cmdline > /out/cmdline.txt
for c in $T/per_cpu/cpu*; do echo "== $c"; cat $c/stats; done > /out/stats.txt
cat $T/trace > /out/trace.txt
modprobe virtio_blk
n=0; while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
tar cf /dev/vda -C /out .
sync
echo "tlblab: results written"
poweroff -f
`;
}
