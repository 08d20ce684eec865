/**
 * The capture tool's own rules (tools/capture), without QEMU: the kernel command line per mode, the
 * traced events, the guest's /init, and the argument errors (exit 2, one line).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli, kernelCommandLine, TRACE_EVENTS, TRACE_FUNCTIONS } from '../../../tools/capture/capture.ts';
import { DEFAULT_PARAMS, initScript, workloadScript } from '../../../tools/capture/workloads.ts';

afterEach(() => vi.restoreAllMocks());

describe('pnpm capture', () => {
  it('steps the kernel down from Sv57 with no5lvl / no4lvl and enables the events and filters from boot', () => {
    expect(kernelCommandLine({ mode: 'sv57' })).not.toMatch(/no[45]lvl/);
    expect(kernelCommandLine({ mode: 'sv48' })).toContain(' no5lvl ');
    expect(kernelCommandLine({ mode: 'sv39' })).toContain(' no4lvl ');
    const cmd = kernelCommandLine({ mode: 'sv39' });
    expect(cmd).toContain(`trace_event=${TRACE_EVENTS.join(',')}`);
    expect(cmd).toContain(`ftrace=function ftrace_filter=${TRACE_FUNCTIONS.join(',')}`);
    // The importer's pairing needs the allocation events and the mapping functions.
    expect(TRACE_EVENTS).toContain('vmalloc:alloc_vmap_area');
    expect(TRACE_FUNCTIONS).toEqual(
      expect.arrayContaining(['vmap_pages_range', 'flush_tlb_kernel_range', 'flush_tlb_all']),
    );
  });

  it('brackets each workload phase with trace markers and writes the results disk after tracing stops', () => {
    const init = initScript('fork', { ...DEFAULT_PARAMS, forkLoops: 7, forkBurst: 3 });
    expect(init).toContain('while [ $i -lt 7 ]; do /bin/busybox true;');
    expect(init).toContain('phase fork-burst begin');
    expect(init.indexOf('echo 0 > $T/tracing_on')).toBeLessThan(
      init.indexOf('cat $T/trace > /out/trace.txt'),
    );
    expect(init.indexOf('modprobe virtio_blk')).toBeGreaterThan(init.indexOf('echo 0 > $T/tracing_on'));
    expect(workloadScript('bpf', { ...DEFAULT_PARAMS, bpfTests: 5 })).toContain('test_range=0,4');
    expect(() => workloadScript('modules', { ...DEFAULT_PARAMS, modules: ['x; rm -rf /'] })).toThrow(
      /not a plain module name/,
    );
  });

  it('refuses bad arguments with one line and exit 2', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    expect(await cli(['--workload', 'forks'])).toBe(2);
    expect(lines.join('')).toMatch(/^capture: error: --workload must be one of boot, fork, modules, bpf/);
    lines.length = 0;
    expect(await cli(['--workload', 'fork', '--harts', '0'])).toBe(2);
    expect(lines.join('')).toBe("capture: error: --harts must be an integer in 1..8, got '0'\n");
    lines.length = 0;
    expect(await cli(['--workload', 'boot', '--mode', 'sv32'])).toBe(2);
    expect(lines.join('')).toMatch(/--mode must be one of sv39, sv48, sv57/);
    lines.length = 0;
    expect(await cli(['--workload', 'boot', '--frobnicate'])).toBe(2);
    expect(lines.join('')).toMatch(/^capture: error: Unknown option '--frobnicate'/);
  });
});
