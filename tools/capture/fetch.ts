/**
 * Fetching the riscv64 kernel and busybox from Debian 13 ("trixie") with a private APT
 * configuration (its own state, cache and sources.list), so the host's apt setup is untouched
 * (shared/domain/real-kernel-capture.md). Everything lands under the cache directory and is reused
 * by later runs: the .debs, the unpacked trees and the decompressed, depmod'ed module tree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export class CaptureError extends Error {
  override name = 'CaptureError';
}

/** The Debian mirror the host's own `debian.sources` names; trixie is the first with riscv64 kernels. */
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
export const DEBIAN_SUITE = 'trixie';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TLBLAB_CAPTURE_CACHE) return env.TLBLAB_CAPTURE_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'tlblab-capture');
}

function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer | string; status?: number };
    if (err.code === 'ENOENT')
      throw new CaptureError(`${cmd} not found (run: bash tools/apt-ensure.sh ${hostPackageOf(cmd)})`);
    const tail = String(err.stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new CaptureError(`${cmd} ${args.join(' ')} failed (exit ${err.status ?? '?'}): ${tail}`);
  }
}

/** The Debian package providing a host command the tool needs. */
export function hostPackageOf(cmd: string): string {
  const map: Record<string, string> = {
    'qemu-system-riscv64': 'qemu-system-misc',
    depmod: 'kmod',
    cpio: 'cpio',
    xz: 'xz-utils',
    'apt-get': 'apt',
    'dpkg-deb': 'dpkg',
  };
  return map[cmd] ?? cmd;
}

function writePrivateAptConfig(root: string): string {
  for (const d of [
    'state/lists/partial',
    'cache/archives/partial',
    'etc/sources.list.d',
    'etc/preferences.d',
  ])
    mkdirSync(join(root, d), { recursive: true });
  const status = join(root, 'state/status');
  if (!existsSync(status)) writeFileSync(status, '');
  writeFileSync(
    join(root, 'etc/sources.list'),
    `deb [arch=riscv64 signed-by=${KEYRING}] ${DEBIAN_MIRROR} ${DEBIAN_SUITE} main\n`,
  );
  const conf = join(root, 'apt.conf');
  writeFileSync(
    conf,
    [
      `Dir::State "${root}/state/";`,
      `Dir::State::status "${status}";`,
      `Dir::Cache "${root}/cache/";`,
      `Dir::Etc::SourceList "${root}/etc/sources.list";`,
      `Dir::Etc::SourceParts "${root}/etc/sources.list.d/";`,
      `Dir::Etc::Preferences "${root}/etc/preferences";`,
      `Dir::Etc::PreferencesParts "${root}/etc/preferences.d/";`,
      'APT::Architecture "riscv64";',
      'APT::Architectures { "riscv64"; };',
      'APT::Sandbox::User "root";',
      'Acquire::Languages "none";',
      '',
    ].join('\n'),
  );
  return conf;
}

export interface Fetched {
  /** The unpacked kernel package (boot/, usr/lib/modules/). */
  readonly kernelRoot: string;
  readonly kernelImage: string;
  readonly kernelConfig: string;
  readonly kernelRelease: string;
  readonly kernelPackage: { readonly name: string; readonly version: string };
  readonly busybox: string;
  readonly busyboxPackage: { readonly name: string; readonly version: string };
  /** Base of the module tree with modules.dep built (`depmod -b <modulesRoot> <release>`). */
  readonly modulesRoot: string;
  /** The packages were already in the cache. */
  readonly cached: boolean;
}

function debField(deb: string, field: string): string {
  return run('dpkg-deb', ['-f', deb, field]).trim();
}

function findDeb(dir: string, prefix: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const hit = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.deb'))
    .sort()
    .at(-1);
  return hit === undefined ? undefined : join(dir, hit);
}

/**
 * Download (once) and unpack the kernel and busybox. `kernelPackage` pins an exact
 * `linux-image-<release>` package; by default the one `linux-image-riscv64` depends on.
 */
export function fetchKernel(cache: string, opts: { kernelPackage?: string } = {}): Fetched {
  const debs = join(cache, 'debs');
  mkdirSync(debs, { recursive: true });
  let kernelDeb = findDeb(debs, opts.kernelPackage ?? 'linux-image-6.12');
  let busyboxDeb = findDeb(debs, 'busybox-static_');
  const cached = kernelDeb !== undefined && busyboxDeb !== undefined;
  if (!cached) {
    for (const cmd of ['apt-get', 'apt-cache', 'dpkg-deb'])
      if (!commandExists(cmd)) throw new CaptureError(`${cmd} not found: the download needs Debian's apt`);
    if (!existsSync(KEYRING))
      throw new CaptureError(`${KEYRING} missing (run: bash tools/apt-ensure.sh debian-archive-keyring)`);
    const conf = writePrivateAptConfig(join(cache, 'apt'));
    const env = { ...process.env, APT_CONFIG: conf };
    try {
      run('apt-get', ['update', '-qq'], { env });
    } catch (e) {
      throw new CaptureError(
        `cannot reach ${DEBIAN_MIRROR} ${DEBIAN_SUITE} for the riscv64 kernel: ${(e as Error).message}`,
      );
    }
    let pkg = opts.kernelPackage;
    if (pkg === undefined) {
      const deps = run('apt-cache', ['depends', 'linux-image-riscv64'], { env });
      const m = /Depends:\s+(linux-image-6\.12\.\S+-riscv64)/.exec(deps);
      if (!m)
        throw new CaptureError(`linux-image-riscv64 in ${DEBIAN_SUITE} depends on no 6.12 kernel:\n${deps}`);
      pkg = m[1]!;
    }
    run('apt-get', ['download', '-qq', pkg, 'busybox-static'], { env, cwd: debs });
    kernelDeb = findDeb(debs, pkg);
    busyboxDeb = findDeb(debs, 'busybox-static_');
    if (!kernelDeb || !busyboxDeb)
      throw new CaptureError(`apt-get download left no ${pkg} / busybox-static in ${debs}`);
  }
  const kernelPackage = { name: debField(kernelDeb!, 'Package'), version: debField(kernelDeb!, 'Version') };
  const busyboxPackage = { name: 'busybox-static', version: debField(busyboxDeb!, 'Version') };
  const kernelRoot = join(cache, 'root', `${kernelPackage.name}_${kernelPackage.version}`);
  if (!existsSync(join(kernelRoot, '.unpacked'))) {
    mkdirSync(kernelRoot, { recursive: true });
    run('dpkg-deb', ['-x', kernelDeb!, kernelRoot]);
    writeFileSync(join(kernelRoot, '.unpacked'), '');
  }
  const bbRoot = join(cache, 'root', `busybox-static_${busyboxPackage.version}`);
  if (!existsSync(join(bbRoot, '.unpacked'))) {
    mkdirSync(bbRoot, { recursive: true });
    run('dpkg-deb', ['-x', busyboxDeb!, bbRoot]);
    writeFileSync(join(bbRoot, '.unpacked'), '');
  }
  const release = readdirSync(join(kernelRoot, 'usr/lib/modules'))[0];
  if (!release) throw new CaptureError(`${kernelDeb} holds no usr/lib/modules/<release>`);
  const modulesRoot = kernelRoot;
  if (!existsSync(join(kernelRoot, '.depmod'))) {
    // depmod -b wants <base>/lib/modules/<release>; Debian 13 ships them under usr/lib.
    if (!existsSync(join(kernelRoot, 'lib'))) symlinkSync('usr/lib', join(kernelRoot, 'lib'));
    if (!commandExists('depmod'))
      throw new CaptureError('depmod not found (run: bash tools/apt-ensure.sh kmod)');
    run('depmod', ['-b', kernelRoot, release]);
    writeFileSync(join(kernelRoot, '.depmod'), '');
  }
  return {
    kernelRoot,
    kernelImage: join(kernelRoot, 'boot', `vmlinux-${release}`),
    kernelConfig: join(kernelRoot, 'boot', `config-${release}`),
    kernelRelease: release,
    kernelPackage,
    busybox: join(bbRoot, 'usr/bin/busybox'),
    busyboxPackage,
    modulesRoot,
    cached,
  };
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The module files (compressed, as shipped) needed to load `names`, dependencies first, from the
 * host's `modprobe --show-depends` over the cached tree.
 */
export function moduleClosure(f: Fetched, names: readonly string[]): string[] {
  const files: string[] = [];
  for (const name of names) {
    const out = run('modprobe', ['-d', f.modulesRoot, '-S', f.kernelRelease, '--show-depends', name]);
    for (const line of out.split('\n')) {
      const m = /^insmod\s+(\S+)/.exec(line.trim());
      if (m && !files.includes(m[1]!)) files.push(m[1]!);
    }
  }
  return files;
}
