/**
 * `tlblab run` of built-in code runs the cell in the command's own thread (issue 13, start-up);
 * a config, a plugin or `--cell-timeout` puts it on a worker. Both paths must print the same
 * bytes: the record, the text summary and the trace file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runsHere } from '../src/commands/run.js';
import { runCli, runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('run-in-thread');
afterAll(() => scratch.cleanup());

// baseline fails cross-hart-vmalloc (catalog.md): the record has a first failing seed to trace.
const CELL = ['run', '-s', 'baseline', '-c', 'cross-hart-vmalloc', '-m', 'caches-invalid', '--seeds', '6'];
const ON_WORKER = ['--cell-timeout', '600'];

describe('tlblab run in this thread', () => {
  it('runs here only without a config, a plugin, --cell-timeout or a heap cap', () => {
    const spec = { cwd: '/', config: null, plugins: [], builtins: true };
    expect(runsHere(spec, {})).toBe(true);
    expect(runsHere(spec, { cellTimeout: '600' })).toBe(false);
    expect(runsHere({ ...spec, config: '/x/tlblab.config.mjs' }, {})).toBe(false);
    expect(runsHere({ ...spec, plugins: ['./p.mjs'] }, {})).toBe(false);
    expect(runsHere(spec, {}, ['memory=512'])).toBe(false);
    expect(runsHere(spec, {}, ['runs=100'])).toBe(true);
  });

  it('prints the same record (--json) and writes the same trace as the worker path', async () => {
    const trace = (name: string) => join(scratch.dir, name);
    const here = await runMain([...CELL, '--json', '--trace', trace('here.jsonl')], scratch.dir);
    const worker = await runMain(
      [...CELL, ...ON_WORKER, '--json', '--trace', trace('worker.jsonl')],
      scratch.dir,
    );
    expect(here.stderr).toBe('');
    expect(worker.stderr).toBe('');
    expect(here.code).toBe(0);
    expect(worker.code).toBe(0);
    const record = JSON.parse(here.stdout) as { verdict: string; firstFailure: { seed: number } | null };
    expect(record.verdict).toBe('incorrect');
    expect(record.firstFailure).not.toBeNull();
    expect(here.stdout).toBe(worker.stdout);
    const text = readFileSync(trace('here.jsonl'), 'utf8');
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(readFileSync(trace('worker.jsonl'), 'utf8'));
  }, 120_000);

  it('prints the same text summary as the worker path', async () => {
    const cell = ['run', '-s', 'early-sfence', '-c', 'cross-hart-vmalloc', '--harts', '4', '--seeds', '8'];
    const here = await runMain(cell, scratch.dir);
    const worker = await runMain([...cell, ...ON_WORKER], scratch.dir);
    expect(here.code).toBe(0);
    expect(here.stdout).toMatch(/^early-sfence on cross-hart-vmalloc/);
    expect(here).toEqual(worker);
  }, 120_000);

  it('TLBLAB_TIMING=1 prints the phases and the peak RSS on stderr and leaves stdout alone', async () => {
    const cell = ['run', '-s', 'early-sfence', '-c', 'cross-hart-vmalloc', '--seeds', '2', '--json'];
    const [plain, timed] = await Promise.all([
      runCli(cell, { cwd: scratch.dir }),
      runCli(cell, { cwd: scratch.dir, env: { TLBLAB_TIMING: '1' } }),
    ]);
    expect(plain.code).toBe(0);
    expect(timed.code).toBe(0);
    expect(plain.stderr).toBe('');
    expect(timed.stdout).toBe(plain.stdout);
    const lines = timed.stderr.trimEnd().split('\n');
    const phases = lines.map((l) => /^tlblab timing: [\d.]+ (.+?) \(cpu [\d.]+\)/.exec(l)?.[1]);
    expect(phases).toEqual([
      'cli loaded',
      'run command loaded',
      'registry loaded',
      'plan built',
      'cell done',
      'output written',
      'output drained',
      'exit',
    ]);
    expect(lines.at(-1)).toMatch(/ exit \(cpu [\d.]+\), peak RSS [\d.]+ MB$/);
  }, 120_000);
});
