/**
 * Issue 13, start-up: users run built JavaScript — the installed bin (`dist/bin.js`) or, in a
 * checkout, `pnpm tlblab`, which builds on demand and then runs that same file — with its workers
 * on `dist/worker.js` and no TypeScript loader; and each command loads only the modules it uses.
 * (The other CLI tests run from source, through tsx, for speed; this file checks what users run.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, CLI_DIR, REPO, runChild, runDist, runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('installed-bin');
afterAll(() => scratch.cleanup());
beforeAll(buildCli, 900_000);

/** Issue 13's `run` cell (scripts/run-cell.json, also read by measure-startup.mjs and the bench),
 *  run here with fewer seeds than the issue's. */
const CELL: readonly string[] = JSON.parse(readFileSync(join(CLI_DIR, 'scripts/run-cell.json'), 'utf8')).cell;

/** Every module URL the main thread of `node <dist bin> args` resolves (a loader hook logs them). */
async function loadedBy(args: readonly string[]): Promise<string[]> {
  const log = join(scratch.dir, `loaded-${args[0]}.txt`);
  const hook = join(scratch.dir, 'hook.mjs');
  const register = join(scratch.dir, 'register.mjs');
  writeFileSync(
    hook,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the hook's source; its template literal runs in the hook
    "import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) {\n  const r = await next(s, c);\n  appendFileSync(process.env.TLBLAB_IMPORT_LOG, `${r.url}\\n`);\n  return r;\n}\n",
  );
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`,
  );
  writeFileSync(log, '');
  const r = await runDist(args, { nodeArgs: ['--import', register], env: { TLBLAB_IMPORT_LOG: log } });
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('the built CLI', () => {
  it('pnpm tlblab runs dist/bin.js without tsx, and gives the record the source gives', async () => {
    const scripts = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    expect(scripts.tlblab).toBe('node --single-threaded-gc apps/cli/scripts/tlblab.mjs');
    expect(scripts.demo).not.toContain('--conditions=source');
    const args = [...CELL, '--seeds', '8', '--json'];
    const built = await runChild(['--single-threaded-gc', join(CLI_DIR, 'scripts/tlblab.mjs'), ...args], {});
    expect(built.code, built.stderr).toBe(0);
    const source = await runMain(args);
    expect(source.code, source.stderr).toBe(0);
    expect(built.stdout).toBe(source.stdout);
    expect(JSON.parse(built.stdout).verdict).toBe('correct');
  }, 300_000);

  it('--version loads commander and nothing of the model', async () => {
    const loaded = await loadedBy(['--version']);
    expect(loaded.some((u) => u.includes('/commander/'))).toBe(true);
    for (const heavy of ['/packages/core/', '/zod/', '/piscina/', '/apps/report/', '/kernel-trace/', '/tsx/'])
      expect(
        loaded.filter((u) => u.includes(heavy)),
        heavy,
      ).toEqual([]);
  }, 120_000);

  it('list loads the registry but no worker pool or report; run of built-ins neither, run under a watchdog the pool', async () => {
    const list = await loadedBy(['list', 'scenarios']);
    expect(list.some((u) => u.includes('/packages/core/dist/'))).toBe(true);
    for (const heavy of ['/piscina/', '/apps/report/', '/cli-progress/', '/jiti/', '/tsx/'])
      expect(
        list.filter((u) => u.includes(heavy)),
        heavy,
      ).toEqual([]);
    // Built-in code only: the cell runs in the main thread (commands/run.ts), so no pool loads.
    const run = await loadedBy([...CELL, '--seeds', '2']);
    expect(run.some((u) => u.includes('/packages/core/dist/'))).toBe(true);
    // zod comes from core's one-file bundle (packages/core/src/zod.ts), never from its ~95 modules.
    expect(run.some((u) => u.endsWith('/packages/core/dist/zod.js'))).toBe(true);
    expect(run.filter((u) => u.includes('/node_modules/zod/'))).toEqual([]);
    for (const heavy of ['/piscina/', '/apps/report/', '/cli-progress/', '/jiti/', '/tsx/'])
      expect(
        run.filter((u) => u.includes(heavy)),
        heavy,
      ).toEqual([]);
    const guarded = await loadedBy([...CELL, '--seeds', '2', '--cell-timeout', '600']);
    expect(guarded.some((u) => u.includes('/piscina/'))).toBe(true);
    for (const heavy of ['/apps/report/', '/cli-progress/', '/jiti/', '/tsx/'])
      expect(
        guarded.filter((u) => u.includes(heavy)),
        heavy,
      ).toEqual([]);
  }, 120_000);
});
