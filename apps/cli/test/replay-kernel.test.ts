/**
 * `replay` rebuilds a cell with the `--kernel` settings of the run that wrote the file: they have
 * the last word over the scenario's and the strategy set's settings, so without them a replay of
 * a run with `--kernel stepLimit=10` would run past the recorded step-limit and refuse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('replay-kernel');
afterAll(() => scratch.cleanup());
const CELL = 'baseline|ioremap-irq|caches-invalid|sv39|h2';

describe('replay of a run with --kernel', () => {
  it('re-applies the recorded kernel overrides and reproduces the outcome', async () => {
    const out = join(scratch.dir, 'k.jsonl');
    const args = ['-s', 'baseline', '-c', 'ioremap-irq', '-m', 'caches-invalid', '--harts', '2'];
    const sweep = await runMain(
      ['compare', ...args, '--seeds', '1', '--jobs', '1', '--kernel', 'stepLimit=10', '--out', out],
      scratch.dir,
    );
    expect(sweep.code, sweep.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('"kernelOverrides":{"stepLimit":10}');
    const r = await runMain(['replay', out, '--cell', CELL], scratch.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/seed 0: step-limit as recorded/);
    // Without the overrides the same cell fails differently (the budget is the default): the
    // recorded outcome depends on them, so this test can tell a replay that drops them.
    const plain = join(scratch.dir, 'plain.jsonl');
    expect(
      (await runMain(['compare', ...args, '--seeds', '1', '--jobs', '1', '--out', plain], scratch.dir)).code,
    ).toBe(0);
    expect(readFileSync(plain, 'utf8')).not.toContain('"step-limit"');
    expect(readFileSync(plain, 'utf8')).not.toContain('kernelOverrides');
  }, 120_000);
});
