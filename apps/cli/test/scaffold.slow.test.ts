/**
 * Issue 6: `tlblab new strategy|scenario <name>` scaffolds a package that builds, typechecks and
 * passes its tests at once. The scaffold depends on the published @tlblab/core (its dist), so core
 * is built first when its dist is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDists, REPO, runCli, scratchDir } from './helpers.js';

const scratch = scratchDir('scaffold');
const env = {
  ...process.env,
  PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH}`,
  CI: 'true',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
};
const sh = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: 'pipe' });

beforeAll(async () => {
  // The scaffold imports the packages' dist (as it would from npm): core, and the kit with the
  // baseline it runs strategies on (built under the lock the registry test shares).
  await buildDists(['packages/core', 'packages/strategy-baseline', 'packages/strategy-tester'], (dir) =>
    sh('tsup', [], dir),
  );
}, 600_000);
afterAll(() => scratch.cleanup());

describe.each(['strategy', 'scenario'])('tlblab new %s', (kind) => {
  it('builds, typechecks and passes its own tests', async () => {
    const r = await runCli(['new', kind, 'first-try'], { cwd: scratch.dir });
    expect(r.code).toBe(0);
    const dir = join(scratch.dir, `${kind}-first-try`);
    sh('tsup', [], dir);
    expect(existsSync(join(dir, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist/index.d.ts'))).toBe(true);
    sh('tsc', ['-p', 'tsconfig.json'], dir);
    const test = sh('vitest', ['run'], dir);
    expect(test).toMatch(/Tests\s+\d+ passed/);
    expect(test).not.toMatch(/failed/);
  }, 180_000);
});
