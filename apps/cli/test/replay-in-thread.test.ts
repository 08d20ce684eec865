/**
 * `tlblab replay` of built-in code runs in the command's own thread, as `run` does (issue 13,
 * start-up); `--cell-timeout` (like a config, a plugin or a heap cap) puts it on a worker. Both
 * paths must print the same bytes: the trace, the summary, the exit code, and the refusal of a
 * replay that does not fit its record.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('replay-in-thread');
afterAll(() => scratch.cleanup());
const ON_WORKER = ['--cell-timeout', '600'];
const file = (name: string) => join(scratch.dir, name);

// baseline fails cross-hart-vmalloc (catalog.md) and ioremap-irq: each record has a run to replay.
const SAMPLED = 'baseline|cross-hart-vmalloc|caches-invalid|sv39|h2';
const EXPLORED = 'baseline|ioremap-irq|caches-invalid|sv39|h2';

beforeAll(async () => {
  const sweep = await runMain(
    [
      ...['compare', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '-m', 'caches-invalid'],
      ...['--harts', '2', '--seeds', '6', '--jobs', '1', '--out', file('sampled.jsonl')],
    ],
    scratch.dir,
  );
  expect(sweep.code, sweep.stderr).toBe(0);
  const explored = await runMain(
    [
      ...['explore', '-s', 'baseline', '-c', 'ioremap-irq', '--harts', '2', '--jobs', '1'],
      ...['--shorten', '0', '--out', file('explored.jsonl')],
    ],
    scratch.dir,
  );
  expect(explored.code, explored.stderr).toBe(0);
}, 120_000);

describe('tlblab replay in this thread', () => {
  it.each([
    ['a sampled seed', 'sampled.jsonl', SAMPLED],
    ['an explored counterexample', 'explored.jsonl', EXPLORED],
  ])(
    'prints and writes what the worker path does: %s',
    { timeout: 120_000 },
    async (_what, results, cell) => {
      const replay = (extra: readonly string[]) =>
        runMain(['replay', results, '--cell', cell, ...extra], scratch.dir);
      const here = await replay([]);
      const worker = await replay(ON_WORKER);
      expect(here.code, here.stderr).toBe(0);
      expect(here.stderr).toMatch(/as recorded/);
      expect(here.stdout.length).toBeGreaterThan(0);
      expect(here).toEqual(worker);
      const hereTrace = await replay(['--trace', file('here.jsonl')]);
      const workerTrace = await replay([...ON_WORKER, '--trace', file('worker.jsonl')]);
      expect(hereTrace.code).toBe(0);
      expect(hereTrace).toEqual({
        ...workerTrace,
        stdout: workerTrace.stdout.replace('worker.jsonl', 'here.jsonl'),
      });
      const text = readFileSync(file('here.jsonl'), 'utf8');
      expect(text.length).toBeGreaterThan(0);
      expect(text).toBe(readFileSync(file('worker.jsonl'), 'utf8'));
    },
  );

  it('refuses a record whose choices do not fit alike on both paths', { timeout: 120_000 }, async () => {
    // The sampled record with its choices cut short: not the run it was recorded from.
    const lines = readFileSync(file('sampled.jsonl'), 'utf8').trimEnd().split('\n');
    const bad = lines.map((line) => {
      const rec = JSON.parse(line);
      if (rec.kind !== 'cell' || rec.id !== SAMPLED) return line;
      rec.firstFailure.choices = rec.firstFailure.choices.slice(0, 2);
      return JSON.stringify(rec);
    });
    writeFileSync(file('bad.jsonl'), `${bad.join('\n')}\n`);
    const here = await runMain(['replay', 'bad.jsonl', '--cell', SAMPLED], scratch.dir);
    const worker = await runMain(['replay', 'bad.jsonl', '--cell', SAMPLED, ...ON_WORKER], scratch.dir);
    expect(here.code).toBe(2);
    expect(here.stderr.length).toBeGreaterThan(0);
    expect(here).toEqual(worker);
  });
});
