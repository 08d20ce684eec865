/**
 * Issue 15, "A real registry in the tests": every public package is published to a local
 * Verdaccio (from npm, on 127.0.0.1, bounded in time), then, in fresh folders outside the
 * workspace, installed the way a user or an outside plugin author would:
 *
 * 1. `pnpm add @tlblab/core @tlblab/scenarios @tlblab/strategy-early-sfence` and simulate from a script;
 * 2. `pnpm add tlblab` and `tlblab run` through the installed bin;
 * 3. `tlblab new strategy x`, then install, build and test the scaffold against the registry.
 *
 * Verdaccio proxies everything else to the npm registry (the only registry this project uses).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDists, CLI_DIR, REPO } from './helpers.js';

const PNPM = ['-y', 'pnpm@12.4.2'];
const work = mkdtempSync(join(tmpdir(), 'tlblab-registry-'));
let registry = '';
let verdaccio: ChildProcess | null = null;
// npm/npx hand their own settings to children as npm_config_* (the user config among them): drop
// them, so every pnpm below reads only the config this test writes.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, CI: 'true', NO_COLOR: '1' }).filter(([k]) => !/^npm_config_/i.test(k)),
);

/**
 * fetch with one retry: undici reuses a kept-alive socket that Verdaccio may have closed meanwhile
 * (its keep-alive timeout is 5 s), which fails the first request with EPIPE/ECONNRESET.
 */
async function get(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Run a command to completion with a time limit; its output is returned (and shown on failure). */
function sh(cmd: string, args: readonly string[], cwd: string, timeoutMs = 300_000): string {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`,
    );
  }
}

const pnpm = (args: readonly string[], cwd: string, timeoutMs?: number) =>
  sh('npx', [...PNPM, ...args], cwd, timeoutMs);

/** The public packages of the workspace (what `pnpm -r publish` publishes). */
function publicPackages(): string[] {
  return ['packages', 'apps'].flatMap((top) =>
    readdirSync(join(REPO, top))
      .map((d) => join(REPO, top, d, 'package.json'))
      .filter((f) => {
        try {
          return (JSON.parse(readFileSync(f, 'utf8')) as { private?: boolean }).private !== true;
        } catch {
          return false;
        }
      })
      .map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { name: string }).name),
  );
}

/** A fresh project folder outside the workspace that installs from the local registry only. */
function freshFolder(name: string): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `try-${name}`, version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );
  // Packages published a moment ago must be installable (no release-age policy), and esbuild's
  // postinstall is not needed by tsup here.
  writeFileSync(join(dir, '.npmrc'), `registry=${registry}/\n`);
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\nallowBuilds:\n  esbuild: false\n');
  return dir;
}

beforeAll(async () => {
  const port = await freePort();
  registry = `http://127.0.0.1:${port}`;
  const storage = join(work, 'storage');
  const config = join(work, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${storage}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(work, 'htpasswd')}`,
      'uplinks:',
      '  npmjs:',
      '    url: https://registry.npmjs.org/',
      '    timeout: 60s',
      'packages:',
      "  '@tlblab/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  'tlblab':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    proxy: npmjs',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  verdaccio = spawn(
    join(CLI_DIR, 'node_modules/.bin/verdaccio'),
    ['--config', config, '--listen', `127.0.0.1:${port}`],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  verdaccio.stdout?.on('data', (d) => {
    log += d;
  });
  verdaccio.stderr?.on('data', (d) => {
    log += d;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`${registry}/-/ping`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || verdaccio.exitCode !== null)
      throw new Error(`verdaccio did not start within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`registry test: verdaccio 6.8.0 at ${registry}, storage ${storage}`);
  const user = await get(`${registry}/-/user/org.couchdb.user:tlblab`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tlblab', password: 'local-test-only' }),
  });
  const { token } = (await user.json()) as { token: string };
  const npmrc = join(work, 'publish.npmrc');
  writeFileSync(npmrc, `registry=${registry}/\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  env.npm_config_userconfig = npmrc;
  // Build every package (dist/ is what is published), then publish them all; pnpm rewrites the
  // workspace: ranges to the real versions, as it will on the public registry.
  const dirs = ['packages', 'apps'].flatMap((top) =>
    readdirSync(join(REPO, top))
      .map((d) => `${top}/${d}`)
      .filter((d) => existsSync(join(REPO, d, 'tsup.config.ts'))),
  );
  // In dependency order (core first, the CLI last): each tsup's .d.ts step reads its dependencies' dist.
  const order = ['packages/core', 'packages/scenarios', 'packages/strategy-baseline'];
  const sorted = [
    ...order.filter((d) => dirs.includes(d)),
    ...dirs.filter((d) => !order.includes(d) && d !== 'apps/cli'),
    'apps/cli',
  ];
  await buildDists(sorted, (dir) => sh(join(REPO, 'node_modules/.bin/tsup'), [], dir, 600_000));
  pnpm(
    ['-r', 'publish', '--registry', `${registry}/`, '--no-git-checks', '--access', 'public'],
    REPO,
    300_000,
  );
  console.log(`registry test: published ${publicPackages().join(', ')}`);
}, 900_000);

afterAll(() => {
  verdaccio?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('installed from a registry', () => {
  it('publishes every public package', async () => {
    for (const name of publicPackages()) {
      const r = await get(`${registry}/${name.replace('/', '%2f')}`);
      expect(r.status, name).toBe(200);
      const meta = (await r.json()) as {
        versions: Record<string, { dependencies?: Record<string, string> }>;
      };
      for (const v of Object.values(meta.versions)) {
        for (const [dep, range] of Object.entries(v.dependencies ?? {}))
          expect(range, `${name} -> ${dep}`).not.toMatch(/^workspace:/);
      }
    }
  });

  it('a library user adds core + scenarios + one strategy and simulates from a script', () => {
    const dir = freshFolder('library');
    pnpm(['add', '@tlblab/core', '@tlblab/scenarios', '@tlblab/strategy-early-sfence'], dir);
    const installed = readdirSync(join(dir, 'node_modules/@tlblab')).sort();
    // Only what was named (and the baseline the strategy builds on): no CLI, no report, no vega.
    expect(installed).not.toContain('report');
    expect(readdirSync(join(dir, 'node_modules'))).not.toContain('tlblab');
    writeFileSync(
      join(dir, 'simulate.mjs'),
      [
        "import { PROFILES, runCell } from '@tlblab/core';",
        "import { scenarios } from '@tlblab/scenarios';",
        "import earlySfence from '@tlblab/strategy-early-sfence';",
        "const scenario = scenarios.find((s) => s.id === 'cross-hart-vmalloc');",
        "const record = runCell({ strategy: earlySfence(), scenario, machine: PROFILES['caches-invalid'], harts: 2 }, { base: 0, count: 4 });",
        'console.log(JSON.stringify({ id: record.id, outcomes: record.outcomes }));',
        '',
      ].join('\n'),
    );
    const out = JSON.parse(sh(process.execPath, ['simulate.mjs'], dir)) as {
      id: string;
      outcomes: Record<string, number>;
    };
    expect(out.id).toMatch(/cross-hart-vmalloc/);
    expect(Object.values(out.outcomes).reduce((a, b) => a + b, 0)).toBe(4);
  }, 600_000);

  it('`pnpm add tlblab` gives a working `tlblab` bin', () => {
    const dir = freshFolder('cli');
    pnpm(['add', 'tlblab'], dir);
    const bin = join(dir, 'node_modules/.bin/tlblab');
    expect(sh(bin, ['--version'], dir).trim()).toMatch(/^\d+\.\d+\.\d+/);
    const record = JSON.parse(
      sh(bin, ['run', '-s', 'early-sfence', '-c', 'cross-hart-vmalloc', '--seeds', '2', '--json'], dir),
    ) as { strategy: string; outcomes: Record<string, number> };
    expect(record.strategy).toBe('early-sfence');
    expect(Object.values(record.outcomes).reduce((a, b) => a + b, 0)).toBe(2);
  }, 600_000);

  it('`tlblab new strategy x` installs, builds and passes its tests against the registry', () => {
    const dir = freshFolder('author');
    pnpm(['add', 'tlblab'], dir);
    sh(join(dir, 'node_modules/.bin/tlblab'), ['new', 'strategy', 'x'], dir);
    const pkg = join(dir, 'strategy-x');
    writeFileSync(join(pkg, '.npmrc'), `registry=${registry}/\n`);
    writeFileSync(join(pkg, 'pnpm-workspace.yaml'), 'minimumReleaseAge: 0\nallowBuilds:\n  esbuild: false\n');
    pnpm(['install'], pkg);
    pnpm(['run', 'build'], pkg);
    const test = pnpm(['test'], pkg);
    expect(test).toMatch(/passed/);
    expect(test).not.toMatch(/failed/);
  }, 900_000);
});
