/**
 * Build on demand for running the CLI from a checkout (issue 13: "the CLI and its workers run from
 * built JavaScript; no tsx at run time"). `pnpm tlblab` and `pnpm demo` call `ensureBuilt()`:
 * when every workspace package has its `dist/` and no source, package.json or build config has
 * changed since the last successful build, it returns after a few hundred `stat`s (a few ms);
 * otherwise it runs `pnpm build` (`nx run-many -t build`; nx caches each package by the
 * hash of its inputs, so only changed packages rebuild) and records the time.
 *
 * Why a stamp and not dist's own mtimes: nx leaves outputs that already match its cache untouched
 * ("existing outputs match the cache, left as is"), so after a checkout of an older commit dist
 * can be correct yet older than the sources, and a comparison of mtimes would rebuild every time.
 * The build's output goes to stderr, so `pnpm tlblab ... --json` stays one JSON document.
 * Concurrent callers (parallel tests) build under one lock (flock) where flock exists.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const STAMP = join(REPO, 'node_modules/.cache/tlblab/build-stamp');
const LOCK = join(REPO, 'node_modules/.cache/tlblab/build.lock');
/** Root files every package's build reads. */
const ROOT_INPUTS = ['tsup.base.ts', 'tsconfig.base.json', 'nx.json', 'pnpm-lock.yaml'];

/** Workspace packages that have a build (the folders pnpm-workspace.yaml lists). */
function buildable() {
  const dirs = [];
  for (const top of ['packages', 'apps']) {
    const root = join(REPO, top);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) {
      const dir = join(root, name);
      const pkgFile = join(dir, 'package.json');
      if (!existsSync(pkgFile)) continue;
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
      if (pkg.scripts?.build !== undefined) dirs.push(dir);
    }
  }
  return dirs;
}

/** The newest mtime under `path` (folders count too: a deleted file changes its folder's mtime). */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) {
    for (const entry of readdirSync(path)) {
      if (entry === 'node_modules') continue;
      t = Math.max(t, newest(join(path, entry)));
    }
  }
  return t;
}

/** Why a build is needed, or null when dist is current. */
export function staleReason() {
  let stamp;
  try {
    stamp = statSync(STAMP).mtimeMs;
  } catch {
    return 'no build recorded yet';
  }
  for (const f of ROOT_INPUTS) if (newest(join(REPO, f)) > stamp) return `${f} changed`;
  for (const dir of buildable()) {
    const rel = dir.slice(REPO.length + 1);
    if (!existsSync(join(dir, 'dist/index.js'))) return `${rel}/dist is missing`;
    for (const input of ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json']) {
      if (newest(join(dir, input)) > stamp) return `${rel}/${input} changed`;
    }
  }
  return null;
}

/** Build when needed; throws when the build fails (its output is on stderr). */
export function ensureBuilt() {
  const why = staleReason();
  if (why === null) return;
  process.stderr.write(`tlblab: building the CLI from source first (${why}; nx caches unchanged packages)\n`);
  mkdirSync(dirname(STAMP), { recursive: true });
  const started = Date.now();
  // The root `build` script (nx run-many -t build) through the pinned pnpm, as the README runs it:
  // nx runs each package's own `build` script with pnpm, which must then be on PATH.
  const pinned = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).packageManager;
  const args = ['-y', pinned, '--silent', 'build'];
  const hasFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  const [cmd, argv] = hasFlock ? ['flock', [LOCK, 'npx', ...args]] : ['npx', args];
  const r = spawnSync(cmd, argv, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    throw new Error(`building the CLI failed (npx ${args.join(' ')}; its output is above)`);
  }
  const summary = /Cache:\s+(\d+\/\d+ hit)/.exec(r.stdout ?? '');
  process.stderr.write(
    `tlblab: built in ${((Date.now() - started) / 1000).toFixed(1)} s${summary ? ` (nx cache: ${summary[1]})` : ''}\n`,
  );
  // The stamp gets the time the build started: a source saved during the build counts as newer.
  const t = new Date(started);
  writeFileSync(STAMP, `${t.toISOString()}\n`);
  utimesSync(STAMP, t, t);
}
