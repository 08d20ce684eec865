import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Io, main } from '../src/index.js';

export const CLI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(CLI_DIR, '../..');
export const BIN = join(CLI_DIR, 'src/bin.ts');
export const FIXTURES = join(CLI_DIR, 'test/fixtures');
export const PLUGINS = join(FIXTURES, 'plugins.ts');

/** The tiny fixture sweep the CLI tests build documents from (flush-all on tiny-map, 1 and 2
 *  harts, one seed), without `--jobs` (its plugin keeps it on workers) and without `--out`. */
export const TINY_SWEEP_ANY_JOBS: readonly string[] = [
  'compare',
  '--plugin',
  PLUGINS,
  '-s',
  'flush-all',
  '-c',
  'tiny-map',
  '-m',
  'emulator',
  '--harts',
  '1,2',
  '--seeds',
  '1',
];

/** `TINY_SWEEP_ANY_JOBS` on one worker. */
export const TINY_SWEEP: readonly string[] = [...TINY_SWEEP_ANY_JOBS, '--jobs', '1'];

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the CLI from source as a child process (through tsx, with the `source` condition). */
export function runCli(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return runChild(['--conditions=source', '--import', 'tsx', BIN, ...args], opts);
}

export function runChild(
  nodeArgs: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Run `main` in this process with captured streams. */
export async function runMain(args: readonly string[], cwd = REPO, builtins = true): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
    } as unknown as Io['stdout'],
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    } as unknown as Io['stderr'],
    cwd,
    env: { NO_COLOR: '1' },
  };
  const code = await main(args, io, { builtins });
  return { code, stdout, stderr };
}

/** A scratch folder inside the repository (so packages resolve), removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; cleanup: () => void } {
  // Outside src/ and test/, so a leftover scaffold's tests are never collected by this project.
  const base = join(CLI_DIR, '.tmp');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A results document without its `createdAt` (the one field allowed to differ). */
export function withoutCreatedAt(text: string): string {
  return text.replace(/"createdAt":"[^"]*",/, '');
}

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir: string): number {
  let t = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  if (existsSync(dir)) walk(dir);
  return t;
}

/**
 * Build the named workspace packages (`packages/core`, `apps/cli`, ...) whose dist is missing or
 * older than their sources, under one lock: the slow tests that need dists (scaffold, registry) run
 * in parallel, and tsup empties dist/ before it writes, so two builds of one package must not
 * overlap, nor a build and a reader.
 */
export async function buildDists(pkgs: readonly string[], run: (dir: string) => void): Promise<void> {
  await withBuildLock(() => {
    for (const pkg of pkgs) {
      const dir = join(REPO, pkg);
      const dist = join(dir, 'dist/index.js');
      if (!existsSync(join(dir, 'dist/index.d.ts')) || newest(join(dir, 'src')) > statSync(dist).mtimeMs)
        run(dir);
    }
  });
}

async function withBuildLock(body: () => void): Promise<void> {
  const lock = join(REPO, 'node_modules/.tlblab-build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run (no build takes 15 minutes) is taken over.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 15 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The installed bin, `apps/cli/dist/bin.js`, built first when its sources changed (as `pnpm tlblab` does). */
export const DIST_BIN = join(CLI_DIR, 'dist/bin.js');
export async function buildCli(): Promise<void> {
  await withBuildLock(() => {
    execFileSync(process.execPath, [join(CLI_DIR, 'scripts/build.mjs')], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 900_000,
    });
  });
}

/** Run the built CLI (`node apps/cli/dist/bin.js`) as a child: no TypeScript loader, no `source` condition. */
export function runDist(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; nodeArgs?: readonly string[] } = {},
): Promise<CliResult> {
  return runChild([...(opts.nodeArgs ?? []), DIST_BIN, ...args], opts);
}
