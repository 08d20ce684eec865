/**
 * The trees a bench run compares (the current checkout and an optional base), and how to start
 * each one's programs: the runner with that tree's sources, the CLI as it is installed, the demo
 * as `pnpm demo` runs it. Commands are read from the tree itself (its `apps/cli/package.json` bin,
 * its root package.json scripts), so a branch that changes how the CLI starts is measured as it
 * starts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Tree {
  readonly label: 'current' | 'base';
  readonly dir: string;
  /** A tree this run created (a temporary worktree): its build steps may run in it. */
  readonly owned: boolean;
}

export const CURRENT_DIR = resolve(import.meta.dirname, '../..');

/** `--base REF`: a detached worktree of REF in a temp dir, installed; `cleanup` removes it. */
export function worktreeOf(ref: string): { tree: Tree; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tlblab-bench-base-'));
  rmSync(dir, { recursive: true, force: true });
  execFileSync('git', ['-C', CURRENT_DIR, 'worktree', 'add', '--detach', dir, ref], { stdio: 'inherit' });
  const pnpm = (extra: string[]) =>
    spawnSync('npx', ['-y', 'pnpm@12.4.2', 'install', '--frozen-lockfile', ...extra], {
      cwd: dir,
      stdio: 'inherit',
    }).status;
  // Offline first (the store is usually warm), then from the registry.
  if (pnpm(['--offline']) !== 0 && pnpm([]) !== 0) throw new Error(`bench: could not install ${ref}`);
  return {
    tree: { label: 'base', dir, owned: true },
    cleanup: () => {
      spawnSync('git', ['-C', CURRENT_DIR, 'worktree', 'remove', '--force', dir], { stdio: 'inherit' });
    },
  };
}

/** The tsx loader as `--import tsx` resolves it from the tree root (a file URL, so any cwd works). */
export function tsxLoader(dir: string): string {
  const pkg = join(dir, 'node_modules/tsx/package.json');
  const exp = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, unknown> }).exports['.'];
  const rel = typeof exp === 'string' ? exp : ((exp as { import?: string }).import ?? './dist/loader.mjs');
  return pathToFileURL(join(dir, 'node_modules/tsx', rel)).href;
}

/** How to start one of a tree's programs from any working directory. */
export interface Launch {
  readonly how: string;
  /** Steps to run once in the tree before timing (a build the script chains before its command). */
  readonly prepare: readonly string[];
  readonly cmd: string;
  readonly args: readonly string[];
}

/**
 * A root package.json script as a command that runs from any cwd: `node` becomes this node,
 * `--import tsx` the tree's loader by URL, relative paths that exist in the tree absolute. A script
 * chained with `&&` runs its leading parts as preparation (in the tree, once) and times the last.
 */
export function scriptLaunch(dir: string, name: string): Launch {
  const scripts = (
    JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    }
  ).scripts;
  const text = scripts?.[name];
  if (!text) throw new Error(`bench: ${dir}/package.json has no "${name}" script`);
  const parts = text.split('&&').map((p) => p.trim());
  const last = parts.pop()!.split(/\s+/);
  const args: string[] = [];
  // `tsx FILE` is `node --import tsx FILE`.
  if (last[0] === 'tsx') last.splice(0, 1, 'node', '--import', 'tsx');
  for (let i = 0; i < last.length; i++) {
    const t = last[i]!;
    if (i === 0 && t === 'node') continue;
    if (t === 'tsx' && last[i - 1] === '--import') args.push(tsxLoader(dir));
    else if (!t.startsWith('-') && !isAbsolute(t) && existsSync(join(dir, t))) args.push(join(dir, t));
    else args.push(t);
  }
  if (last[0] !== 'node') throw new Error(`bench: script "${name}" does not start with node: ${text}`);
  return { how: `package.json script "${name}": ${text}`, prepare: parts, cmd: process.execPath, args };
}

/** The CLI as installed: apps/cli's `bin` when it points at a file that exists (built JS), else
 *  the root `tlblab` script. */
export function cliLaunch(dir: string): Launch {
  const pkg = JSON.parse(readFileSync(join(dir, 'apps/cli/package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.tlblab;
  if (bin && existsSync(join(dir, 'apps/cli', bin))) {
    return {
      how: `apps/cli bin ${bin}`,
      prepare: [],
      cmd: process.execPath,
      args: [join(dir, 'apps/cli', bin)],
    };
  }
  const s = scriptLaunch(dir, 'tlblab');
  return { ...s, how: `${s.how} (apps/cli bin ${bin ?? '(none)'} not built)` };
}

/** Runs a launch's preparation steps in its tree (only in a tree this run owns or the current one:
 *  the shared base checkout is never built into). */
export function prepare(tree: Tree, launch: Launch): void {
  if (launch.prepare.length === 0) return;
  if (tree.label === 'base' && !tree.owned) {
    process.stderr.write(
      `bench: not running "${launch.prepare.join(' && ')}" in the shared base ${tree.dir}\n`,
    );
    return;
  }
  for (const raw of launch.prepare) {
    // pnpm is not on PATH here: the pinned one through npx (common brief).
    const step = raw.replace(/^pnpm\s/, 'npx -y pnpm@12.4.2 ');
    const r = spawnSync('sh', ['-c', step], { cwd: tree.dir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench: "${step}" failed in ${tree.dir}`);
  }
}
