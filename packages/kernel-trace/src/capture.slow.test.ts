/**
 * Issue 16: `pnpm capture` on this machine — a short boot of the real riscv64 kernel under QEMU —
 * and its import. Installs the host packages through tools/apt-ensure.sh (as root, like .ci/run
 * does for chromium); skipped, saying why, when QEMU cannot be had. The kernel download is cached
 * under ~/.cache/tlblab-capture (about 20 s the first time).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { importTrace } from './workload.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const HOST = ['qemu-system-misc', 'opensbi', 'kmod', 'cpio', 'xz-utils'];

function qemuMissing(): string | null {
  try {
    execFileSync('bash', ['tools/apt-ensure.sh', ...HOST], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch {
    return `tools/apt-ensure.sh ${HOST.join(' ')} failed (not root, or no apt archive)`;
  }
  try {
    execFileSync('sh', ['-c', 'command -v qemu-system-riscv64'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'qemu-system-riscv64 is not on PATH';
  }
}

const missing = qemuMissing();
if (missing !== null) console.warn(`capture.slow.test: skipped: ${missing}`);
else console.error(`capture.slow.test: host packages present (${HOST.join(' ')})`);

const out = mkdtempSync(join(tmpdir(), 'tlblab-capture-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(missing !== null)('pnpm capture --workload boot --harts 2', () => {
  it('boots the real kernel, writes an ftrace log and its provenance, and the log imports well formed', async () => {
    const t0 = performance.now();
    const r = await promisify(execFile)(
      'node',
      [
        '--import',
        'tsx',
        'tools/capture/capture.ts',
        '--workload',
        'boot',
        '--harts',
        '2',
        '--out',
        out,
        '--time-limit',
        '300',
      ],
      { cwd: REPO, maxBuffer: 1 << 24 },
    );
    console.error(`capture.slow.test: capture took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // One progress line per step on stderr, and the guest's phase markers.
    for (const step of ['[1/5] host', '[2/5] download', '[3/5] initramfs', '[4/5] qemu', '[5/5] extract'])
      expect(r.stderr).toContain(step);
    expect(r.stderr).toContain('guest: phase boot end');

    const prov = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'));
    const trace = readFileSync(join(out, prov.trace.file));
    expect(createHash('sha256').update(trace).digest('hex')).toBe(prov.trace.sha256);
    expect(prov.kernel.release).toMatch(/^6\.12\./);
    expect(prov.qemu.smp).toBe(2);
    expect(prov.overruns).toEqual([0, 0]);
    expect(prov.phases.map((p: { name: string }) => p.name)).toEqual(['boot', 'idle']);

    const w = importTrace(trace.toString('utf8'), join(out, prov.trace.file));
    expect(w.harts).toBe(2);
    expect(w.source.lostEvents).toBe(0);
    expect(w.unknown).toEqual({});
    expect(w.phases.map((p) => p.name)).toEqual(['boot', 'idle']);
    // A boot maps kernel-thread stacks, vmalloc'd tables and ioremapped devices on both CPUs.
    expect(w.counts.mappingsByKind.stack).toBeGreaterThan(20);
    expect(w.counts.mappingsByKind.ioremap).toBeGreaterThan(0);
    expect(w.counts.forks).toBeGreaterThan(20);
    expect(new Set(w.events.filter((e) => e.kind === 'map').map((e) => e.cpu))).toEqual(new Set([0, 1]));
  }, 420_000);

  it('stops QEMU at the time limit and says in which guest phase', async () => {
    const r = await promisify(execFile)(
      'node',
      [
        '--import',
        'tsx',
        'tools/capture/capture.ts',
        '--workload',
        'boot',
        '--out',
        join(out, 'limit'),
        '--time-limit',
        '2',
      ],
      { cwd: REPO, maxBuffer: 1 << 24 },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/capture: error: time limit of 2 s reached in guest phase 'boot'/);
  }, 120_000);
});
