/**
 * `--plugin` package specifiers resolve as Node resolves them from the current folder (issue 15):
 * package `exports` with subpaths and the `import` condition, NODE_PATH for global installs, and
 * one clear exit-2 error naming the plugin and where it was looked for.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolvePlugin } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { PLUGINS, runMain, scratchDir } from './helpers.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'tlblab-resolve-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function pkg(dir: string, manifest: Record<string, unknown>, files: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const f of files) writeFileSync(join(dir, f), 'export default [];\n');
  return dir;
}

// An ESM-only package, as the scaffold writes one: `exports` with `import` conditions only, which
// a require-based resolver cannot see, and a subpath export.
const project = join(root, 'project');
const deep = join(project, 'src/deep');
mkdirSync(deep, { recursive: true });
const esm = pkg(
  join(project, 'node_modules/@acme/tlb-plugins'),
  {
    name: '@acme/tlb-plugins',
    type: 'module',
    exports: {
      '.': { types: './index.d.ts', import: './index.js' },
      './strategies': { import: './strategies.js' },
    },
  },
  ['index.js', 'strategies.js'],
);

function refusal(spec: string, cwd: string): string {
  try {
    resolvePlugin(spec, cwd);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`resolvePlugin('${spec}') did not refuse`);
}

describe('--plugin resolution through Node', () => {
  it('finds a package from a folder below the one holding node_modules, by its import condition', () => {
    expect(resolvePlugin('@acme/tlb-plugins', deep)).toBe(join(esm, 'index.js'));
  });

  it('resolves a subpath export', () => {
    expect(resolvePlugin('@acme/tlb-plugins/strategies', deep)).toBe(join(esm, 'strategies.js'));
  });

  it('refuses a subpath the package does not export, naming the plugin', () => {
    const message = refusal('@acme/tlb-plugins/internal.js', deep);
    expect(message).toMatch(/^plugin '@acme\/tlb-plugins\/internal\.js'/);
    expect(message).toMatch(
      /Package subpath '.\/internal.js' is not defined by "exports" in .*tlb-plugins\/package.json$/,
    );
  });

  it('refuses a package whose entry is not built', () => {
    pkg(
      join(project, 'node_modules/unbuilt'),
      { name: 'unbuilt', type: 'module', exports: './dist/index.js' },
      [],
    );
    const message = refusal('unbuilt', deep);
    expect(message).toMatch(/^plugin 'unbuilt': .*dist\/index\.js/);
    expect(message).toMatch(/is the package built\?/);
  });

  it('refuses a missing package, saying where it looked', () => {
    // pnpm's bin shims set NODE_PATH: the message names it only when set.
    const saved = process.env.NODE_PATH;
    delete process.env.NODE_PATH;
    try {
      expect(refusal('@acme/no-such-plugin/strategies', deep)).toBe(
        `plugin '@acme/no-such-plugin/strategies' not found: no node_modules/@acme/no-such-plugin from ${deep} upward (install it, or give a path)`,
      );
      process.env.NODE_PATH = '/opt/global/node_modules';
      expect(refusal('no-such-plugin', deep)).toBe(
        `plugin 'no-such-plugin' not found: no node_modules/no-such-plugin from ${deep} upward, nor in NODE_PATH (/opt/global/node_modules) (install it, or give a path)`,
      );
    } finally {
      if (saved === undefined) delete process.env.NODE_PATH;
      else process.env.NODE_PATH = saved;
    }
  });

  it('refuses a missing file given by name, saying it is neither a file nor a package', () => {
    expect(refusal('no-such-plugins.ts', deep)).toMatch(
      new RegExp(
        `^plugin 'no-such-plugins.ts': no such file under ${deep}, and the package was not found: no node_modules/no-such-plugins.ts`,
      ),
    );
  });

  it('takes a bare name with a module extension as a package when no such file exists', () => {
    const dotted = pkg(
      join(project, 'node_modules/dotted.js'),
      { name: 'dotted.js', type: 'module', exports: { import: './main.js' } },
      ['main.js'],
    );
    expect(resolvePlugin('dotted.js', deep)).toBe(join(dotted, 'main.js'));
  });

  it('finds a global install through NODE_PATH, as require does', () => {
    // NODE_PATH is read once at startup, so this runs in a fresh Node with it set.
    const global = join(root, 'global/lib/node_modules');
    const g = pkg(join(global, 'g-plugin'), { name: 'g-plugin', main: './main.js' }, ['main.js']);
    const config = new URL('../src/config.ts', import.meta.url).href;
    const script = `import(${JSON.stringify(config)}).then((m) => console.log(m.resolvePlugin('g-plugin', ${JSON.stringify(deep)})))`;
    const out = execFileSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--conditions=source', '--input-type=module', '-e', script],
      {
        env: { ...process.env, NODE_PATH: global },
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe(join(g, 'main.js'));
  }, 60_000);
});

describe('--plugin with a subpath export, end to end', () => {
  const scratch = scratchDir('plugin-resolve');
  afterAll(() => scratch.cleanup());

  it('loads the strategies a package exports under a subpath, and exits 2 naming a missing one', async () => {
    // A package whose only entry for its strategies is a subpath export with an import condition;
    // its module re-exports the test fixture's strategies (run from source, as the tests run).
    const dir = join(scratch.dir, 'node_modules/@acme/tlb-strategies');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: '@acme/tlb-strategies',
        type: 'module',
        exports: { './strategies': { import: './strategies.js' } },
      }),
    );
    writeFileSync(
      join(dir, 'strategies.js'),
      `export { flushAll as default } from ${JSON.stringify(PLUGINS)};\n`,
    );
    const ok = await runMain(
      ['list', 'strategies', '--json', '--plugin', '@acme/tlb-strategies/strategies'],
      scratch.dir,
      false,
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('"flush-all"');

    const missing = await runMain(
      ['list', 'strategies', '--plugin', '@acme/tlb-strategies/nope'],
      scratch.dir,
      false,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /plugin '@acme\/tlb-strategies\/nope': Package subpath '.\/nope' is not defined by "exports"/,
    );
  }, 60_000);
});
