/**
 * `pnpm capture`: boot the Debian 13 riscv64 Linux 6.12 kernel under qemu-system-riscv64 with a
 * busybox initramfs running one workload, with the vmalloc/module/sched/ipi trace events and the
 * function tracer on the TLB-flush and mapping functions, and write the ftrace text log plus a
 * provenance file. See tools/capture/README.md and shared/domain/real-kernel-capture.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  CaptureError,
  cacheDir,
  commandExists,
  type Fetched,
  fetchKernel,
  hostPackageOf,
  moduleClosure,
} from './fetch.ts';
import {
  DEFAULT_PARAMS,
  initScript,
  WORKLOADS,
  type Workload,
  type WorkloadParams,
  workloadModules,
} from './workloads.ts';

export const CAPTURE_TOOL_VERSION = 1;

/** Trace events enabled from boot (`trace_event=`); the `vmalloc:` ones give sizes and purge ranges. */
export const TRACE_EVENTS = [
  'vmalloc:alloc_vmap_area',
  'vmalloc:purge_vmap_area_lazy',
  'vmalloc:free_vmap_area_noflush',
  'ipi:',
  'module:module_load',
  'module:module_free',
  'sched:sched_process_fork',
  'sched:sched_process_exec',
  'sched:sched_process_free',
  'sched:sched_migrate_task',
];

/**
 * Functions traced from boot (`ftrace=function ftrace_filter=`): the function tracer gives each call
 * and its caller, not its arguments. These are the kernel paths the model knows: new mappings
 * (mm/vmalloc.c, ioremap), purges, the kernel-range and global flushes (arch/riscv/mm/tlbflush.c),
 * execmem (mm/execmem.c), set_memory_* (arch/riscv/mm/pageattr.c) and the icache flush
 * (arch/riscv/mm/cacheflush.c). User flushes (flush_tlb_mm/page) and handle_page_fault are left out:
 * they fire per user fault and fork and would swamp the log with events outside the model.
 */
export const TRACE_FUNCTIONS = [
  'flush_tlb_kernel_range',
  'flush_tlb_all',
  'vmap_pages_range',
  'vmap_page_range',
  'ioremap_prot',
  'vunmap_range',
  'vm_unmap_aliases',
  'execmem_alloc',
  'execmem_free',
  'set_memory_ro',
  'set_memory_rw',
  'set_memory_x',
  'set_memory_nx',
  'set_memory_rw_nx',
  'set_direct_map_invalid_noflush',
  'set_direct_map_default_noflush',
  'flush_icache_all',
];

export const MODES = ['sv39', 'sv48', 'sv57'] as const;
export type CaptureMode = (typeof MODES)[number];

/** The kernel boots with 5-level tables when the hart has Sv57; `no5lvl` / `no4lvl` step it down. */
const MODE_ARG: Record<CaptureMode, string> = { sv57: '', sv48: 'no5lvl', sv39: 'no4lvl' };

export interface CaptureOptions {
  readonly workload: Workload;
  readonly harts: number;
  readonly mode: CaptureMode;
  readonly out: string;
  readonly timeLimitSeconds: number;
  readonly params: WorkloadParams;
  readonly memoryMiB: number;
  readonly gzip: boolean;
  /** Kernel messages on the console (console.log) instead of `quiet`. */
  readonly verbose?: boolean;
  readonly cache: string;
  readonly log: (line: string) => void;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Host commands the capture needs; installs them (as root) via tools/apt-ensure.sh when missing. */
export function ensureHostTools(log: (l: string) => void, install: boolean): void {
  const need = ['qemu-system-riscv64', 'cpio', 'xz', 'depmod', 'modprobe'];
  const missing = need.filter((c) => !commandExists(c));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(hostPackageOf).map((p) => (p === 'modprobe' ? 'kmod' : p)))];
  const ensure = resolve(import.meta.dirname, '../apt-ensure.sh');
  if (install && process.getuid?.() === 0 && existsSync(ensure)) {
    log(`host: installing ${pkgs.join(' ')} (tools/apt-ensure.sh)`);
    try {
      execFileSync('bash', [ensure, ...pkgs, 'opensbi'], { stdio: ['ignore', 'inherit', 'inherit'] });
    } catch {
      throw new CaptureError(`could not install ${pkgs.join(' ')}: see apt's message above`);
    }
    const still = need.filter((c) => !commandExists(c));
    if (still.length === 0) return;
    missing.splice(0, missing.length, ...still);
  }
  throw new CaptureError(
    `missing ${missing.join(', ')}: run (as root) bash tools/apt-ensure.sh qemu-system-misc opensbi kmod cpio xz-utils`,
  );
}

function buildInitramfs(f: Fetched, o: CaptureOptions, work: string): string {
  const stage = join(work, 'initramfs');
  mkdirSync(join(stage, 'bin'), { recursive: true });
  writeFileSync(join(stage, 'bin/busybox'), readFileSync(f.busybox), { mode: 0o755 });
  writeFileSync(join(stage, 'init'), initScript(o.workload, o.params), { mode: 0o755 });
  // Only the modules the workload loads (plus virtio_blk for the results disk), decompressed:
  // busybox modprobe reads the modules.dep that depmod -b writes for this small tree.
  const modDir = join(stage, 'lib/modules', f.kernelRelease);
  mkdirSync(modDir, { recursive: true });
  const shippedBase = join(f.modulesRoot, 'lib/modules', f.kernelRelease);
  for (const file of moduleClosure(f, [...workloadModules(o.workload, o.params), 'virtio_blk'])) {
    const rel = file.replace(/^.*\/lib\/modules\/[^/]+\//, '').replace(/\.xz$/, '');
    const dst = join(modDir, rel);
    mkdirSync(join(dst, '..'), { recursive: true });
    const src = file.startsWith('/') && existsSync(file) ? file : join(shippedBase, file);
    if (src.endsWith('.xz')) writeFileSync(dst, execFileSync('xz', ['-dc', src], { maxBuffer: 256 << 20 }));
    else writeFileSync(dst, readFileSync(src));
  }
  for (const meta of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    const p = join(shippedBase, meta);
    if (existsSync(p)) writeFileSync(join(modDir, meta), readFileSync(p));
  }
  execFileSync('depmod', ['-b', stage, f.kernelRelease]);
  const out = join(work, 'initramfs.cpio.gz');
  execFileSync('sh', [
    '-c',
    `cd "${stage}" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 > "${out}"`,
  ]);
  return out;
}

export function kernelCommandLine(o: Pick<CaptureOptions, 'mode'> & { verbose?: boolean }): string {
  return [
    'console=ttyS0',
    o.verbose ? '' : 'quiet',
    'panic=-1',
    'rdinit=/init',
    MODE_ARG[o.mode],
    'trace_buf_size=16M',
    `trace_event=${TRACE_EVENTS.join(',')}`,
    'ftrace=function',
    `ftrace_filter=${TRACE_FUNCTIONS.join(',')}`,
  ]
    .filter(Boolean)
    .join(' ');
}

function qemuVersion(): string {
  return execFileSync('qemu-system-riscv64', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
}

interface GuestRun {
  readonly wallSeconds: number;
  readonly console: string;
}

function runQemu(args: readonly string[], o: CaptureOptions, consolePath: string): Promise<GuestRun> {
  const t0 = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child: ChildProcess = spawn('qemu-system-riscv64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const file = createWriteStream(consolePath);
    let text = '';
    let pending = '';
    let lastPhase = 'boot';
    const onData = (chunk: Buffer) => {
      file.write(chunk);
      const s = chunk.toString('utf8');
      text += s;
      pending += s;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (/^tlblab: /.test(line.trim())) o.log(`guest: ${line.trim().slice(8)}`);
        const pm = /tlblab-phase: (\S+) (begin|end)/.exec(line);
        if (pm) {
          lastPhase = pm[1]!;
          o.log(`guest: phase ${pm[1]} ${pm[2]} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      reject(
        new CaptureError(
          `time limit of ${o.timeLimitSeconds} s reached in guest phase '${lastPhase}' (console: ${consolePath}); raise --time-limit or shrink the workload`,
        ),
      );
    }, o.timeLimitSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CaptureError(`cannot start qemu-system-riscv64: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      file.end();
      if (timedOut) return; // the time limit already rejected
      if (signal)
        return reject(
          new CaptureError(`qemu-system-riscv64 was killed by ${signal} (console: ${consolePath})`),
        );
      const wallSeconds = (performance.now() - t0) / 1000;
      if (code !== 0)
        reject(new CaptureError(`qemu-system-riscv64 exited with ${code} (console: ${consolePath})`));
      else resolvePromise({ wallSeconds, console: text });
    });
  });
}

export interface Provenance {
  readonly tool: 'tlblab-capture';
  readonly toolVersion: number;
  readonly workload: Workload;
  readonly params: WorkloadParams;
  readonly harts: number;
  readonly mode: CaptureMode;
  readonly kernel: {
    readonly package: string;
    readonly packageVersion: string;
    readonly release: string;
    readonly procVersion: string;
    readonly configSha256: string;
    readonly config: Record<string, string>;
  };
  readonly busybox: { readonly package: string; readonly packageVersion: string };
  readonly qemu: { readonly version: string; readonly smp: number; readonly argv: readonly string[] };
  readonly firmware: string;
  readonly cmdline: string;
  readonly traceEvents: readonly string[];
  readonly traceFunctions: readonly string[];
  /** Guest phases: uptime seconds at their begin/end markers (`boot` ends when /init starts). */
  readonly phases: readonly { readonly name: string; readonly begin: number; readonly end: number }[];
  /** Per-CPU ring buffer overruns: events lost (must be 0 for a complete workload). */
  readonly overruns: readonly number[];
  readonly trace: {
    readonly file: string;
    readonly bytes: number;
    readonly lines: number;
    readonly sha256: string;
  };
  /** Wall seconds of each host step (download is 0 when cached). */
  readonly hostSeconds: Record<string, number>;
}

/** Config options that decide which kernel paths the workload takes. */
const CONFIG_KEYS = [
  'CONFIG_VMAP_STACK',
  'CONFIG_STRICT_MODULE_RWX',
  'CONFIG_STRICT_KERNEL_RWX',
  'CONFIG_BPF_JIT',
  'CONFIG_BPF_JIT_ALWAYS_ON',
  'CONFIG_EXECMEM',
  'CONFIG_PGTABLE_LEVELS',
  'CONFIG_NR_CPUS',
  'CONFIG_HZ',
  'CONFIG_RISCV_ISA_SVNAPOT',
  'CONFIG_RISCV_ISA_SVPBMT',
];

function parsePhases(text: string): { name: string; begin: number; end: number }[] {
  const open = new Map<string, number>();
  const phases: { name: string; begin: number; end: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+) (begin|end) ([0-9.]+)$/.exec(line.trim());
    if (!m) continue;
    const t = Number(m[3]);
    if (m[1] === 'boot' && m[2] === 'end') phases.push({ name: 'boot', begin: 0, end: t });
    else if (m[2] === 'begin') open.set(m[1]!, t);
    else phases.push({ name: m[1]!, begin: open.get(m[1]!) ?? t, end: t });
  }
  return phases;
}

export async function capture(o: CaptureOptions): Promise<Provenance> {
  const hostSeconds: Record<string, number> = {};
  const step = async <T>(name: string, n: number, what: string, fn: () => T | Promise<T>): Promise<T> => {
    o.log(`[${n}/5] ${name}: ${what}`);
    const t = performance.now();
    const r = await fn();
    hostSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
    return r;
  };
  await step('host', 1, 'checking qemu-system-riscv64, cpio, xz, kmod', () => ensureHostTools(o.log, true));
  const f = await step('download', 2, `riscv64 kernel + busybox (cache ${o.cache})`, () =>
    fetchKernel(o.cache),
  );
  if (f.cached) hostSeconds.download = 0;
  o.log(
    `      kernel ${f.kernelPackage.name} ${f.kernelPackage.version}, busybox ${f.busyboxPackage.version}`,
  );
  const work = mkdtempSync(join(tmpdir(), 'tlblab-capture-'));
  try {
    const initrd = await step('initramfs', 3, `busybox + /init (${o.workload})`, () =>
      buildInitramfs(f, o, work),
    );
    const disk = join(work, 'results.img');
    // Sparse: the guest writes its tar from offset 0; the trace of a short workload is a few MB.
    writeFileSync(disk, '');
    execFileSync('truncate', ['-s', '512M', disk]);
    const cmdline = kernelCommandLine(o);
    const argv = [
      '-machine',
      'virt',
      '-cpu',
      'rv64',
      '-smp',
      String(o.harts),
      '-m',
      `${o.memoryMiB}M`,
      '-accel',
      'tcg,thread=multi',
      '-bios',
      'default',
      '-kernel',
      f.kernelImage,
      '-initrd',
      initrd,
      '-append',
      cmdline,
      '-drive',
      `file=${disk},format=raw,if=none,id=results`,
      '-device',
      'virtio-blk-pci,drive=results',
      '-nographic',
      '-no-reboot',
    ];
    mkdirSync(o.out, { recursive: true });
    const consolePath = join(o.out, 'console.log');
    const guest = await step(
      'qemu',
      4,
      `booting ${o.harts} hart(s), ${o.mode}, time limit ${o.timeLimitSeconds} s`,
      () => runQemu(argv, o, consolePath),
    );
    const extract = join(work, 'out');
    mkdirSync(extract);
    await step('extract', 5, 'untar the results disk', () => {
      try {
        execFileSync('tar', ['xf', disk, '-C', extract], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch {
        throw new CaptureError(`the guest wrote no results (console: ${consolePath})`);
      }
      if (!existsSync(join(extract, 'trace.txt')))
        throw new CaptureError(`no trace.txt on the results disk (console: ${consolePath})`);
    });
    const trace = readFileSync(join(extract, 'trace.txt'));
    const traceName = o.gzip ? 'trace.txt.gz' : 'trace.txt';
    writeFileSync(join(o.out, traceName), o.gzip ? gzipSync(trace, { level: 9 }) : trace);
    const stats = readFileSync(join(extract, 'stats.txt'), 'utf8');
    const overruns = [...stats.matchAll(/^overrun: (\d+)/gm)].map((m) => Number(m[1]));
    const configText = readFileSync(f.kernelConfig, 'utf8');
    const config: Record<string, string> = {};
    for (const k of CONFIG_KEYS) {
      const m = new RegExp(`^${k}=(.*)$`, 'm').exec(configText);
      config[k] = m ? m[1]! : 'n';
    }
    const firmware = /OpenSBI v[0-9.]+/.exec(guest.console)?.[0] ?? 'unknown';
    hostSeconds.guest = Math.round(guest.wallSeconds * 10) / 10;
    const prov: Provenance = {
      tool: 'tlblab-capture',
      toolVersion: CAPTURE_TOOL_VERSION,
      workload: o.workload,
      params: o.params,
      harts: o.harts,
      mode: o.mode,
      kernel: {
        package: f.kernelPackage.name,
        packageVersion: f.kernelPackage.version,
        release: f.kernelRelease,
        procVersion: readFileSync(join(extract, 'version.txt'), 'utf8').trim(),
        configSha256: sha256(configText),
        config,
      },
      busybox: { package: f.busyboxPackage.name, packageVersion: f.busyboxPackage.version },
      qemu: {
        version: qemuVersion(),
        smp: o.harts,
        argv: argv.map((a) =>
          a.startsWith(work) ? basename(a) : a.startsWith(o.cache) ? a.replace(o.cache, '<cache>') : a,
        ),
      },
      firmware,
      cmdline: readFileSync(join(extract, 'cmdline.txt'), 'utf8').trim(),
      traceEvents: TRACE_EVENTS,
      traceFunctions: TRACE_FUNCTIONS,
      phases: parsePhases(readFileSync(join(extract, 'phases.txt'), 'utf8')),
      overruns,
      trace: {
        file: traceName,
        bytes: trace.length,
        lines: trace.toString('utf8').split('\n').length - 1,
        sha256: sha256(trace),
      },
      hostSeconds,
    };
    writeFileSync(join(o.out, 'provenance.json'), `${JSON.stringify(prov, null, 2)}\n`);
    if (overruns.some((n) => n > 0))
      o.log(`warning: ring buffer overruns ${overruns.join(',')}: events were lost; shrink the workload`);
    return prov;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const USAGE = `usage: pnpm capture --workload boot|fork|modules|bpf [--harts N] [--mode sv39|sv48|sv57]
       [--out DIR] [--time-limit SECONDS] [--gzip] [--fork-loops N] [--fork-burst N]
       [--modules a,b,c] [--bpf-tests N] [--memory MiB] [--verbose]`;

function positiveInt(name: string, v: string | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CaptureError(`--${name} must be an integer in 1..${max}, got '${v}'`);
  return n;
}

export async function cli(argv: readonly string[]): Promise<number> {
  const log = (l: string) => process.stderr.write(`capture: ${l}\n`);
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        workload: { type: 'string', short: 'w' },
        harts: { type: 'string' },
        mode: { type: 'string' },
        out: { type: 'string', short: 'o' },
        'time-limit': { type: 'string' },
        gzip: { type: 'boolean' },
        'fork-loops': { type: 'string' },
        'fork-burst': { type: 'string' },
        modules: { type: 'string' },
        'bpf-tests': { type: 'string' },
        memory: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const workload = values.workload as Workload | undefined;
    if (!workload || !(WORKLOADS as readonly string[]).includes(workload))
      throw new CaptureError(`--workload must be one of ${WORKLOADS.join(', ')}\n${USAGE}`);
    const mode = (values.mode ?? 'sv57') as CaptureMode;
    if (!(MODES as readonly string[]).includes(mode))
      throw new CaptureError(`--mode must be one of ${MODES.join(', ')}`);
    const harts = positiveInt('harts', values.harts, 2, 8);
    const params: WorkloadParams = {
      forkLoops: positiveInt('fork-loops', values['fork-loops'], DEFAULT_PARAMS.forkLoops, 10_000),
      forkBurst: positiveInt('fork-burst', values['fork-burst'], DEFAULT_PARAMS.forkBurst, 256),
      modules: values.modules ? values.modules.split(',').filter(Boolean) : DEFAULT_PARAMS.modules,
      bpfTests: positiveInt('bpf-tests', values['bpf-tests'], DEFAULT_PARAMS.bpfTests, 1000),
    };
    const out = resolve(values.out ?? join('captures', `${workload}-smp${harts}-${mode}`));
    const t0 = performance.now();
    const prov = await capture({
      workload,
      harts,
      mode,
      out,
      timeLimitSeconds: positiveInt('time-limit', values['time-limit'], 300, 3600),
      params,
      memoryMiB: positiveInt('memory', values.memory, 1024, 8192),
      gzip: values.gzip === true,
      verbose: values.verbose === true,
      cache: cacheDir(),
      log,
    });
    log(
      `done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${prov.trace.lines} trace lines -> ${join(out, prov.trace.file)} (+ provenance.json)`,
    );
    return 0;
  } catch (e) {
    if (e instanceof CaptureError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      log(`error: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.exitCode = await cli(process.argv.slice(2));
}
